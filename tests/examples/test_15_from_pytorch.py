import importlib

import pytest


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    pytest.importorskip("sklearn")
    return importlib.import_module("15_from_pytorch").run(out=tmp_path_factory.mktemp("torch"),
                                                          quick=True)


def test_both_versions_train_to_the_same_accuracy(findings):
    acc = findings["accuracy"]
    assert acc["PyTorch way"] >= 0.93 and acc["course way"] >= 0.93
    assert abs(acc["PyTorch way"] - acc["course way"]) <= 0.03
    for costs in findings["costs"].values():
        assert costs[-1] < 0.3 * costs[0]


def test_every_mapping_in_the_table_gives_the_same_result(findings):
    rows = findings["mappings"]
    assert len(rows) >= 10
    assert [row[0] for row in rows if not row[3]] == []


def test_dropout_p_is_refused_and_the_suggested_keep_prob_drops_what_p_meant(findings):
    d = findings["dropout"]
    assert "keep_prob" in d["error"] and d["fix"] == "Dropout(keep_prob=0.8)"
    assert d["kept_fraction"] == pytest.approx(0.8, abs=0.01)  # 100,000 units
    assert d["kept_values"] == [pytest.approx(1.25)]  # inverted dropout: 1 / keep_prob
    assert "keep_prob=0.8" in d["positional_warning"]


def test_sgd_momentum_is_refused_and_the_suggested_momentum_takes_the_heavy_ball_steps(findings):
    m = findings["momentum"]
    assert "Momentum(" in m["error"] and m["fix"].startswith("Momentum(params, lr=")
    assert m["fixed_vs_torch"] < 1e-10
    assert m["same_lr_vs_torch"] > 0.5  # the conversion matters


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
