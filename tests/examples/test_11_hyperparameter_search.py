import importlib

import numpy as np
import pytest


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    module = importlib.import_module("11_hyperparameter_search")
    return module.run(out=tmp_path_factory.mktemp("search"), quick=True)


def test_the_first_round_samples_the_learning_rate_across_the_decades(findings):
    first = [r for r in findings["records"] if r["round"] == 0]
    assert len(first) == 10 and findings["n_trials"] == 20
    assert findings["first_round_lr_decades"] >= 2.5  # of the 4 decades in [1e-4, 1]
    assert all(0.9 <= r["beta"] <= 0.999 for r in first)


def test_the_next_round_zooms_in_and_does_better(findings):
    (lo0, hi0), (lo1, hi1) = findings["lr_ranges"]
    assert (lo0, hi0) == pytest.approx((1e-4, 1.0))
    assert np.log10(hi1 / lo1) <= 0.75 * np.log10(hi0 / lo0)
    assert all(lo1 <= r["lr"] <= hi1 for r in findings["records"] if r["round"] == 1)
    first, second = findings["median_dev_cost_by_round"]
    assert second < 0.8 * first


def test_the_best_trial_is_a_good_model_and_tops_the_table(findings):
    best = findings["best"]
    assert best["dev_cost"] == min(r["dev_cost"] for r in findings["records"])
    assert best["dev_accuracy"] >= 0.85
    header, top = findings["table"].splitlines()[:2]
    assert header.split()[:5] == ["rank", "trial", "round", "lr", "beta"] and "dev_cost" in header
    assert top.split()[0] == "1" and float(top.split()[5]) == pytest.approx(best["dev_cost"], rel=1e-3)


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
