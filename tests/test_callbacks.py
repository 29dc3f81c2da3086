"""tc.callbacks: one public place for fit's callbacks (EarlyStopping, ModelCheckpoint,
TerminateOnNaN, LearningRateLogger) and fit's progress bar choice."""
import importlib.machinery
import sys
import types
import warnings

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, training
from tinygrad_course.callbacks import (Callback, EarlyStopping, GradientClipping,
                                       LearningRateLogger, ModelCheckpoint, TerminateOnNaN)
from tinygrad_course.optim import SGD, LinearLR


def _data(m=32):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(m, 3)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def _model():
    return nn.Sequential(nn.Linear(3, 2, generator=tc.Generator(0)))


def _fit(model, opt, epochs=3, **kw):
    return tc.fit(model, nn.cross_entropy, opt, _data(), epochs=epochs, batch_size=16,
                  progress=False, seed=0, **kw)


def test_callbacks_are_public_in_tc_callbacks_and_still_in_training():
    assert tc.callbacks.EarlyStopping is training.EarlyStopping is EarlyStopping
    assert training.Callback is Callback


def test_model_checkpoint_writes_the_model_each_epoch(tmp_path):
    model = _model()
    _fit(model, SGD(model.parameters(), lr=0.1),
         callbacks=[ModelCheckpoint(tmp_path / "m-{epoch}.npz")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-0.npz", "m-1.npz", "m-2.npz"]
    fresh = _model()
    fresh.load_state_dict(tc.load(tmp_path / "m-2.npz"))
    for a, b in zip(fresh.parameters(), model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_model_checkpoint_save_best_only_keeps_the_best_epoch(tmp_path):
    model = _model()
    saved_at = []

    class Watch(Callback):
        def on_epoch_end(self, epoch, history):
            if (tmp_path / "best.npz").exists():
                saved_at.append(float(tc.load(tmp_path / "best.npz")["0.bias"][0]))
    # lr so large the cost goes up after the first epochs: later epochs are not saved.
    history = _fit(model, SGD(model.parameters(), lr=0.5), epochs=4,
                   callbacks=[ModelCheckpoint(tmp_path / "best.npz", monitor="cost",
                                              save_best_only=True), Watch()])
    best = int(np.argmin(history.epoch_costs))
    assert len(set(saved_at[best:])) == 1


def test_terminate_on_nan_stops_with_a_warning_before_the_bad_step():
    model = _model()

    def nan_loss(out, y):
        return nn.cross_entropy(out, y) * float("nan")
    opt = SGD(model.parameters(), lr=0.1)
    weights_before = [p.data.copy() for p in model.parameters()]
    with pytest.warns(RuntimeWarning, match="TerminateOnNaN stopped training"):
        history = tc.fit(model, nan_loss, opt, _data(), epochs=3, progress=False,
                         callbacks=[TerminateOnNaN()])
    assert history.stopped_early and history.epochs == 0
    for a, b in zip(model.parameters(), weights_before):
        np.testing.assert_array_equal(a.data, b)


def test_without_terminate_on_nan_fit_raises():
    model = _model()
    with pytest.raises(FloatingPointError, match="cost became nan"):
        tc.fit(model, lambda o, y: nn.cross_entropy(o, y) * float("nan"),
               SGD(model.parameters(), lr=0.1), _data(), epochs=1, progress=False)


def test_learning_rate_logger_records_every_group_per_epoch_and_per_batch():
    model = _model()
    w, b = model.parameters()
    opt = SGD([{"params": [w], "lr": 0.1}, {"params": [b], "lr": 0.2}], lr=0.1)
    sched = LinearLR(opt, start_factor=0.5, total_iters=2)
    per_epoch, per_batch = LearningRateLogger(), LearningRateLogger(by="batch")
    _fit(model, opt, schedule=sched, callbacks=[per_epoch, per_batch])
    np.testing.assert_allclose(per_epoch.lrs, [[0.05, 0.1], [0.075, 0.15], [0.1, 0.2]], rtol=1e-12)
    assert len(per_batch.lrs) == 6 and per_batch.lrs[0] == per_epoch.lrs[0]


def test_early_stopping_restores_the_best_weights():
    model = _model()
    history = _fit(model, SGD(model.parameters(), lr=0.1), epochs=5,
                   callbacks=[EarlyStopping(monitor="cost", patience=1, min_delta=1.0)])
    assert history.stopped_early and history.epochs == 2


def test_on_before_optimizer_step_sees_the_gradients_the_step_will_use():
    model = _model()
    before = [p.data.copy() for p in model.parameters()]

    class ZeroGradients(Callback):
        def on_before_optimizer_step(self, iteration):
            for p in self.model.parameters():
                p.grad.data[...] = 0.0
    _fit(model, SGD(model.parameters(), lr=0.1), callbacks=[ZeroGradients()])
    for a, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(a.data, b)


def test_gradient_clipping_is_clip_grad_norm_before_each_step():
    X, y = _data()
    by_hand = _model()
    opt = SGD(by_hand.parameters(), lr=0.5)
    norms = []
    for _ in range(3):
        for X_batch, y_batch in tc.data.minibatches(X, y, 16, shuffle=False):
            opt.zero_grad()
            nn.cross_entropy(by_hand(tc.Tensor(X_batch)), tc.Tensor(y_batch)).backward()
            norms.append(float(nn.utils.clip_grad_norm_(by_hand.parameters(), 0.05)))
            opt.step()
    model, clipping = _model(), GradientClipping(max_norm=0.05)
    _fit(model, SGD(model.parameters(), lr=0.5), shuffle=False, callbacks=[clipping])
    np.testing.assert_allclose(clipping.norms, norms, rtol=1e-6)
    assert len(clipping.norms) == 6 and min(clipping.norms) > 0.05  # every step was clipped
    for a, b in zip(model.parameters(), by_hand.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6)


def test_gradient_clipping_norms_cover_a_resumed_run(tmp_path):
    class Killed(Exception):
        pass

    class Crash(Callback):
        def on_epoch_begin(self, epoch):
            if epoch == 2:
                raise Killed
    whole = GradientClipping(1.0)
    model = _model()
    _fit(model, SGD(model.parameters(), lr=0.1), callbacks=[whole])
    with pytest.raises(Killed):
        model = _model()
        _fit(model, SGD(model.parameters(), lr=0.1), callbacks=[GradientClipping(1.0), Crash()],
             checkpoint=tmp_path / "run.npz")
    resumed, model = GradientClipping(1.0), _model()
    _fit(model, SGD(model.parameters(), lr=0.1), callbacks=[resumed],
         checkpoint=tmp_path / "run.npz", resume=True)
    assert resumed.norms == whole.norms and len(whole.norms) == 6


def test_gradient_clipping_refuses_a_max_norm_that_is_not_positive():
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        GradientClipping(0.0)


class _FakeStderr:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty

    def write(self, s):
        pass

    def flush(self):
        pass


@pytest.mark.parametrize("tty, expected", [(True, True), (False, False)])
def test_progress_is_on_in_a_terminal_and_off_when_nobody_watches(monkeypatch, tty, expected):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(sys, "stderr", _FakeStderr(tty))
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    bar = training._progress_bar(None, 3)
    assert (bar is not None) == expected
    if bar is not None:
        bar.close()


def test_progress_is_on_in_a_jupyter_kernel(monkeypatch):
    pytest.importorskip("tqdm")

    class Shell:
        kernel = object()

    class FakeIPython:
        @staticmethod
        def get_ipython():
            return Shell()
    monkeypatch.setattr(sys, "stderr", _FakeStderr(False))
    monkeypatch.setitem(sys.modules, "IPython", FakeIPython)
    assert training._interactive()


def _fake_kernel(monkeypatch):
    class Shell:
        kernel = object()

    class FakeIPython:
        @staticmethod
        def get_ipython():
            return Shell()
    monkeypatch.setattr(sys, "stderr", _FakeStderr(False))
    monkeypatch.setitem(sys.modules, "IPython", FakeIPython)


def test_progress_is_on_by_default_in_a_jupyter_kernel_as_a_text_bar_without_ipywidgets(monkeypatch):
    tqdm_std = pytest.importorskip("tqdm.std")
    _fake_kernel(monkeypatch)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tqdm.auto would warn "IProgress not found" in the cell
        bar = training._progress_bar(None, 3)
    assert type(bar) is tqdm_std.tqdm
    bar.close()


def test_progress_in_a_jupyter_kernel_with_ipywidgets_is_tqdm_auto(monkeypatch):
    tqdm_auto = pytest.importorskip("tqdm.auto")
    _fake_kernel(monkeypatch)
    widgets = types.ModuleType("ipywidgets")
    widgets.__spec__ = importlib.machinery.ModuleSpec("ipywidgets", None)
    monkeypatch.setitem(sys.modules, "ipywidgets", widgets)
    assert training._tqdm_class() is tqdm_auto.tqdm


def test_progress_false_forces_it_off_and_missing_tqdm_turns_it_off(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _FakeStderr(True))
    assert training._progress_bar(False, 3) is None
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    assert training._progress_bar(None, 3) is None
    with pytest.raises(ImportError, match=r"tinygrad-course\[progress\]"):
        training._progress_bar(True, 3)
