import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn


def _softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


CASES = [
    (nn.ReLU(), lambda z: np.maximum(z, 0), "relu"),
    (nn.LeakyReLU(0.2), lambda z: np.where(z > 0, z, 0.2 * z), "leaky_relu"),
    (nn.Sigmoid(), lambda z: 1 / (1 + np.exp(-z)), "sigmoid"),
    (nn.Tanh(), np.tanh, "tanh"),
    (nn.Softmax(), lambda z: _softmax(z, -1), "softmax"),
    (nn.Softmax(axis=0), lambda z: _softmax(z, 0), "softmax"),
    (nn.LogSoftmax(), lambda z: np.log(_softmax(z, -1)), "log_softmax"),
]
IDS = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "softmax_axis0", "log_softmax"]


@pytest.mark.parametrize("module, formula, name", CASES, ids=IDS)
def test_forward_matches_the_formula(module, formula, name):
    z = np.random.default_rng(0).standard_normal((5, 4)) * 3
    np.testing.assert_allclose(module(tc.tensor(z)).data, formula(z), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("module, formula, name", CASES, ids=IDS)
def test_is_one_named_node_scoped_to_the_module(module, formula, name):
    out = module(tc.randn(3, 4, requires_grad=True))
    assert type(out.grad_fn).name == name and out.grad_fn.scope is module


@pytest.mark.parametrize("module, formula, name", CASES, ids=IDS)
def test_gradient_passes_gradcheck(module, formula, name):
    # Away from relu's kink at 0, where a centered difference is not a derivative.
    z = np.random.default_rng(1).uniform(0.2, 2.0, (4, 3)) * np.random.default_rng(2).choice([-1, 1], (4, 3))
    tc.gradcheck(lambda x: module(x), [tc.tensor(z, requires_grad=True)])


@pytest.mark.parametrize("module, formula, name", CASES, ids=IDS)
def test_stable_at_extreme_inputs(module, formula, name):
    z = tc.tensor(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]]), requires_grad=True)
    out = module(z)
    out.backward(np.ones(out.shape))
    assert np.all(np.isfinite(out.data))
    assert np.all(np.isfinite(z.grad.data))


def test_softmax_rows_sum_to_one():
    out = nn.Softmax()(tc.randn(6, 5) * 10)
    np.testing.assert_allclose(out.data.sum(axis=1), np.ones(6), rtol=1e-6)


def test_softmax_axis_out_of_range_names_the_layer_and_shape():
    with pytest.raises(ValueError, match=r"Softmax\(axis=2\): axis 2 is out of range for an input "
                                         r"of shape \(3, 4\)"):
        nn.Softmax(axis=2)(tc.randn(3, 4))


def test_leaky_relu_repr_shows_the_slope():
    assert repr(nn.LeakyReLU(0.1)) == "LeakyReLU(negative_slope=0.1)"


def test_activations_have_no_parameters_and_ignore_train_eval():
    z = tc.randn(3, 3)
    for module, _, _ in CASES:
        assert list(module.parameters()) == []
        a = module.train()(z).data
        np.testing.assert_array_equal(module.eval()(z).data, a)
