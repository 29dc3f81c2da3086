import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.nn import functional as F

RNG = np.random.default_rng(0)


def _t(a, grad=False):
    return tc.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _reduce(per, reduction):
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]


REDUCTIONS = ["mean", "sum", "none"]


# ---- mse --------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_matches_the_formula(reduction):
    p, y = RNG.standard_normal((5, 2)), RNG.standard_normal((5, 2))
    np.testing.assert_allclose(F.mse_loss(_t(p), y, reduction).data, _reduce((p - y) ** 2, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_gradient_passes_gradcheck(reduction):
    tc.gradcheck(lambda p, y: F.mse_loss(p, y, reduction),
                 [_t(RNG.standard_normal((4, 3)), True), _t(RNG.standard_normal((4, 3)), True)])


def test_shape_mismatch_is_refused_instead_of_broadcast():
    with pytest.raises(ValueError, match=r"mse_loss: predictions of shape \(4, 1\) and targets of "
                                         r"shape \(4,\) differ.*y.reshape\(-1, 1\)"):
        F.mse_loss(tc.randn(4, 1), np.zeros(4))


def test_unknown_reduction_is_refused():
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"):
        F.cross_entropy(tc.randn(2, 3), np.array([0, 1]), reduction="avg")


# ---- binary cross-entropy on probabilities ---------------------------------------------
def _bce(p, y):
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_matches_the_course_cost(reduction):
    p, y = RNG.uniform(0.05, 0.95, (6, 1)), RNG.integers(0, 2, (6, 1)).astype(float)
    np.testing.assert_allclose(F.binary_cross_entropy(_t(p), y, reduction).data,
                               _reduce(_bce(p, y), reduction), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_gradient_passes_gradcheck_for_probabilities_and_targets(reduction):
    p, y = RNG.uniform(0.05, 0.95, (4, 2)), RNG.uniform(0, 1, (4, 2))
    tc.gradcheck(lambda p, y: F.binary_cross_entropy(p, y, reduction), [_t(p, True), _t(y, True)])


def test_bce_second_derivative_passes_gradgradcheck():
    p, y = RNG.uniform(0.1, 0.9, (3, 2)), RNG.uniform(0, 1, (3, 2))
    tc.gradgradcheck(lambda p, y: F.binary_cross_entropy(p, y), [_t(p, True), _t(y, True)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_clips_away_log_zero(dtype):
    p = tc.tensor(np.array([[0.0], [1.0], [0.0], [1.0]], dtype), requires_grad=True)
    y = np.array([[0.0], [1.0], [1.0], [0.0]], dtype)
    loss = F.binary_cross_entropy(p, y, reduction="none")
    loss.sum().backward()
    assert np.all(np.isfinite(loss.data)) and np.all(np.isfinite(p.grad.data))
    assert loss.data[0, 0] < 1e-6 and loss.data[2, 0] > 10  # confident right is ~0, wrong is large
    assert not p.grad.data.any()  # clipped: the loss is flat there
    assert loss.dtype == dtype


@pytest.mark.parametrize("bad", [-0.1, 1.5, 7.0])
def test_bce_refuses_values_outside_0_1_and_points_to_the_logits_version(bad):
    got = re.escape(f"got values from {min(bad, 0.5):g} to {max(bad, 0.5):g} (shape (2, 1))")
    with pytest.raises(ValueError, match=r"binary_cross_entropy: probabilities must be in \[0, 1\], "
                                         + got + ".*binary_cross_entropy_with_logits"):
        F.binary_cross_entropy(_t([[0.5], [bad]]), np.array([[0.0], [1.0]]))


@pytest.mark.parametrize("loss, pred", [(F.mse_loss, [[0.3], [2.0]]),
                                        (F.binary_cross_entropy, [[0.2], [0.7]]),
                                        (F.binary_cross_entropy_with_logits, [[-1.0], [3.0]])])
def test_integer_targets_as_arrays_or_tensors_keep_the_predictions_float32(loss, pred):
    p = tc.tensor(np.array(pred, np.float32), requires_grad=True)
    for y in (np.array([[0], [1]]), tc.tensor(np.array([[0], [1]]))):
        out = loss(p, y)
        out.backward()
        assert out.dtype == np.float32 and p.grad.dtype == np.float32
        p.grad = None


@pytest.mark.parametrize("loss, pred, target", [
    (F.mse_loss, [[0.3], [2.0]], [[0.0], [1.0]]),
    (F.binary_cross_entropy, [[0.2], [0.7]], [[0.0], [1.0]]),
    (F.binary_cross_entropy_with_logits, [[-1.0], [3.0]], [[0.0], [1.0]]),
    (F.cross_entropy, [[-1.0, 3.0], [0.5, 0.2]], [[0.0, 1.0], [1.0, 0.0]])])
def test_a_float64_target_tensor_keeps_a_float32_cost(loss, pred, target):
    p = tc.tensor(np.array(pred, np.float32), requires_grad=True)
    y = tc.tensor(np.array(target, np.float64))  # np.eye(C)[labels] is float64
    out = loss(p, y)
    out.backward()
    assert out.dtype == np.float32 and p.grad.dtype == np.float32
    np.testing.assert_allclose(out.data, loss(p, y.numpy().astype(np.float32)).data, rtol=1e-6)


@pytest.mark.parametrize("loss", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_bce_refuses_targets_outside_0_1_and_points_to_cross_entropy(loss):
    with pytest.raises(ValueError, match=r"targets must be in \[0, 1\].*from 0 to 2; for more than "
                                         r"two classes use cross_entropy"):
        loss(_t([[0.5], [0.2], [0.7]]), np.array([[0], [1], [2]]))


def test_cross_entropy_points_float_class_labels_to_int64():
    with pytest.raises(ValueError, match=r"class labels stored as floats: pass y.astype\(np.int64\)"):
        F.cross_entropy(tc.randn(3, 4), np.array([0.0, 3.0, 1.0]))


def test_bce_accepts_integer_labels():
    p = _t([[0.2], [0.7]])
    np.testing.assert_allclose(F.binary_cross_entropy(p, np.array([[0], [1]])).data,
                               _bce(np.array([0.2, 0.7]), np.array([0, 1])).mean())


# ---- binary cross-entropy on logits -----------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_equals_bce_of_the_sigmoid(reduction):
    z, y = RNG.standard_normal((6, 1)) * 3, RNG.integers(0, 2, (6, 1)).astype(float)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(_t(z), y, reduction).data,
                               _reduce(_bce(1 / (1 + np.exp(-z)), y), reduction), rtol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradient_passes_gradcheck(reduction):
    z, y = RNG.standard_normal((4, 2)) * 3, RNG.uniform(0, 1, (4, 2))
    tc.gradcheck(lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction),
                 [_t(z, True), _t(y, True)])


def test_bce_with_logits_second_derivative_passes_gradgradcheck():
    z, y = RNG.standard_normal((3, 2)) * 2, RNG.uniform(0, 1, (3, 2))
    tc.gradgradcheck(lambda z, y: F.binary_cross_entropy_with_logits(z, y), [_t(z, True), _t(y, True)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_exact_at_logits_of_1e4(dtype):
    z = tc.tensor(np.array([[1e4], [1e4], [-1e4], [-1e4]], dtype), requires_grad=True)
    y = np.array([[1.0], [0.0], [1.0], [0.0]], dtype)
    loss = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    loss.sum().backward()
    np.testing.assert_array_equal(loss.data, np.array([[0], [1e4], [1e4], [0]], dtype))
    np.testing.assert_array_equal(z.grad.data, np.array([[0], [1], [-1], [0]], dtype))


def test_bce_with_logits_backward_is_sigmoid_minus_y_over_m():
    z, y = RNG.standard_normal((5, 1)), RNG.integers(0, 2, (5, 1)).astype(float)
    zt = _t(z, True)
    F.binary_cross_entropy_with_logits(zt, y).backward()
    np.testing.assert_allclose(zt.grad.data, (1 / (1 + np.exp(-z)) - y) / 5, rtol=1e-12)
    assert type(F.binary_cross_entropy_with_logits(zt, y).grad_fn).name == "binary_cross_entropy_with_logits"


# ---- cross-entropy ------------------------------------------------------------------------
def _log_softmax(z):
    s = z - z.max(1, keepdims=True)
    return s - np.log(np.exp(s).sum(1, keepdims=True))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_labels_matches_the_formula(reduction):
    z, labels = RNG.standard_normal((6, 4)) * 2, RNG.integers(0, 4, 6)
    per = -_log_softmax(z)[np.arange(6), labels]
    np.testing.assert_allclose(F.cross_entropy(_t(z), labels, reduction).data,
                               _reduce(per, reduction), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_one_hot_targets_give_the_same_loss_as_labels(reduction):
    z, labels = RNG.standard_normal((6, 4)), RNG.integers(0, 4, 6)
    np.testing.assert_allclose(F.cross_entropy(_t(z), F.one_hot(labels, 4, dtype=np.float64), reduction).data,
                               F.cross_entropy(_t(z), labels, reduction).data, rtol=1e-12)


def test_probability_targets_match_the_formula():
    z, y = RNG.standard_normal((5, 3)), RNG.dirichlet(np.ones(3), 5)
    np.testing.assert_allclose(F.cross_entropy(_t(z), y).data,
                               -(y * _log_softmax(z)).sum(1).mean(), rtol=1e-12)


def test_labels_of_shape_m_by_1_and_tensor_labels_are_accepted():
    z, labels = _t(RNG.standard_normal((4, 3))), np.array([0, 2, 1, 2])
    ref = F.cross_entropy(z, labels).data
    np.testing.assert_allclose(F.cross_entropy(z, labels.reshape(-1, 1)).data, ref)
    np.testing.assert_allclose(F.cross_entropy(z, tc.tensor(labels)).data, ref)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradient_passes_gradcheck_with_labels(reduction):
    z, labels = RNG.standard_normal((5, 4)), RNG.integers(0, 4, 5)
    tc.gradcheck(lambda z: F.cross_entropy(z, labels, reduction), [_t(z, True)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradient_passes_gradcheck_with_probability_targets(reduction):
    z, y = RNG.standard_normal((4, 3)), RNG.dirichlet(np.ones(3), 4)
    tc.gradcheck(lambda z, y: F.cross_entropy(z, y, reduction), [_t(z, True), _t(y, True)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradient_is_right_for_targets_whose_rows_do_not_sum_to_one(reduction):
    # -sum_j y_j log softmax(z)_j has dL/dz = softmax(z) sum_j y_j - y: a zero row (an ignored
    # example) or a row summing to 2 must not get the one-hot shortcut softmax(z) - y.
    z, y = RNG.standard_normal((4, 3)), RNG.uniform(0, 1, (4, 3))
    y[1] = 0.0
    y[2] *= 2 / y[2].sum()
    tc.gradcheck(lambda z, y: F.cross_entropy(z, y, reduction), [_t(z, True), _t(y, True)])
    tc.gradgradcheck(lambda z, y: F.cross_entropy(z, y, reduction), [_t(z, True), _t(y, True)])


@pytest.mark.parametrize("targets", ["labels", "probabilities"])
def test_cross_entropy_second_derivative_passes_gradgradcheck(targets):
    z = RNG.standard_normal((3, 4))
    if targets == "labels":
        labels = np.array([0, 3, 1])
        tc.gradgradcheck(lambda z: F.cross_entropy(z, labels), [_t(z, True)])
    else:
        y = RNG.dirichlet(np.ones(4), 3)
        tc.gradgradcheck(lambda z, y: F.cross_entropy(z, y), [_t(z, True), _t(y, True)])


def test_cross_entropy_backward_is_softmax_minus_y_over_m_in_one_node():
    z, labels = RNG.standard_normal((5, 3)), np.array([0, 1, 2, 2, 0])
    zt = _t(z, True)
    loss = F.cross_entropy(zt, labels)
    assert type(loss.grad_fn).name == "softmax_cross_entropy" and loss.grad_fn.inputs[0] is zt
    loss.backward()
    p = np.exp(_log_softmax(z))
    np.testing.assert_allclose(zt.grad.data, (p - np.eye(3)[labels]) / 5, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_stable_at_logits_of_1e4(dtype):
    z = tc.tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype), requires_grad=True)
    labels = np.array([1, 2])
    loss = F.cross_entropy(z, labels, reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.data, [2e4, np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(z.grad.data, [[1, -1, 0], [0, 0.5, -0.5]], atol=1e-6)
    assert loss.dtype == dtype and z.grad.dtype == dtype


@given(m=st.integers(1, 6), c=st.integers(2, 6), seed=st.integers(0, 1000))
def test_cross_entropy_is_nonnegative_and_the_gradient_rows_sum_to_zero(m, c, seed):
    rng = np.random.default_rng(seed)
    z = _t(rng.standard_normal((m, c)) * 5, True)
    loss = F.cross_entropy(z, rng.integers(0, c, m))
    loss.backward()
    assert loss.item() >= 0
    np.testing.assert_allclose(z.grad.data.sum(axis=1), 0, atol=1e-12)


def test_cross_entropy_label_out_of_range_names_it():
    with pytest.raises(ValueError, match=r"label 3 is out of range for 3 classes \(0..2\)"):
        F.cross_entropy(tc.randn(2, 3), np.array([0, 3]))


@pytest.mark.parametrize("logits, target, message", [
    ((2, 3), np.array([0, 1, 2]), r"integer labels must have shape \(2,\)"),
    ((2, 3), np.zeros((2, 2)), r"must have the logits' shape \(2, 3\), got \(2, 2\)"),
    ((3,), np.array([0]), r"logits must have shape \(m, C\)"),
])
def test_cross_entropy_bad_shapes(logits, target, message):
    with pytest.raises(ValueError, match=message):
        F.cross_entropy(tc.randn(*logits), target)


def test_cross_entropy_refuses_bool_targets():
    with pytest.raises(TypeError, match="bool targets are ambiguous"):
        F.cross_entropy(tc.randn(2, 2), np.array([True, False]))


# ---- one_hot and accuracy ---------------------------------------------------------------
def test_one_hot():
    out = F.one_hot(np.array([2, 0, 1]))
    np.testing.assert_array_equal(out.data, np.eye(3)[[2, 0, 1]])
    assert out.dtype == np.float32
    assert F.one_hot(np.array([1]), num_classes=4).shape == (1, 4)


def test_one_hot_errors():
    with pytest.raises(ValueError, match=r"labels must be in 0..1, got values from 0 to 2"):
        F.one_hot(np.array([0, 2]), 2)
    with pytest.raises(TypeError, match="labels must be integers"):
        F.one_hot(np.array([0.0, 1.0]))


def test_accuracy_multiclass_with_labels_and_one_hot():
    out = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [4.0, 0.0, 0.0]])
    labels = np.array([0, 1, 1, 2])
    assert F.accuracy(out, labels) == 0.5
    assert F.accuracy(tc.tensor(out), F.one_hot(labels, 3)) == 0.5


def test_accuracy_binary_on_probabilities_and_on_logits():
    probs = np.array([[0.9], [0.2], [0.6], [0.4]])
    y = np.array([[1], [0], [0], [0]])
    assert F.accuracy(probs, y) == 0.75
    assert F.accuracy(np.log(probs / (1 - probs)), y.ravel(), threshold=0.0) == 0.75


@pytest.mark.parametrize("metric", [F.accuracy, F.confusion_matrix])
def test_the_default_threshold_refuses_logits(metric):
    # At 0.5, the logits 0.3 and 0.4 would count as class 0 though sigmoid puts them in class 1.
    logits = np.array([[0.3], [-2.0], [0.4], [3.0]])
    with pytest.raises(ValueError, match=r"values from -2 to 3, outside \[0, 1\], so it holds "
                                         r"logits.*threshold=0.0"):
        metric(logits, np.array([1, 0, 1, 1]))
    assert F.accuracy(logits, np.array([1, 0, 1, 1]), threshold=0.0) == 1.0


def test_accuracy_count_mismatch():
    with pytest.raises(ValueError, match="3 predictions .* but 2 targets"):
        F.accuracy(np.zeros((3, 2)), np.array([0, 1]))


def test_confusion_matrix_rows_are_truth_columns_predictions_diagonal_is_accuracy():
    out = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [4.0, 0.0, 0.0]])
    labels = np.array([0, 1, 1, 2])
    expected = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(F.confusion_matrix(out, labels), expected)
    np.testing.assert_array_equal(F.confusion_matrix(tc.tensor(out), F.one_hot(labels, 3)), expected)
    cm = F.confusion_matrix(out, labels, num_classes=4)
    assert cm.shape == (4, 4) and np.trace(cm) / cm.sum() == F.accuracy(out, labels)


def test_confusion_matrix_binary_thresholds_one_column():
    logits = np.array([[2.0], [-1.0], [0.5], [-0.5]])
    np.testing.assert_array_equal(F.confusion_matrix(logits, np.array([1, 0, 0, 1]), threshold=0.0),
                                  [[1, 1], [1, 1]])


def test_confusion_matrix_refuses_labels_beyond_the_classes():
    with pytest.raises(ValueError, match=r"classes must be in 0..1 for 2 classes, got targets from 0 to 2"):
        F.confusion_matrix(np.zeros((3, 2)), np.array([0, 1, 2]))


# ---- L2 regularization --------------------------------------------------------------------
def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double()


def test_l2_penalty_is_lambd_over_2m_times_the_squared_weights_only():
    model = _model()
    lambd, m = 0.7, 10
    expected = lambd / (2 * m) * ((model[0].weight.data ** 2).sum() + (model[3].weight.data ** 2).sum())
    np.testing.assert_allclose(F.l2_penalty(model, lambd, m).data, expected, rtol=1e-12)
    assert [p.shape for p in F.penalized_weights(model)] == [(4, 3), (2, 4)]


def test_l2_penalty_gradient_is_lambd_over_m_times_w_and_zero_for_biases():
    model = _model()
    F.l2_penalty(model, 0.7, 10).backward()
    np.testing.assert_allclose(model[0].weight.grad.data, 0.07 * model[0].weight.data, rtol=1e-12)
    assert model[0].bias.grad is None and model[1].gamma.grad is None


def test_l2_penalty_passes_gradcheck_and_gradgradcheck():
    ws = [_t(RNG.standard_normal((3, 2)), True), _t(RNG.standard_normal((2, 2)), True)]
    tc.gradcheck(lambda a, b: F.l2_penalty([a, b], 0.5, 4), ws)
    tc.gradgradcheck(lambda a, b: F.l2_penalty([a, b], 0.5, 4), ws)


def test_l2_penalty_is_one_node():
    out = F.l2_penalty(_model(), 0.1, 5)
    assert type(out.grad_fn).name == "l2_penalty"


def test_l2_penalty_errors():
    with pytest.raises(ValueError, match="m .* must be positive, got 0"):
        F.l2_penalty(_model(), 0.1, 0)
    with pytest.raises(ValueError, match="no weights"):
        F.l2_penalty(nn.BatchNorm1d(3), 0.1, 5)
    for lambd in (-0.1, float("nan")):
        with pytest.raises(ValueError, match=rf"l2_penalty: lambd .* must be >= 0, got {lambd}"):
            F.l2_penalty(_model(), lambd, 5)


def test_l2_penalty_and_weight_decay_give_the_same_update():
    X, y = _t(RNG.standard_normal((10, 3))), RNG.integers(0, 2, 10)
    lambd, m, lr = 0.7, 10, 0.1
    a, b = _model(), _model()
    b.load_state_dict(a.state_dict())
    opt_a = optim.SGD(a.parameters(), lr=lr)
    opt_b = optim.SGD(b.parameters(), lr=lr, weight_decay=lambd / m)
    for _ in range(3):
        opt_a.zero_grad()
        (F.cross_entropy(a(X), y) + F.l2_penalty(a, lambd, m)).backward()
        opt_a.step()
        opt_b.zero_grad()
        F.cross_entropy(b(X), y).backward()
        opt_b.step()
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_allclose(va, vb, rtol=1e-12, atol=1e-14, err_msg=k)


def test_weight_decay_by_hand_is_dw_plus_lambd_over_m_w():
    model = _model()
    X, y = _t(RNG.standard_normal((10, 3))), RNG.integers(0, 2, 10)
    F.cross_entropy(model(X), y).backward()
    plain = model[0].weight.grad.data.copy()
    model.zero_grad()
    (F.cross_entropy(model(X), y) + F.l2_penalty(model, 0.7, 10)).backward()
    np.testing.assert_allclose(model[0].weight.grad.data, plain + 0.07 * model[0].weight.data,
                               rtol=1e-12)
