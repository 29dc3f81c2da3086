import importlib

import pytest

LOGREG, TINY = "logistic regression", "tiny: 2-2-1 tanh"
MEDIUM, BIG = "medium: 2-8-1 tanh", "big: 2-32-32-32-1 ReLU"


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("01_bias_variance").run(
        out=tmp_path_factory.mktemp("bias_variance"), quick=True)


def test_the_split_is_60_20_20(findings):
    assert findings["sizes"] == {"train": 600, "dev": 200, "test": 200}
    # Noise makes some points ambiguous, but an expert knowing the petals gets most right.
    assert 0.02 < findings["human_level_error"] < 0.1


@pytest.mark.parametrize("name", [LOGREG, TINY])
def test_small_models_have_high_bias(findings, name):
    r = findings["models"][name]
    assert "high bias" in r["diagnosis"]
    assert r["avoidable_bias"] > 0.15
    assert "bigger network" in r["recipe"]


def test_the_medium_model_is_close_to_human_level_on_train_and_dev(findings):
    r = findings["models"][MEDIUM]
    assert abs(r["avoidable_bias"]) < 0.03
    assert abs(r["variance"]) < 0.03
    assert findings["chosen"] == MEDIUM


def test_the_big_model_memorizes_the_training_set_and_has_high_variance(findings):
    big, medium = findings["models"][BIG], findings["models"][MEDIUM]
    assert "high variance" in big["diagnosis"]
    assert big["variance"] > 0.04
    assert big["train_error"] < medium["train_error"]
    assert big["dev_error"] > medium["dev_error"]
    assert "regularization" in big["recipe"]


def test_the_chosen_model_is_measured_once_on_test(findings):
    assert findings["chosen_test_error"] < 0.1


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
