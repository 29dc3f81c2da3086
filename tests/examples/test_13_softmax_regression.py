import importlib

import numpy as np
import pytest


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("13_softmax_regression").run(out=tmp_path_factory.mktemp("softmax"),
                                                                quick=True)


def test_softmax_regression_classifies_the_four_blobs(findings):
    assert findings["dev_accuracy"] >= 0.8 and findings["train_accuracy"] >= 0.8
    assert findings["costs"][-1] < 0.5 * findings["costs"][0]


def test_the_confusion_matrix_counts_the_dev_set_and_its_diagonal_is_the_accuracy(findings):
    counts = findings["confusion_matrix"]
    assert counts.shape == (4, 4) and counts.sum() == 200  # 25% of 800, 50 per class
    np.testing.assert_array_equal(counts.sum(axis=1), [50, 50, 50, 50])
    assert np.trace(counts) / counts.sum() == pytest.approx(findings["dev_accuracy"])


def test_errors_are_between_neighbouring_blobs(findings):
    errors = findings["confusion_matrix"].sum() - np.trace(findings["confusion_matrix"])
    assert findings["neighbour_errors"] + findings["opposite_errors"] == errors
    assert findings["neighbour_errors"] >= 5 * findings["opposite_errors"]


def test_softmax_rows_are_probabilities(findings):
    np.testing.assert_allclose(findings["probability_row_sums"], 1.0, rtol=1e-5)


def test_straight_boundaries_fail_on_the_spirals_where_a_hidden_layer_succeeds(findings):
    acc = findings["spiral_accuracy"]
    assert acc["softmax regression"] <= 0.7
    assert acc["one hidden layer"] >= 0.9


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
