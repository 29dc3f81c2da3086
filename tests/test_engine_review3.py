"""Engine review 3: silent wrong answers and misleading errors of the eager engine (in-place
changes made twice, dtypes under create_graph, tc.grad of an intermediate, grad mode's
arguments and generators, custom Functions that misbehave), and cases checked to be right
already, pinned. Fixed since: the changes made twice, the dtypes, inference_mode(False), a
generator closed early, custom rules that change g in place or return numbers, and tc.grad of
intermediates running the nodes below them (a node no newer than the oldest wanted input never
runs). Still xfail (strict): nodes reached only through a None gradient are not let go of."""
import copy
import gc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.inplace import BackwardError

from jit_helpers import DoublesGInPlace


def leaf(values, dtype=np.float64) -> tc.Tensor:
    return tc.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ---- a value changed in place after it was computed and before it was used -------------------

def test_a_view_used_between_two_changes_of_its_base_raises_or_gets_the_true_gradient():
    x, w = leaf([1.0, 2.0, 3.0]), leaf([5.0, 7.0, 11.0])
    h = x * 2
    v = h[0:2]  # a view taken before h changes
    h *= w      # v sees 2 x w now
    y = v.sum()  # y = 2 x0 w0 + 2 x1 w1
    h += 1      # a second change, after y was made
    try:
        y.backward()
    except BackwardError:
        return  # (what happens without the second change)
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 14.0, 0.0])  # today [2, 2, 0] and w.grad None


def test_a_view_used_after_one_change_of_its_base_raises():
    x, w = leaf([1.0, 2.0, 3.0]), leaf([5.0, 7.0, 11.0])
    h = x * 2
    v = h[0:2]
    h *= w
    y = v.sum()
    with pytest.raises(BackwardError, match="changed in place"):
        y.backward()


def test_a_non_leaf_changed_under_no_grad_before_its_use_raises_even_if_changed_again_after():
    x = leaf([1.0, 2.0])
    h = x * 2
    with tc.no_grad():
        h *= 3
    y = h.sum()
    with tc.no_grad():
        h += 0  # a later change must not hide the earlier one
    with pytest.raises(BackwardError, match="changed in place"):
        y.backward()


# Ops that save an input (or output) for backward, and ways to change a leaf's memory under
# no_grad after the forward: backward either raises or gives the gradient at the values the
# forward saw (PyTorch raises whenever the saved value changed).
SAVING_OPS = {
    "mul": lambda w, c: w * c,
    "div": lambda w, c: c / w,
    "matmul": lambda w, c: w @ c.T,
    "pow": lambda w, c: w ** 3,
    "exp": lambda w, c: w.exp() * c,
    "tanh": lambda w, c: w.tanh(),
    "sqrt": lambda w, c: w.sqrt(),
    "log": lambda w, c: w.log() * c,
    "sigmoid": lambda w, c: w.sigmoid(),
    "softmax": lambda w, c: tc.softmax(w, axis=-1) * c,
    "max": lambda w, c: w.max(axis=0),
    "var": lambda w, c: w.var(axis=1),
    "transpose_mul": lambda w, c: w.T * c.T,
    "getitem_mul": lambda w, c: w[1:] * w[:-1],
    "reshape_mul": lambda w, c: w.reshape(-1) * w.reshape(-1),
}


def _change(w, how: str) -> None:
    with tc.no_grad():
        if how == "iadd":
            w += 0.25
        elif how == "imul":
            w *= 1.5
        elif how == "setitem":
            w[0] = 0.5
        elif how == "mask":
            w[w.data > 0.5] = 0.1
        elif how == "detach":
            d = w.detach()
            d *= 1.5
        elif how == "copy":
            d = copy.copy(w)
            d += 0.25
        elif how == "view_T":
            v = w.T
            v += 0.25
        elif how == "view_slice":
            v = w[1:]
            v *= 2.0


@given(op=st.sampled_from(sorted(SAVING_OPS)),
       how=st.sampled_from(["iadd", "imul", "setitem", "mask", "detach", "copy", "view_T", "view_slice"]),
       nonleaf=st.booleans(), seed=st.integers(0, 2**16))
def test_a_tensor_changed_under_no_grad_after_the_forward_raises_or_keeps_the_gradient(op, how, nonleaf, seed):
    rng = np.random.default_rng(seed)
    data, const = rng.uniform(0.2, 0.9, (3, 2)), rng.uniform(0.5, 1.5, (3, 2))
    fn = SAVING_OPS[op]
    ref_w = leaf(data)
    ref_out = fn(ref_w * 1.0 if nonleaf else ref_w, tc.tensor(const))
    up = rng.uniform(0.5, 1.5, ref_out.shape)
    ref_out.backward(up)
    w = leaf(data)
    h = w * 1.0 if nonleaf else w
    out = fn(h, tc.tensor(const))
    _change(h, how)
    try:
        out.backward(up)
    except BackwardError:
        return
    np.testing.assert_allclose(w.grad.numpy(), ref_w.grad.numpy(), rtol=1e-12, atol=1e-12)


def _composite(a, b, kind: int):
    if kind == 0:
        h = a * b
        h += a.tanh()
        h *= b.exp()
        return h
    if kind == 1:
        h = a + b
        h *= h
        return h.sqrt() * a
    if kind == 2:
        h = a.exp()
        return (h / h.sum() * b).sum()
    h = (a * b).sigmoid() + 0.0  # (sigmoid saves its output: change a copy)
    h -= a * 0.5
    return h * h


@given(shapes=st.sampled_from([((), ()), ((3,), ()), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2))]),
       kind=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_composites_with_in_place_graph_ops_pass_gradcheck_and_gradgradcheck(shapes, kind, seed):
    rng = np.random.default_rng(seed)
    a, b = (leaf(rng.uniform(0.3, 0.9, s)) for s in shapes)
    fn = lambda a, b: _composite(a, b, kind)  # noqa: E731
    tc.gradcheck(fn, [a, b])
    tc.gradgradcheck(fn, [a, b])


# ---- dtypes -------------------------------------------------------------------------------------

def test_a_float64_upstream_gradient_gives_float32_gradients_in_plain_backward():
    x = leaf([1.0, 2.0], np.float32)
    x.backward(tc.tensor(np.array([1.0, 1.0])))
    assert x.grad.dtype == np.float32
    x.grad = None
    y = x * 2
    y.retain_grad()
    y.backward(tc.tensor(np.array([1.0, 1.0])))
    assert y.grad.dtype == np.float32 and x.grad.dtype == np.float32
    g, = tc.grad(x, [x], grad_outputs=[tc.tensor(np.array([1.0, 1.0]))])
    assert g.dtype == np.float32


def test_a_float64_upstream_gradient_gives_float32_gradients_under_create_graph():
    x = leaf([1.0, 2.0], np.float32)
    x.backward(tc.tensor(np.array([1.0, 1.0])), create_graph=True)
    y = x * 2
    y.retain_grad()
    y.backward(tc.tensor(np.array([1.0, 1.0])), create_graph=True)
    g, = tc.grad(x, [x], grad_outputs=[tc.tensor(np.array([1.0, 1.0]))], create_graph=True)
    assert (x.grad.dtype, y.grad.dtype, g.dtype) == (np.float32,) * 3  # today float64 for all three


# ---- tc.grad of an intermediate -----------------------------------------------------------------

def test_grad_of_an_intermediate_ignores_a_change_below_it():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    h = x * w
    y = h.exp()
    with tc.no_grad():
        w += 1
    g, = tc.grad(y.sum(), [h])
    np.testing.assert_allclose(g.numpy(), np.exp([3.0, 8.0]))


def test_grad_of_an_intermediate_works_when_the_graph_below_it_was_freed():
    x = leaf([1.0, 2.0])
    h = x * x
    y = h.exp()
    h.sum().backward()  # frees the Mul node below h, not the Exp node above it
    g, = tc.grad(y.sum(), [h])
    np.testing.assert_allclose(g.numpy(), np.exp([1.0, 4.0]))


def test_grad_of_an_intermediate_leaves_the_leaves_grad_alone():
    x = leaf([1.0, 2.0])
    h = x * x
    g, = tc.grad(h.exp().sum(), [h])
    assert x.grad is None
    np.testing.assert_allclose(g.numpy(), np.exp([1.0, 4.0]))


def test_plain_grad_results_never_share_memory_with_each_other_or_grad_outputs():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    go = np.array([1.0, 1.0])
    ga, gb = tc.grad(a + b, [a, b], grad_outputs=[go])
    assert not np.shares_memory(ga.data, gb.data)
    assert not np.shares_memory(ga.data, go) and not np.shares_memory(gb.data, go)
    g1, g2 = tc.grad((a * 1).sum(), [a, a])
    assert not np.shares_memory(g1.data, g2.data)


def test_create_graph_grads_of_two_leaves_never_share_memory():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward(create_graph=True)
    assert not np.shares_memory(a.grad.data, b.grad.data)


# ---- grad mode ----------------------------------------------------------------------------------

def test_inference_mode_false_leaves_grad_on():
    with tc.inference_mode(False):
        assert tc.is_grad_enabled()


def test_a_no_grad_generator_closed_early_cleans_up_under_no_grad():
    seen = []

    @tc.no_grad()
    def gen():
        try:
            yield 1
        finally:
            seen.append(tc.is_grad_enabled())
    g = gen()
    next(g)
    g.close()
    assert seen == [False] and tc.is_grad_enabled()


def test_a_no_grad_generator_keeps_the_mode_for_send_and_throw_and_restores_it_between():
    @tc.no_grad
    def gen():
        while True:
            try:
                yield tc.is_grad_enabled()
            except ValueError:
                yield ("caught", tc.is_grad_enabled())
    g = gen()
    assert next(g) is False and tc.is_grad_enabled()
    assert g.send(5) is False and tc.is_grad_enabled()
    assert g.throw(ValueError) == ("caught", False) and tc.is_grad_enabled()


def test_an_enable_grad_decorated_function_records_inside_no_grad_and_keeps_its_metadata():
    @tc.enable_grad()
    def f(x):
        """doc"""
        return x * 2
    x = leaf([1.0])
    with tc.no_grad():
        y = f(x)
        assert not tc.is_grad_enabled()
    assert y.requires_grad and f.__name__ == "f" and f.__doc__ == "doc"


def test_an_exception_inside_a_no_grad_decorated_function_restores_grad_mode():
    @tc.no_grad()
    def boom():
        raise KeyError("x")
    with pytest.raises(KeyError):
        boom()
    assert tc.is_grad_enabled()


# ---- custom Functions that misbehave ------------------------------------------------------------

def test_a_custom_backward_that_mutates_g_raises_or_leaves_other_gradients_right():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    seed = np.ones(2)
    try:
        (DoublesGInPlace.apply(y) + y).backward(seed)
    except (BackwardError, ValueError, TypeError):
        return  # a clear error is fine (e.g. g handed over read-only)
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])  # today [4, 4]
    np.testing.assert_array_equal(seed, [1.0, 1.0])             # today [2, 2]


class _ReturnsFloat(tc.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return 2.0  # a Python float, not an array


class _ReturnsList(tc.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return [2.0, 2.0]


@pytest.mark.parametrize("fn, x", [(_ReturnsFloat, np.float64(1.0)), (_ReturnsList, [1.0, 2.0])])
def test_a_custom_backward_returning_a_non_array_names_the_function_or_works(fn, x):
    x = leaf(x)
    try:
        fn.apply(x).sum().backward()
    except (BackwardError, TypeError) as e:
        assert fn.__name__ in str(e)
        return
    np.testing.assert_array_equal(x.grad.numpy(), np.full(x.shape, 2.0))


def test_a_custom_backward_returning_integers_gives_a_gradient_of_the_leafs_dtype():
    class IntGrad(tc.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return (g * 2).astype(np.int64)
    x = leaf([1.0, 2.0], np.float32)
    IntGrad.apply(x).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


class _Stop(tc.Function):
    """Identity whose backward gives no gradient (a custom stop-gradient)."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return None


def test_a_kept_loss_does_not_keep_activations_behind_a_none_gradient_alive():
    x = leaf(np.ones(1000))
    h = (x * 2).exp()
    kept = weakref.ref(h.data)
    loss = (_Stop.apply(h) + x).sum()
    del h
    loss.backward()
    gc.collect()
    assert kept() is None
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(1000))


def test_nodes_a_none_gradient_cut_off_are_released_and_say_so_if_used_again():
    # As in PyTorch, backward without retain_graph consumes the whole graph below the loss, the
    # nodes no gradient reached included: a second backward through them raises, never silently
    # reuses freed arrays; with retain_graph=True they keep what they saved.
    for retain in (False, True):
        x = leaf(np.linspace(-1, 1, 5))
        h = x.exp()
        loss = (_Stop.apply(h) + x).sum()
        loss.backward(retain_graph=retain)
        if retain:
            h.sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), 1 + np.exp(np.linspace(-1, 1, 5)))
        else:
            with pytest.raises(BackwardError, match="second time"):
                h.sum().backward()
