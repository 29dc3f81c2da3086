"""The README's benchmark command keeps working: a one-round run of the small workloads prints
the table (after its check that every implementation computes the same losses) and writes JSON."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_one_round_benchmark_run_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--rounds", "1",
         "--seconds", "0.002", "--only", "x*y+z,tiny,gradcheck", "--json", str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ("x*y+z forward", "x*y+z fwd+bwd", "tiny", "gradcheck 3-layer"):
        assert name in proc.stdout
    results = json.loads(out.read_text())["results"]
    rows = {r["workload"]: r for r in results}
    assert set(rows) == {"x*y+z forward", "x*y+z fwd+bwd", "tiny", "gradcheck 3-layer"}
    for name in ("x*y+z forward", "x*y+z fwd+bwd", "tiny"):
        impls = rows[name]["impls"]
        assert impls["numpy"]["ratio"] == 1.0
        assert impls["tinygrad_course"]["median_s"] > 0
        assert impls["tinygrad_course"]["memory_ratio"] > 0
    assert rows["gradcheck 3-layer"]["full_s"] > rows["gradcheck 3-layer"]["fast_s"] > 0


def test_the_replay_ceiling_benchmark_runs_and_checks_its_losses():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "replay_ceiling.py"),
                           "--rounds", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ("course", "deep"):
        line = next(l for l in proc.stdout.splitlines() if l.startswith(name))
        assert "tc.jit" in line and "unrolled ops" in line


def test_the_replay_overhead_benchmark_runs_on_the_jits_recordings():
    # (it reaches into tc.jit's recorded events: this keeps it in step with jit.py)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "replay_overhead.py"),
                           "--rounds", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ("tiny", "course", "deep"):
        line = next(l for l in proc.stdout.splitlines() if l.startswith(name))
        assert "replay without its NumPy work" in line and "still doing" not in line


def test_the_release_cost_benchmark_runs_and_puts_release_back():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "release_cost.py"),
                           "--rounds", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ("x*y+z fwd+bwd", "tiny", "course", "deep"):
        line = next(l for l in proc.stdout.splitlines() if l.startswith(name))
        assert "release costs" in line
