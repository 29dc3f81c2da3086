"""Elementwise arithmetic: forward vs NumPy and gradients vs numerical differences, over drawn
shapes (broadcasting, 0-d, strided views), plus the tie rule of maximum/minimum and dtypes."""
import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course.testing import check_op

BINARY = {
    "add": (lambda a, b: a + b, np.add, None),
    "sub": (lambda a, b: a - b, np.subtract, None),
    "mul": (lambda a, b: a * b, np.multiply, None),
    "div": (lambda a, b: a / b, np.divide, "div"),
    "pow": (lambda a, b: a ** b, np.power, "pow"),
    "maximum": (tc.maximum, np.maximum, "maximum"),
    "minimum": (tc.minimum, np.minimum, "minimum"),
}

UNARY = {
    "neg": (lambda x: -x, np.negative, None),
    "abs": (tc.abs, np.abs, "abs"),
    "builtin_abs": (abs, np.abs, "abs"),
    "sqrt": (tc.sqrt, np.sqrt, "sqrt"),
    "exp": (tc.exp, np.exp, "exp"),
    "log": (tc.log, np.log, "log"),
    "clip": (lambda x: tc.clip(x, -1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0), "clip"),
    "clip_min_only": (lambda x: tc.clip(x, min=-1.0), lambda x: np.maximum(x, -1.0), "clip"),
    "square": (lambda x: x ** 2, np.square, None),
    "cube": (lambda x: x ** 3, lambda x: x ** 3, None),
    "pow_real": (lambda x: x ** 2.5, lambda x: x ** 2.5, "pow"),
    "pow_negative": (lambda x: x ** -1.5, lambda x: x ** -1.5, "pow"),
}

# Reflected forms: the Python scalar on the left.
REFLECTED = {
    "radd": (lambda x: 2.5 + x, lambda x: 2.5 + x, None),
    "rsub": (lambda x: 2.5 - x, lambda x: 2.5 - x, None),
    "rmul": (lambda x: 2.5 * x, lambda x: 2.5 * x, None),
    "rdiv": (lambda x: 2.5 / x, lambda x: 2.5 / x, "div"),
    "rpow": (lambda x: 2.5 ** x, lambda x: 2.5 ** x, "exp"),
    "add_scalar": (lambda x: x + 2.5, lambda x: x + 2.5, None),
    "div_scalar": (lambda x: x / 2.5, lambda x: x / 2.5, None),
}


@pytest.mark.parametrize("name", BINARY)
def test_binary_op_matches_numpy_and_gradcheck_with_broadcasting(name):
    op, ref, domain = BINARY[name]
    check_op(op, ref, n_inputs=2, domain=domain)


@pytest.mark.parametrize("name", UNARY)
def test_unary_op_matches_numpy_and_gradcheck(name):
    op, ref, domain = UNARY[name]
    check_op(op, ref, domain=domain)


@pytest.mark.parametrize("name", REFLECTED)
def test_scalar_operand_forms_match_numpy_and_gradcheck(name):
    op, ref, domain = REFLECTED[name]
    check_op(op, ref, domain=domain)


def test_ndarray_on_the_left_dispatches_to_the_tensor_op():
    a = np.array([1.0, 2.0])
    x = tc.tensor([3.0, 4.0], requires_grad=True, dtype=np.float64)
    y = a * x + a
    assert isinstance(y, tc.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, a)


@pytest.mark.parametrize("op", [tc.maximum, tc.minimum])
def test_maximum_minimum_split_the_gradient_evenly_on_ties(op):
    x = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = tc.tensor([1.0, 0.0, 5.0], requires_grad=True)
    op(x, y).backward(tc.tensor([4.0, 4.0, 4.0]))
    big_x = [4.0, 4.0, 0.0] if op is tc.maximum else [4.0, 0.0, 4.0]
    np.testing.assert_array_equal(x.grad.data, np.array(big_x) * [0.5, 1, 1])
    np.testing.assert_array_equal(x.grad.data + y.grad.data, [4.0, 4.0, 4.0])


def test_maximum_of_a_tensor_with_itself_passes_the_whole_gradient():
    x = tc.tensor([1.0, -2.0], requires_grad=True)
    tc.maximum(x, x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_maximum_with_a_scalar_against_relu_including_the_tie_at_zero():
    x = tc.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    tc.maximum(x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 1.0])


def test_abs_has_derivative_zero_at_zero():
    x = tc.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    tc.abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1.0, 0.0, 1.0])


def test_clip_passes_the_gradient_at_its_bounds():
    x = tc.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    tc.clip(x, -1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_pow_gradient_with_respect_to_the_exponent_is_out_times_log_base():
    x = tc.tensor([2.0, 3.0], dtype=np.float64)
    p = tc.tensor([1.5, 0.5], dtype=np.float64, requires_grad=True)
    (x ** p).sum().backward()
    np.testing.assert_allclose(p.grad.data, x.data ** p.data * np.log(x.data))


def test_pow_zero_has_a_zero_gradient_at_zero():
    # Polynomial features x ** k for k = 0, 1, 2...: d/dx x ** 0 = 0 everywhere, x = 0 included.
    x = tc.tensor([0.0, 2.0], requires_grad=True)
    sum(x ** k for k in range(3)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 5.0])
    (gx,) = tc.grad((x ** 0).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(gx.data, [0.0, 0.0])


def test_float32_elementwise_agrees_with_numpy_float32():
    check_op(lambda a, b: a * b + a / b, lambda a, b: a * b + a / b, n_inputs=2, domain="div",
             dtype=np.float32, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("scalar", [2, 2.5, np.float64(2.5), np.float32(2.5), True])
@pytest.mark.parametrize("op", [lambda x, s: x + s, lambda x, s: s - x, lambda x, s: x * s,
                                lambda x, s: s / x, lambda x, s: x ** s, tc.maximum])
def test_python_and_numpy_scalars_keep_a_float32_tensor_float32(op, scalar):
    x = tc.tensor([1.0, 2.0])
    assert op(x, scalar).dtype == np.float32


def test_float64_array_operand_promotes_as_numpy_does():
    x = tc.tensor([1.0, 2.0])
    assert (x + np.array([1.0, 2.0])).dtype == np.float64
    assert (x + tc.tensor(np.array([1.0, 2.0]))).dtype == np.float64


def test_gradient_to_a_float32_input_through_float64_math_is_float32():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    (x * tc.tensor(np.array([3.0, 4.0]))).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])

