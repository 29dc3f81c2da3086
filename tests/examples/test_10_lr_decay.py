import importlib

import numpy as np
import pytest

CONSTANT, TOO_FAST = "constant (no decay)", "inverse time, every epoch"


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("10_lr_decay").run(out=tmp_path_factory.mktemp("lr"), quick=True)


def gradual(findings):
    return [k for k in findings["wobble"] if k not in (CONSTANT, TOO_FAST)]


def test_without_decay_the_cost_keeps_bouncing(findings):
    # Stated margin: over the last fifth of training the constant rate's cost moves 5 times more
    # (std) than with any gradual decay.
    assert len(gradual(findings)) == 5
    for name in gradual(findings):
        assert findings["wobble"][CONSTANT] >= 5 * findings["wobble"][name], name
    assert min(findings["late_cost"][k] for k in gradual(findings)) < findings["late_cost"][CONSTANT]


def test_inverse_time_decay_every_epoch_decays_too_fast_and_stalls(findings):
    late = findings["late_cost"]
    for name in gradual(findings):
        assert late[TOO_FAST] >= 2.5 * late[name], name
    assert findings["accuracy"][TOO_FAST] < min(findings["accuracy"][k] for k in gradual(findings))


def test_the_plotted_rates_follow_the_formulas(findings):
    lrs, lr0, epochs = findings["lrs"], findings["lr0"], findings["epochs"]
    k = np.arange(epochs)
    np.testing.assert_allclose(lrs[CONSTANT], lr0)
    np.testing.assert_allclose(lrs[TOO_FAST], lr0 / (1 + k))
    np.testing.assert_allclose(lrs["inverse time, every epochs/5"], lr0 / (1 + k // (epochs // 5)))
    np.testing.assert_allclose(lrs["exponential"], lr0 * 0.01 ** (k / epochs), rtol=1e-6)


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
