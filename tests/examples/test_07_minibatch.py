import importlib
import math

import numpy as np
import pytest

BATCH, MINI, SGD = "batch (size m)", "mini-batch (size 64)", "stochastic (size 1)"


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("07_minibatch").run(
        out=tmp_path_factory.mktemp("minibatch"), quick=True)


def test_same_epochs_give_one_step_per_batch(findings):
    m, epochs, r = findings["m"], findings["epochs"], findings["methods"]
    assert r[BATCH]["iterations"] == epochs
    assert r[MINI]["iterations"] == epochs * math.ceil(m / 64)
    assert r[SGD]["iterations"] == epochs * m


def test_batch_descent_is_smooth_and_smaller_batches_are_noisier(findings):
    r = findings["methods"]
    assert np.all(np.diff(r[BATCH]["costs"]) < 0)
    assert r[BATCH]["noise"] < r[MINI]["noise"] < r[SGD]["noise"]
    assert r[SGD]["noise"] > 5 * r[MINI]["noise"]


def test_more_steps_per_epoch_lower_the_cost_further(findings):
    r = findings["methods"]
    assert r[SGD]["final_cost"] < r[MINI]["final_cost"] < r[BATCH]["final_cost"]
    assert all(len(x["epoch_costs"]) == findings["epochs"] + 1 for x in r.values())


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
