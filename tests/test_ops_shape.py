"""Shape ops: forward vs NumPy and gradients vs numerical differences over drawn shapes."""
import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_course as tc
from tinygrad_course.testing import broadcastable_shapes, check_op, shapes

SMALL = shapes(max_dims=3, max_side=4)
NONEMPTY = shapes(min_dims=1, max_dims=3, max_side=4)


def reshape_targets(shps):
    (s,) = shps
    n = int(np.prod(s))
    return st.fixed_dictionaries({"shape": st.sampled_from(
        [(n,), (-1,), s[::-1], (1, n), (*s, 1), (n, 1, 1)] + ([(2, -1)] if n % 2 == 0 else []))})


def permutation(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({"axes": st.permutations(range(nd)).map(tuple) | st.none()})


def one_axis(shps, extra: int = 0):
    nd = len(shps[0]) + extra
    return st.fixed_dictionaries({"axis": st.integers(-nd, nd - 1)})


def squeeze_axes(shps):
    ones = [i for i, n in enumerate(shps[0]) if n == 1]
    return st.fixed_dictionaries({"axis": st.none() | st.sampled_from(ones or [None])
                                  | st.just(tuple(ones))})


def broadcast_targets(shps):
    (s,) = shps
    return st.fixed_dictionaries({"shape": hnp.broadcastable_shapes(s, max_dims=4, max_side=3)
                                  .map(lambda o: np.broadcast_shapes(s, o))})


def flatten_dims(shps):
    nd = len(shps[0])
    return st.tuples(st.integers(0, nd - 1), st.integers(0, nd - 1)).map(
        lambda p: {"start_dim": min(p), "end_dim": max(p) - nd})


@st.composite
def joinable_shapes(draw, n=3):
    """n shapes equal except along one axis (what concatenate needs)."""
    base = list(draw(NONEMPTY))
    axis = draw(st.integers(0, len(base) - 1))
    out = []
    for _ in range(n):
        s = list(base)
        s[axis] = draw(st.integers(1, 3))
        out.append(tuple(s))
    return tuple(out)


def join_axis(shps):
    nd = len(shps[0])
    ok = [a for a in range(nd) if all(s[:a] + s[a + 1:] == shps[0][:a] + shps[0][a + 1:] for s in shps)]
    return st.fixed_dictionaries({"axis": st.sampled_from(ok + [a - nd for a in ok])})


def pad_widths(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({
        "pad_width": st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                              min_size=nd, max_size=nd).map(tuple),
        "value": st.sampled_from([0.0, -1.5])})


def split_params(shps):
    nd = len(shps[0])
    return st.integers(0, nd - 1).flatmap(lambda ax: st.fixed_dictionaries({
        "axis": st.just(ax),
        "cut": st.sampled_from([n for n in range(1, 5) if shps[0][ax] % n == 0])
               | st.lists(st.integers(0, shps[0][ax]), max_size=2).map(sorted).map(tuple),
        "part": st.integers(0, 10)}))


def pick_part(parts, part):
    return parts[part % len(parts)]


def test_reshape():
    check_op(lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape),
             shapes=SMALL, params=reshape_targets)


def test_reshape_with_separate_int_arguments():
    x = tc.randn(2, 6, requires_grad=True)
    assert x.reshape(3, 4).shape == tc.reshape(x, (3, 4)).shape == (3, 4)


def test_transpose_with_and_without_axes():
    check_op(lambda x, axes: tc.transpose(x, axes), np.transpose, shapes=SMALL, params=permutation)


def test_permute():
    check_op(lambda x, axes: x.permute(*axes), np.transpose, shapes=NONEMPTY,
             params=lambda s: st.fixed_dictionaries({"axes": st.permutations(range(len(s[0])))}))


def test_T_reverses_the_axes():
    check_op(lambda x: x.T, lambda x: x.T, shapes=SMALL)


def test_swapaxes():
    check_op(lambda x, axis1, axis2: tc.swapaxes(x, axis1, axis2), np.swapaxes, shapes=NONEMPTY,
             params=lambda s: st.fixed_dictionaries({
                 "axis1": st.integers(-len(s[0]), len(s[0]) - 1),
                 "axis2": st.integers(-len(s[0]), len(s[0]) - 1)}))


def test_squeeze():
    check_op(lambda x, axis: tc.squeeze(x, axis), lambda x, axis: np.squeeze(x, axis),
             shapes=shapes(max_dims=4, max_side=2), params=squeeze_axes)


@pytest.mark.parametrize("op", [tc.unsqueeze, tc.expand_dims])
def test_unsqueeze_and_expand_dims(op):
    check_op(lambda x, axis: op(x, axis), np.expand_dims, shapes=SMALL,
             params=lambda s: one_axis(s, extra=1))


def test_broadcast_to():
    check_op(lambda x, shape: tc.broadcast_to(x, shape), np.broadcast_to, shapes=SMALL,
             params=broadcast_targets)


def test_flatten_all_and_a_range_of_axes():
    check_op(lambda x: x.flatten(), np.ravel, shapes=SMALL, max_examples=10)
    check_op(lambda x, start_dim, end_dim: tc.flatten(x, start_dim, end_dim),
             lambda x, start_dim, end_dim: x.reshape(
                 x.shape[:start_dim] + (-1,) + x.shape[x.ndim + end_dim + 1:]),
             shapes=NONEMPTY, params=flatten_dims)


def test_concatenate():
    check_op(lambda a, b, c, axis: tc.concatenate([a, b, c], axis=axis),
             lambda a, b, c, axis: np.concatenate([a, b, c], axis=axis),
             n_inputs=3, shapes=joinable_shapes(), params=join_axis)


def test_concatenate_with_a_constant_array():
    x = tc.tensor([[1.0, 2.0]], requires_grad=True)
    y = tc.concatenate([x, np.zeros((1, 2), np.float32)], axis=0)
    y.backward(tc.tensor([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(x.grad.data, [[1.0, 2.0]])


def test_stack():
    check_op(lambda a, b, axis: tc.stack([a, b], axis=axis),
             lambda a, b, axis: np.stack([a, b], axis=axis), n_inputs=2,
             shapes=SMALL.map(lambda s: (s, s)), params=lambda s: one_axis(s, extra=1))


def test_split_each_part_matches_numpy():
    check_op(lambda x, axis, cut, part: pick_part(tc.split(x, cut, axis=axis), part),
             lambda x, axis, cut, part: pick_part(np.split(x, cut, axis=axis), part),
             shapes=NONEMPTY, params=split_params)


def test_split_parts_put_back_give_the_whole_gradient():
    x = tc.randn(4, 3, requires_grad=True)
    a, b = tc.split(x, 2, axis=0)
    (a * 2 + b * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.repeat([[2.0], [2.0], [3.0], [3.0]], 3, axis=1))


def test_pad():
    check_op(lambda x, pad_width, value: tc.pad(x, pad_width, value),
             lambda x, pad_width, value: np.pad(x, pad_width, constant_values=value),
             shapes=NONEMPTY, params=pad_widths)


def test_shape_ops_compose_over_broadcast_inputs():
    check_op(lambda a, b: (a + b).T.reshape(-1), lambda a, b: (a + b).T.reshape(-1),
             n_inputs=2, shapes=broadcastable_shapes(2, max_dims=3, max_side=3))


def test_view_ops_share_memory_with_their_input():
    x = tc.randn(2, 3)
    assert np.shares_memory(x.reshape(3, 2).data, x.data)
    assert np.shares_memory(x.T.data, x.data)
    assert np.shares_memory(tc.unsqueeze(x, 0).data, x.data)
