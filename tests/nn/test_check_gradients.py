import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.nn import functional as F


def _data(m=8, n=3, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return tc.tensor(rng.standard_normal((m, n)).astype(np.float32)), rng.integers(0, classes, m)


def _mlp():
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))


class BuggyLinearFunction(tc.Function):
    """x @ W^T + b with a planted bug: its weight gradient is doubled, dW = 2 g^T x."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w.T + b

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g @ w, 2 * (g.T @ x), g.sum(axis=0)


class BuggyLinear(nn.Linear):
    def forward(self, x):
        return BuggyLinearFunction.apply(x, self.weight, self.bias)


def test_a_correct_model_passes_with_every_parameter_fine():
    X, y = _data()
    report = nn.check_gradients(_mlp(), F.cross_entropy, X, y)
    assert report.passed and bool(report)
    assert report.difference < 1e-7
    assert [p.name for p in report.parameters] == ["0.weight", "0.bias", "2.weight", "2.bias",
                                                   "4.weight", "4.bias"]
    assert all(p.verdict.startswith("fine") for p in report.parameters)


def test_the_report_reads_in_words():
    X, y = _data()
    text = str(nn.check_gradients(_mlp(), F.cross_entropy, X, y))
    assert "overall difference" in text and "fine (< 1e-7)" in text
    assert "2.weight" in text and "(4, 5)" in text and "passed" in text


def test_a_planted_bug_points_at_the_layer_that_uses_the_buggy_op():
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), BuggyLinear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    report = nn.check_gradients(model, F.cross_entropy, X, y)
    assert not report.passed
    assert [p.name for p in report.suspects] == ["2.weight"]
    bad = {p.name: p for p in report.parameters}["2.weight"]
    assert bad.difference == pytest.approx(1 / 3, rel=1e-4)  # ||2g - g|| / (||2g|| + ||g||)
    assert bad.verdict == "almost certainly a bug (>= 1e-3)"
    assert "FAILED" in str(report) and "look at '2.weight'" in str(report)


def test_the_vectors_are_the_course_grad_and_gradapprox():
    X, y = _data()
    report = nn.check_gradients(_mlp(), F.cross_entropy, X, y)
    n = sum(p.size for p in _mlp().parameters())
    assert report.gradient.shape == report.numerical.shape == (n,)
    num = np.linalg.norm(report.gradient - report.numerical)
    den = np.linalg.norm(report.gradient) + np.linalg.norm(report.numerical)
    assert report.difference == pytest.approx(num / den)


def test_the_l2_term_is_included_when_asked():
    X, y = _data()
    model = _mlp()
    plain = nn.check_gradients(model, F.cross_entropy, X, y)
    reg = nn.check_gradients(model, F.cross_entropy, X, y, lambd=0.9)
    assert reg.passed, str(reg)
    W = model[0].weight.data.astype(np.float64).ravel()
    np.testing.assert_allclose(reg.gradient[:W.size] - plain.gradient[:W.size], 0.9 / 8 * W, rtol=1e-6)
    b = slice(W.size, W.size + 5)
    np.testing.assert_allclose(reg.gradient[b], plain.gradient[b], rtol=1e-12)


def test_the_users_model_is_not_touched():
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3))
    before = model.state_dict()
    nn.check_gradients(model, F.cross_entropy, X, y)
    assert all(p.dtype == np.float32 and p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_a_loss_fn_using_the_original_model_is_refused():
    # l2_penalty(model, ...) inside loss_fn reaches the float32 original, not the checked copy:
    # the L2 part would go unchecked and backward would fill the user's .grad.
    X, y = _data()
    model = _mlp()

    def loss_fn(out, target):
        return F.cross_entropy(out, target) + F.l2_penalty(model, 0.9, len(target))

    with pytest.raises(ValueError, match=r"uses the parameter '0.weight'.*lambd="):
        nn.check_gradients(model, loss_fn, X, y)
    assert all(p.grad is None for p in model.parameters())


def test_batch_norm_models_pass_in_train_and_eval_mode():
    X, y = _data(m=10)
    model = nn.Sequential(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3))
    model(X)
    assert nn.check_gradients(model, F.cross_entropy, X, y).passed
    assert nn.check_gradients(model.eval(), F.cross_entropy, X, y).passed


def test_dropout_in_training_mode_is_refused_with_the_lecture_recipe():
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.8), nn.Linear(4, 3))
    with pytest.raises(RuntimeError, match=r"Dropout\(keep_prob=0.8\) at '2' is in training mode.*"
                                           r"model.eval\(\).*model.train\(\)"):
        nn.check_gradients(model, F.cross_entropy, X, y)
    assert nn.check_gradients(model.eval(), F.cross_entropy, X, y).passed


def test_dropout_with_keep_prob_one_is_allowed():
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(1.0), nn.Linear(4, 3))
    assert nn.check_gradients(model, F.cross_entropy, X, y).passed


def test_a_random_forward_is_detected():
    class Noisy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return F.dropout(self.fc(x), 0.5)

    X, y = _data()
    with pytest.raises(RuntimeError, match="the loss changes between two evaluations"):
        nn.check_gradients(Noisy(), F.cross_entropy, X, y)


def test_a_zero_gradient_is_not_reported_as_a_bug():
    # A bias right before batch norm has gradient exactly 0; numerically it is rounding noise.
    X = tc.randn(10, 3)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    report = nn.check_gradients(model, F.mse_loss, X, tc.randn(10, 1))
    bias = {p.name: p for p in report.parameters}["0.bias"]
    assert bias.below_noise and bias.verdict.startswith("zero gradient")
    assert report.passed, str(report)


def test_a_non_contiguous_parameter_is_checked_too():
    X, y = _data()
    model = _mlp().double()
    model[0].weight.data = np.asfortranarray(model[0].weight.data)
    report = nn.check_gradients(model, F.cross_entropy, X, y)
    assert report.passed, str(report)


def test_frozen_parameters_are_left_out():
    X, y = _data()
    model = _mlp()
    model[0].requires_grad_(False)
    names = [p.name for p in nn.check_gradients(model, F.cross_entropy, X, y).parameters]
    assert names == ["2.weight", "2.bias", "4.weight", "4.bias"]


def test_bad_arguments():
    X, y = _data()
    with pytest.raises(ValueError, match="eps must be a positive finite number"):
        nn.check_gradients(_mlp(), F.cross_entropy, X, y, eps=0)
    with pytest.raises(TypeError, match="must return a scalar Tensor"):
        nn.check_gradients(_mlp(), lambda out, y: out, X, y)
    with pytest.raises(ValueError, match="no parameters that require grad"):
        nn.check_gradients(nn.ReLU(), F.mse_loss, X, X)


def test_parameters_to_vector_and_back():
    model = _mlp()
    params = list(model.parameters())
    v = nn.parameters_to_vector(params)
    assert v.shape == (sum(p.size for p in params),)
    nn.vector_to_parameters(v * 2, params)
    np.testing.assert_allclose(nn.parameters_to_vector(params), 2 * v, rtol=1e-6)
    with pytest.raises(ValueError, match=r"hold 59 numbers, the vector has shape \(3,\)"):
        nn.vector_to_parameters(np.zeros(3), params)


def test_one_bad_parameter_fails_the_check_even_when_the_overall_difference_is_fine():
    # A small buggy layer is drowned in the overall norm by a large correct one: the per-parameter
    # verdict still fails the check and names it (the lecture's "look at the components").
    from tinygrad_course.nn.gradcheck import ParameterCheck

    report = nn.GradientCheckReport("Net", 1e-7, 1e-7, 5e-8, [
        ParameterCheck("big.weight", (50, 50), 1e-10, 1e3, 1e3),
        ParameterCheck("small.weight", (2, 2), 3e-3, 1e-2, 1.1e-2)])
    assert not report.passed and [p.name for p in report.suspects] == ["small.weight"]
    assert "FAILED" in str(report) and "look at 'small.weight'" in str(report)
