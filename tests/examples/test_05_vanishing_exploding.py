import importlib
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("05_vanishing_exploding").run(
        out=tmp_path_factory.mktemp("vanishing"), quick=True)


def test_sigmoid_gradients_vanish_toward_the_input(findings):
    sig = findings["setups"]["sigmoid_xavier"]
    assert sig["first_over_last"] < 1e-4
    norms = list(sig["norms"].values())
    assert len(norms) == findings["depth"]
    # Shrinking layer after layer on the way back: each layer's norm below the next one's.
    assert all(a < b for a, b in zip(norms, norms[1:]))


def test_relu_with_he_keeps_first_and_last_comparable(findings):
    assert 0.1 < findings["setups"]["relu_he"]["first_over_last"] < 10


def test_large_init_explodes_every_layer(findings):
    big, he = findings["setups"]["relu_randn"], findings["setups"]["relu_he"]
    assert big["first"] > 1e4 * he["first"]
    assert big["last"] > 1e4 * he["last"]
    assert big["loss"] > 1e3 * he["loss"]


def test_plots_and_gradient_flow_graphs_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
    out = Path(findings["out"])
    for key in findings["setups"]:
        if shutil.which("dot"):
            assert "<svg" in (out / f"grad_flow_{key}.svg").read_text()
            assert_pngs(out, [f"grad_flow_{key}.png"])
        else:
            assert "digraph" in (out / f"grad_flow_{key}.dot").read_text()
