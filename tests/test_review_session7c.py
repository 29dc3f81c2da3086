"""Review of 22e387b: backward(gradient=...) checks the gradient as given, then casts it with
`astype(copy=False)`; an optimizer sets aside only a removed parameter with state (a copy of its
own), load_state_dict forgets it, a copy (deepcopy, pickle) re-keys it, and a removed
parameter's GradHome stays in `_homes`, retired.

Holds: the user's gradient array or tensor is never a leaf's .grad nor written by a later
backward (a leaf as the root, identity-like ops, tc.grad, create_graph, tc.jit replays); bool,
int, list, 0-d and read-only broadcast gradients are cast; parameters permuted or replaced by new
tensors in place keep (or start) state as separate optimizers do, foreach or not, eager and
jitted, also moved between two optimizers and back; a copy's set-aside state is its own.
Bugs found, fixed since: an object-dtype gradient (it converts to float, and did before 22e387b)
got NumPy's bare "ufunc 'isfinite' not supported"; leaf.backward(gradient=...) inside a tc.jit
step raised a bare AttributeError (now a JitError); `_homes` kept a removed parameter alive under
tc.jit when nothing else did; a parameter whose data changed shape got a bare NumPy broadcast
error at step() (now a ValueError naming it). Still xfail (strict, older than 22e387b): a complex
gradient for a real output loses its imaginary part with a ComplexWarning (torch refuses it; the
check needs engine lines the 450-line budget has no room for).
"""
import copy
import gc
import pickle
import warnings
import weakref

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim

from jit_helpers import assert_same, compare

RNG = np.random.default_rng(7)


def leaf(dtype=np.float32) -> tc.Tensor:
    return tc.Tensor(np.array([0.5, 1.0], dtype), requires_grad=True)


# ---- the user's gradient is read, never kept nor written -------------------------------------------

PASS_THROUGH = {
    "leaf": lambda t: t,
    "reshape": lambda t: t.reshape(1, 2).reshape(2),
    "plus 0": lambda t: t + 0.0,
    "astype same": lambda t: t.astype(np.float32),
    "slice": lambda t: t[:],
}


@pytest.mark.parametrize("as_tensor", [False, True], ids=["array", "tensor"])
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("op", list(PASS_THROUGH))
def test_a_gradient_of_the_outputs_dtype_is_never_a_leafs_grad_nor_written(op, create_graph,
                                                                          as_tensor):
    x = leaf()
    g = np.array([1.0, 2.0], np.float32)
    given = tc.Tensor(g) if as_tensor else g
    PASS_THROUGH[op](x).backward(gradient=given, create_graph=create_graph)
    assert not np.shares_memory(x.grad.data, g)
    PASS_THROUGH[op](x).backward(gradient=given)  # accumulates into x.grad, not into g
    x.grad.data[...] = 100.0
    assert np.array_equal(g, [1.0, 2.0])
    assert x.grad is not given


@pytest.mark.parametrize("op", list(PASS_THROUGH))
def test_tc_grad_never_returns_the_grad_outputs_array(op):
    x = leaf()
    g = np.array([1.0, 2.0], np.float32)
    r, = tc.grad(PASS_THROUGH[op](x), [x], grad_outputs=g)
    assert not np.shares_memory(r.data, g) and np.array_equal(r.data, g)


def test_a_read_only_broadcast_gradient_is_read_and_a_later_backward_adds():
    x = leaf()
    g = np.broadcast_to(np.float32(2.0), (2,))
    x.backward(gradient=g)
    (x * 1.0).backward(gradient=g)
    assert np.array_equal(x.grad.data, [4.0, 4.0]) and x.grad.data.flags.writeable


@pytest.mark.parametrize("given, expected", [([True, False], [2.0, 0.0]), ([1, 2], [2.0, 4.0]),
                                             (np.array([1, 2], np.int8), [2.0, 4.0])],
                         ids=["bool list", "int list", "int8"])
def test_bool_and_int_gradients_are_cast_to_the_outputs_dtype(given, expected):
    x = leaf()
    (x * 2).backward(gradient=given)
    assert x.grad.dtype == np.float32 and np.array_equal(x.grad.data, expected)


def test_a_0d_python_number_gradient_of_a_float16_output():
    z = tc.Tensor(np.float16(2.0), requires_grad=True)
    (z * z).backward(gradient=3)
    assert z.grad.dtype == np.float16 and z.grad.shape == () and z.grad.item() == 12.0


@pytest.mark.parametrize("op", ["reshape", "plus 0"])
def test_a_jitted_pass_through_never_aliases_the_given_gradient(op):
    w = tc.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    seed = np.full((2, 2), 3.0, np.float32)

    def step(x):
        (w.reshape(4).reshape(2, 2) if op == "reshape" else w + 0.0).backward(gradient=seed)

    f = tc.jit(step)
    for _ in range(3):
        f(tc.Tensor(np.ones(2, np.float32)))
        assert not np.shares_memory(w.grad.data, seed)
    w.grad.data[...] = 7.0
    w.grad = None
    f(tc.Tensor(np.ones(2, np.float32)))
    assert np.array_equal(seed, np.full((2, 2), 3.0)) and np.array_equal(w.grad.data, seed)


def test_an_object_array_gradient_is_converted_or_refused_by_name():
    x = leaf()
    try:
        (x * 2).backward(gradient=np.array([1, 2], dtype=object))
    except (TypeError, ValueError) as e:
        assert "backward" in str(e)
    else:
        assert np.array_equal(x.grad.data, [2.0, 4.0])


@pytest.mark.xfail(strict=True, reason="a complex gradient for a real output is cast with "
                   "astype: the imaginary part is dropped with a ComplexWarning and backward goes "
                   "on; torch refuses it ('For complex Tensors, both grad_output and output are "
                   "required to have the same dtype')")
def test_a_complex_gradient_for_a_real_output_is_refused():
    x = leaf()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((TypeError, ValueError), match="complex"):
            (x * 2).backward(gradient=np.array([1 + 1j, 2]))


def test_a_leafs_backward_with_a_gradient_inside_tc_jit_works_or_is_refused_by_name():
    w = tc.Tensor(np.ones(2, np.float32), requires_grad=True)
    seed = np.array([1.0, 2.0], np.float32)

    def step(x):
        (w * x).sum().backward()
        w.backward(gradient=seed)

    f = tc.jit(step)
    try:
        for _ in range(2):
            f(tc.Tensor(np.ones(2, np.float32)))
    except tc.jit.JitError:
        return
    assert np.array_equal(w.grad.data, [4.0, 6.0])


# ---- parameters permuted or replaced in place --------------------------------------------------------

OPTIMIZERS = {
    "adam": lambda p, **k: optim.Adam(p, lr=0.1, weight_decay=0.1, **k),
    "adamw": lambda p, **k: optim.AdamW(p, lr=0.1, weight_decay=0.1, **k),
    "momentum": lambda p, **k: optim.Momentum(p, lr=0.1, beta=0.9, weight_decay=0.1, **k),
    "rmsprop": lambda p, **k: optim.RMSprop(p, lr=0.01, weight_decay=0.1, **k),
    "sgd": lambda p, **k: optim.SGD(p, lr=0.1, weight_decay=0.1, **k),
}
SHAPES = [(2, 3), (3, 2), (3,), (2, 3)]
START = [RNG.standard_normal(s) for s in SHAPES]
GRADS = [[RNG.standard_normal(s) for s in SHAPES] for _ in range(6)]


def _params(dtype=np.float32):
    return [tc.Tensor(a.astype(dtype), requires_grad=True) for a in START]


def _feed(ps, i):
    for p, g in zip(ps, GRADS[i]):
        p.grad = tc.Tensor(g.astype(p.dtype))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_permuted_group_and_a_new_tensor_in_an_old_place_step_as_separate_optimizers(
        name, foreach, dtype):
    kw = dict(foreach=foreach, decay_filter=lambda p: p.ndim == 2)
    ps = _params(dtype)
    opt = OPTIMIZERS[name](ps, **kw)
    qs = _params(dtype)
    refs = [OPTIMIZERS[name]([q], **kw) for q in qs]
    fresh = tc.Tensor(START[3].astype(dtype) * dtype(0.5), requires_grad=True)
    fresh_q = tc.Tensor(fresh.data.copy(), requires_grad=True)
    for i in range(6):
        if i == 2:  # reversed: each parameter keeps its own state
            opt.param_groups[0]["params"].reverse()
        if i == 4:  # ps[3] (same shape as ps[0]) replaced by a new tensor: fresh state
            group = opt.param_groups[0]["params"]
            group[group.index(ps[3])] = fresh
            ps[3], qs[3] = fresh, fresh_q
            refs[3] = OPTIMIZERS[name]([fresh_q], **kw)
        _feed(ps, i)
        _feed(qs, i)
        opt.step()
        for r in refs:
            r.step()
    assert all(p.dtype == q.dtype and np.array_equal(p.data, q.data) for p, q in zip(ps, qs))


def _mlp():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


X = tc.Tensor(RNG.standard_normal((5, 3)).astype(np.float32))


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("name", ["adam", "momentum", "sgd"])
def test_a_jitted_step_around_a_permutation_and_a_removal_with_load_state_dict_equals_eager(
        name, foreach):
    holder = {}

    def make_step(m):
        opt = holder["opt"] = OPTIMIZERS[name](m.parameters(), foreach=foreach)

        def step(x):
            opt.zero_grad()
            loss = (m(x) ** 2).sum()
            loss.backward()
            opt.step()
            return loss
        return step

    def between(m, i):
        opt = holder["opt"]
        group = opt.param_groups[0]["params"]
        if i == 2:
            group.reverse()
        if i == 3:
            holder["out"] = group.pop(1)
            opt.load_state_dict(opt.state_dict())  # (forgets what was set aside)
        if i == 5:
            group.insert(0, holder["out"])
    assert_same(compare(make_step, [(X,)] * 7, _mlp, between))


# ---- copies and memory ---------------------------------------------------------------------------------

def _stepped_adam(ps, steps=2, **kw):
    opt = optim.Adam(ps, lr=0.1, **kw)
    for i in range(steps):
        _feed(ps, i)
        opt.step()
    return opt


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copys_set_aside_state_is_its_own_and_goes_to_its_own_tensor(how):
    ps = _params()
    opt = _stepped_adam(ps)
    opt.param_groups[0]["params"].pop(1)
    opt.state_dict()  # (sets it aside)
    qs, twin = copy.deepcopy((ps, opt)) if how == "deepcopy" else pickle.loads(pickle.dumps((ps, opt)))
    (p_left, entries), = opt._set_aside.values()
    (q_left, twin_entries), = twin._set_aside.values()
    assert p_left is ps[1] and q_left is qs[1]
    assert not any(np.shares_memory(a, b) for a, b in zip(entries[0].values(), twin_entries[0].values())
                   if isinstance(a, np.ndarray))
    twin.param_groups[0]["params"].insert(1, qs[1])
    for i in (2, 3):
        _feed(qs, i)
        twin.step()
    opt.param_groups[0]["params"].insert(1, ps[1])
    for i in (2, 3):
        _feed(ps, i)
        opt.step()
    assert all(np.array_equal(p.data, q.data) for p, q in zip(ps, qs))


def _jitted_two_groups(make_opt):
    a, b = nn.Linear(3, 4), nn.Linear(4, 2)
    opt = make_opt([{"params": list(a.parameters())}, {"params": list(b.parameters())}])

    def step(x):
        opt.zero_grad()
        (b(a(x).tanh()) ** 2).sum().backward()
        opt.step()
    f = tc.jit(step)
    for _ in range(3):
        f(X)
    return opt, b, f


def test_eagerly_a_removed_sgd_parameter_is_not_kept_alive_even_with_foreach():
    a, b = nn.Linear(3, 4), nn.Linear(4, 2)
    opt = optim.SGD([{"params": list(a.parameters())}, {"params": list(b.parameters())}], lr=0.1,
                    foreach=True)
    for _ in range(2):
        opt.zero_grad()
        (b(a(X).tanh()) ** 2).sum().backward()
        opt.step()
    alive = weakref.ref(b.weight)
    del opt.param_groups[1], b
    opt.step()
    gc.collect()
    assert alive() is None


def test_under_tc_jit_a_removed_sgd_parameter_is_not_kept_alive():
    opt, b, f = _jitted_two_groups(lambda g: optim.SGD(g, lr=0.1, foreach=True))
    alive = weakref.ref(b.weight)
    del opt.param_groups[1], b, f
    opt.step()
    gc.collect()
    assert alive() is None


def test_under_tc_jit_a_parameter_removed_before_load_state_dict_is_not_kept_alive():
    opt, b, f = _jitted_two_groups(lambda g: optim.Adam(g, lr=0.1))
    alive = weakref.ref(b.weight)
    del opt.param_groups[1], b, f
    opt.load_state_dict(opt.state_dict())
    gc.collect()
    assert alive() is None


def test_like_torch_a_removed_adam_parameter_stays_alive_in_eager_until_load_state_dict():
    a, b = nn.Linear(3, 4), nn.Linear(4, 2)
    opt = optim.Adam([{"params": list(a.parameters())}, {"params": list(b.parameters())}], lr=0.1)
    (b(a(X).tanh()) ** 2).sum().backward()
    opt.step()
    alive = weakref.ref(b.weight)
    del opt.param_groups[1], b
    gc.collect()
    assert alive() is not None  # torch: opt.state[b.weight]
    opt.load_state_dict(opt.state_dict())
    gc.collect()
    assert alive() is None  # torch: load_state_dict replaces state


# ---- errors ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("foreach", [True, False])
def test_a_parameter_whose_data_changed_shape_while_out_gets_a_named_error(foreach):
    ps = _params()
    opt = _stepped_adam(ps, steps=1, foreach=foreach)
    out = opt.param_groups[0]["params"].pop(0)
    out.data = np.zeros((4, 2), np.float32)
    opt.param_groups[0]["params"].insert(0, out)
    _feed(ps, 1)
    out.grad = tc.Tensor(np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="Adam"):
        opt.step()


@pytest.mark.parametrize("foreach", [True, False])
def test_a_jitted_step_with_a_parameter_moved_between_two_optimizers_and_back_equals_eager(foreach):
    holder = {}

    def make_step(m):
        ps = list(m.parameters())
        o1 = holder["o1"] = optim.Adam(ps[:2], lr=0.1, foreach=foreach)
        o2 = holder["o2"] = optim.Momentum(ps[2:], lr=0.1, beta=0.9, foreach=foreach)

        def step(x):
            o1.zero_grad()
            o2.zero_grad()
            loss = (m(x) ** 2).sum()
            loss.backward()
            o1.step()
            o2.step()
            return loss
        return step

    def between(m, i):
        one, two = holder["o1"].param_groups[0]["params"], holder["o2"].param_groups[0]["params"]
        if i == 2:  # (o1 keeps its Adam state aside; o2 starts it fresh, as torch's would)
            two.append(one.pop(1))
        if i == 4:
            one.append(two.pop())
    assert_same(compare(make_step, [(X,)] * 7, _mlp, between))
