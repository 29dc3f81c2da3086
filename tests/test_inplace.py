"""In-place safety: version counters, leaves, no_grad, views, and right gradients through
in-place ops on non-leaf tensors (or a clear error, never a silently wrong gradient)."""
import operator
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import tensors

INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv}
OUT_OF_PLACE = {"+=": operator.add, "-=": operator.sub, "*=": operator.mul, "/=": operator.truediv}


def f64(*values, requires_grad=True):
    return tc.tensor(np.array(values, dtype=np.float64), requires_grad=requires_grad)


# ---- leaves -----------------------------------------------------------------------------
@pytest.mark.parametrize("symbol", INPLACE)
def test_in_place_on_a_leaf_that_requires_grad_raises_at_once(symbol):
    x = f64(1.0, 2.0)
    with pytest.raises(RuntimeError, match=f"{re.escape(symbol)}.*leaf.*no_grad"):
        INPLACE[symbol](x, 2.0)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_setitem_on_a_leaf_that_requires_grad_raises_at_once():
    x = f64(1.0, 2.0)
    with pytest.raises(RuntimeError, match="setitem.*leaf"):
        x[0] = 5.0


@pytest.mark.parametrize("symbol", INPLACE)
def test_in_place_on_a_leaf_under_no_grad_changes_it_and_bumps_its_version(symbol):
    x = f64(1.0, 2.0)
    v0 = x.version
    with tc.no_grad():
        y = INPLACE[symbol](x, 2.0)
    assert y is x and x.is_leaf and x.requires_grad
    np.testing.assert_array_equal(x.data, OUT_OF_PLACE[symbol](np.array([1.0, 2.0]), 2.0))
    assert x.version > v0


def test_setitem_under_no_grad_on_a_leaf():
    x = f64(1.0, 2.0)
    with tc.no_grad():
        x[1] = 7.0
    np.testing.assert_array_equal(x.data, [1.0, 7.0])


# ---- the version counter ----------------------------------------------------------------
def test_changing_a_saved_leaf_under_no_grad_makes_backward_raise():
    x = f64(1.0, 2.0)
    y = (x * x).sum()  # mul saves x
    with tc.no_grad():
        x -= 0.1
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


def test_changing_a_leaf_that_was_not_saved_keeps_the_gradient_right():
    x = f64(1.0, 2.0)
    y = (x * 3.0).sum()  # only the constant 3 is needed for x's gradient
    with tc.no_grad():
        x -= 0.1
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_changing_a_saved_constant_in_place_makes_backward_raise():
    x = f64(1.0, 2.0)
    c = f64(3.0, 4.0, requires_grad=False)
    y = (x * c).sum()
    c += 1.0
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


def test_changing_a_saved_output_in_place_makes_backward_raise():
    x = f64(1.0, 2.0)
    h = x.exp()  # exp saves its output
    h += 1.0
    with pytest.raises(RuntimeError, match="Exp.*changed in place"):
        h.sum().backward()


def test_the_error_names_out_of_place_as_the_fix():
    x = f64(1.0)
    h = tc.sigmoid(x)
    h *= 2.0
    with pytest.raises(RuntimeError, match=r"x = x \+ y"):
        h.sum().backward()


# ---- views ------------------------------------------------------------------------------
@pytest.mark.parametrize("view", [lambda t: t.reshape(-1), lambda t: t[0], lambda t: t.T,
                                  lambda t: t[:, 1:]])
def test_a_view_shares_its_base_version_counter(view):
    x = tc.tensor(np.ones((2, 3)))
    v = view(x)
    before = x.version
    v += 1.0
    assert x.version == v.version > before
    x *= 2.0
    assert v.version == x.version
    assert np.shares_memory(v.data, x.data)


def test_changing_a_view_under_no_grad_trips_the_check_of_its_saved_base():
    x = f64(1.0, 2.0, 3.0)
    h = x.exp()
    v = h[1:]
    with tc.no_grad():
        v *= 2.0
    with pytest.raises(RuntimeError, match="changed in place"):
        h.sum().backward()


def test_in_place_on_a_view_in_the_graph_raises_at_once():
    x = f64(1.0, 2.0, 3.0)
    h = x * 2
    with pytest.raises(RuntimeError, match=r"view.*h\[1:\] = h\[1:\] \* 3"):
        h[1:] *= 3.0
    with pytest.raises(RuntimeError, match="view"):
        h.reshape(3)[0] = 1.0


# ---- non-leaf in-place ops with grad recorded -------------------------------------------
def test_plus_equals_on_a_non_leaf_gives_the_right_gradient():
    x = f64(1.0, 2.0, 3.0)
    h = x * 2
    h += 1
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * (2 * x.data + 1) * 2)
    assert type(h.grad_fn).name == "add"


def test_chain_of_in_place_ops_on_a_non_leaf_passes_gradcheck():
    def fn(x, w):
        h = x * 2
        h += w
        h -= 0.5
        h *= 3.0
        h /= 1.5
        return h * x

    tc.gradcheck(fn, [f64(0.5, -1.0, 2.0), f64(1.0, 2.0, -3.0)])


def test_consumers_made_before_an_in_place_op_keep_their_gradient():
    x = f64(1.0, 2.0)
    h = x * 2
    y = h * 3  # made before the change: dy/dx = 6
    h *= 5.0
    h += x
    (y.sum() + h.sum()).backward()
    np.testing.assert_allclose(x.grad.data, [6.0 + 11.0, 6.0 + 11.0])


def test_adding_a_tensor_to_itself_in_place():
    x = f64(1.0, 2.0)
    h = x * 2
    h += h
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])


def test_setitem_from_a_slice_of_itself_gives_the_right_gradient():
    x = f64(1.0, 2.0, 3.0)
    h = x * 2
    h[1:] = h[1:] * 3
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 6.0, 6.0])


def test_setitem_with_a_tensor_value_routes_gradients_to_both():
    def fn(x, v):
        h = x * 1.0
        h[np.array([0, 2])] = v * v
        return h.exp()

    tc.gradcheck(fn, [f64(0.5, -1.0, 2.0, 0.1), f64(0.3, -0.4)])


def test_setitem_on_a_constant_with_a_value_that_requires_grad():
    v = f64(2.0)
    buf = tc.zeros(3, dtype=np.float64)
    buf[1:2] = v
    assert buf.requires_grad and type(buf.grad_fn).name == "setitem"
    (buf * tc.tensor(np.array([1.0, 5.0, 7.0]))).sum().backward()
    np.testing.assert_array_equal(v.grad.data, [5.0])


def test_multiplying_in_place_by_a_tensor_that_requires_grad_keeps_the_old_values_for_backward():
    # h *= w needs the h before the change for w's gradient: the in-place node keeps a copy.
    x, w = f64(1.0, 2.0), f64(3.0, 4.0)
    h = x * 2
    h *= w
    h.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * w.data)
    np.testing.assert_allclose(w.grad.data, 2 * x.data)


@given(tensors(shape=(3,), elements=st.floats(0.5, 2.0)),
       st.lists(st.tuples(st.sampled_from(sorted(INPLACE)), st.floats(0.5, 2.0)), max_size=6))
def test_in_place_ops_on_a_non_leaf_match_their_out_of_place_version(x, ops):
    def run(inplace):
        leaf = tc.tensor(x.data, requires_grad=True)
        h = leaf * 1.5
        for symbol, c in ops:
            h = (INPLACE if inplace else OUT_OF_PLACE)[symbol](h, c)
        (h * leaf).sum().backward()
        return h.data, leaf.grad.data

    (h1, g1), (h2, g2) = run(True), run(False)
    np.testing.assert_allclose(h1, h2, rtol=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-12)


def test_a_view_used_after_its_base_changed_in_place_raises_rather_than_lying():
    x = tc.randn(4, requires_grad=True)
    h = x * 2
    v = h[1:]
    h *= 3  # v's values are now 6 x[1:], but its node says 2 x[1:]
    with pytest.raises(RuntimeError, match="changed in place .* before it was used"):
        v.sum().backward()


def test_a_view_taken_again_after_the_change_gives_the_right_gradient():
    x = tc.randn(4, requires_grad=True)
    h = x * 2
    h *= 3
    h[1:].sum().backward()
    np.testing.assert_allclose(x.grad.data, [0, 6, 6, 6])


def test_a_non_leaf_changed_under_no_grad_then_used_raises():
    x = tc.randn(4, requires_grad=True)
    h = x * 2
    with tc.no_grad():
        h *= 5
    with pytest.raises(RuntimeError, match="changed in place"):
        h.sum().backward()


def test_a_non_leaf_changed_under_no_grad_after_its_last_use_is_fine():
    x = tc.randn(4, requires_grad=True)
    h = x * 2
    loss = (h * 3).sum()
    with tc.no_grad():
        h += 1  # nothing saved h, and no one uses h after the change
    loss.backward()
    np.testing.assert_allclose(x.grad.data, [6, 6, 6, 6])
