"""Backward's order when forward's count of users is not what a pass sees: users that belong to
another loss, results thrown away, backward from an intermediate. Every case is checked against
a gradient worked by hand."""
import numpy as np
from hypothesis import given, strategies as st

import tinygrad_course as tc

import pytest


def leaf(*values):
    return tc.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_a_plain_loss_needs_no_recount():
    x = leaf(1.0, 2.0)
    h = x * 3
    (h * h + h).sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * (2 * 3 * x.data + 1))


def test_a_thrown_away_user_does_not_hold_back_the_gradient():
    x = leaf(1.0, -2.0)
    a = x * 2
    _ = a * 4  # used once, then dropped
    b = a * 3
    (b + a).sum().backward()  # d/dx = 2 * (3 + 1)
    np.testing.assert_allclose(x.grad.data, [8.0, 8.0])


def test_backward_from_an_intermediate_that_is_also_used_later():
    x = leaf(0.5, 1.5)
    h = x.tanh()
    loss = (h * h).sum()
    h.sum().backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.data, 1 - np.tanh(x.data) ** 2)
    x.grad = None
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.tanh(x.data) * (1 - np.tanh(x.data) ** 2))


def test_two_losses_on_one_trunk_each_get_only_their_own_gradient():
    x = leaf(1.0, 2.0, 3.0)
    trunk = (x * x).exp() * 0.01
    first, second = (trunk * 2).sum(), (trunk.tanh()).sum()
    (gx1,) = tc.grad(first, x, retain_graph=True)
    (gx2,) = tc.grad(second, x, retain_graph=True)
    first.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.data, gx1.data)
    x.grad = None
    second.backward()
    np.testing.assert_allclose(x.grad.data, gx2.data)


def test_waiting_nodes_that_wait_on_each_other_run_in_order():
    # a waits on b (a is b's input) and both have users the pass never reaches.
    x = leaf(2.0)
    a = x * x
    _ = a + 1
    b = a * a
    _ = b - 1
    (b * 3 + a).sum().backward()  # d/dx [3 x^4 + x^2] = 12 x^3 + 2 x
    np.testing.assert_allclose(x.grad.data, [12 * 8 + 4.0])


def test_a_root_with_users_of_its_own():
    x = leaf(1.0, 4.0)
    h = x.sqrt()
    _ = h * 2
    h.backward(np.ones(2))
    np.testing.assert_allclose(x.grad.data, 0.5 / np.sqrt(x.data))


def test_an_op_whose_forward_failed_leaves_no_wrong_gradient():
    x = leaf(1.0, 2.0)
    h = x * 2
    with pytest.raises(ValueError):
        h + tc.Tensor(np.ones(3))  # counted as a user, then failed
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.data, 8 * x.data)


def test_a_retained_graph_backpropagated_twice_after_a_new_user_appeared():
    x = leaf(1.0, 2.0)
    h = x * x
    loss = h.sum()
    loss.backward(retain_graph=True)
    extra = (h * 10).sum()  # h gains a user after the first backward
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.data, 2 * (2 * x.data))
    x.grad = None
    extra.backward()
    np.testing.assert_allclose(x.grad.data, 20 * x.data)


def test_create_graph_users_do_not_disturb_a_later_plain_backward():
    x = leaf(0.3, -0.7)
    y = (x ** 3).sum()
    (g,) = tc.grad(y, x, create_graph=True)  # new nodes that use the graph's tensors
    y.backward()
    np.testing.assert_allclose(x.grad.data, 3 * x.data ** 2)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data)


@given(st.data())
def test_backward_agrees_with_grad_on_random_graphs_with_dangling_users(data):
    """Random DAGs over two leaves where some results are used by ops no loss needs."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x, y = leaf(*rng.uniform(0.5, 1.5, 3)), leaf(*rng.uniform(0.5, 1.5, 3))
    nodes = [x, y]
    dangling = []
    for _ in range(data.draw(st.integers(1, 12))):
        i = data.draw(st.integers(0, len(nodes) - 1))
        j = data.draw(st.integers(0, len(nodes) - 1))
        op = data.draw(st.sampled_from(["add", "mul", "tanh", "sub"]))
        a, b = nodes[i], nodes[j]
        out = {"add": lambda: a + b, "mul": lambda: a * b * 0.5,
               "tanh": lambda: a.tanh(), "sub": lambda: a - b}[op]()
        if data.draw(st.booleans()):
            dangling.append(out * 2)  # a user that the loss below never reaches
        nodes.append(out)
    picked = data.draw(st.lists(st.integers(2, len(nodes) - 1), min_size=1, max_size=3))
    loss = sum((nodes[k].sum() for k in picked), tc.Tensor(0.0, dtype=np.float64))
    expected = tc.grad(loss, [x, y], retain_graph=True, allow_unused=True)
    loss.backward()
    for t, e in zip((x, y), expected):
        if e is None:
            assert t.grad is None
        else:
            np.testing.assert_allclose(t.grad.data, e.data, rtol=1e-12, atol=1e-12)
