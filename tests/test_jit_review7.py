"""Seventh review of tc.jit: where it meets the rest of the product. fit(jit=True) against
fit(jit=False) from the same seed (histories, weights, optimizer state) with callbacks that
change the model, the optimizer or the loss between epochs and batches, cross-mode resumes,
CNN and attention models, several fits in a row; hand-written jitted loops against eager with
the model cast, frozen or rolled back and the optimizer's hyperparameters changed between
steps; hyperparameter search trials that use jit.

Bugs found, all fixed since: a recording was refused with a JitError that blamed the step for an
in-place change another thread made to its own tensors (the in-place clock is global; the
recorder now reads its own thread's last change), which broke
`random_search(..., executor=ThreadPoolExecutor(...))` over trials that call fit(jit=True); a
loss_fn that reads a Python value a callback changes between epochs trained silently otherwise
with fit(jit=True) (fixed: fit records again each epoch); a value read inside fit's own step was
refused with advice that did not apply to fit (fixed); and a module made or changed anywhere
between two calls made every jit record again (fixed: only modules a recorded step ran count)."""
import threading

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import callbacks as cb
from tinygrad_course import nn, optim, tuning
from tinygrad_course.callbacks import Callback
from tinygrad_course.jit import JitError
from tinygrad_course.nn import functional as F

from test_resume import Killed, KillAfter

RNG = np.random.default_rng(77)
X = RNG.standard_normal((37, 5)).astype(np.float32)  # batches of 8: the last one has 5
Y = RNG.integers(0, 3, 37)
DX, DY = RNG.standard_normal((11, 5)).astype(np.float32), RNG.integers(0, 3, 11)
CALLS = [(tc.Tensor(RNG.standard_normal((8, 5)).astype(np.float32)),
          tc.Tensor(RNG.integers(0, 3, 8))) for _ in range(4)]


def mlp(bn=True, drop=True, generator=None):
    tc.manual_seed(0)
    layers = [nn.Linear(5, 8)] + ([nn.BatchNorm1d(8)] if bn else []) + [nn.ReLU()]
    layers += [nn.Dropout(0.7, generator=generator)] if drop else []
    return nn.Sequential(*layers, nn.Linear(8, 3))


def flat(tree, path=()):
    """(path, leaf) pairs of a nested state (dicts, lists, arrays, numbers), leaves copied."""
    if isinstance(tree, dict):
        return [kv for k in sorted(tree, key=str) for kv in flat(tree[k], path + (k,))]
    if isinstance(tree, (list, tuple)):
        return [kv for i, v in enumerate(tree) for kv in flat(v, path + (i,))]
    return [(path, np.array(tree) if isinstance(tree, np.ndarray) else tree)]


def snapshot(model, opt):
    """The model's state_dict and the optimizer's, flattened (leaves copied)."""
    return flat({"model": model.state_dict(), "optimizer": opt.state_dict()})


def assert_same_state(a, b):
    assert [p for p, _ in a] == [p for p, _ in b]
    for (path, x), (_, y) in zip(a, b):
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), path
        else:
            assert x == y, path


def both_ways(run):
    """run(use_jit) -> (what to compare with ==, snapshot); eager and jitted agree bit for bit."""
    (he, se), (hj, sj) = run(False), run(True)
    assert he == hj
    assert_same_state(se, sj)


def training_step(model, opt):
    """zero_grad, cross-entropy, backward, the optimizer's step; returns the loss."""
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def history(h):
    return h.costs, h.epoch_costs, h.lrs, h.train, h.dev, h.stopped_early


# ---- fit(jit=True) with the optimizers, callbacks and schedules --------------------------------

OPTIMIZERS = {
    "adam": lambda ps: optim.Adam(ps, lr=0.02),
    "adam_l2": lambda ps: optim.Adam(ps, lr=0.02, weight_decay=0.1),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.02, weight_decay=0.1),
    "rmsprop_l2": lambda ps: optim.RMSprop(ps, lr=0.01, weight_decay=0.05),
    "momentum_l2": lambda ps: optim.Momentum(ps, lr=0.05, weight_decay=0.05),
    "sgd_foreach": lambda ps: optim.SGD(ps, lr=0.05, weight_decay=0.05, foreach=True),
}


class ClipValue(Callback):
    def on_before_optimizer_step(self, iteration):
        nn.utils.clip_grad_value_(self.model.parameters(), 0.05)


class FreezeOddEpochs(Callback):
    def on_epoch_begin(self, epoch):
        next(iter(self.model.parameters())).requires_grad = epoch % 2 == 0


class Float64FromEpoch2(Callback):
    def on_epoch_begin(self, epoch):
        if epoch == 2:
            self.model.to(np.float64)


class HyperparametersPerBatch(Callback):
    def on_batch_end(self, iteration, cost):
        self.optimizer.weight_decay = 0.01 * (iteration % 3)
        if "beta1" in self.optimizer.param_groups[0]:
            self.optimizer.param_groups[0]["beta1"] = 0.5 + 0.4 * (iteration % 2)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fit_with_each_optimizer_validation_and_metrics_equals_eager(name):
    def run(use_jit):
        model = mlp()
        opt = OPTIMIZERS[name](model.parameters())
        h = tc.fit(model, F.cross_entropy, opt, (X, Y), 3, dev=(DX, DY),
                   metrics={"acc": F.accuracy}, batch_size=8, generator=tc.Generator(3),
                   jit=use_jit, progress=False)
        return history(h), snapshot(model, opt)
    both_ways(run)


@pytest.mark.parametrize("callbacks", [
    pytest.param(lambda: [cb.GradientClipping(0.1, float("inf"))], id="clip_inf_norm"),
    pytest.param(lambda: [cb.GradientClipping(0.1, 1.0)], id="clip_1_norm"),
    pytest.param(lambda: [ClipValue()], id="clip_value_in_a_callback"),
    pytest.param(lambda: [FreezeOddEpochs()], id="freeze_unfreeze_between_epochs"),
    pytest.param(lambda: [Float64FromEpoch2()], id="float64_from_epoch_2"),
    pytest.param(lambda: [HyperparametersPerBatch()], id="weight_decay_and_beta1_per_batch"),
    pytest.param(lambda: [cb.EarlyStopping(patience=1, restore_best=True),
                          cb.LearningRateLogger("batch")], id="early_stopping_and_lr_log"),
])
def test_fit_with_callbacks_that_change_things_between_steps_equals_eager(callbacks):
    def run(use_jit):
        model = mlp()
        opt = optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.05)
        sched = optim.OneCycleLR(opt, max_lr=0.1, total_steps=20)
        cbs = callbacks()
        h = tc.fit(model, F.cross_entropy, opt, (X, Y), 4, schedule=sched, dev=(DX, DY),
                   callbacks=cbs, batch_size=8, seed=4, jit=use_jit, progress=False)
        logged = [getattr(c, "norms", getattr(c, "lrs", None)) for c in cbs]
        return (history(h), logged), snapshot(model, opt)
    both_ways(run)


def test_fit_with_a_dropout_generator_of_its_own_equals_eager():
    def run(use_jit):
        model = mlp(generator=tc.Generator(9))
        opt = optim.Adam(model.parameters(), lr=0.02)
        h = tc.fit(model, F.cross_entropy, opt, (X, Y), 3, schedule=optim.ExponentialLR(opt, 0.5),
                   batch_size=8, generator=tc.Generator(3), jit=use_jit, progress=False)
        return history(h), snapshot(model, opt)
    both_ways(run)


def test_fit_on_a_cnn_and_on_attention_equals_eager():
    images = RNG.standard_normal((19, 2, 6, 6)).astype(np.float32)
    sequences = RNG.standard_normal((19, 4, 6)).astype(np.float32)
    labels = RNG.integers(0, 3, 19)

    class Attend(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(6, 2, batch_first=True)
            self.drop, self.out = nn.Dropout(0.8), nn.Linear(6, 3)

        def forward(self, x):
            h, _ = self.attn(x, x, x)
            return self.out(self.drop(h).mean(axis=1))

    def cnn():
        return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Dropout2d(0.8), nn.Flatten(), nn.Linear(36, 3))
    for make, data in [(cnn, images), (Attend, sequences)]:
        def run(use_jit):
            tc.manual_seed(0)
            model = make()
            opt = optim.Adam(model.parameters(), lr=0.02)
            h = tc.fit(model, F.cross_entropy, opt, (data, labels), 2,
                       dev=(data[:5], labels[:5]), metrics={"acc": F.accuracy}, batch_size=6,
                       seed=2, jit=use_jit, progress=False)
            return history(h), snapshot(model, opt)
        both_ways(run)


def test_a_parameter_outside_the_optimizer_accumulates_its_gradient_as_eager_in_fit():
    def run(use_jit):
        model = mlp(bn=False)
        first = next(iter(model.parameters()))
        opt = optim.Adam(list(model.parameters())[2:], lr=0.02)
        h = tc.fit(model, F.cross_entropy, opt, (X, Y), 2, batch_size=8, seed=1, jit=use_jit,
                   progress=False)
        return (history(h), first.grad.data.tolist()), snapshot(model, opt)
    both_ways(run)


@pytest.mark.parametrize("kind", ["numpy_in_place", "tensor_in_place", "tensor_new_array"])
def test_class_weights_a_callback_changes_between_epochs_are_read_as_eager(kind):
    def run(use_jit):
        model = mlp(bn=False)
        opt = optim.Adam(model.parameters(), lr=0.02)
        w = np.ones(3, np.float32) if kind == "numpy_in_place" else tc.ones(3)

        class Reweigh(Callback):
            def on_epoch_begin(self, epoch):
                new = np.array([1, 2 + epoch, 0.5], np.float32)
                if kind == "numpy_in_place":
                    w[:] = new
                elif kind == "tensor_in_place":
                    w.data[:] = new
                else:
                    w.data = new
        h = tc.fit(model, lambda z, y: F.cross_entropy(z, y, weight=w), opt, (X, Y), 3,
                   callbacks=[Reweigh()], batch_size=8, seed=1, jit=use_jit, progress=False)
        return history(h), snapshot(model, opt)
    both_ways(run)


def test_a_loss_module_attribute_a_callback_changes_records_again_and_equals_eager():
    def run(use_jit):
        model = mlp(bn=False)
        opt = optim.Adam(model.parameters(), lr=0.02)
        loss = nn.CrossEntropyLoss()

        class Smooth(Callback):
            def on_epoch_begin(self, epoch):
                loss.label_smoothing = 0.1 * epoch
        h = tc.fit(model, loss, opt, (X, Y), 3, callbacks=[Smooth()], batch_size=8, seed=1,
                   jit=use_jit, progress=False)
        return history(h), snapshot(model, opt)
    both_ways(run)


def test_fits_in_a_row_jitted_eager_and_jitted_equal_three_eager_fits():
    def run(use_jit):
        model = mlp()
        opt = optim.Adam(model.parameters(), lr=0.02)
        costs = []
        for k in range(3):
            h = tc.fit(model, F.cross_entropy, opt, (X, Y), 2, batch_size=8, seed=k,
                       jit=use_jit and k != 1, progress=False)
            costs += h.costs
        return costs, snapshot(model, opt)
    both_ways(run)


def test_a_checkpoint_written_jitted_or_eager_resumes_either_way_to_the_same_end(tmp_path):
    def setup():
        model = mlp()
        ps = list(model.parameters())
        opt = optim.AdamW([{"params": ps[:2], "lr": 0.03}, {"params": ps[2:]}], lr=0.01,
                          weight_decay=0.05)
        return model, opt, optim.CosineAnnealingLR(opt, T_max=5)

    def fit(model, opt, sched, use_jit, callbacks=(), **kw):
        clip = cb.GradientClipping(0.3)
        h = tc.fit(model, F.cross_entropy, opt, (X, Y), 5, schedule=sched, dev=(DX, DY),
                   callbacks=[clip, cb.EarlyStopping(patience=3), *callbacks], batch_size=8,
                   seed=3, jit=use_jit, progress=False, **kw)
        return history(h), clip.norms

    model, opt, sched = setup()
    expected = fit(model, opt, sched, False), snapshot(model, opt)
    for first, then in [(True, False), (False, True), (True, True)]:
        path = tmp_path / f"{first}_{then}.npz"
        with pytest.raises(Killed):
            fit(*setup(), first, [KillAfter(1)], checkpoint=path)
        model, opt, sched = setup()
        resumed = fit(model, opt, sched, then, checkpoint=path, resume=True)
        assert resumed == expected[0]
        assert_same_state(snapshot(model, opt), expected[1])


# ---- hand-written jitted loops with changes between steps --------------------------------------

def loop(make_opt, between, model=None, steps=12):
    """run(use_jit) for both_ways: a zero_grad/forward/backward/step loop with between(i, model,
    opt) before each call; float64 inputs once the model is float64."""
    def run(use_jit):
        m = model() if model is not None else mlp()
        opt = make_opt(m.parameters())
        step = training_step(m, opt)
        f = tc.jit(step) if use_jit else step
        losses = []
        for i in range(steps):
            between(i, m, opt)
            x, y = CALLS[i % 4]
            dtype = next(iter(m.parameters())).data.dtype
            losses.append(f(tc.Tensor(x.data.astype(dtype)), y).item())
        return losses, snapshot(m, opt)
    return run


def cast(i, model, opt):
    if i == 3:
        model.to(np.float64)
    if i == 7:
        model.to(np.float32)


def freeze(i, model, opt):
    model[0].weight.requires_grad = not 3 <= i < 7


def hyperparameters(i, model, opt):
    if i == 3:
        opt.lr = 0.1
    if i == 5:
        opt.weight_decay = 0.2
    if i == 6 and "beta1" in opt.param_groups[0]:
        opt.beta1 = 0.5
    if i == 8:
        opt.weight_decay = 0.0


def modes_and_keep_prob(i, model, opt):
    model.train(i % 3 != 2)
    model[3].keep_prob = 0.5 if i > 4 else 0.7


def rollback(i, model, opt, saved={}):  # noqa: B006 (the loop's memory, reset at i == 0)
    if i == 3:
        saved["model"], saved["opt"] = model.state_dict(), opt.state_dict()
    if i == 8:
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])


@pytest.mark.parametrize("change", [cast, freeze, hyperparameters, modes_and_keep_prob, rollback])
@pytest.mark.parametrize("name", ["adam_l2", "adamw", "rmsprop_l2", "momentum_l2"])
def test_a_jitted_loop_with_the_model_or_optimizer_changed_between_steps_equals_eager(name,
                                                                                      change):
    both_ways(loop(OPTIMIZERS[name], change))


def test_a_jitted_loop_cast_to_float16_mid_training_equals_eager():
    def to_half(i, model, opt):
        if i == 3:
            model.to(np.float16)
    both_ways(loop(OPTIMIZERS["adam"], to_half, model=lambda: mlp(bn=False, drop=False),
                   steps=8))


def test_a_checkpoint_loaded_into_a_warm_jitted_loop_continues_as_eager():
    def run(use_jit):
        model = mlp()
        opt = optim.Adam(model.parameters(), lr=0.02, weight_decay=0.05)
        tc.manual_seed(5)
        losses = [training_step(model, opt)(*CALLS[i % 4]).item() for i in range(5)]
        saved = model.state_dict(), opt.state_dict()
        model2 = mlp()
        opt2 = optim.Adam(model2.parameters(), lr=0.5)
        step = training_step(model2, opt2)
        f = tc.jit(step) if use_jit else step
        for i in range(3):  # recorded and replayed with other weights before the load
            f(*CALLS[i])
        model2.load_state_dict(saved[0])
        opt2.load_state_dict(saved[1])
        tc.manual_seed(5)
        losses += [f(*CALLS[i % 4]).item() for i in range(5, 12)]
        return losses, snapshot(model2, opt2)
    both_ways(run)


def test_a_replay_draws_from_the_generator_in_use_at_each_call():
    def run(use_jit):
        model = mlp(bn=False)
        opt = optim.Adam(model.parameters(), lr=0.02)
        step = training_step(model, opt)
        f = tc.jit(step) if use_jit else step
        g1, g2 = tc.Generator(1), tc.Generator(2)
        out = []
        with tc.use_generator(g1):
            out.append(f(*CALLS[0]).item())
        out.append(f(*CALLS[1]).item())
        with tc.use_generator(g2):
            out.append(f(*CALLS[2]).item())
        tc.manual_seed(3)
        out.append(f(*CALLS[3]).item())
        with tc.use_generator(g1):
            out.append(f(*CALLS[0]).item())
        return out, snapshot(model, opt)
    both_ways(run)


# ---- hyperparameter search -------------------------------------------------------------------

def search_trial(use_jit):
    def train(params, seed):
        model = mlp()
        opt = optim.Adam(model.parameters(), lr=params["lr"])
        h = tc.fit(model, F.cross_entropy, opt, (X, Y), 2, dev=(DX, DY), batch_size=8, seed=seed,
                   jit=use_jit, progress=False)
        return {"dev_cost": h.dev["cost"][-1],
                "w": float(next(iter(model.parameters())).data.astype(np.float64).sum())}
    return train


def test_a_serial_search_whose_trials_fit_with_jit_ranks_as_eager():
    space = {"lr": tuning.log_uniform(1e-3, 1e-1)}
    runs = [tuning.random_search(search_trial(j), space, 3, seed=0, metric="dev_cost", mode="min")
            for j in (False, True)]
    assert [t.metrics for t in runs[0]] == [t.metrics for t in runs[1]]


# ---- bugs --------------------------------------------------------------------------------------

def test_a_recording_is_not_refused_for_another_threads_in_place_changes():
    # Another thread trains its own tensor while this thread records its step; the OS may switch
    # threads at any point (a search's ThreadPoolExecutor running trials that fit(jit=True)
    # hits this within a few trials). The join below is that switch, made deterministic.
    def other_thread_trains():
        w = tc.Tensor(np.ones(3, np.float32), requires_grad=True)
        opt = optim.SGD([w], lr=0.1)
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()

    def run(use_jit):
        model = mlp(bn=False, drop=False)
        opt = optim.Adam(model.parameters(), lr=0.02)

        def step(x, y):
            opt.zero_grad()
            h = model[0](x)
            t = threading.Thread(target=other_thread_trains)
            t.start()
            t.join()
            loss = F.cross_entropy(model[2](model[1](h)), y)
            loss.backward()
            opt.step()
            return loss
        f = tc.jit(step) if use_jit else step
        return [f(*CALLS[i % 4]).item() for i in range(4)], snapshot(model, opt)
    both_ways(run)


def test_fit_with_jit_never_silently_ignores_a_value_a_callback_changes_for_the_loss():
    # An L2 coefficient annealed by a callback, read by loss_fn from a closure: eager reads the
    # new value each epoch; jitted, the recording keeps the first. Either equal eager's numbers
    # or refuse (JitError, e.g. check the trace again after callbacks ran), never differ.
    def run(use_jit):
        model = mlp(bn=False)
        opt = optim.Adam(model.parameters(), lr=0.02)
        lam = [0.0]

        class Anneal(Callback):
            def on_epoch_begin(self, epoch):
                lam[0] = 0.1 * epoch

        def loss_fn(z, y):
            return F.cross_entropy(z, y) + lam[0] * sum((p * p).sum() for p in model.parameters())
        h = tc.fit(model, loss_fn, opt, (X, Y), 3, callbacks=[Anneal()], batch_size=8, seed=1,
                   jit=use_jit, progress=False)
        return history(h), snapshot(model, opt)
    eager = run(False)
    try:
        jitted = run(True)
    except JitError:
        return
    assert eager[0] == jitted[0]
    assert_same_state(eager[1], jitted[1])


def test_a_value_read_in_fits_step_is_refused_naming_fit_and_a_fix_that_works():
    def loss_fn(z, y):
        loss = F.cross_entropy(z, y)
        if loss.item() > 100:  # a guard or a log in the user's loss
            raise FloatingPointError("diverged")
        return loss
    model = mlp()
    with pytest.raises(JitError, match=r"(?s)fit.*jit=False"):
        tc.fit(model, loss_fn, optim.Adam(model.parameters(), lr=0.01), (X, Y), 1, batch_size=8,
               seed=0, jit=True, progress=False)


def test_a_module_made_elsewhere_between_calls_does_not_make_the_step_record_again():
    model = mlp()
    f = tc.jit(training_step(model, optim.Adam(model.parameters(), lr=0.01)))
    for i in range(4):
        f(*CALLS[0])
        nn.Linear(2, 2)  # unrelated to the step: a model for the next trial, a loss module, ...
    assert f.recordings == 1
