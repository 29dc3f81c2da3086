"""The engine's edge cases: changes under no_grad after an in-place op, arrays a rule still holds
(or cannot write) never kept as a leaf's .grad, several roots, ops of many inputs, deep graphs on
the recount path, and random graphs with in-place ops and failed forwards checked against
`tc.grad`."""
import copy

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import tinygrad_course as tc
from tinygrad_course.autograd import BackwardError
from tinygrad_course.backward import backward_pass as run_backward


def leaf(*values):
    return tc.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ---- changes after an in-place op ----------------------------------------------------------
# An in-place node (h += 1, h[i] = v) writes its tensor after the node is stamped; a change
# after that write (under no_grad, through a detached alias) must still be caught, as it is
# for an ordinary node (tests/test_inplace.py), instead of a gradient that follows the values
# before the change.
# Both engines call _check_edge: the plain backward and the toposort one behind tc.grad.
@pytest.mark.parametrize("backpropagate", [lambda h, x: (h * h).sum().backward(),
                                           lambda h, x: tc.grad(h.sum(), x)],
                         ids=["backward", "grad"])
def test_no_grad_change_after_plus_equals_on_a_non_leaf_raises(backpropagate):
    x = leaf(1.0, 2.0)
    h = x * 2
    h += 1
    with tc.no_grad():
        h *= 5
    with pytest.raises(RuntimeError, match="changed in place"):
        backpropagate(h, x)


def test_no_grad_change_after_setitem_on_a_non_leaf_raises():
    x = leaf(1.0, 2.0)
    h = x * 2
    h[0] = x[1] * 1
    with tc.no_grad():
        h *= 5
    with pytest.raises(RuntimeError, match="changed in place"):
        h.sum().backward()


def test_a_change_through_a_detached_alias_after_plus_equals_raises():
    # detach() shares the version counter; changing the detached tensor is a no_grad change.
    x = leaf(1.0, 2.0)
    h = x * 2
    h += 1
    d = h.detach()
    d *= 5
    with pytest.raises(RuntimeError, match="changed in place"):
        h.sum().backward()


# ---- arrays a rule still holds are never kept as a .grad ------------------------------------
class _ReturnsFrozen(tc.Function):
    FROZEN = np.ones(2)
    FROZEN.flags.writeable = False

    @staticmethod
    def forward(ctx, a):
        return a * 1.0

    @staticmethod
    def backward(ctx, g):
        return _ReturnsFrozen.FROZEN  # right for the seed of y.sum()


# A user's rule may return an array it cannot write (a cached constant) or still holds (a saved
# input): a leaf's .grad must always be its own writable array, which later backward calls add
# into in place.
def test_a_read_only_array_returned_by_a_rule_is_copied_before_a_leaf_keeps_it():
    x = leaf(1.0, 1.0)
    y = _ReturnsFrozen.apply(x).sum()
    y.backward(retain_graph=True)
    assert x.grad.data.flags.writeable
    y.backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])


class _ReturnsSaved(tc.Function):
    @staticmethod
    def forward(ctx, a):
        w = np.array([2.0, 3.0])
        ctx.save_for_backward(w)
        return a * w

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        return w  # d(sum(a * w))/da for the seed 1


# Otherwise the second backward would add into the saved `w` itself ([4, 6] then [8, 12]).
def test_a_saved_array_returned_by_a_rule_is_not_aliased_by_grad():
    x = leaf(1.0, 1.0)
    y = _ReturnsSaved.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.data, [4.0, 6.0])
    y.backward()
    np.testing.assert_allclose(x.grad.data, [6.0, 9.0])


# ---- several roots (run_backward's seeding, not reachable from Tensor.backward) -----------
def test_duplicate_roots_a_leaf_root_and_a_waiting_root_sum_their_gradients():
    x = leaf(1.0, 2.0)
    h = x * x
    y = h * 3
    _ = h * 5  # h waits for a user no root reaches
    g1, g2 = np.ones(2), np.full(2, 2.0)
    run_backward((y, h, y, x), (g1, g2, g1, g1))
    np.testing.assert_allclose(x.grad.data, 2 * 3 * 2 * x.data + 2 * 2 * x.data + 1)
    assert not np.shares_memory(x.grad.data, g1)
    np.testing.assert_allclose(g1, [1.0, 1.0])  # the caller's gradient is untouched


def test_a_root_that_is_an_input_of_another_root_waits_for_it():
    x = leaf(1.0, 2.0)
    h = x.tanh()
    y = h * h
    run_backward((h, y), (np.ones(2), np.ones(2)))
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad.data, (1 + 2 * t) * (1 - t * t))


def test_the_same_leaf_given_twice_as_a_root():
    x = leaf(1.0, 2.0)
    g = np.ones(2)
    run_backward((x, x), (g, g))
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])
    np.testing.assert_allclose(g, [1.0, 1.0])


# ---- the read-only seed ---------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda x: x.clone(), lambda x: x.reshape(1, 1),
                                  lambda x: x + 0.0, lambda x: tc.concatenate([x])])
def test_rules_that_pass_the_seed_through_never_hand_it_to_a_leaf(make):
    x = leaf(3.0)
    make(x).backward()
    assert x.grad.data.flags.writeable and not np.shares_memory(x.grad.data, np.ones(()))
    x.grad.data += 1  # must not change the next seed
    x2 = leaf(3.0)
    make(x2).backward()
    np.testing.assert_allclose(x2.grad.data, [1.0])


def test_retain_grad_on_the_loss_gets_a_writable_copy_of_the_seed():
    x = leaf(1.0, 2.0)
    y = (x * 2).sum()
    y.retain_grad()
    y.backward()
    y.grad.data[...] = 5
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])


# ---- ops of 0 or more than 3 inputs, custom functions on the general path -----------------
def test_concatenate_and_stack_of_many_inputs_including_repeats():
    xs = [leaf(float(i), float(i + 1)) for i in range(5)]
    (tc.concatenate(xs) ** 2).sum().backward()
    for t in xs:
        np.testing.assert_allclose(t.grad.data, 2 * t.data)
    x = leaf(1.0, 2.0)
    (tc.stack([x, x, x, x]) * 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, [8.0, 8.0])


class _Sum4(tc.Function):
    @staticmethod
    def forward(ctx, a, b, c, d):
        return a + b + c + d

    @staticmethod
    def backward(ctx, g):
        return g, g, g, g  # one array for every input


def test_one_array_returned_for_four_leaves_gives_four_separate_grads():
    ts = [leaf(1.0, 2.0) for _ in range(4)]
    (_Sum4.apply(*ts) * 3).sum().backward()
    for i in range(4):
        np.testing.assert_allclose(ts[i].grad.data, [3.0, 3.0])
        for j in range(i + 1, 4):
            assert not np.shares_memory(ts[i].grad.data, ts[j].grad.data)


def test_a_general_path_rule_returning_too_few_gradients_is_caught():
    class Bad(tc.Function):
        @staticmethod
        def forward(ctx, a, b, c, d):
            return a + b + c + d

        @staticmethod
        def backward(ctx, g):
            return g, g, g

    x = leaf(1.0, 2.0)
    with pytest.raises(BackwardError, match="returned 3 gradients for 4 inputs"):
        Bad.apply(x, x, x, x).sum().backward()


def test_a_single_input_rule_may_return_none_or_a_bare_array():
    class Stop(tc.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, g):
            return None

    x = leaf(1.0, 3.0)
    (Stop.apply(x * 2).sum() + x.sum()).backward()  # the node under Stop gets nothing
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])


# ---- deep graphs on the slower paths -------------------------------------------------------
N = 100_000


def test_a_deep_chain_with_a_dangling_user_at_the_bottom_recounts_without_recursion():
    x = leaf(1.0)
    h = x * 1.0
    _ = h * 2  # makes the bottom node wait: the whole chain goes through _recount's walk
    for _ in range(N):
        h = h * 1.0
    h.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0])


def test_backward_from_the_middle_of_a_deep_chain():
    x = leaf(1.0)
    h = x * 1.0
    for _ in range(N):
        h = h + 0.0
    mid = h
    for _ in range(3):
        h = h * 1.0
    mid.sum().backward()  # mid waits for a user: recount over N nodes
    np.testing.assert_allclose(x.grad.data, [1.0])


def test_a_deep_chain_of_in_place_ops_and_the_grad_engine():
    x = leaf(1.0)
    h = x * 1.0
    for _ in range(N):
        h += 1.0
    loss = h.sum()
    (g,) = tc.grad(loss, x, retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.data, [1.0])
    np.testing.assert_allclose(g.data, [1.0])


# ---- random graphs with in-place ops, views, general-arity ops and failed forwards --------
def _build(data, x, y):
    nodes = [x, y]
    pick = lambda: nodes[data.draw(st.integers(0, len(nodes) - 1))]  # noqa: E731
    for _ in range(data.draw(st.integers(1, 10))):
        a, b, c = pick(), pick(), pick()
        op = data.draw(st.sampled_from(
            ["add", "mul", "tanh", "cat4", "cat2", "where", "sumall", "stack5", "getitem",
             "dangle", "fail", "iadd", "iself", "setitem", "copy"]))
        if op == "add":
            out = a + b
        elif op == "mul":
            out = a * b * 0.5
        elif op == "tanh":
            out = a.tanh()
        elif op == "cat4":
            out = tc.concatenate([a, b, c, a], 0).reshape(4, 3).sum(axis=0)
        elif op == "cat2":
            out = tc.concatenate([a, b], 0)[1:4]
        elif op == "where":
            out = tc.where(a.data > 1.0, a, b)
        elif op == "sumall":
            out = a.sum() * a
        elif op == "stack5":
            out = tc.stack([a, b, c, a, b]).sum(axis=0)
        elif op == "getitem":
            out = a[[2, 0, 1]]
        elif op == "copy":
            out = copy.copy(a)
        elif op == "dangle":
            _ = a * 3  # a user no loss reaches
            continue
        elif op == "fail":
            with pytest.raises(ValueError):
                a + tc.Tensor(np.ones(4))  # counted as a user, then failed
            continue
        else:
            if a._ctx is None or type(a._ctx).is_view:
                continue
            if op == "iadd":
                a += b
            elif op == "iself":
                a += a  # the tensor is also the op's other operand
            else:
                a[0] = b[1] * 2
            continue
        nodes.append(out)
    return nodes


@given(st.data())
def test_backward_matches_grad_on_random_graphs_with_in_place_ops(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x, y = leaf(*rng.uniform(0.5, 1.5, 3)), leaf(*rng.uniform(0.5, 1.5, 3))
    nodes = _build(data, x, y)
    assume(len(nodes) > 2)
    picked = data.draw(st.lists(st.integers(2, len(nodes) - 1), min_size=1, max_size=3))
    loss = tc.Tensor(0.0, dtype=np.float64)
    for k in picked:
        loss = loss + (nodes[k] * nodes[k]).sum()
    try:
        expected = tc.grad(loss, [x, y], retain_graph=True, allow_unused=True)
    except BackwardError:  # a saved tensor changed in place: the plain engine must agree
        with pytest.raises(BackwardError):
            loss.backward()
        return
    if data.draw(st.booleans()):  # a first backward from an intermediate (it waits for users)
        mid = nodes[data.draw(st.integers(2, len(nodes) - 1))]
        try:
            tc.grad(mid.sum(), [x, y], retain_graph=True, allow_unused=True)
        except BackwardError:
            return
        mid.sum().backward(retain_graph=True)
        x.grad = y.grad = None
    loss.backward(retain_graph=True)
    x.grad = y.grad = None
    loss.backward()  # the second pass over a retained graph must agree too
    for t, e in zip((x, y), expected):
        if e is None:
            assert t.grad is None
        else:
            np.testing.assert_allclose(t.grad.data, e.data, rtol=1e-10, atol=1e-12)
    if x.grad is not None and y.grad is not None:
        assert not np.shares_memory(x.grad.data, y.grad.data)


def test_an_array_a_rule_holds_stays_unkept_after_passing_through_built_in_ops():
    # _ReturnsSaved hands its saved w to h = a + b, whose rule passes it on to both leaves.
    a, b = leaf(1.0, 1.0), leaf(0.0, 0.0)
    y = _ReturnsSaved.apply(a + b).sum()
    y.backward(retain_graph=True)
    assert not np.shares_memory(a.grad.data, b.grad.data)
    y.backward()
    for t in (a, b):
        np.testing.assert_allclose(t.grad.data, [4.0, 6.0])
