"""fit(checkpoint=, resume=True): a run killed after epoch k and resumed in a fresh model and
optimizer ends with weights bit-identical to a run never interrupted (dropout and shuffling on)."""
import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.callbacks import Callback, EarlyStopping
from tinygrad_course.data import DataLoader, TensorDataset
from tinygrad_course.optim import AdamW, CosineAnnealingLR, ReduceLROnPlateau


class Killed(Exception):
    pass


class KillAfter(Callback):
    """Raise at the end of epoch k, as a kill -9 right after that epoch's checkpoint."""

    def __init__(self, k):
        self.k = k

    def on_epoch_end(self, epoch, history):
        if epoch == self.k:
            raise Killed(epoch)


def _data(m=60):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(m, 4)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _setup(schedule="cosine"):
    model = nn.Sequential(nn.Linear(4, 16, generator=tc.Generator(1)), nn.ReLU(),
                          nn.Dropout(keep_prob=0.7), nn.Linear(16, 2, generator=tc.Generator(2)))
    opt = AdamW([{"params": list(model.parameters())[:2], "lr": 0.02},
                 {"params": list(model.parameters())[2:]}], lr=0.01)
    sched = (CosineAnnealingLR(opt, T_max=6) if schedule == "cosine"
             else ReduceLROnPlateau(opt, patience=0, factor=0.5))
    return model, opt, sched


def _weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def _fit(model, opt, sched, data, callbacks=(), **kw):
    return tc.fit(model, nn.cross_entropy, opt, data, epochs=6, schedule=sched, batch_size=16,
                  callbacks=callbacks, progress=False, **kw)


@pytest.mark.parametrize("schedule", ["cosine", "plateau"])
@pytest.mark.parametrize("as_loader", [False, True])
def test_a_killed_run_resumed_gives_bit_identical_weights(tmp_path, schedule, as_loader):
    def data():
        X, y = _data()
        return DataLoader(TensorDataset(X, y), batch_size=16, seed=3) if as_loader else (X, y)

    model, opt, sched = _setup(schedule)
    reference = _fit(model, opt, sched, data(), seed=11)
    expected = _weights(model)

    path = tmp_path / "run.npz"
    model, opt, sched = _setup(schedule)
    with pytest.raises(Killed):
        _fit(model, opt, sched, data(), [KillAfter(2)], seed=11, checkpoint=path)
    model, opt, sched = _setup(schedule)  # a fresh process: new model, optimizer, schedule
    resumed = _fit(model, opt, sched, data(), seed=11, checkpoint=path, resume=True)
    for k, v in _weights(model).items():
        np.testing.assert_array_equal(v, expected[k], err_msg=k)
    assert resumed.costs == reference.costs and resumed.lrs == reference.lrs
    assert opt.state_dict()["param_groups"][1]["lr"] == sched.get_last_lr()[1]


def test_resume_without_a_checkpoint_file_starts_from_scratch(tmp_path):
    model, opt, sched = _setup()
    history = _fit(model, opt, sched, _data(), seed=0, checkpoint=tmp_path / "new.npz",
                   resume=True)
    assert history.epochs == 6 and (tmp_path / "new.npz").exists()
    assert tc.load(tmp_path / "new.npz")["epoch"] == 6


def test_resume_needs_a_checkpoint_path():
    model, opt, sched = _setup()
    with pytest.raises(ValueError, match="resume=True needs checkpoint=path"):
        _fit(model, opt, sched, _data(), resume=True)


def test_a_finished_early_stopped_run_resumes_to_the_same_end(tmp_path):
    X, y = _data()
    path = tmp_path / "es.npz"

    def run():
        model, opt, sched = _setup()
        stop = EarlyStopping(monitor="cost", patience=1, min_delta=10.0)
        h = _fit(model, opt, sched, (X, y), [stop], seed=4, checkpoint=path, resume=True)
        return h, _weights(model)
    first, w1 = run()
    again, w2 = run()
    assert first.stopped_early and again.stopped_early and again.epochs == first.epochs
    for k in w1:
        np.testing.assert_array_equal(w1[k], w2[k])


def test_the_checkpoint_is_written_atomically_each_epoch(tmp_path):
    seen = []

    class Look(Callback):
        def on_epoch_begin(self, epoch):
            if epoch:
                seen.append(tc.load(tmp_path / "c.npz")["epoch"])
    model, opt, sched = _setup()
    _fit(model, opt, sched, _data(), [Look()], seed=0, checkpoint=tmp_path / "c.npz")
    assert seen == [1, 2, 3, 4, 5]
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]  # no temporary file left
