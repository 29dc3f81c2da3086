"""Sixth review of tc.jit: after its replay kernels write the gradients a fused optimizer step
reads straight into the optimizer's flat gradient buffer (Optimizer.grad_homes, GradHome).
Each test runs a step eagerly and jitted from the same seed and compares, bit for bit, every
output, parameter and gradient after every call, and what a user kept between calls (a .grad,
its array, a slice, a transpose, ...) at the end: a kept gradient must hold what it holds in
eager (unchanged, unless eager itself changes it in place: accumulation, clipping).

One bug found, fixed since (the tests after `test_a_new_plan_without_kept_gradients...`): a
home whose bucket the optimizer dropped (a new plan after load_state_dict, a parameter given a
new array, an edited opt.state, a parameter without a gradient at a step) stayed bound in the
compiled backward with reference counts calibrated while the bucket held its view and its flat
buffer, so a kept .grad and its .T looked free and the next replay wrote into the kept array.
A home now follows its parameter into the new plan's buckets (fresh views), or retires."""
import copy
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.nn import functional as F

from jit_helpers import assert_same, compare

RNG = np.random.default_rng(66)
CALLS = [(tc.Tensor(RNG.standard_normal((6, 4)).astype(np.float32)),
          tc.Tensor(RNG.integers(0, 3, 6))) for _ in range(6)]
SMALL = [(tc.Tensor(RNG.standard_normal((3, 4)).astype(np.float32)),
          tc.Tensor(RNG.integers(0, 3, 3))) for _ in range(3)]

OPTIMIZERS = {
    "adam": lambda ps: optim.Adam(ps, lr=0.01),
    "adam_l2": lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    "momentum_l2": lambda ps: optim.Momentum(ps, lr=0.1, beta=0.9, weight_decay=0.1),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01),
}
SOME = ["adam", "adam_l2", "momentum_l2"]


def mlp():
    return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))


class Tied(nn.Module):
    """One Linear applied twice: two replay kernels write the same weight's gradient."""

    def __init__(self):
        super().__init__()
        self.a, self.out = nn.Linear(4, 4), nn.Linear(4, 3)

    def forward(self, x):
        return self.out(tc.tanh(self.a(tc.tanh(self.a(x)))))


class Frozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.out = nn.Linear(4, 5), nn.Linear(5, 3)
        self.a.weight.requires_grad = False

    def forward(self, x):
        return self.out(tc.tanh(self.a(x)))


class Mixed(nn.Module):
    """A float32 layer and a float64 layer: two buckets of two dtypes."""

    def __init__(self):
        super().__init__()
        self.a, self.out = nn.Linear(4, 5), nn.Linear(5, 3).to(np.float64)

    def forward(self, x):
        return self.out(tc.tanh(self.a(x)).astype(np.float64))


class Direct(nn.Module):
    """Parameters that are direct inputs of other replay kernels than Linear's (Mul, Tanh,
    SumAll): their homes go into those kernels' gradient buffers."""

    def __init__(self):
        super().__init__()
        self.a, self.out = nn.Linear(4, 3), nn.Linear(3, 3)
        self.scale = nn.Parameter(np.full((6, 3), 0.5, np.float32))
        self.gate = nn.Parameter(np.linspace(-1, 1, 18).reshape(6, 3).astype(np.float32))

    def forward(self, x):
        h = self.a(x) * self.scale * self.scale + tc.tanh(self.gate)
        return self.out(h) + (self.gate * self.gate).sum() * 0.01


def float64_mlp():
    return mlp().to(np.float64)


def _snap(v):
    return None if v is None else np.array(getattr(v, "data", v), copy=True)


def _now(v):
    return np.asarray(v.data if isinstance(v, tc.Tensor) else v)


def run(use_jit, make_model, make_step, calls, between=None, keep=None):
    """Every call's output, parameters and gradients, and what `keep(model, i)` returned after
    call i (the object itself, held to the end)."""
    tc.manual_seed(0)
    model = make_model()
    step, opt = make_step(model)
    f = tc.jit(step) if use_jit else step
    history, kept = [], []
    for i, args in enumerate(calls):
        if between is not None and i:
            between(model, opt, i)
        out = f(*args)
        history.append((_snap(out), [_snap(p) for p in model.parameters()],
                        [_snap(p.grad) for p in model.parameters()]))
        if keep is not None:
            kept.extend(keep(model, i))
    return history, kept


def check(make_model, make_step, calls=CALLS, between=None, keep=None):
    """Jitted equals eager, bit for bit, at every call, and so does everything kept."""
    (eh, ek), (jh, jk) = (run(use_jit, make_model, make_step, calls, between, keep)
                          for use_jit in (False, True))
    for call, (a, b) in enumerate(zip(eh, jh)):
        assert np.array_equal(a[0], b[0]), f"call {call}: the outputs differ"
        for k, (x, y) in enumerate(zip(a[1], b[1])):
            assert np.array_equal(x, y), f"call {call}: parameter {k} differs"
        for k, (x, y) in enumerate(zip(a[2], b[2])):
            assert (x is None) == (y is None) and (x is None or np.array_equal(x, y)), \
                f"call {call}: gradient {k} differs"
    assert len(ek) == len(jk)
    for k, (x, y) in enumerate(zip(ek, jk)):
        assert np.array_equal(_now(x), _now(y)), f"kept value {k} differs from eager's"


def training(make_opt, zero=True, set_to_none=True, clip=None, schedule=None, twice=False):
    def make_step(model):
        opt = make_opt(model.parameters())
        sched = schedule(opt) if schedule else None

        def step(x, y):
            if zero:
                opt.zero_grad(set_to_none)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            if twice:
                opt.step()
            if sched is not None:
                sched.step()
            return loss
        return step, opt
    return make_step


KEEPS = {
    "tensor": lambda p: [p.grad],
    "array": lambda p: [p.grad.data],
    "numpy_row": lambda p: [p.grad.data[0]],
    "reshape": lambda p: [p.grad.data.reshape(-1)],
    "numpy_T": lambda p: [p.grad.data.T],
    "tensor_T": lambda p: [p.grad.T],
    "times_one": lambda p: [p.grad * 1],
    "tensor_row": lambda p: [p.grad[0]],
    "asarray": lambda p: [np.asarray(p.grad)],
    "numpy": lambda p: [p.grad.numpy()],
    "detach": lambda p: [p.grad.detach()],
    "tensor_and_T": lambda p: [p.grad, p.grad.T],
}


def keeping(kind, at=(1, 2, 3, 4)):
    def keep(model, i):
        if i not in at:
            return []
        return [h for p in model.parameters() if p.grad is not None for h in KEEPS[kind](p)]
    return keep


def keep_all_and_one_transpose(model, i):
    """Every .grad, and the .T of the first: a view of each home once, the flat buffer once more."""
    ps = [p for p in model.parameters() if p.grad is not None]
    return [p.grad for p in ps] + [ps[0].grad.T]


# ---- what holds ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(KEEPS))
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_a_gradient_kept_in_any_form_across_replays_keeps_eagers_value(opt, kind):
    check(mlp, training(OPTIMIZERS[opt]), keep=keeping(kind))


@pytest.mark.parametrize("opt", SOME)
def test_every_gradient_and_a_transpose_kept_after_every_call_keep_eagers_values(opt):
    check(mlp, training(OPTIMIZERS[opt]), keep=keep_all_and_one_transpose)


@pytest.mark.parametrize("kind", ["tensor", "numpy_row", "tensor_and_T"])
@pytest.mark.parametrize("opt", SOME)
@pytest.mark.parametrize("how", ["accumulate", "zeros", "clip", "twice", "schedule"])
def test_accumulation_zeros_clipping_two_steps_and_schedules_with_kept_gradients(how, opt, kind):
    options = {"accumulate": dict(zero=False), "zeros": dict(set_to_none=False),
               "clip": dict(clip=0.1), "twice": dict(twice=True),
               "schedule": dict(schedule=lambda o: optim.StepLR(o, 2, 0.5))}[how]
    check(mlp, training(OPTIMIZERS[opt], **options), keep=keeping(kind))


@pytest.mark.parametrize("kind", ["tensor", "numpy_row", "tensor_and_T"])
@pytest.mark.parametrize("opt", SOME)
def test_two_batch_sizes_two_cache_entries_with_kept_gradients(opt, kind):
    calls = [CALLS[0], SMALL[0], CALLS[1], SMALL[1], CALLS[2], CALLS[3], SMALL[2]]
    check(mlp, training(OPTIMIZERS[opt]), calls, keep=keeping(kind, range(len(calls))))


@pytest.mark.parametrize("kind", ["tensor", "numpy_row", "tensor_and_T"])
@pytest.mark.parametrize("opt", SOME)
@pytest.mark.parametrize("make_model", [Tied, Frozen, Mixed, Direct, float64_mlp])
def test_tied_frozen_mixed_dtype_direct_and_float64_parameters(make_model, opt, kind):
    check(make_model, training(OPTIMIZERS[opt]), keep=keeping(kind))


def _eager_step_between(model, opt, i):
    if i in (2, 3):
        opt.zero_grad()
        F.cross_entropy(model(CALLS[0][0]), CALLS[0][1]).backward()
        opt.step()


def _copies_between(model, opt, i):
    if i == 3:
        copy.deepcopy(opt)
        pickle.loads(pickle.dumps(opt))


def _hyperparameters_between(model, opt, i):
    opt.param_groups[0]["lr"] *= 0.5
    opt.param_groups[0]["weight_decay"] = 0.1 if i % 2 else 0.0  # the L2 path on and off


@pytest.mark.parametrize("kind", ["tensor", "numpy_row", "tensor_and_T"])
@pytest.mark.parametrize("opt", SOME)
@pytest.mark.parametrize("between", [_eager_step_between, _copies_between,
                                     _hyperparameters_between])
def test_eager_steps_copies_and_hyperparameter_changes_between_replays(between, opt, kind):
    check(mlp, training(OPTIMIZERS[opt]), between=between, keep=keeping(kind))


def _optimizers(kind, make_opt):
    """Two optimizers on disjoint parameters, two groups with their own lr, opt.step inside a
    user's @replayed function (with the optimizer from its closure)."""
    def make_step(model):
        ps = list(model.parameters())
        if kind == "two_optimizers":
            opts = [make_opt(ps[:2]), make_opt(ps[2:])]
        elif kind == "two_groups":
            opts = [make_opt([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.003}])]
        else:
            opts = [make_opt(ps)]

        @tc.jit.replayed
        def update():
            for o in opts:
                o.step()

        def step(x, y):
            for o in opts:
                o.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            if kind == "inside_replayed":
                update()
            else:
                for o in opts:
                    o.step()
            return loss
        return step, opts[0]
    return make_step


@pytest.mark.parametrize("kind", ["tensor", "numpy_row", "tensor_and_T"])
@pytest.mark.parametrize("opt", SOME)
@pytest.mark.parametrize("how", ["two_optimizers", "two_groups", "inside_replayed"])
def test_two_optimizers_two_groups_and_a_step_inside_a_replayed_function(how, opt, kind):
    check(mlp, _optimizers(how, OPTIMIZERS[opt]), keep=keeping(kind))


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.out = nn.Linear(4, 5), nn.Linear(5, 3)

    def forward(self, x):
        return self.out(tc.tanh(self.a(x)))


def _last_layer_first(make_opt):
    def make_step(model):
        opt = make_opt(model.out.parameters())

        def step(x, y):
            opt.zero_grad()
            model.a.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step, opt
    return make_step


def _unfreeze(model, opt, i):
    if i == 3:
        opt.add_param_group({"params": list(model.a.parameters()), "lr": 0.02})


@pytest.mark.parametrize("kind", ["tensor", "numpy_row"])
@pytest.mark.parametrize("opt", SOME)
def test_a_param_group_added_between_replays(opt, kind):
    check(TwoLayers, _last_layer_first(OPTIMIZERS[opt]), between=_unfreeze, keep=keeping(kind))


@pytest.mark.parametrize("clip", [None, 0.1])
@pytest.mark.parametrize("opt", SOME)
def test_a_jitted_backward_then_clipping_and_the_step_outside_as_eager(opt, clip):
    def trace(use_jit):
        tc.manual_seed(0)
        model = mlp()
        o = OPTIMIZERS[opt](model.parameters())

        def step(x, y):
            o.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss
        step(*CALLS[0])
        o.step()  # (an eager step first: the record then offers homes)
        f = tc.jit(step) if use_jit else step
        seen, kept = [], []
        for args in CALLS[1:]:
            f(*args)
            kept += [p.grad for p in model.parameters()] + [model[0].weight.grad.T]
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            o.step()
            seen += [_snap(p) for p in model.parameters()] + [_snap(p.grad)
                                                             for p in model.parameters()]
        return seen, [_snap(k) for k in kept]
    (es, ek), (js, jk) = trace(False), trace(True)
    assert all(map(np.array_equal, es, js)) and all(map(np.array_equal, ek, jk))


@pytest.mark.parametrize("opt", SOME)
def test_two_jitted_functions_sharing_one_optimizer(opt):
    def trace(use_jit):
        tc.manual_seed(0)
        model = mlp()
        o = OPTIMIZERS[opt](model.parameters())

        def a(x, y):
            o.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            o.step()
            return loss

        def b(x, y):
            o.zero_grad()
            loss = (model(x) ** 2).mean()
            loss.backward()
            o.step()
            return loss
        fa, fb = (tc.jit(a), tc.jit(b)) if use_jit else (a, b)
        seen, kept = [], []
        for i, args in enumerate(CALLS):
            seen.append(_snap((fa if i % 3 else fb)(*args)))
            seen += [_snap(p) for p in model.parameters()] + [_snap(p.grad)
                                                             for p in model.parameters()]
            kept += [p.grad for p in model.parameters()] + [model[2].weight.grad.data[0]]
        return seen, [_snap(k) for k in kept]
    (es, ek), (js, jk) = trace(False), trace(True)
    assert all(map(np.array_equal, es, js)) and all(map(np.array_equal, ek, jk))


ACTIONS = st.lists(st.sampled_from(["call", "small", "keep_tensor", "keep_row", "keep_T",
                                    "drop", "eager", "no_zero"]), min_size=2, max_size=8)


@given(actions=ACTIONS, opt=st.sampled_from(SOME))
def test_any_sequence_of_calls_kept_gradients_and_eager_steps_matches_eager(actions, opt):
    """Calls of two batch sizes, with or without zero_grad (accumulation), eager steps between,
    and gradients kept or let go in any order (no new optimizer plan: see the tests below)."""
    def trace(use_jit):
        tc.manual_seed(0)
        model = mlp()
        o = OPTIMIZERS[opt](model.parameters())

        def step(x, y, zero):
            if zero:
                o.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            o.step()
            return loss
        f = tc.jit(step) if use_jit else step
        seen, kept, n = [], [], 0
        for a in actions:
            if a in ("call", "small", "no_zero", "eager"):
                x, y = (SMALL if a == "small" else CALLS)[n % 3]
                n += 1
                seen.append(_snap((step if a == "eager" else f)(x, y, a != "no_zero")))
                seen += [_snap(p) for p in model.parameters()] + [_snap(p.grad)
                                                                 for p in model.parameters()]
            elif a == "drop":
                kept.clear()
            else:
                for p in (p for p in model.parameters() if p.grad is not None):
                    kept.append(p.grad if a == "keep_tensor" else
                                p.grad.data[0] if a == "keep_row" else p.grad.T)
        return seen, [_snap(k) for k in kept]
    (es, ek), (js, jk) = trace(False), trace(True)
    assert len(es) == len(js) and all(
        (x is None and y is None) or np.array_equal(x, y) for x, y in zip(es, js))
    assert all(map(np.array_equal, ek, jk))


# ---- the bug -----------------------------------------------------------------------------------

def _load_state(model, opt, i):
    if i in (2, 4):
        opt.load_state_dict(opt.state_dict())


def _new_arrays(model, opt, i):
    if i in (2, 4):
        for p in model.parameters():
            p.data = (p.data * np.float32(0.9)).copy()


def _state_edited(model, opt, i):
    if i == 3:
        key = type(opt).state_keys[0]
        opt.state[0][key] = opt.state[0][key].copy()


def _sometimes_no_gradient(make_opt):
    def make_step(model):
        opt = make_opt(model.parameters())
        calls = [0]

        @tc.jit.replayed
        def drop_a_gradient():
            calls[0] += 1
            if calls[0] % 2 == 0:
                model[0].bias.grad = None

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            drop_a_gradient()
            opt.step()
            return loss
        return step, opt
    return make_step


@pytest.mark.parametrize("opt", SOME)
def test_a_new_plan_without_kept_gradients_still_equals_eager(opt):
    """load_state_dict, new arrays, an edited opt.state and a gradient missing at some steps
    make the optimizer plan again: the training itself stays eager's."""
    for between in (_load_state, _new_arrays, _state_edited):
        check(mlp, training(OPTIMIZERS[opt]), between=between, keep=keeping("tensor"))
    check(mlp, _sometimes_no_gradient(OPTIMIZERS[opt]), keep=keeping("numpy_row"))
    assert_same(compare(lambda m: training(OPTIMIZERS[opt])(m)[0], CALLS, mlp,
                        lambda m, i: _new_arrays(m, None, i)))


def test_a_gradient_kept_after_load_state_dict_never_changes():
    rng = np.random.default_rng(0)
    x, y = tc.Tensor(rng.standard_normal((8, 4)).astype(np.float32)), tc.Tensor(
        rng.integers(0, 3, 8))
    x2 = tc.Tensor(rng.standard_normal((8, 4)).astype(np.float32))
    model = mlp()
    opt = optim.Adam(model.parameters(), lr=0.01)

    @tc.jit
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    step(x, y)
    step(x, y)  # a replay: the .grad are views of the flat buffer
    opt.load_state_dict(opt.state_dict())  # the next step plans again: the old bucket is dropped
    step(x, y)
    g = model[0].weight.grad  # kept, with its transpose
    gt = g.T
    before = g.data.copy()
    step(x2, y)
    assert gt is not None and np.array_equal(g.data, before)


@pytest.mark.parametrize("opt", SOME)
@pytest.mark.parametrize("between", [_load_state, _new_arrays, _state_edited])
def test_kept_gradients_across_a_new_optimizer_plan_keep_eagers_values(between, opt):
    check(mlp, training(OPTIMIZERS[opt]), between=between, keep=keep_all_and_one_transpose)


@pytest.mark.parametrize("opt", SOME)
def test_kept_gradients_with_a_gradient_missing_at_some_steps_keep_eagers_values(opt):
    check(mlp, _sometimes_no_gradient(OPTIMIZERS[opt]), keep=keep_all_and_one_transpose)
