"""Linear algebra: matmul with NumPy's 1-D and batched rules, dot, and the fused linear."""
import numpy as np
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import broadcastable_shapes, check_op

MATMUL_SHAPES = broadcastable_shapes(2, max_dims=2, max_side=3, signature=np.matmul.signature)


def test_matmul_matches_numpy_and_gradcheck_for_1d_2d_and_batched_operands():
    check_op(lambda a, b: a @ b, np.matmul, n_inputs=2, shapes=MATMUL_SHAPES)


def test_matmul_function_and_method():
    check_op(tc.matmul, np.matmul, n_inputs=2, shapes=MATMUL_SHAPES, max_examples=10)
    check_op(lambda a, b: a.matmul(b), np.matmul, n_inputs=2, shapes=MATMUL_SHAPES,
             max_examples=10)


def test_matmul_with_an_ndarray_on_either_side():
    a = tc.randn(2, 3, dtype=np.float64, requires_grad=True)
    m = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose((a @ m).data, a.data @ m)
    np.testing.assert_allclose((m.T @ a.T).data, m.T @ a.data.T)
    (m.T @ a.T).sum().backward()
    np.testing.assert_allclose(a.grad.data, np.ones((4, 2)).T @ m.T)


@st.composite
def dot_shapes(draw):
    k = draw(st.integers(1, 4))
    left = draw(st.sampled_from([(), (k,), (draw(st.integers(1, 3)), k)]))
    right = draw(st.sampled_from([(), (k,), (k, draw(st.integers(1, 3)))]))
    return left, right


def test_dot_matches_numpy_and_gradcheck_for_0d_1d_2d():
    check_op(tc.dot, np.dot, n_inputs=2, shapes=dot_shapes())


@st.composite
def linear_shapes(draw):
    batch = draw(st.sampled_from([(), (2,), (3, 2)]))
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    return (*batch, n_in), (n_out, n_in), (n_out,)


def test_linear_matches_x_at_w_transpose_plus_b():
    check_op(tc.linear, lambda x, w, b: x @ w.T + b, n_inputs=3, shapes=linear_shapes())


def test_linear_without_bias():
    check_op(lambda x, w: tc.linear(x, w), lambda x, w: x @ w.T, n_inputs=2,
             shapes=linear_shapes().map(lambda s: s[:2]), max_examples=10)


def test_linear_is_one_graph_node():
    x, w, b = tc.randn(2, 3), tc.randn(4, 3, requires_grad=True), tc.randn(4, requires_grad=True)
    out = tc.linear(x, w, b)
    assert type(out.grad_fn).name == "linear"
    assert all(not isinstance(i, tc.Tensor) or i.grad_fn is None for i in out.grad_fn.inputs)


def test_matmul_gradients_by_hand():
    a = tc.tensor([[1.0, 2.0]], requires_grad=True)
    b = tc.tensor([[3.0], [4.0]], requires_grad=True)
    (a @ b).backward()
    np.testing.assert_array_equal(a.grad.data, [[3.0, 4.0]])
    np.testing.assert_array_equal(b.grad.data, [[1.0], [2.0]])
