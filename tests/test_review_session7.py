"""Review of session 7's commits: 6f93d01 (backward releases the nodes a None gradient cut off),
bda1300 (tc.jit reads backward(gradient=...) again at each replay), 098b12e (an optimizer's
params list edited in place: state follows each parameter) and 465a6d6 (consecutive bound
replay kernels run as one block, their buffers put in the slots before the replay).

Bugs found, fixed since: tc.grad of an intermediate with a cut released the nodes below it
that never ran (PyTorch keeps them); a gradient tensor of another dtype that is a step input or
value was cast at the root by a replay, not by eager (eager now casts it there, as PyTorch
does); a parameter moved into a new group with add_param_group, or removed and later put back,
lost its state where PyTorch's (keyed by tensor) keeps it; a parameter appended twice was
stepped differently by the fused and the per-parameter paths (now refused, as the constructor
refuses it). Still xfail (strict): tc.grad of a leaf releases the nodes of branches that do not
reach it (older than 6f93d01; the fix needs a reachability pass the engine's line budget has no
room for)."""
import importlib

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.inplace import BackwardError

from jit_helpers import assert_same, compare

jit_module = importlib.import_module("tinygrad_course.jit")
RNG = np.random.default_rng(7)
W = RNG.standard_normal((3, 4)).astype(np.float32)
X = RNG.standard_normal((2, 4)).astype(np.float32)


class NoGrad(tc.Function):
    """y = 2 x whose backward gives no gradient (None): it cuts the graph below it."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return None


def leaf() -> tc.Tensor:
    return tc.tensor(np.array([0.5, 1.0]), requires_grad=True)


# ---- 6f93d01: nodes a None gradient cut off are released --------------------------------------

def test_a_node_only_a_none_gradient_reaches_is_released_as_pytorchs():
    x = leaf()
    h = x.exp()
    NoGrad.apply(h).sum().backward()
    with pytest.raises(BackwardError, match="second time"):  # (torch raises here too)
        h.sum().backward()


def test_retain_graph_keeps_the_nodes_a_none_gradient_cut_off():
    x = leaf()
    h = x.exp()
    NoGrad.apply(h).sum().backward(retain_graph=True)
    h.sum().backward()
    assert np.array_equal(x.grad.data, np.exp([0.5, 1.0]))


def test_a_node_reached_by_a_none_and_a_real_gradient_gets_the_real_one():
    x = leaf()
    h = x.exp()
    (NoGrad.apply(h) + h.sin()).sum().backward()
    e = np.exp([0.5, 1.0])
    assert np.allclose(x.grad.data, np.cos(e) * e)


def test_a_retained_tensor_below_a_cut_keeps_its_data_and_gets_no_grad():
    x = leaf()
    h = x.exp()
    h.retain_grad()
    (NoGrad.apply(h).sum() + (x * 3).sum()).backward()
    assert h.grad is None and np.array_equal(h.data, np.exp([0.5, 1.0]))
    assert np.array_equal(x.grad.data, [3.0, 3.0])


def test_create_graph_through_a_cut_still_differentiates_twice():
    x = leaf()
    h = x.exp()
    g, = tc.grad((NoGrad.apply(h.sin()) + h * h).sum(), [x], create_graph=True)
    g.sum().backward()
    assert np.allclose(x.grad.data, 4 * np.exp(2 * np.array([0.5, 1.0])))


def test_tc_grad_of_an_intermediate_without_a_cut_leaves_the_nodes_below_it():
    x = leaf()
    h = x.exp()
    tc.grad((h.sin() + h.cos()).sum(), [h])
    h.sum().backward()
    assert np.array_equal(x.grad.data, np.exp([0.5, 1.0]))


def test_tc_grad_of_an_intermediate_with_a_cut_leaves_the_nodes_below_it():
    x = leaf()
    h = x.exp()
    tc.grad((NoGrad.apply(h.sin()) + h.cos()).sum(), [h])
    h.sum().backward()  # BackwardError: Exp ... a second time
    assert np.array_equal(x.grad.data, np.exp([0.5, 1.0]))


@pytest.mark.xfail(strict=True, reason="older than 6f93d01: tc.grad runs (and releases) every node "
                   "of the graph, also branches that reach no wanted input; torch.autograd.grad "
                   "runs only the nodes on a path to the inputs, so e.sum().backward() works there")
def test_tc_grad_of_a_leaf_leaves_the_branches_that_do_not_reach_it():
    a, b = leaf(), leaf()
    e = b.exp()
    tc.grad(a.exp().sum() + e.sum(), [a])
    e.sum().backward()
    assert np.array_equal(b.grad.data, np.exp([0.5, 1.0]))


# ---- bda1300: backward(gradient=...) read again at each replay ---------------------------------

def _seeded(step, w, gradients):
    """w.grad after each call of step(x, g), eager and jitted."""
    runs = []
    for f in (step, tc.jit(step)):
        out = []
        for g in gradients:
            w.grad = None
            f(tc.Tensor(X), g)
            out.append(w.grad.data.copy())
        runs.append(out)
    return runs


def test_a_float64_array_step_input_as_gradient_is_converted_as_eager_does():
    w = tc.Tensor(W, requires_grad=True)

    def step(x, g):
        (x @ w.T).tanh().backward(gradient=g)
    eager, jitted = _seeded(step, w, [RNG.standard_normal((2, 3)) for _ in range(4)])
    assert all(np.array_equal(a, b) for a, b in zip(eager, jitted))


def test_a_float64_tensor_from_outside_whose_data_is_replaced_replays_as_eager():
    w = tc.Tensor(W, requires_grad=True)
    seed = tc.Tensor(np.ones((2, 3)))
    values = [RNG.standard_normal((2, 3)) for _ in range(4)]

    def run(f):
        out = []
        for i in range(4):
            seed.data = values[i]
            w.grad = None
            f(tc.Tensor(X))
            out.append(w.grad.data.copy())
        return out

    def inner(x):
        (x @ w.T).tanh().backward(gradient=seed)
    assert all(np.array_equal(a, b) for a, b in zip(run(inner), run(tc.jit(inner))))


def test_a_float64_tensor_step_input_as_gradient_replays_as_eager():
    w = tc.Tensor(W, requires_grad=True)

    def step(x, g):
        (x @ w.T).tanh().backward(gradient=g)
    gs = [tc.Tensor(np.random.default_rng(i).standard_normal((2, 3))) for i in range(4)]
    eager, jitted = _seeded(step, w, gs)
    assert all(np.array_equal(a, b) for a, b in zip(eager, jitted))


def test_a_float64_gradient_computed_in_the_step_replays_as_eager():
    w = tc.Tensor(W, requires_grad=True)

    def step(x, s):
        (x @ w.T).tanh().backward(gradient=s * 1.5)
    gs = [tc.Tensor(np.random.default_rng(i).standard_normal((2, 3))) for i in range(4)]
    eager, jitted = _seeded(step, w, gs)
    assert all(np.array_equal(a, b) for a, b in zip(eager, jitted))


def test_check_true_notices_a_global_gradient_tensor_rebound_to_other_values():
    w = tc.Tensor(W, requires_grad=True)
    box = {"g": tc.Tensor(np.ones((2, 3), np.float32))}

    def step(x):
        (x @ w.T).tanh().backward(gradient=box["g"])
    f = tc.jit(step, check=True)
    f(tc.Tensor(X))
    box["g"] = tc.Tensor(np.full((2, 3), 2.0, np.float32))
    with pytest.raises(tc.jit.JitError, match="gets the gradient"):
        f(tc.Tensor(X))


def test_a_random_gradient_made_by_an_op_in_the_step_is_drawn_again_at_each_replay():
    w = tc.Tensor(W, requires_grad=True)

    def step(x):
        y = (x @ w.T).tanh()
        y.backward(gradient=tc.randn_like(y))
    runs = []
    for f in (step, tc.jit(step)):
        tc.manual_seed(0)
        out = []
        for _ in range(3):
            w.grad = None
            f(tc.Tensor(X))
            out.append(w.grad.data.copy())
        runs.append(out)
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_a_gradient_of_the_wrong_shape_from_outside_raises_at_the_replay_as_eager():
    w = tc.Tensor(W, requires_grad=True)
    seed = tc.Tensor(np.ones((2, 3), np.float32))

    def step(x):
        (x @ w.T).tanh().backward(gradient=seed)
    f = tc.jit(step)
    f(tc.Tensor(X))
    seed.data = np.ones((3, 2), np.float32)
    with pytest.raises(ValueError, match="gradient has shape"):
        f(tc.Tensor(X))


def test_the_recorder_gives_tensor_backward_back_after_recording():
    original = tc.Tensor.backward
    w = tc.Tensor(W, requires_grad=True)
    tc.jit(lambda x: (x @ w.T).sum().backward())(tc.Tensor(X))
    assert tc.Tensor.backward is original


# ---- 465a6d6: blocks of bound kernels ----------------------------------------------------------

def _block_step(use_jit):
    w = tc.Tensor(W[:, :3].copy(), requires_grad=True)
    b = tc.Tensor(W[0, :3].copy(), requires_grad=True)

    @tc.jit.replayed
    def shrink(ps):  # a new array per parameter: the entry compiles again in the middle
        for p in ps:
            p.data = p.data * np.float32(0.5)

    def step(x):
        pre = (w * w) + w  # bound kernels: a block
        loss = ((x @ w.T + b).relu() * pre.sum()).sum()
        loss.backward(gradient=(w * w).sum())  # (a bound kernel's buffer as the root gradient)
        shrink([w, b])
        post = (w * w) + w  # a block after the call, bound to the new arrays
        return loss, (post * 3.0).sum(), post
    f = tc.jit(step) if use_jit else step
    outs, kept = [], []
    for i in range(4):
        w.grad = b.grad = None
        r = f(tc.Tensor(X[:, :3] + i))
        kept.append((r[2], r[2].data.copy()))
        outs.append([np.array(v.data) for v in r] + [w.grad.data.copy(), b.grad.data.copy()])
    return outs, kept


def test_blocks_of_bound_kernels_around_a_recompiling_call_replay_as_eager():
    (eager, _), (jitted, kept) = _block_step(False), _block_step(True)
    for a, b in zip(eager, jitted):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_a_returned_output_of_a_bound_kernel_never_changes_at_the_next_replay():
    _, kept = _block_step(True)
    assert all(np.array_equal(t.data, copy) for t, copy in kept)


def test_bound_kernels_do_run_as_blocks_in_the_replay():
    w = tc.Tensor(W, requires_grad=True)

    def step(x):
        pen = ((w * w) + w).sum()
        return ((x @ w.T).relu().sum() + pen)
    f = tc.jit(step)
    for i in range(3):
        assert np.array_equal(f(tc.Tensor(X + i)).data, step(tc.Tensor(X + i)).data)
    entry = next(iter(f.cache.values()))[0]
    assert any(getattr(r, "__qualname__", "").startswith("_block") for r in entry.runs)


# ---- 098b12e: an optimizer's params list edited in place ---------------------------------------

OPTIMIZERS = {
    "adam": lambda p, **k: optim.Adam(p, lr=0.1, weight_decay=0.1, **k),
    "adamw": lambda p, **k: optim.AdamW(p, lr=0.1, weight_decay=0.1, **k),
    "momentum": lambda p, **k: optim.Momentum(p, lr=0.1, beta=0.9, weight_decay=0.1, **k),
    "rmsprop": lambda p, **k: optim.RMSprop(p, lr=0.01, weight_decay=0.1, **k),
    "sgd": lambda p, **k: optim.SGD(p, lr=0.1, weight_decay=0.1, **k),
}
SHAPES = [(2, 3), (3,), (2, 3), (4, 2)]
START = [RNG.standard_normal(s) for s in SHAPES]
GRADS = [[RNG.standard_normal(s) for s in SHAPES] for _ in range(5)]


def _params(dtype):
    return [tc.Tensor(a.astype(dtype), requires_grad=True) for a in START]


def _feed(ps, i, dtype):
    for p, g in zip(ps, GRADS[i]):
        p.grad = tc.Tensor(g.astype(dtype))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_removing_a_parameter_leaves_the_others_as_if_it_had_its_own_optimizer(name, foreach, dtype):
    kw = dict(foreach=foreach, decay_filter=lambda p: p.ndim == 2)
    ps, qs = _params(dtype), _params(dtype)
    opt = OPTIMIZERS[name](ps, **kw)
    alone, rest = OPTIMIZERS[name](qs[:1], **kw), OPTIMIZERS[name](qs[1:], **kw)
    for i in range(5):
        if i == 2:
            del opt.param_groups[0]["params"][0]
        _feed(ps, i, dtype)
        _feed(qs, i, dtype)
        opt.step()
        rest.step()
        if i < 2:
            alone.step()
    assert all(np.array_equal(p.data, q.data) for p, q in zip(ps, qs))


@pytest.mark.parametrize("foreach", [True, False])
def test_a_deleted_group_leaves_the_other_groups_state(foreach):
    ps, qs = _params(np.float32), _params(np.float32)
    opt = optim.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01}], lr=0.1, foreach=foreach)
    ref = optim.Adam([{"params": qs[2:], "lr": 0.01}], lr=0.1, foreach=foreach)
    for i in range(4):
        if i == 2:
            del opt.param_groups[0]
        _feed(ps, i, np.float32)
        _feed(qs, i, np.float32)
        opt.step()
        ref.step()
    assert all(np.array_equal(p.data, q.data) for p, q in zip(ps[2:], qs[2:]))


def test_state_dict_after_an_edit_loads_into_an_optimizer_built_that_way():
    ps, qs = _params(np.float32), _params(np.float32)
    opt = optim.Adam(ps, lr=0.1)
    for i in range(2):
        _feed(ps, i, np.float32)
        opt.step()
    group = opt.param_groups[0]["params"]
    group.append(group.pop(0))  # the first moves to the end
    for q, p in zip(qs, ps):
        q.data = p.data.copy()
    ref = optim.Adam([*qs[1:], qs[0]], lr=0.1)
    ref.load_state_dict(opt.state_dict())
    for i in range(2, 4):
        _feed(ps, i, np.float32)
        _feed(qs, i, np.float32)
        opt.step()
        ref.step()
    assert all(np.array_equal(p.data, q.data) for p, q in zip(ps, qs))


def _mlp():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_jitted_step_around_removals_additions_and_moves_equals_eager(name):
    holder = {}
    x = tc.Tensor(RNG.standard_normal((5, 3)).astype(np.float32))

    def make_step(m):
        opt = holder["opt"] = OPTIMIZERS[name](m.parameters(), foreach=name != "rmsprop")

        def step(x):
            opt.zero_grad()
            loss = (m(x) ** 2).sum()
            loss.backward()
            opt.step()
            return loss
        return step

    def between(m, i):
        opt, ps = holder["opt"], list(m.parameters())
        if i == 2:
            del opt.param_groups[0]["params"][0]
        if i == 3:
            opt.add_param_group({"params": [ps[0]], "lr": 0.05})
        if i == 4:
            opt.param_groups[1]["params"].append(opt.param_groups[0]["params"].pop(0))
        if i == 5:
            opt.param_groups[0]["params"].reverse()
    assert_same(compare(make_step, [(x,)] * 7, _mlp, between))


def _adam_state_of(opt, p):
    i = next(i for i, q in enumerate(opt.params) if q is p)
    return opt.state_dict()["state"][i]


def test_a_parameter_moved_into_a_new_group_with_add_param_group_keeps_its_state():
    ps = _params(np.float32)
    opt = optim.Adam(ps, lr=0.1)
    for i in range(2):
        _feed(ps, i, np.float32)
        opt.step()
    before = _adam_state_of(opt, ps[1])
    opt.param_groups[0]["params"].pop(1)
    opt.add_param_group({"params": [ps[1]], "lr": 0.01})
    after = _adam_state_of(opt, ps[1])
    assert after.keys() == before.keys() and np.array_equal(after["v"], before["v"])


def test_a_parameter_removed_and_put_back_resumes_its_state():
    ps = _params(np.float32)
    opt = optim.Adam(ps, lr=0.1)
    for i in range(2):
        _feed(ps, i, np.float32)
        opt.step()
    before = _adam_state_of(opt, ps[1])
    p = opt.param_groups[0]["params"].pop(1)
    _feed(ps, 2, np.float32)
    opt.step()
    opt.param_groups[0]["params"].append(p)
    after = _adam_state_of(opt, p)
    assert after.keys() == before.keys() and np.array_equal(after["v"], before["v"])


def _appended_twice(foreach):
    ps = _params(np.float32)
    opt = optim.Adam(ps, lr=0.1, foreach=foreach)
    try:
        for i in range(4):
            if i == 2:
                opt.param_groups[0]["params"].append(ps[0])
            _feed(ps, i, np.float32)
            opt.step()
    except ValueError:
        return "raised"
    return ps[0].data.copy()


def test_a_parameter_appended_twice_is_refused_or_stepped_alike_by_both_paths():
    fused, alone = _appended_twice(True), _appended_twice(False)
    assert (isinstance(fused, str) and fused == alone) or np.array_equal(fused, alone)


def test_tensor_backward_is_given_back_after_a_refused_recording():
    original = tc.Tensor.backward
    w = tc.Tensor(W, requires_grad=True)

    def step(x):
        (x @ w.T).sum().backward(gradient=tc.Tensor(np.float32(2.0)))
    with pytest.raises(tc.jit.JitError, match="made without an op"):
        tc.jit(step)(tc.Tensor(X))
    assert tc.Tensor.backward is original
