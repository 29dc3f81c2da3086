import importlib

import numpy as np
import pytest


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    pytest.importorskip("sklearn")
    return importlib.import_module("14_cnn_digits").run(out=tmp_path_factory.mktemp("cnn"),
                                                        quick=True)


def test_the_cnn_reads_the_test_digits(findings):
    # Quick settings (5 epochs, seconds): >= 95% on 269 held-out digits; the full run (30 epochs at
    # most, early stopping) reaches >= 97% in well under a minute.
    assert findings["test_accuracy"] >= 0.95
    assert max(findings["dev_accuracy"]) >= 0.95
    assert findings["misclassified"] == round((1 - findings["test_accuracy"]) * findings["n_test"])


def test_the_cost_falls_and_the_cosine_schedule_lowers_the_lr(findings):
    assert findings["train_costs"][-1] < 0.2 * findings["train_costs"][0]
    lrs = findings["lrs"]
    assert lrs[0] == pytest.approx(3e-3) and all(np.diff(lrs) < 0)


def test_clipping_caps_the_large_early_gradients(findings):
    norms = findings["grad_norms"]
    assert norms.max() > findings["max_norm"] and norms.min() < findings["max_norm"]
    # The gradients are largest at the start, when the weights are random.
    assert norms[:10].mean() > norms[-10:].mean()


def test_a_killed_run_resumes_to_bit_identical_weights(findings):
    assert findings["killed"].startswith("killed after step")
    # The checkpoint holds the epochs finished before the kill; the one killed mid-way is redone.
    assert findings["checkpoint_epochs"] == findings["kill_epoch"]
    assert findings["resumed_epochs"] == findings["epochs_run"]
    assert findings["resumed_equals_uninterrupted"] is True


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])


def test_jit_trains_to_the_same_weights_as_eager(findings):
    # fit(jit=True) replays the recorded kernels: the same arithmetic in the same order.
    assert findings["jit_equals_eager"] is True
