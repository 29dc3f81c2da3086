"""Review of b480861: backward(gradient=t) casts a gradient tensor to the output's dtype at the
root; tc.grad leaves the nodes a None gradient cut off; an optimizer keeps the entries of a
parameter taken out of a group (`_set_aside`) for when it comes back, and refuses one put in twice.

Holds: the cast (float64, integer, bool, 0-d, views, float16 outputs, tc.grad's grad_outputs,
create_graph with a gradient that requires grad), eager and tc.jit alike; a parameter removed and
put back (in place or with add_param_group, its data scaled or its dtype changed while out) steps
exactly as if it had its own optimizer that paused, for every optimizer, foreach or not, float16
master weights, weight decay with a filter; jitted steps around removals equal eager's and a
kept .grad never changes. Bugs found, fixed since: a finite float32 gradient that overflowed a
float16 output was reported as "contains NaN or inf" (the check now reads the gradient as given); load_state_dict kept the stale state of removed
parameters (PyTorch's replaces state whole); a deepcopy or pickle of the optimizer lost the state
of a removed parameter (`_set_aside` was keyed by the original tensors' ids); `_set_aside` kept the old
buckets' whole flat buffers alive, and parameters that have no state at all; a parameter removed
and put back under tc.jit no longer got its gradient written into the flat buffer (speed only).
"""
import copy
import gc
import itertools
import pickle
import weakref

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.inplace import BackwardError

from jit_helpers import assert_same, compare

RNG = np.random.default_rng(11)


def leaf(dtype=np.float32) -> tc.Tensor:
    return tc.Tensor(np.array([0.5, 1.0], dtype), requires_grad=True)


class NoGrad(tc.Function):
    """y = 2 x whose backward gives no gradient (None): it cuts the graph below it."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return None


# ---- backward(gradient=...) cast at the root -----------------------------------------------------

@pytest.mark.parametrize("given", [np.array([1.0, 2.0]), np.array([1, 2]), np.array([True, False])],
                         ids=["float64", "int64", "bool"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_a_gradient_tensor_of_another_dtype_is_cast_to_the_outputs_as_pytorchs(given, create_graph):
    x = leaf()  # torch: x.grad is float32 [2, 4] (bool: [2, 0]) for each of these
    (x * 2).backward(gradient=tc.Tensor(given), create_graph=create_graph)
    assert x.grad.dtype == np.float32
    assert np.array_equal(x.grad.data, 2 * given.astype(np.float32))


def test_create_graph_with_a_float64_gradient_that_requires_grad_differentiates_into_it():
    x, g = leaf(), tc.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).backward(gradient=g, create_graph=True)  # torch: x.grad float32 [1, 4]
    assert x.grad.dtype == np.float32 and np.array_equal(x.grad.data, [1.0, 4.0])
    x.grad.sum().backward()  # torch: g.grad float64 2x = [1, 2]
    assert g.grad.dtype == np.float64 and np.array_equal(g.grad.data, [1.0, 2.0])


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("given", [np.float64(3.0), np.array(3), 3, 3.0])
def test_a_0d_output_takes_a_0d_gradient_of_any_dtype(given, create_graph):
    z = tc.Tensor(np.float32(2.0), requires_grad=True)
    g = tc.Tensor(np.asarray(given)) if isinstance(given, np.ndarray) else given
    (z * z).backward(gradient=g, create_graph=create_graph)
    assert z.grad.shape == () and z.grad.dtype == np.float32 and z.grad.item() == 12.0


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_gradient_tensor_that_is_a_view_is_read_and_never_aliased(create_graph):
    x = leaf()
    g = tc.Tensor(np.arange(8, dtype=np.float32))[::4]
    x.backward(gradient=g, create_graph=create_graph)
    g.data[0] = 100.0
    assert np.array_equal(x.grad.data, [0.0, 4.0])
    x.grad = None
    (x * 2).backward(gradient=tc.Tensor(np.arange(8.0))[::4])
    assert np.array_equal(x.grad.data, [0.0, 8.0])


def test_tc_grad_casts_grad_outputs_to_the_outputs_dtype():
    x = leaf()
    g, = tc.grad(x * 2, [x], grad_outputs=tc.Tensor(np.array([1, 2])))
    assert g.dtype == np.float32 and np.array_equal(g.data, [2.0, 4.0])


def test_tc_grad_create_graph_with_float64_grad_outputs_that_require_grad_as_torchs():
    x, g = leaf(), tc.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    r, = tc.grad(x * x, [x], grad_outputs=g, create_graph=True)  # torch: float32 [1, 4]
    assert r.dtype == np.float32 and np.array_equal(r.data, [1.0, 4.0])
    gx, gg = tc.grad(r.sum(), [x, g])  # torch: float32 [2, 4] and float64 [1, 2]
    assert gx.dtype == np.float32 and np.array_equal(gx.data, [2.0, 4.0])
    assert gg.dtype == np.float64 and np.array_equal(gg.data, [1.0, 2.0])


def test_a_float16_output_with_a_float32_gradient_gives_a_float16_grad():
    h = leaf(np.float16)
    (h * 2).backward(gradient=tc.Tensor(np.array([1.5, 2.0], np.float32)))
    assert h.grad.dtype == np.float16 and np.array_equal(h.grad.data, [3.0, 4.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_finite_gradient_that_overflows_a_float16_output_is_not_called_nan_or_inf():
    h = leaf(np.float16)
    try:
        (h * 2).backward(gradient=tc.Tensor(np.array([1e5, 1.0], np.float32)))
    except ValueError as e:
        assert "float16" in str(e)  # an error would have to say the cast overflowed
    else:
        assert np.isinf(h.grad.data[0]) and h.grad.data[1] == 2.0


def _jitted_and_eager(dtype, gradients, shape=lambda y: y):
    w0 = RNG.standard_normal((3, 4))
    x = tc.Tensor(RNG.standard_normal((2, 4)).astype(dtype))
    runs = []
    for use_jit in (False, True):
        w = tc.Tensor(w0.astype(dtype), requires_grad=True)

        def step(x, g):
            shape((x @ w.T).tanh()).backward(gradient=g)
        f = tc.jit(step) if use_jit else step
        out = []
        for g in gradients:
            w.grad = None
            f(x, g)
            out.append((w.grad.dtype, w.grad.data.copy()))
        runs.append(out)
    return runs


@pytest.mark.parametrize("case", ["int", "float16 output", "0-d float64", "view", "requires grad"])
def test_a_jitted_step_casts_the_gradient_as_eager(case):
    dtype, shape = np.float32, (lambda y: y)
    if case == "int":
        gs = [tc.Tensor(RNG.integers(-3, 3, (2, 3))) for _ in range(3)]
    elif case == "float16 output":
        dtype = np.float16
        gs = [tc.Tensor(RNG.standard_normal((2, 3)).astype(np.float32)) for _ in range(3)]
    elif case == "0-d float64":
        shape = lambda y: y.sum()  # noqa: E731
        gs = [tc.Tensor(np.float64(RNG.standard_normal())) for _ in range(3)]
    elif case == "view":
        gs = [tc.Tensor(RNG.standard_normal((4, 6)))[::2, ::2] for _ in range(3)]
    else:
        gs = [tc.Tensor(RNG.standard_normal((2, 3)), requires_grad=True) for _ in range(3)]
    eager, jitted = _jitted_and_eager(dtype, gs, shape)
    assert all(a[0] == b[0] == dtype and np.array_equal(a[1], b[1]) for a, b in zip(eager, jitted))


# ---- tc.grad leaves the nodes a None gradient cut off; backward still releases them ---------------

def test_tc_grad_leaves_a_node_above_its_input_that_a_cut_kept_from_running():
    x = leaf()
    h = x.exp()
    k = h.sin()  # between the root and h; only the cut reaches it
    tc.grad(NoGrad.apply(k).sum() + h.sum(), [h])
    k.sum().backward()  # torch: works (autograd.grad releases only the nodes it ran)
    assert np.allclose(x.grad.data, np.cos(np.exp([0.5, 1.0])) * np.exp([0.5, 1.0]))


def test_backward_still_releases_the_nodes_a_cut_kept_from_running():
    x = leaf()
    h = x.exp()
    k = h.sin()
    (NoGrad.apply(k).sum() + h.sum()).backward()
    with pytest.raises(BackwardError, match="second time"):  # (torch raises here too)
        k.sum().backward()


# ---- an optimizer's parameter taken out and put back ------------------------------------------------

OPTIMIZERS = {
    "adam": lambda p, **k: optim.Adam(p, lr=0.1, weight_decay=0.1, **k),
    "adamw": lambda p, **k: optim.AdamW(p, lr=0.1, weight_decay=0.1, **k),
    "momentum": lambda p, **k: optim.Momentum(p, lr=0.1, beta=0.9, weight_decay=0.1, **k),
    "rmsprop": lambda p, **k: optim.RMSprop(p, lr=0.01, weight_decay=0.1, **k),
    "sgd": lambda p, **k: optim.SGD(p, lr=0.1, weight_decay=0.1, **k),
}
SHAPES = [(2, 3), (3, 2), (3,), (4, 2)]
START = [RNG.standard_normal(s) for s in SHAPES]
GRADS = [[RNG.standard_normal(s) for s in SHAPES] for _ in range(7)]
CHANGES = {"none": None, "scaled": lambda a: a * a.dtype.type(0.5),
           "to float64": lambda a: a.astype(np.float64)}


def _params(dtype=np.float32):
    return [tc.Tensor(a.astype(dtype), requires_grad=True) for a in START]


def _feed(ps, i):
    for p, g in zip(ps, GRADS[i]):
        p.grad = tc.Tensor(g.astype(p.dtype))


@pytest.mark.parametrize("name, foreach, dtype, how, change", list(itertools.product(
    OPTIMIZERS, (True, False), (np.float16, np.float32), ("in place", "add_param_group"), CHANGES)))
def test_a_parameter_taken_out_and_put_back_steps_as_with_its_own_paused_optimizer(
        name, foreach, dtype, how, change):
    kw = dict(foreach=foreach, decay_filter=lambda p: p.ndim == 2)
    ps, qs = _params(dtype), _params(dtype)
    opt = OPTIMIZERS[name](ps, **kw)
    alone, rest = OPTIMIZERS[name](qs[1:2], **kw), OPTIMIZERS[name](qs[:1] + qs[2:], **kw)
    for i in range(7):
        if i == 2:
            opt.param_groups[0]["params"].pop(1)
        if i == 3 and CHANGES[change]:  # while it is out: its data replaced (or its dtype changed)
            for t in (ps[1], qs[1]):
                t.data = CHANGES[change](t.data)
        if i == 4:
            if how == "in place":
                opt.param_groups[0]["params"].insert(1, ps[1])
            else:
                opt.add_param_group({"params": [ps[1]], "lr": 0.05})
                alone.param_groups[0]["lr"] = 0.05
        _feed(ps, i)
        _feed(qs, i)
        opt.step()
        rest.step()
        if not 2 <= i < 4:
            alone.step()
    assert all(p.dtype == q.dtype and np.array_equal(p.data, q.data) for p, q in zip(ps, qs))


@pytest.mark.parametrize("foreach", [True, False])
def test_a_parameter_put_in_twice_in_place_is_refused_until_taken_out_again(foreach):
    ps = _params()
    opt = optim.Adam([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.1, foreach=foreach)
    _feed(ps, 0)
    opt.step()
    opt.param_groups[1]["params"].append(ps[0])  # already in group 0
    _feed(ps, 1)
    with pytest.raises(ValueError, match="twice"):
        opt.step()
    with pytest.raises(ValueError, match="twice"):
        opt.state_dict()
    opt.param_groups[1]["params"].pop()
    opt.step()  # the second step, as if nothing happened
    qs = _params()
    ref = optim.Adam([{"params": qs[:2]}, {"params": qs[2:]}], lr=0.1, foreach=foreach)
    for i in range(2):
        _feed(qs, i)
        ref.step()
    assert all(np.array_equal(p.data, q.data) for p, q in zip(ps, qs))


def _stepped_adam(ps, steps=2):
    opt = optim.Adam(ps, lr=0.1)
    for i in range(steps):
        _feed(ps, i)
        opt.step()
    return opt


def test_state_dict_with_a_parameter_out_loads_into_a_fresh_optimizer_of_the_rest():
    # (torch's state_dict raises KeyError here: its state still has the removed tensor)
    ps, qs = _params(), _params()
    opt = _stepped_adam(ps)
    opt.param_groups[0]["params"].pop(1)
    for p, q in zip(ps, qs):
        q.data = p.data.copy()
    ref = optim.Adam(qs[:1] + qs[2:], lr=0.1)
    ref.load_state_dict(opt.state_dict())
    for i in (2, 3):
        _feed(ps, i)
        _feed(qs, i)
        opt.step()
        ref.step()
    assert all(np.array_equal(p.data, q.data) for p, q in zip(ps, qs))


def test_a_parameter_out_during_load_state_dict_comes_back_with_the_loaded_state():
    ps = _params()
    opt = _stepped_adam(ps)
    out = opt.param_groups[0]["params"].pop(1)
    opt.load_state_dict(optim.Adam(_params()[:1] + _params()[2:], lr=0.1).state_dict())
    opt.param_groups[0]["params"].insert(1, out)
    assert opt.state_dict()["state"][1] == {}


def test_a_deepcopy_after_a_removal_steps_as_the_original():
    ps = _params()
    opt = _stepped_adam(ps)
    opt.param_groups[0]["params"].pop(1)
    qs, twin = copy.deepcopy((ps, opt))
    for i in (2, 3):
        _feed(ps, i)
        _feed(qs, i)
        opt.step()
        twin.step()
    assert all(np.array_equal(p.data, q.data) for p, q in zip(ps, qs))


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copy_of_the_optimizer_keeps_the_state_of_a_removed_parameter(how):
    ps = _params()
    opt = _stepped_adam(ps)
    opt.param_groups[0]["params"].pop(1)
    opt.step()
    both = (ps, opt)
    qs, twin = copy.deepcopy(both) if how == "deepcopy" else pickle.loads(pickle.dumps(both))
    twin.param_groups[0]["params"].insert(1, qs[1])
    assert twin.state_dict()["state"][1].keys() == {"v", "s", "t"}


def test_like_torch_a_removed_parameter_with_state_stays_alive_with_it():
    a, b = _params()[:2]
    opt = optim.Adam([{"params": [a]}, {"params": [b]}], lr=0.1)
    a.grad, b.grad = tc.Tensor(np.ones_like(a.data)), tc.Tensor(np.ones_like(b.data))
    opt.step()
    alive = weakref.ref(b)
    del opt.param_groups[1], b
    gc.collect()
    assert alive() is not None  # torch: opt.state[b] keeps b (and its moments)


@pytest.mark.parametrize("stepped", [True, False])
def test_a_removed_parameter_without_state_is_not_kept_alive(stepped):
    a, b = _params()[:2]
    opt = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    if stepped:
        a.grad, b.grad = tc.Tensor(np.ones_like(a.data)), tc.Tensor(np.ones_like(b.data))
        opt.step()
    alive = weakref.ref(b)
    del opt.param_groups[1], b
    opt.state_dict()
    gc.collect()
    assert alive() is None


def test_a_removed_parameter_does_not_keep_the_old_buckets_flat_buffers_alive():
    ps = _params()
    opt = _stepped_adam(ps, steps=1)
    flat_v, flat_tmp = opt.state[2]["v"].base, opt._tmp[2].base
    assert flat_v is not None and flat_v.size == sum(p.data.size for p in ps)
    olds = weakref.ref(flat_v), weakref.ref(flat_tmp)
    del flat_v, flat_tmp
    opt.param_groups[0]["params"].pop(2)
    _feed(ps, 1)
    opt.step()
    gc.collect()
    assert all(old() is None for old in olds)


def test_a_parameter_moved_in_place_to_another_group_follows_that_groups_scheduled_lr():
    ps, qs = _params(), _params()
    opt = optim.Momentum([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01}], lr=0.1, beta=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    alone = optim.Momentum([qs[1]], lr=0.1, beta=0.9)
    rest = optim.Momentum([{"params": qs[:1]}, {"params": qs[2:], "lr": 0.01}], lr=0.1, beta=0.9)
    s1 = optim.lr_scheduler.StepLR(alone, step_size=1, gamma=0.5)
    s2 = optim.lr_scheduler.StepLR(rest, step_size=1, gamma=0.5)
    for i in range(5):
        if i == 2:  # ps[1] moves to group 1: its lr from now on is group 1's
            opt.param_groups[1]["params"].append(opt.param_groups[0]["params"].pop(1))
            alone.param_groups[0]["lr"] = rest.param_groups[1]["lr"]
        _feed(ps, i)
        _feed(qs, i)
        for o, s in ((opt, sched), (rest, s2)):
            o.step()
            s.step()
        alone.step()
        s1.step()
        if i >= 2:
            alone.param_groups[0]["lr"] = rest.param_groups[1]["lr"]
    assert all(np.array_equal(p.data, q.data) for p, q in zip(ps, qs))


# ---- tc.jit around removals and re-additions (grad_homes) -------------------------------------------

def _mlp():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


X = tc.Tensor(RNG.standard_normal((5, 3)).astype(np.float32))


def _training_step(holder, make_opt):
    """make_step for compare(): one step of an optimizer made by make_opt (kept in holder)."""
    def make_step(m):
        opt = holder["opt"] = make_opt(m.parameters())

        def step(x):
            opt.zero_grad()
            loss = (m(x) ** 2).sum()
            loss.backward()
            opt.step()
            return loss
        return step
    return make_step


def _between(holder):
    def between(m, i):
        opt = holder["opt"]
        if i == 2:
            holder["out"] = opt.param_groups[0]["params"].pop(1)
        if i == 4:
            opt.param_groups[0]["params"].insert(1, holder["out"])
        if i == 6:
            holder["out"] = opt.param_groups[0]["params"].pop(0)
        if i == 7:
            opt.add_param_group({"params": [holder["out"]], "lr": 0.05})
    return between


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_jitted_step_around_a_removal_and_a_re_addition_equals_eager(name, foreach):
    holder = {}

    make_step = _training_step(holder, lambda ps: OPTIMIZERS[name](ps, foreach=foreach))
    assert_same(compare(make_step, [(X,)] * 9, _mlp, _between(holder)))


class _Small(nn.Module):
    def __init__(self, dtype):
        super().__init__()
        rng = np.random.default_rng(4)
        self.w = nn.Parameter(tc.Tensor(rng.standard_normal((3, 4)).astype(dtype)))
        self.b = nn.Parameter(tc.Tensor(rng.standard_normal(4).astype(dtype)))
        self.v = nn.Parameter(tc.Tensor(rng.standard_normal((4, 2)).astype(dtype)))

    def forward(self, x):
        return (x @ self.w + self.b).tanh() @ self.v


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_a_jitted_step_with_a_parameter_out_scaled_and_back_equals_eager(dtype):
    holder, x = {}, tc.Tensor(X.data.astype(dtype))

    make_step = _training_step(holder, lambda ps: optim.Adam(
        ps, lr=0.01, weight_decay=0.1, decay_filter=lambda p: True))

    def between(m, i):
        group = holder["opt"].param_groups[0]["params"]
        if i == 2:
            holder["out"] = group.pop(0)
        if i == 3:  # (float16: its master copy no longer matches, so it is made again)
            holder["out"].data = holder["out"].data * holder["out"].data.dtype.type(0.5)
        if i == 4:
            group.append(holder["out"])
    assert_same(compare(make_step, [(x,)] * 7, lambda: _Small(dtype), between))


def _jitted_run(edit, keep):
    """Each replay's gradients, held (keep) or not, and which of them tc.jit wrote into the
    optimizer's flat gradient buffer (a held .grad is never written: it gets a new array)."""
    tc.manual_seed(0)
    m = _mlp()
    ps = list(m.parameters())
    opt = optim.Adam(m.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = (m(x) ** 2).sum()
        loss.backward()
        opt.step()
    f = tc.jit(step)
    kept, homed = [], []
    for i in range(8):
        edit(opt, i)
        f(X)
        flats = [b.grad for plan in opt._plans if plan for b in plan.buckets]
        homed.append([p.grad.data.base is not None and any(p.grad.data.base is fl for fl in flats)
                      for p in ps])
        zeroed = {id(p) for p in opt.params}  # (a removed one accumulates in place, as in torch)
        if keep:
            kept.append([(p.grad, p.grad.data.copy(), id(p) in zeroed) for p in ps])
    return kept, homed


def _out_and_back(opt, i):
    if i == 3:
        opt._out = opt.param_groups[0]["params"].pop(1)
    if i == 5:
        opt.param_groups[0]["params"].insert(1, opt._out)


def test_a_kept_grad_never_changes_around_a_jitted_removal_and_re_addition():
    kept, _ = _jitted_run(_out_and_back, keep=True)
    for i, step in enumerate(kept[:-1]):
        later_zeroed = [z for _, _, z in kept[i + 1]]
        for (g, copy_, _), zeroed in zip(step, later_zeroed):
            if zeroed:
                assert np.array_equal(g.data, copy_)


def test_a_parameter_put_back_under_tc_jit_gets_its_gradient_in_the_flat_buffer_again():
    _, homed = _jitted_run(_out_and_back, keep=False)
    assert homed[2] == [True] * 4  # (before the removal)
    assert homed[7] == [True] * 4
