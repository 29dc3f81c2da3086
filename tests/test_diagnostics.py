import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.data import make_football
from tinygrad_course.diagnostics import (ARCHITECTURE_SEARCH, BIAS_RECIPE, VARIANCE_RECIPE, diagnose,
                                         diagnose_model)


@pytest.mark.parametrize("train, dev, label, high_bias, high_variance", [
    (0.01, 0.11, "high variance", False, True),
    (0.15, 0.16, "high bias", True, False),
    (0.15, 0.30, "high bias and high variance", True, True),
    (0.005, 0.01, "neither", False, False),
])
def test_the_lectures_four_cases_with_bayes_near_zero(train, dev, label, high_bias, high_variance):
    d = diagnose(train, dev, bayes_error=0.0)
    assert (d.label, d.high_bias, d.high_variance) == (label, high_bias, high_variance)
    assert d.avoidable_bias == pytest.approx(train) and d.variance == pytest.approx(dev - train)


def test_recipes_are_the_lectures_basic_recipe():
    assert diagnose(0.15, 0.16).recipe == BIAS_RECIPE + (ARCHITECTURE_SEARCH,)
    assert diagnose(0.01, 0.11).recipe == VARIANCE_RECIPE + (ARCHITECTURE_SEARCH,)
    assert diagnose(0.15, 0.30).recipe == BIAS_RECIPE + VARIANCE_RECIPE + (ARCHITECTURE_SEARCH,)
    assert diagnose(0.005, 0.01).recipe == ()
    assert "bigger network" in BIAS_RECIPE[0] and "train longer" in BIAS_RECIPE[1]
    assert VARIANCE_RECIPE == ("more data", "regularization")


def test_a_high_bayes_error_turns_high_bias_into_neither():
    """The lecture: 15% train / 16% dev is fine when even humans err 15% (blurry images)."""
    d = diagnose(0.15, 0.16, bayes_error=0.15)
    assert d.label == "neither" and d.avoidable_bias == pytest.approx(0.0)


@pytest.mark.parametrize("bayes, focus", [(0.01, "bias"), (0.075, "variance")])
def test_focus_is_the_larger_gap_as_in_the_human_level_lecture(bayes, focus):
    """Train 8%, dev 10%: with human error 1% work on bias (7 > 2), with 7.5% on variance (0.5 < 2)."""
    assert diagnose(0.08, 0.10, bayes_error=bayes).focus == focus


def test_thresholds_are_in_the_result_and_strict():
    d = diagnose(0.05, 0.07, tolerance=0.02)
    assert d.tolerance == 0.02 and d.high_variance is False  # a gap equal to the tolerance is fine
    assert diagnose(0.05, 0.0701, tolerance=0.02).high_variance is True
    assert "tolerance 2.00%" in str(d) and "variance 2.00%" in str(d)


@given(train=st.floats(0, 1), dev=st.floats(0, 1), bayes=st.floats(0, 1), tol=st.floats(0, 0.5))
def test_labels_follow_the_stated_thresholds(train, dev, bayes, tol):
    d = diagnose(train, dev, bayes, tol)
    assert d.high_bias == (train - bayes > tol + 1e-9) and d.high_variance == (dev - train > tol + 1e-9)
    assert (d.label == "neither") == (d.recipe == ())


@pytest.mark.parametrize("kw, match", [
    ({"train_error": 11, "dev_error": 0.2}, r"train_error .* got 11 \(did you mean 0\.11\?\)"),
    ({"train_error": 0.1, "dev_error": -0.1}, "dev_error .* got -0.1"),
    ({"train_error": 0.1, "dev_error": 0.2, "tolerance": -1}, "tolerance must be >= 0, got -1"),
])
def test_bad_errors_are_refused_with_the_value(kw, match):
    with pytest.raises(ValueError, match=match):
        diagnose(**kw)


def test_diagnose_model_reads_multiclass_scores_by_argmax_and_one_hot_labels():
    X = np.arange(6.0)[:, None]
    scores = lambda X: np.eye(3)[np.asarray(X)[:, 0].astype(int) % 3]  # noqa: E731
    y = np.array([0, 1, 2, 0, 1, 1])
    d = diagnose_model(scores, (X, y), (X, np.eye(3)[[0, 1, 2, 0, 1, 2]]))
    assert d.train_error == pytest.approx(1 / 6) and d.dev_error == 0.0


def test_diagnose_model_refuses_unknown_outputs():
    with pytest.raises(ValueError, match="'softmax'"):
        diagnose_model(lambda X: X, (np.zeros((2, 1)), np.zeros(2)), (np.zeros((2, 1)), np.zeros(2)),
                       outputs="softmax")


class _Threshold:
    """A stand-in classifier: logit = x0 - 0.5, with a train/eval mode like a Module."""

    def __init__(self):
        self.training = True
        self.modes_seen = []

    def train(self, mode=True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)

    def __call__(self, X):
        self.modes_seen.append((self.training, tc.is_grad_enabled(), type(X).__name__))
        return X[:, 0] - 0.5


def test_diagnose_model_uses_accuracy_on_both_sets_in_eval_mode_without_grad():
    X_train = np.array([[0.0], [1.0], [0.2], [0.9]])
    y_train = np.array([0, 1, 0, 1])                     # all right: train error 0
    X_dev = np.array([[0.0], [1.0], [0.2], [0.9], [0.1]])
    y_dev = np.array([1, 0, 0, 1, 0])                    # 2 of 5 wrong: dev error 0.4
    model = _Threshold()
    d = diagnose_model(model, (X_train, y_train), (X_dev, y_dev))
    assert d.train_error == 0.0 and d.dev_error == pytest.approx(0.4)
    assert d.label == "high variance"
    assert model.modes_seen == [(False, False, "Tensor")] * 2 and model.training is True


def test_diagnose_model_with_probabilities_and_a_plain_function():
    X = np.array([[0.0], [1.0], [0.2], [0.8]])
    y = np.array([0, 1, 1, 1])
    d = diagnose_model(lambda X: 1 / (1 + np.exp(-(np.asarray(X)[:, 0] - 0.5) * 10)), (X, y), (X, y),
                       outputs="probabilities")
    assert d.train_error == d.dev_error == 0.25 and d.label == "high bias"


def test_a_big_unregularized_network_on_the_football_data_has_high_variance():
    """The course's regularization setting: 211 noisy positions, a 2-64-64-1 network, no
    regularization. It memorizes the flipped labels: near-zero training error, dev error well above
    the 10% of label noise (the Bayes error)."""
    X, y = make_football(211, noise=0.1, seed=0)
    X_dev, y_dev = make_football(400, noise=0.1, seed=1)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    optimizer = tc.optim.Adam(model.parameters(), lr=0.01)
    Xt, yt = tc.Tensor(X), tc.Tensor(y[:, None].astype(np.float32))
    for _ in range(800):
        optimizer.zero_grad()
        nn.F.binary_cross_entropy_with_logits(model(Xt), yt).backward()
        optimizer.step()
    d = diagnose_model(model, (X, y), (X_dev, y_dev), bayes_error=0.1)
    assert d.train_error < 0.03 and d.dev_error > 0.14
    assert d.label == "high variance" and d.recipe[:2] == VARIANCE_RECIPE
