"""Backward's bookkeeping lives on each node's output tensor (_g, _pending, _pass, _nuse): the
count of users must stay on the object the engine decrements when an in-place op rebases a
tensor or a copy shares its node. Checked against `tc.grad` (the toposort engine)."""
import copy

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course.backward import backward_pass as run_backward


def leaf(*values):
    return tc.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def _self_update(h, kind):
    if kind == "+=":
        h += h
    elif kind == "-=":
        h -= h
    else:
        h[:] = h
    return h


# An in-place op whose other operand is the tensor itself (h += h, h[:] = h) is one more user of
# the old h, which the alias stands for after the rebase: its count must go there too, or the
# old node runs before an earlier user (u below) has passed its gradient, which is then lost.
@pytest.mark.parametrize("kind", ["+=", "-=", "h[:] = h"])
def test_in_place_op_with_itself_as_operand_keeps_the_gradient_of_an_earlier_user(kind):
    x = leaf(1.0, 2.0, 3.0)

    def build():
        h = x * 1.5
        u = h + 3  # a user of the old h, recorded before the in-place op
        h = _self_update(h, kind)
        return (u * 2 + h).sum()  # the in-place node's gradient reaches the alias first

    (expected,) = tc.grad(build(), [x])
    build().backward()
    np.testing.assert_allclose(x.grad.data, expected.data)


def test_in_place_self_operand_with_several_roots_through_run_backward():
    # Same cause, through engine.run_backward with two roots: the later root's gradient into
    # the earlier user arrives after the old node already ran.
    x = leaf(0.5, 1.0, 2.0)
    h = x * 2.0
    u = h.tanh()
    h += h
    roots = [(u * 3).sum(), (h * h).sum()]  # the last root runs first
    expected = tc.grad(roots, [x], retain_graph=True)[0]
    run_backward(roots, [np.ones(()), np.ones(())])
    np.testing.assert_allclose(x.grad.data, expected.data)


# copy.copy of a non-leaf is a view node of it (one more user), not a second object for the same
# node: two objects would each count their own users and the node would run twice.
def test_shallow_copy_of_a_non_leaf_used_next_to_the_original():
    x = leaf(1.0, 2.0, 3.0)
    h = x * x
    c = copy.copy(h)
    loss = (h * 2).sum() + (c * 3).sum()
    (expected,) = tc.grad(loss, [x], retain_graph=True)
    np.testing.assert_allclose(expected.data, 10 * x.data)
    loss.backward()
    np.testing.assert_allclose(x.grad.data, expected.data)


def test_copies_of_a_leaf_share_its_data_and_a_deep_copy_of_a_graph_backpropagates_alone():
    x = leaf(1.0, 2.0)
    x.name = "x"
    c = copy.copy(x)
    assert c.data is x.data and c.requires_grad and c.is_leaf and c.name == "x"
    h = x * x
    loss = (h * 3).sum()
    twin = copy.deepcopy(loss)
    twin.backward()
    assert x.grad is None  # the deep copy has its own leaves
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data)
