"""Indexing and where: forward vs NumPy and gradients vs numerical differences over drawn
shapes and index expressions (ints, slices, None, ..., bool masks, int arrays with repeats)."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_course as tc
from tinygrad_course.testing import broadcastable_shapes, check_op, index_expressions, shapes


def an_index(shps):
    return st.fixed_dictionaries({"index": index_expressions(shps[0])})


def test_getitem_matches_numpy_and_gradcheck_for_every_index_kind():
    check_op(lambda x, index: x[index], lambda x, index: x[index],
             shapes=shapes(max_dims=3, max_side=4), params=an_index)


def test_getitem_with_an_index_given_as_a_tensor_or_list():
    x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    np.testing.assert_array_equal(x[tc.tensor([2, 0])].data, [3.0, 1.0])
    np.testing.assert_array_equal(x[[1, 1]].data, [2.0, 2.0])
    np.testing.assert_array_equal(x[tc.tensor([True, False, True])].data, [1.0, 3.0])


def test_repeated_integer_indices_accumulate_their_gradients():
    x = tc.tensor([10.0, 20.0, 30.0], requires_grad=True)
    x[np.array([0, 2, 0, 0, -1])].backward(tc.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(x.grad.data, [8.0, 0.0, 7.0])


def test_repeated_rows_in_two_dimensions_accumulate():
    x = tc.zeros(3, 2, requires_grad=True)
    x[np.array([1, 1]), np.array([0, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0], [2.0, 0.0], [0.0, 0.0]])


def test_bool_mask_gradient_lands_on_the_selected_elements():
    x = tc.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    (x[x.data > 0] * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[3.0, 0.0], [0.0, 3.0]])


def test_where_matches_numpy_and_gradcheck_with_broadcasting():
    def cond_for(shps):
        cond_shapes = hnp.broadcastable_shapes(np.broadcast_shapes(*shps), max_dims=3, max_side=3)
        return st.fixed_dictionaries({"cond": cond_shapes.flatmap(lambda s: hnp.arrays(np.bool_, s))})

    check_op(lambda a, b, cond: tc.where(cond, a, b), lambda a, b, cond: np.where(cond, a, b),
             n_inputs=2, shapes=broadcastable_shapes(2, max_dims=3, max_side=3), params=cond_for)


def test_where_with_a_bool_tensor_condition_and_scalar_branch():
    x = tc.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    y = tc.where(x > 0, x, 0.0)
    np.testing.assert_array_equal(y.data, [0.0, 2.0, 0.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.0])


def test_getitem_second_derivative_through_index_add():
    x = tc.tensor([1.0, 2.0, 3.0], dtype=np.float64, requires_grad=True)
    tc.gradgradcheck(lambda x: (x[np.array([0, 0, 2])] ** 3).sum(), [x])
