import importlib

import pytest


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("04_input_normalization").run(
        out=tmp_path_factory.mktemp("normalization"), quick=True)


def test_the_normalized_training_set_has_unit_variance(findings):
    raw, normalized = findings["feature_std"]["raw features"], findings["feature_std"]["normalized"]
    assert raw[1] > 30 * raw[0]
    assert normalized == pytest.approx([1.0, 1.0], abs=1e-4)


def test_normalized_inputs_take_a_larger_learning_rate_and_reach_a_lower_cost(findings):
    raw, normalized = findings["inputs"]["raw features"], findings["inputs"]["normalized"]
    assert normalized["best_lr"] >= 100 * raw["best_lr"]
    assert normalized["best_final_cost"] < 0.25 * raw["best_final_cost"]
    assert normalized["dev_accuracy"] >= 0.9
    assert normalized["dev_accuracy"] > raw["dev_accuracy"] + 0.2


def test_at_the_normalized_best_rate_raw_features_do_no_better_than_a_coin(findings):
    lr = findings["inputs"]["normalized"]["best_lr"]
    assert findings["inputs"]["raw features"]["final_cost_by_lr"][lr] > 0.6


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
