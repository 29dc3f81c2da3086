import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.nn import functional as F


def test_forward_is_x_times_w_transposed_plus_b():
    layer = nn.Linear(3, 2)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(tc.tensor(x)).data, expected, rtol=1e-6)


def test_weight_is_the_course_w_and_the_column_major_formula_is_the_transpose():
    # The course: Z = W X + b with X of shape (n_in, m), b of shape (n_out, 1).
    layer = nn.Linear(4, 3)
    with tc.no_grad():
        layer.bias.data[...] = [0.5, -1.0, 2.0]
    X_course = np.random.default_rng(1).standard_normal((4, 7)).astype(np.float32)
    Z_course = layer.weight.data @ X_course + layer.bias.data.reshape(3, 1)
    assert layer.weight.shape == (3, 4)
    np.testing.assert_allclose(layer(tc.tensor(X_course.T)).data, Z_course.T, rtol=1e-5)


def test_without_bias():
    layer = nn.Linear(3, 2, bias=False)
    x = tc.randn(4, 3)
    assert layer.bias is None
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data.T, rtol=1e-6)


def test_is_one_graph_node_named_linear():
    layer = nn.Linear(3, 2)
    x = tc.randn(4, 3)
    out = layer(x)
    node = out.grad_fn
    assert type(node).name == "linear"
    assert node.inputs[0] is x and node.inputs[1] is layer.weight and node.inputs[2] is layer.bias
    assert node.scope is layer


def test_leading_batch_axes_are_allowed():
    layer = nn.Linear(3, 2)
    x = tc.randn(2, 5, 3)
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data.T + layer.bias.data,
                               rtol=1e-5, atol=1e-6)


@given(m=st.integers(1, 6), n_in=st.integers(1, 5), n_out=st.integers(1, 5), bias=st.booleans())
def test_forward_matches_numpy_for_drawn_sizes(m, n_in, n_out, bias):
    layer = nn.Linear(n_in, n_out, bias=bias).double()
    x = np.random.default_rng(m * 31 + n_in).standard_normal((m, n_in))
    expected = x @ layer.weight.data.T + (layer.bias.data if bias else 0)
    np.testing.assert_allclose(layer(tc.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)


def test_input_gradient_passes_gradcheck():
    layer = nn.Linear(3, 4).double()
    x = tc.randn(5, 3, dtype=np.float64, requires_grad=True)
    tc.gradcheck(lambda x: layer(x), [x])


def test_weight_and_bias_gradients_pass_the_model_gradient_check():
    layer = nn.Linear(3, 2)
    X, y = tc.randn(6, 3), tc.randn(6, 2)
    report = nn.check_gradients(layer, F.mse_loss, X, y)
    assert report.passed, str(report)


def test_weight_gradient_matches_the_course_formula():
    # The course: dW = 1/m dZ A_prev^T, db = 1/m sum(dZ) over examples.
    layer = nn.Linear(3, 2).double()
    X = tc.randn(5, 3, dtype=np.float64)
    dZ = np.random.default_rng(2).standard_normal((5, 2))
    (layer(X) * tc.tensor(dZ / 5)).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, (dZ.T @ X.data) / 5, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad.data, dZ.sum(axis=0) / 5, rtol=1e-12)


def test_wrong_feature_count_names_the_layer_the_shape_and_the_expected_features():
    with pytest.raises(ValueError, match=r"Linear\(in_features=3, out_features=2, bias=True\): got an "
                                         r"input of shape \(5, 4\) with 4 features .* expects 3 features"):
        nn.Linear(3, 2)(tc.randn(5, 4))


def test_wrong_feature_count_inside_a_model_names_the_layer_path():
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(4, 1))
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=1, bias=True\) at '2' in "
                                         r"Sequential: got an input of shape \(3, 8\)"):
        model(tc.randn(3, 2))


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_an_input_that_would_promote_a_float32_model_to_float64_is_refused(dtype):
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    X = np.ones((3, 2), dtype)  # np.random.randn and np.array([[0, 1]]) give these dtypes
    with pytest.raises(TypeError, match=rf"Linear\(in_features=2.*\) at '0' in Sequential: got an "
                                        rf"input of dtype {np.dtype(dtype)}, but its parameters are "
                                        r"float32.*X.astype\(np.float32\).*model.to\(np."):
        model(tc.tensor(X))


def test_inputs_that_keep_the_layers_dtype_are_accepted():
    layer = nn.Linear(2, 3)
    assert layer(tc.tensor(np.ones((4, 2), np.uint8))).dtype == np.float32
    assert layer.to(np.float64)(tc.randn(4, 2)).dtype == np.float64  # float32 data, float64 model


def test_a_zero_dimensional_input_is_refused():
    with pytest.raises(ValueError, match=r"input of shape \(\) with 0 features"):
        nn.Linear(3, 2)(tc.tensor(1.0))


@pytest.mark.parametrize("args", [(0, 2), (2, -1), (2.5, 3), (True, 2)])
def test_sizes_must_be_positive_ints(args):
    with pytest.raises(ValueError, match="must be a positive int"):
        nn.Linear(*args)


def test_unknown_init_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown init 'glorot'; choose one of \["):
        nn.Linear(2, 2, init="glorot")


def test_default_init_is_he_and_biases_start_at_zero():
    tc.manual_seed(5)
    layer = nn.Linear(4, 3)
    tc.manual_seed(5)
    expected = np.random.default_rng(5).standard_normal((3, 4)) * np.sqrt(2 / 4)
    np.testing.assert_allclose(layer.weight.data, expected.astype(np.float32), rtol=1e-6)
    assert not layer.bias.data.any()


def test_reset_parameters_redraws_in_place_with_a_new_scheme():
    layer = nn.Linear(50, 40)
    weight = layer.weight
    with tc.no_grad():
        layer.bias += 1.0
    layer.reset_parameters(init="random", scale=10.0)
    assert layer.weight is weight
    assert 8 < layer.weight.data.std() < 12
    assert not layer.bias.data.any()


def test_train_and_eval_give_the_same_output():
    layer = nn.Linear(3, 2)
    x = tc.randn(4, 3)
    np.testing.assert_array_equal(layer.train()(x).data, layer.eval()(x).data)


def test_parameters_use_the_default_dtype():
    tc.set_default_dtype(np.float64)
    assert nn.Linear(2, 2).weight.dtype == np.float64
