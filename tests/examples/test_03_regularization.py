import importlib

import pytest

NONE, L2, DROPOUT = "no regularization", "L2 (lambd = 0.7)", "dropout (keep_prob = 0.86)"


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("03_regularization").run(
        out=tmp_path_factory.mktemp("regularization"), quick=True)


def test_without_regularization_the_network_memorizes_flipped_labels(findings):
    none = findings["methods"][NONE]
    # 10% of the labels are flipped: above 90% on the training set is fitting noise.
    assert none["train_accuracy"] > 0.93
    assert none["gap"] > 0.07


@pytest.mark.parametrize("method", [L2, DROPOUT])
def test_regularization_shrinks_the_gap_and_helps_on_dev(findings, method):
    none, reg = findings["methods"][NONE], findings["methods"][method]
    assert reg["gap"] < none["gap"] - 0.04
    assert reg["train_accuracy"] < none["train_accuracy"]
    assert reg["dev_accuracy"] > none["dev_accuracy"] + 0.02


def test_l2_keeps_the_weights_small(findings):
    none, l2 = findings["methods"][NONE], findings["methods"][L2]
    assert l2["sum_squared_weights"] < 0.1 * none["sum_squared_weights"]


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
