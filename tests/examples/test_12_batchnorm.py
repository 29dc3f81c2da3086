import importlib
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("12_batchnorm").run(out=tmp_path_factory.mktemp("bn"), quick=True)


def test_batch_norm_trains_where_the_plain_network_struggles(findings):
    # Stated margins at lr = 1: batch norm ends at >= 90% train and dev accuracy, 15 points or more
    # above the plain network, and its cost over the second half is at most a third of plain's.
    train, dev, late = findings["train_accuracy"], findings["dev_accuracy"], findings["late_cost"]
    assert findings["lr"] == 1.0
    assert train["batch norm"] >= 0.9 and dev["batch norm"] >= 0.9
    assert train["batch norm"] >= train["plain"] + 0.15
    assert dev["batch norm"] >= dev["plain"] + 0.15
    assert late["batch norm"] <= late["plain"] / 3


def test_train_mode_depends_on_the_batch_and_refuses_single_examples(findings):
    assert findings["train_mode_batch_dependence"] > 0.1
    assert "more than one example" in findings["train_mode_single_example_error"]


def test_eval_mode_predicts_one_example_at_a_time_as_in_a_batch(findings):
    assert findings["eval_one_by_one_vs_batch"] < 1e-4


def test_running_mean_tracks_the_data_mean(findings):
    assert findings["running_mean_gap_in_stds"] < 0.5


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])


def test_one_layer_is_drawn_in_train_and_eval_mode(findings):
    out = Path(findings["out"])
    for mode in ("train", "eval"):
        stem = out / f"batchnorm_layer_{mode}"
        source = (stem.with_suffix(".svg") if shutil.which("dot") else stem.with_suffix(".dot")).read_text()
        assert f"training={mode == 'train'}" in source and "momentum=0.9" in source
        assert "1.running_mean" in source
