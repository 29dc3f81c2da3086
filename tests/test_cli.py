import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import cli

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = ["--epochs", "8", "--samples", "60", "--hidden", "6", "--no-progress"]
PLOTS = ("learning_curve.png", "decision_boundary.png", "confusion_matrix.png")


def run(argv) -> tuple[int, str, str]:
    """cli.main(argv) in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000, f"{path.name} is not a PNG"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code, stdout, stderr = run(["demo", "--dataset", "moons", *SMALL, "--out", str(out)])
    return code, stdout, stderr, out


# ---- demo ---------------------------------------------------------------------------------------
def test_demo_writes_plots_graph_and_weights_into_the_folder_it_names(demo):
    code, stdout, stderr, out = demo
    assert code == 0
    assert f"wrote to {out}:" in stdout
    for name in PLOTS:
        assert_png(out / name)
        assert name in stdout
    svg = (out / "graph.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "linear" in svg
    assert not (out / "graph.dot").exists()


def test_demo_prints_accuracies_that_the_saved_model_reproduces(demo):
    code, stdout, _, out = demo
    train_acc, dev_acc = (float(v) for v in
                          re.search(r"train accuracy ([\d.]+)\s+dev accuracy ([\d.]+)", stdout).groups())
    problem = cli.load_problem("moons", seed=0, samples=60)
    model = cli.build_model(problem.n_classes, hidden=6)
    saved = tc.load(out / "model.npz")
    model.load_state_dict(saved["model"])
    np.testing.assert_allclose(saved["normalizer"]["mean"], problem.normalizer.mean_)
    model.eval()
    with tc.no_grad():
        assert cli.accuracy(model(tc.Tensor(problem.train[0])), problem.train[1]) == pytest.approx(
            train_acc, abs=0.0005)
        assert cli.accuracy(model(tc.Tensor(problem.dev[0])), problem.dev[1]) == pytest.approx(
            dev_acc, abs=0.0005)


def test_demo_prints_the_bias_variance_diagnosis_from_those_accuracies(demo):
    _, stdout, _, _ = demo
    train_acc, dev_acc = (float(v) for v in
                          re.search(r"train accuracy ([\d.]+)\s+dev accuracy ([\d.]+)", stdout).groups())
    expected = tc.diagnostics.diagnose(1 - train_acc, 1 - dev_acc)
    line = next(line for line in stdout.splitlines() if line.startswith("diagnosis: "))
    assert line.startswith(f"diagnosis: {expected.label}: avoidable bias")
    assert "Recipe:" in line


def test_demo_without_a_terminal_shows_no_progress_bar(demo):
    assert demo[2] == ""


def test_demo_is_reproducible_with_its_seed(demo, tmp_path):
    _, first, _, _ = demo
    _, again, _ = run(["demo", "--dataset", "moons", *SMALL, "--out", str(tmp_path)])
    assert again.split("wrote to")[0] == first.split("wrote to")[0]  # the folders differ


def test_demo_on_three_classes_uses_softmax_and_a_three_by_three_confusion_matrix(tmp_path, monkeypatch):
    seen = {}
    plot = tc.viz.plot_confusion_matrix

    def spy(counts, *args, **kw):
        seen["counts"] = np.asarray(counts)
        return plot(counts, *args, **kw)

    monkeypatch.setattr(tc.viz, "plot_confusion_matrix", spy)
    code, stdout, _ = run(["demo", "--dataset", "spirals", *SMALL, "--out", str(tmp_path)])
    assert code == 0 and "3 classes" in stdout and "-> 6 -> 3;" in stdout
    assert seen["counts"].shape == (3, 3) and seen["counts"].sum() == 12  # 20% of 60 for dev
    assert_png(tmp_path / "confusion_matrix.png")


def test_demo_without_dot_writes_the_dot_source_and_says_how_to_install_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, stdout, _ = run(["demo", *SMALL, "--out", str(tmp_path)])
    assert code == 0
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")
    assert not (tmp_path / "graph.svg").exists()
    notes = [line for line in stdout.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "apt-get install graphviz" in notes[0]


def test_demo_without_matplotlib_says_so_and_still_writes_the_graph(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    code, stdout, _ = run(["demo", *SMALL, "--out", str(tmp_path)])
    assert code == 0
    assert "matplotlib is not installed" in stdout and "tinygrad-course[plot]" in stdout
    assert not list(tmp_path.glob("*.png"))
    assert (tmp_path / "graph.svg").exists() and (tmp_path / "model.npz").exists()


def test_demo_default_folder_is_named_after_the_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = run(["demo", *SMALL])
    assert code == 0
    assert (tmp_path / "tinygrad_course_output" / "demo" / "graph.svg").exists()
    assert f"wrote to {Path('tinygrad_course_output') / 'demo'}:" in stdout


# ---- gradcheck, graph, tune ---------------------------------------------------------------------
def test_gradcheck_passes_on_the_built_in_model():
    code, stdout, _ = run(["gradcheck", "--dataset", "moons", "--examples", "8"])
    assert code == 0
    assert "overall difference" in stdout and "passed" in stdout


def test_gradcheck_with_a_planted_bug_fails_and_points_at_the_layer():
    code, stdout, _ = run(["gradcheck", "--plant-bug", "--lambd", "0.7", "--examples", "8"])
    assert code == 1
    assert "FAILED" in stdout
    rows = {line.split()[0]: line for line in stdout.splitlines() if line.startswith("  ")}
    assert "bug" in rows["2.weight"]
    assert all("fine" in rows[name] for name in ("0.weight", "0.bias", "2.bias", "4.weight"))


@pytest.mark.parametrize("fmt, start", [("svg", "<?xml"), ("dot", "digraph"), ("png", "\x89PNG")])
def test_graph_writes_the_step_graph_in_the_asked_format(tmp_path, fmt, start):
    code, stdout, _ = run(["graph", "--format", fmt, "--out", str(tmp_path)])
    assert code == 0
    path = tmp_path / f"graph.{fmt}"
    assert f"wrote {path}" in stdout
    assert path.read_bytes().startswith(start.encode("latin-1"))


def test_graph_source_names_the_layers_parameters():
    problem = cli.load_problem("planar_flower", seed=0)
    source = cli.step_graph(problem, cli.build_model(2, hidden=4)).source
    for name in ("0.weight", "2.weight", "4.bias", "binary_cross_entropy_with_logits"):
        assert name in source


def test_tune_runs_the_rounds_logs_every_trial_and_prints_the_table(tmp_path):
    argv = ["tune", "--trials", "2", "--rounds", "2", "--epochs", "2", "--out", str(tmp_path)]
    code, stdout, _ = run(argv)
    assert code == 0
    records = [json.loads(line) for line in (tmp_path / "trials.jsonl").read_text().splitlines()]
    assert [r["round"] for r in records] == [0, 0, 1, 1]
    assert all(1e-4 <= r["params"]["lr"] <= 1e-1 and 0.5 <= r["params"]["beta1"] <= 0.999
               for r in records)
    header = next(line for line in stdout.splitlines() if line.startswith("rank"))
    assert header.split() == ["rank", "trial", "round", "lr", "beta1", "hidden", "dev_accuracy",
                              "train_accuracy"]
    best = max(records, key=lambda r: (r["metrics"]["dev_accuracy"], -r["trial"]))
    assert f"best: trial {best['trial']}," in stdout
    assert "dev set: 80 examples, one example = 1.2% of dev accuracy" in stdout
    assert (tmp_path / "search.png").stat().st_size > 0 and "search.png" in stdout


def test_dev_resolution_is_one_example_in_percent():
    assert cli.dev_resolution(200) == "dev set: 200 examples, one example = 0.5% of dev accuracy"


TUNE = ["tune", "--trials", "2", "--rounds", "1", "--epochs", "1"]


def test_tune_refuses_to_overwrite_an_earlier_log_unless_forced(tmp_path):
    base = TUNE + ["--out", str(tmp_path)]
    assert run(base + ["--seed", "1"])[0] == 0
    before = (tmp_path / "trials.jsonl").read_bytes()
    code, _, err = run(base + ["--seed", "2"])
    assert code == 1 and (tmp_path / "trials.jsonl").read_bytes() == before
    assert err == f"tinygrad-course tune: error: {tmp_path / 'trials.jsonl'} holds an earlier " \
                  "search's trials: --resume continues it, --force deletes it and starts afresh\n"
    assert run(base + ["--seed", "2", "--force"])[0] == 0  # the seed-1 log was replaced, not mixed in
    assert all(json.loads(line)["search_seed"] == 2
               for line in (tmp_path / "trials.jsonl").read_text().splitlines())


@pytest.mark.parametrize("other", [["--seed", "3"], ["--epochs", "2"], ["--batch-size", "32"],
                                   ["--dataset", "moons"]])
def test_tune_resume_with_other_settings_names_the_one_that_differs(tmp_path, other):
    assert run(TUNE + ["--out", str(tmp_path)])[0] == 0
    code, _, err = run(TUNE + ["--out", str(tmp_path), "--resume", *other])
    assert code == 1 and err.count("\n") == 1 and "tune: error:" in err
    value = other[1] if other[1].isdigit() else repr(other[1])
    assert f"setting {other[0]}=" in err and f"this search has {other[0]}={value}:" in err


# ---- Ctrl-C -------------------------------------------------------------------------------------
def test_ctrl_c_in_demo_is_one_line_and_exit_130_and_nothing_is_left_behind(tmp_path, monkeypatch):
    (tmp_path / "model.npz").write_bytes(b"the previous run's weights")

    def plots_then_ctrl_c(problem, model, history, out):
        (out / "learning_curve.png").write_bytes(PNG_MAGIC)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_plots", plots_then_ctrl_c)
    code, _, err = run(["demo", *SMALL, "--out", str(tmp_path)])
    assert code == 130
    assert err == f"tinygrad-course demo: interrupted; nothing was written; {tmp_path} is as it was\n"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    assert (tmp_path / "model.npz").read_bytes() == b"the previous run's weights"


def test_a_demo_interrupted_while_its_files_move_in_is_marked_incomplete(tmp_path, monkeypatch):
    real_replace, moved = os.replace, []

    def replace(src, dst):
        if Path(dst).parent == tmp_path and moved:
            raise KeyboardInterrupt
        moved.append(dst) if Path(dst).parent == tmp_path else None
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(cli, "_plots", lambda problem, model, history, out: [])  # fast: no PNGs
    code, _, err = run(["demo", *SMALL, "--out", str(tmp_path)])
    assert code == 130 and err.count("\n") == 1
    assert f"{tmp_path} is incomplete (see {tmp_path / cli.INCOMPLETE})" in err
    assert (tmp_path / cli.INCOMPLETE).exists() and not list(tmp_path.glob(".partial-*"))
    monkeypatch.setattr(os, "replace", real_replace)
    assert run(["demo", *SMALL, "--out", str(tmp_path)])[0] == 0
    assert not (tmp_path / cli.INCOMPLETE).exists()


def test_ctrl_c_in_tune_keeps_the_finished_trials_for_resume(tmp_path, monkeypatch):
    real_train, calls = cli.train, []

    def train(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train(*args, **kwargs)

    monkeypatch.setattr(cli, "train", train)
    code, _, err = run(TUNE + ["--out", str(tmp_path)])
    assert code == 130
    assert err == f"tinygrad-course tune: interrupted; 1 finished trial(s) kept in " \
                  f"{tmp_path / 'trials.jsonl'}; --resume runs the rest\n"
    assert run(TUNE + ["--out", str(tmp_path), "--resume"])[0] == 0 and len(calls) == 3


def test_sigint_stops_the_demo_program_with_one_line_and_status_130(tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "tinygrad_course", "demo", "--epochs", "100000",
                             "--no-progress", "--out", str(tmp_path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.readline()  # printed just before training starts
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == f"python -m tinygrad_course demo: interrupted; nothing was written; {tmp_path} " \
                  "is as it was\n"
    assert list(tmp_path.iterdir()) == []


# ---- bad arguments ------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, message", [
    (["demo", "--epochs", "-5"], "argument --epochs: must be >= 1, got -5"),
    (["demo", "--epochs", "ten"], "argument --epochs: expected an integer, got 'ten'"),
    (["demo", "--dataset", "mnist"], "invalid choice: 'mnist' (choose from 'moons', 'circles', "
                                     "'spirals', 'planar_flower', 'blobs', 'football')"),
    (["demo", "--lr", "0"], "argument --lr: must be > 0, got 0"),
    (["demo", "--lr", "nan"], "argument --lr: must be > 0, got nan"),
    (["demo", "--bayes-error", "5"], "argument --bayes-error: is an error rate in [0, 1], got 5"),
    (["demo", "--samples", "3"], "argument --samples: must be >= 20, got 3"),
    (["graph", "--format", "gif"], "invalid choice: 'gif'"),
    (["tune", "--trials", "0"], "argument --trials: must be >= 1, got 0"),
    (["tune", "--hidden", "4"], "unrecognized arguments: --hidden 4"),
    (["train"], "invalid choice: 'train'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_arguments_give_a_one_line_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert re.match(r"tinygrad-course( \w+)?: error: ", err)
    assert message in err and "--help" in err


def test_an_output_path_that_is_a_file_is_a_one_line_error(tmp_path):
    target = tmp_path / "taken"
    target.write_text("")
    code, _, err = run(["demo", *SMALL, "--out", str(target)])
    assert code == 1
    assert err == f"tinygrad-course demo: error: --out {str(target)!r} is a file; give a folder " \
                  "(it is created if needed)\n"


# ---- as a program -------------------------------------------------------------------------------
def test_python_dash_m_help_lists_the_commands_and_examples():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "tinygrad_course", "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: python -m tinygrad_course")
    for command in ("demo", "gradcheck", "graph", "tune"):
        assert re.search(rf"^    {command}\b", proc.stdout, re.M)
    assert "python -m tinygrad_course demo --dataset spirals" in proc.stdout
