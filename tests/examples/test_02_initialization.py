import importlib
import math

import pytest


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("02_initialization").run(
        out=tmp_path_factory.mktemp("init"), quick=True)


def test_zeros_never_break_symmetry(findings):
    zeros = findings["inits"]["zeros"]
    assert zeros["hidden_units_identical"]
    assert zeros["train_accuracy"] == 0.5
    assert zeros["first_cost"] == pytest.approx(math.log(2), rel=1e-6)
    assert zeros["final_cost"] == pytest.approx(math.log(2), abs=1e-4)


def test_he_fits_the_circles_and_its_units_differ(findings):
    he = findings["inits"]["he"]
    assert not he["hidden_units_identical"]
    assert he["train_accuracy"] >= 0.95
    assert he["dev_accuracy"] >= 0.9


def test_large_random_starts_with_a_huge_cost_and_ends_behind_he(findings):
    large, he = findings["inits"]["large random (randn * 10)"], findings["inits"]["he"]
    assert large["first_cost"] > 100 * he["first_cost"]
    assert large["final_cost"] > 1.5 * he["final_cost"]
    assert 0.5 < large["train_accuracy"] < he["train_accuracy"]


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
