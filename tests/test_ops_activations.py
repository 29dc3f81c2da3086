"""Activations: forward vs NumPy formulas and gradients vs numerical differences over drawn shapes."""
import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import check_op, shapes, valid_axes


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def one_axis(shps):
    return st.fixed_dictionaries({"axis": st.integers(-len(shps[0]), len(shps[0]) - 1)})


def axis_and_keepdims(shps):
    return st.fixed_dictionaries({"axis": valid_axes(len(shps[0])), "keepdims": st.booleans()})


POINTWISE = {
    "relu": (tc.relu, lambda x: np.maximum(x, 0.0), "relu"),
    "leaky_relu": (tc.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), "leaky_relu"),
    "leaky_relu_slope": (lambda x: tc.leaky_relu(x, negative_slope=0.2),
                         lambda x: np.where(x > 0, x, 0.2 * x), "leaky_relu"),
    "sigmoid": (tc.sigmoid, lambda x: 1 / (1 + np.exp(-x)), None),
    "tanh": (tc.tanh, np.tanh, None),
    "relu_method": (lambda x: x.relu(), lambda x: np.maximum(x, 0.0), "relu"),
    "sigmoid_method": (lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), None),
}


@pytest.mark.parametrize("name", POINTWISE)
def test_pointwise_activation_matches_numpy_and_gradcheck(name):
    op, ref, domain = POINTWISE[name]
    check_op(op, ref, domain=domain, rtol=1e-12)


def test_softmax_matches_numpy_and_gradcheck_along_any_axis():
    check_op(lambda x, axis: tc.softmax(x, axis=axis), np_softmax,
             shapes=shapes(min_dims=1, max_dims=3, max_side=4), params=one_axis)


def test_log_softmax_matches_numpy_and_gradcheck_along_any_axis():
    check_op(lambda x, axis: tc.log_softmax(x, axis=axis),
             lambda x, axis: np.log(np_softmax(x, axis)),
             shapes=shapes(min_dims=1, max_dims=3, max_side=4), params=one_axis)


def test_logsumexp_matches_numpy_and_gradcheck_for_every_axis_form():
    check_op(lambda x, axis, keepdims: tc.logsumexp(x, axis=axis, keepdims=keepdims),
             np_logsumexp, params=axis_and_keepdims)


def test_softmax_default_axis_is_the_last():
    x = tc.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(tc.softmax(x).data, np_softmax(x.data, -1), rtol=1e-6)
    np.testing.assert_allclose(x.log_softmax().data, np.log(np_softmax(x.data, -1)), rtol=1e-6)


def test_sigmoid_derivative_is_s_times_one_minus_s_by_hand():
    x = tc.tensor([-1.0, 0.0, 2.0], dtype=np.float64, requires_grad=True)
    tc.sigmoid(x).sum().backward()
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(x.grad.data, s * (1 - s))


def test_relu_derivative_at_zero_is_zero():
    x = tc.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    tc.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])


def test_activations_keep_float32():
    x = tc.randn(3, 4)
    for f in (tc.relu, tc.leaky_relu, tc.sigmoid, tc.tanh, tc.softmax, tc.log_softmax,
              tc.logsumexp):
        assert f(x).dtype == np.float32, f.__name__


@pytest.mark.parametrize("op", [tc.softmax, tc.log_softmax])
def test_softmax_of_a_0d_tensor_is_one_and_its_log_zero_as_in_pytorch(op):
    x = tc.tensor(3.0, requires_grad=True)
    out = op(x)
    assert out.shape == () and out.item() == (1.0 if op.__name__ == "softmax" else 0.0)
    out.backward()
    assert x.grad.item() == 0.0
