"""Loss modules and nn.F losses against PyTorch's documented formulas, worked by hand here
(plain NumPy), with gradients checked against centered differences."""
import math

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.nn import functional as F

RNG = np.random.default_rng(0)
Z = RNG.standard_normal((5, 3))
Y = np.array([0, 2, 1, 2, 0])


def _logp(z, axis=1):
    m = z.max(axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis, keepdims=True))


def _t(a, grad=False):
    return tc.tensor(np.asarray(a, np.float64), requires_grad=grad)


# ---- CrossEntropyLoss / NLLLoss -----------------------------------------------------------
def test_cross_entropy_loss_plain_is_the_mean_negative_log_softmax_of_the_targets():
    expect = -_logp(Z)[np.arange(5), Y].mean()
    assert nn.CrossEntropyLoss()(_t(Z), Y).item() == pytest.approx(expect, rel=1e-12)


def test_cross_entropy_class_weights_divide_by_the_targets_weight_sum():
    w = np.array([1.0, 2.0, 0.5])
    per = -w[Y] * _logp(Z)[np.arange(5), Y]
    assert nn.CrossEntropyLoss(weight=w)(_t(Z), Y).item() == pytest.approx(per.sum() / w[Y].sum())
    assert nn.CrossEntropyLoss(weight=w, reduction="sum")(_t(Z), Y).item() == pytest.approx(per.sum())
    np.testing.assert_allclose(nn.CrossEntropyLoss(weight=w, reduction="none")(_t(Z), Y).data, per)


def test_cross_entropy_ignore_index_drops_those_targets_from_sum_and_count():
    y = np.array([0, -100, 1, 2, -100])
    keep = y != -100
    expect = -_logp(Z)[np.arange(5)[keep], y[keep]].mean()
    assert nn.CrossEntropyLoss()(_t(Z), y).item() == pytest.approx(expect)
    y7 = np.where(keep, y, 7)
    assert nn.CrossEntropyLoss(ignore_index=7)(_t(Z), y7).item() == pytest.approx(expect)
    none = nn.CrossEntropyLoss(reduction="none")(_t(Z), y).data
    assert np.all(none[~keep] == 0)


def test_cross_entropy_label_smoothing_mixes_in_the_uniform_distribution():
    eps, c = 0.2, 3
    logp = _logp(Z)
    per = (1 - eps) * -logp[np.arange(5), Y] + eps * -logp.sum(1) / c
    assert nn.CrossEntropyLoss(label_smoothing=eps)(_t(Z), Y).item() == pytest.approx(per.mean())
    # the same as probability targets (1 - eps) one_hot + eps / C
    soft = (1 - eps) * np.eye(c)[Y] + eps / c
    assert F.cross_entropy(_t(Z), soft).item() == pytest.approx(per.mean())


def test_cross_entropy_weight_and_label_smoothing_together_as_pytorch():
    eps, w = 0.1, np.array([0.5, 1.0, 2.0])
    logp = _logp(Z)
    nll = (-w[Y] * logp[np.arange(5), Y]).sum() / w[Y].sum()
    smooth = (-(logp * w).sum(1) / 3).sum() / w[Y].sum()
    got = nn.CrossEntropyLoss(weight=w, label_smoothing=eps)(_t(Z), Y).item()
    assert got == pytest.approx((1 - eps) * nll + eps * smooth)


def test_cross_entropy_over_extra_dimensions_treats_each_position_as_an_example():
    z = RNG.standard_normal((2, 3, 4))  # (N, C, d)
    y = RNG.integers(0, 3, (2, 4))
    logp = _logp(z, axis=1)
    expect = -np.take_along_axis(logp, y[:, None, :], 1).mean()
    assert nn.CrossEntropyLoss()(_t(z), y).item() == pytest.approx(expect)


def test_cross_entropy_with_options_gradients():
    w = np.array([1.0, 2.0, 0.5])
    y = np.array([0, -100, 1, 2, 2])
    assert tc.gradcheck(lambda z: F.cross_entropy(z, y, weight=w, label_smoothing=0.1), [_t(Z, True)])
    assert tc.gradgradcheck(lambda z: F.cross_entropy(z, y, weight=w), [_t(Z, True)])


def test_nll_loss_after_log_softmax_equals_cross_entropy():
    logp = _t(_logp(Z))
    assert nn.NLLLoss()(logp, Y).item() == pytest.approx(nn.CrossEntropyLoss()(_t(Z), Y).item())
    w = np.array([3.0, 1.0, 1.0])
    assert F.nll_loss(logp, Y, weight=w).item() == pytest.approx(
        (-w[Y] * _logp(Z)[np.arange(5), Y]).sum() / w[Y].sum())


def test_nll_loss_refuses_out_of_range_and_float_targets():
    with pytest.raises(ValueError, match="target 3 is out of range for 3 classes"):
        F.nll_loss(_t(Z), np.array([0, 1, 3, 0, 0]))
    with pytest.raises(TypeError, match="must be integers"):
        F.nll_loss(_t(Z), Y.astype(float))


# ---- regression losses --------------------------------------------------------------------
P, T = np.array([0.5, -2.0, 3.0, 0.1]), np.array([0.0, 0.0, 0.5, 0.1])


def test_mse_and_l1_loss_modules():
    assert nn.MSELoss()(_t(P), _t(T)).item() == pytest.approx(np.mean((P - T) ** 2))
    assert nn.L1Loss(reduction="sum")(_t(P), _t(T)).item() == pytest.approx(np.sum(np.abs(P - T)))


def test_l1_loss_gradient_is_the_sign_and_zero_at_zero_as_pytorch():
    p = _t(P, True)
    F.l1_loss(p, _t(T), reduction="sum").backward()
    np.testing.assert_array_equal(p.grad.data, [1, -1, 1, 0])


def test_huber_loss_is_quadratic_inside_delta_and_linear_outside():
    d = P - T  # 0.5, -2, 2.5, 0
    delta = 1.5
    per = np.where(np.abs(d) < delta, 0.5 * d ** 2, delta * (np.abs(d) - 0.5 * delta))
    np.testing.assert_allclose(nn.HuberLoss(reduction="none", delta=delta)(_t(P), _t(T)).data, per)
    assert tc.gradcheck(lambda p: F.huber_loss(p, _t(T), delta=delta), [_t(P, True)])


def test_smooth_l1_loss_is_huber_over_beta():
    beta = 2.0
    smooth = nn.SmoothL1Loss(beta=beta)(_t(P), _t(T)).item()
    huber = nn.HuberLoss(delta=beta)(_t(P), _t(T)).item()
    assert smooth == pytest.approx(huber / beta)
    assert nn.SmoothL1Loss(beta=0.0)(_t(P), _t(T)).item() == pytest.approx(np.mean(np.abs(P - T)))


# ---- BCE ----------------------------------------------------------------------------------
PR, YB = np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 0.0])


def test_bce_loss_with_weight_multiplies_each_element():
    w = np.array([1.0, 2.0, 3.0])
    per = -(YB * np.log(PR) + (1 - YB) * np.log(1 - PR))
    assert nn.BCELoss()(_t(PR), _t(YB)).item() == pytest.approx(per.mean())
    assert nn.BCELoss(weight=w)(_t(PR), _t(YB)).item() == pytest.approx((w * per).mean())


def test_bce_with_logits_pos_weight_scales_the_positive_term():
    z = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.0]])
    y = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    pw, w = np.array([2.0, 0.5]), np.array([1.0, 3.0])
    s = 1 / (1 + np.exp(-z))
    per = -w * (pw * y * np.log(s) + (1 - y) * np.log(1 - s))
    got = nn.BCEWithLogitsLoss(weight=w, pos_weight=pw)(_t(z), _t(y)).item()
    assert got == pytest.approx(per.mean(), rel=1e-12)
    assert nn.BCEWithLogitsLoss()(_t(z), _t(y)).item() == pytest.approx(
        -(y * np.log(s) + (1 - y) * np.log(1 - s)).mean())
    assert tc.gradcheck(lambda z: F.binary_cross_entropy_with_logits(z, _t(y), pos_weight=pw), [_t(z, True)])


def test_bce_with_logits_pos_weight_is_stable_at_huge_logits():
    z = _t([1e4, -1e4])
    loss = F.binary_cross_entropy_with_logits(z, _t([0.0, 1.0]), pos_weight=np.array([2.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [1e4, 2e4])


# ---- KLDivLoss ----------------------------------------------------------------------------
def test_kl_div_batchmean_is_the_kl_divergence_per_example():
    logq = _logp(Z)
    p = np.exp(_logp(Z[::-1].copy()))
    kl = np.sum(p * (np.log(p) - logq)) / 5
    assert nn.KLDivLoss(reduction="batchmean")(_t(logq), _t(p)).item() == pytest.approx(kl)
    assert nn.KLDivLoss(reduction="mean")(_t(logq), _t(p)).item() == pytest.approx(kl * 5 / p.size)
    assert nn.KLDivLoss(reduction="batchmean", log_target=True)(_t(logq), _t(np.log(p))).item() \
        == pytest.approx(kl)


def test_kl_div_treats_zero_targets_as_contributing_nothing():
    loss = F.kl_div(_t(np.log([0.5, 0.5])), _t([1.0, 0.0]), reduction="sum")
    assert loss.item() == pytest.approx(math.log(2))


def test_kl_div_gradients_in_input_and_target():
    logq, p = _t(_logp(Z), True), _t(np.exp(_logp(Z[::-1].copy())), True)
    assert tc.gradcheck(lambda a, b: F.kl_div(a, b, reduction="batchmean"), [logq, p])


def test_loss_modules_refuse_an_unknown_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.L1Loss(reduction="avg")
    with pytest.raises(ValueError, match="batchmean"):
        nn.KLDivLoss(reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_the_fused_cross_entropy_ignores_minus_100_as_the_options_path_does(reduction):
    from tinygrad_course.nn.loss_functions import cross_entropy_with_options
    y = np.array([0, -100, 1, 2, -100])
    z = tc.Tensor(Z.astype(np.float64), requires_grad=True)
    fused = F.cross_entropy(z, y, reduction=reduction)
    reference = cross_entropy_with_options(z, y, reduction=reduction)
    np.testing.assert_allclose(fused.data, reference.data, rtol=1e-12)
    g = np.linspace(0.5, 1.5, fused.data.size).reshape(fused.shape)
    assert tc.gradcheck(lambda z: F.cross_entropy(z, y, reduction=reduction), [z])
    fused.backward(g if fused.ndim else None)
    assert np.all(z.grad.data[y == -100] == 0)
