import importlib

import pytest


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("06_gradient_checking").run(
        out=tmp_path_factory.mktemp("gradcheck"), quick=True)


def test_the_correct_backward_passes(findings):
    correct = findings["correct"]
    assert correct["passed"]
    assert correct["difference"] < 1e-7
    assert correct["suspects"] == []
    assert "passed" in findings["reports"]["correct"]


def test_the_planted_bug_is_found_in_its_layer_only(findings):
    buggy = findings["planted bug"]
    assert not buggy["passed"]
    assert buggy["suspects"] == ["layer2.weight"]
    # dW twice too large: ||2g - g|| / (||2g|| + ||g||) = 1/3.
    assert buggy["parameters"]["layer2.weight"] == pytest.approx(1 / 3, rel=1e-4)
    others = {k: v for k, v in buggy["parameters"].items() if k != "layer2.weight"}
    assert others == {k: findings["correct"]["parameters"][k] for k in others}
    assert "FAILED" in findings["reports"]["planted bug"]
    assert "'layer2.weight'" in findings["reports"]["planted bug"]


def test_dropout_must_be_off_for_the_check(findings):
    assert "training mode" in findings["dropout_refused"]
    assert findings["dropout_off_passed"]


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
