import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.nn import functional as F


def _bn(z, gamma, beta, mean, var, eps=1e-5):
    return gamma * (z - mean) / np.sqrt(var + eps) + beta


def _layer(n=3, **kw):
    bn = nn.BatchNorm1d(n, **kw).double()
    rng = np.random.default_rng(7)
    with tc.no_grad():
        bn.gamma.data[...] = rng.uniform(0.5, 2, n)
        bn.beta.data[...] = rng.standard_normal(n)
    return bn


def test_training_normalizes_with_the_batch_mean_and_biased_variance():
    bn = _layer()
    z = np.random.default_rng(0).standard_normal((8, 3)) * [1, 5, 0.1] + [0, 3, -2]
    out = bn(tc.tensor(z)).data
    np.testing.assert_allclose(out, _bn(z, bn.gamma.data, bn.beta.data, z.mean(0), z.var(0)),
                               rtol=1e-12, atol=1e-12)


def test_running_averages_are_the_course_ewa_with_momentum_as_beta():
    bn = nn.BatchNorm1d(2, momentum=0.9).double()
    rng = np.random.default_rng(1)
    b1, b2 = rng.standard_normal((5, 2)) + 3, rng.standard_normal((4, 2)) * 2
    bn(tc.tensor(b1))
    bn(tc.tensor(b2))
    mean = 0.9 * (0.9 * 0 + 0.1 * b1.mean(0)) + 0.1 * b2.mean(0)
    var = 0.9 * (0.9 * 1 + 0.1 * b1.var(0)) + 0.1 * b2.var(0)  # biased batch variances
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-12)
    assert int(bn.num_batches_tracked.data) == 2


def test_running_averages_use_the_shared_ewa_formula():
    bn = nn.BatchNorm1d(3).double()
    avg = tc.EWA(0.9)  # starts from v_0 = 0, as the running mean does
    for k in range(3):
        z = np.random.default_rng(k).standard_normal((6, 3))
        bn(tc.tensor(z))
        avg.update(z.mean(0))
    np.testing.assert_allclose(bn.running_mean.data, avg.value, rtol=1e-12)


def test_eval_uses_the_running_averages():
    bn = _layer()
    with tc.no_grad():
        bn.running_mean.data[...] = [1.0, -2.0, 0.5]
        bn.running_var.data[...] = [4.0, 0.25, 1.0]
    bn.eval()
    z = np.random.default_rng(2).standard_normal((5, 3))
    np.testing.assert_allclose(bn(tc.tensor(z)).data,
                               _bn(z, bn.gamma.data, bn.beta.data, bn.running_mean.data,
                                   bn.running_var.data), rtol=1e-12)


def test_eval_works_on_one_example_and_does_not_depend_on_the_batch():
    bn = _layer()
    for k in range(5):
        bn(tc.tensor(np.random.default_rng(k).standard_normal((10, 3))))
    bn.eval()
    z = np.random.default_rng(9).standard_normal((4, 3))
    whole = bn(tc.tensor(z)).data
    for i in range(4):
        np.testing.assert_allclose(bn(tc.tensor(z[i:i + 1])).data, whole[i:i + 1], rtol=1e-12)


def test_eval_does_not_change_the_running_averages():
    bn = _layer()
    bn(tc.randn(6, 3, dtype=np.float64))
    state = bn.state_dict()
    bn.eval()(tc.randn(6, 3, dtype=np.float64))
    for k, v in bn.state_dict().items():
        np.testing.assert_array_equal(v, state[k])


def test_training_on_a_single_example_is_refused_with_the_remedy():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(num_features=3.*more than one example, got an "
                                         r"input of shape \(1, 3\); call .eval\(\)"):
        nn.BatchNorm1d(3)(tc.randn(1, 3))


def test_a_float64_input_to_a_float32_layer_is_refused_with_the_remedy():
    with pytest.raises(TypeError, match=r"BatchNorm1d\(num_features=3.*input of dtype float64, but "
                                        r"its parameters are float32.*astype"):
        nn.BatchNorm1d(3)(tc.tensor(np.ones((4, 3))))


@pytest.mark.parametrize("shape", [(4, 5), (4,), (2, 3, 1)])
def test_wrong_input_shape_names_the_layer_the_shape_and_the_features(shape):
    model = nn.Sequential(nn.Identity(), nn.BatchNorm1d(3))
    expected = (r"BatchNorm1d\(num_features=3, .*\) at '1' in Sequential: expected an input of "
                r"shape \(batch, 3\), got shape " + re.escape(str(shape)))
    with pytest.raises(ValueError, match=expected):
        model(tc.randn(*shape))


@pytest.mark.parametrize("momentum", [1.0, -0.1])
def test_momentum_out_of_range_explains_the_convention(momentum):
    with pytest.raises(ValueError, match=r"BatchNorm1d: momentum must be in \[0, 1\), got "
                                         r".*course's EWA beta, so PyTorch's momentum=0.1 is our 0.9"):
        nn.BatchNorm1d(2, momentum=momentum)


def test_training_gradient_passes_gradcheck():
    rng = np.random.default_rng(3)
    x = tc.tensor(rng.standard_normal((6, 3)) * 2 + 1, requires_grad=True)
    gamma = tc.tensor(rng.uniform(0.5, 2, 3), requires_grad=True)
    beta = tc.tensor(rng.standard_normal(3), requires_grad=True)
    tc.gradcheck(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True), [x, gamma, beta])


def test_eval_gradient_passes_gradcheck():
    rng = np.random.default_rng(4)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    x = tc.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    gamma = tc.tensor(rng.uniform(0.5, 2, 3), requires_grad=True)
    beta = tc.tensor(rng.standard_normal(3), requires_grad=True)
    tc.gradcheck(lambda x, g, b: F.batch_norm(x, mean, var, g, b, training=False), [x, gamma, beta])


@pytest.mark.parametrize("training", [True, False])
def test_second_derivatives_pass_gradgradcheck(training):
    rng = np.random.default_rng(5)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    x = tc.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    gamma = tc.tensor(rng.uniform(0.5, 2, 3), requires_grad=True)
    beta = tc.tensor(rng.standard_normal(3), requires_grad=True)
    tc.gradgradcheck(lambda x, g, b: F.batch_norm(x, mean, var, g, b, training=training),
                     [x, gamma, beta])


def test_backward_matches_the_composed_formula():
    rng = np.random.default_rng(6)
    z = rng.standard_normal((7, 4))
    g = rng.standard_normal((7, 4))
    bn = _layer(4)
    x1 = tc.tensor(z, requires_grad=True)
    bn(x1).backward(g)
    x2 = tc.tensor(z, requires_grad=True)
    mu = x2.mean(axis=0)
    composed = (x2 - mu) / ((((x2 - mu) ** 2).mean(axis=0) + 1e-5) ** 0.5) * bn.gamma.data + bn.beta.data
    composed.backward(g)
    np.testing.assert_allclose(x1.grad.data, x2.grad.data, rtol=1e-10, atol=1e-12)


def test_is_one_graph_node():
    bn = nn.BatchNorm1d(3)
    out = bn(tc.randn(4, 3, requires_grad=True))
    assert type(out.grad_fn).name == "batch_norm" and out.grad_fn.scope is bn


@given(m=st.integers(2, 9), n=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_training_output_has_mean_beta_and_std_gamma_per_feature(m, n, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((m, n)) * rng.uniform(1, 5, n) + rng.uniform(-3, 3, n)
    bn = nn.BatchNorm1d(n, eps=1e-12).double()
    with tc.no_grad():
        bn.gamma.data[...] = rng.uniform(0.5, 2, n)
        bn.beta.data[...] = rng.standard_normal(n)
    out = bn(tc.tensor(z)).data
    np.testing.assert_allclose(out.mean(0), bn.beta.data, atol=1e-9)
    # std is gamma * sqrt(var / (var + eps)): exactly gamma only when var >> eps (two nearly equal
    # examples have a tiny variance), so the check uses the formula itself.
    var = z.var(0)
    np.testing.assert_allclose(out.std(0), bn.gamma.data * np.sqrt(var / (var + 1e-12)), rtol=1e-6)


def test_a_bias_before_batch_norm_gets_no_gradient():
    # Why Linear(..., bias=False) is the idiom before BatchNorm1d: the mean subtraction cancels b.
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    (model(tc.randn(8, 3, dtype=np.float64)) ** 3).sum().backward()
    np.testing.assert_allclose(model[0].bias.grad.data, 0, atol=1e-12)


def test_buffers_are_in_the_state_dict_and_restored():
    bn = nn.BatchNorm1d(2)
    bn(tc.randn(5, 2) * 3)
    fresh = nn.BatchNorm1d(2)
    fresh.load_state_dict(bn.state_dict())
    np.testing.assert_array_equal(fresh.running_mean.data, bn.running_mean.data)
    np.testing.assert_array_equal(fresh.running_var.data, bn.running_var.data)
    assert int(fresh.num_batches_tracked.data) == 1


def test_reset_parameters_restores_the_initial_state():
    bn = _layer()
    bn(tc.randn(5, 3, dtype=np.float64))
    bn.reset_parameters()
    assert np.all(bn.gamma.data == 1) and not bn.beta.data.any()
    assert not bn.running_mean.data.any() and np.all(bn.running_var.data == 1)
    assert int(bn.num_batches_tracked.data) == 0


def test_float32_stays_float32():
    bn = nn.BatchNorm1d(3)
    out = bn(tc.randn(4, 3))
    assert out.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_double_backward_of_an_eval_output_uses_the_mean_it_was_computed_with():
    # A training step after the eval forward moves the running mean in place; the create_graph
    # gradient of the eval output must not pick up the new mean.
    bn = _layer()
    bn(tc.tensor(np.random.default_rng(0).standard_normal((6, 3)) + 2))
    x = tc.tensor(np.random.default_rng(1).standard_normal((4, 3)), requires_grad=True)
    cost = (bn.eval()(x) ** 2).sum()
    (before,) = tc.grad(cost, [bn.gamma], retain_graph=True)
    bn.train()(tc.tensor(np.random.default_rng(2).standard_normal((6, 3)) * 9 + 30))
    (after,) = tc.grad(cost, [bn.gamma], create_graph=True)
    np.testing.assert_allclose(after.data, before.data, rtol=1e-12)


def test_a_training_step_bumps_the_buffers_versions():
    bn = nn.BatchNorm1d(2)
    versions = [b.version for b in bn.buffers()]
    bn(tc.randn(4, 2))
    assert all(b.version > v for b, v in zip(bn.buffers(), versions))
    versions = [b.version for b in bn.buffers()]
    bn.eval()(tc.randn(4, 2))
    assert [b.version for b in bn.buffers()] == versions


@pytest.mark.parametrize("kw, message", [
    ({"momentum": 1.0}, r"batch_norm: momentum must be in \[0, 1\), got 1.0 \(it is the course's EWA beta"),
    ({"eps": 0.0}, r"batch_norm: eps .* must be positive, got 0.0"),
    ({"eps": -1e-5}, r"batch_norm: eps .* must be positive"),
])
def test_functional_batch_norm_checks_momentum_and_eps(kw, message):
    with pytest.raises(ValueError, match=message):
        F.batch_norm(tc.randn(4, 2), np.zeros(2), np.ones(2), tc.ones(2), tc.zeros(2), **kw)


def test_layer_eps_must_be_positive():
    with pytest.raises(ValueError, match=r"BatchNorm1d: eps .* must be positive, got 0"):
        nn.BatchNorm1d(2, eps=0)


def test_a_pytorch_style_momentum_warns_with_the_course_value():
    with pytest.warns(UserWarning, match=r"momentum=0.9 here"):
        nn.BatchNorm1d(4, momentum=0.1)
