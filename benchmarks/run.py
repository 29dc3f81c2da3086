"""Benchmark tinygrad_course against hand-written NumPy (and PyTorch on CPU when installed).

    python benchmarks/run.py [--rounds 15] [--only tiny,course] [--threads 1] [--json FILE]

Implementations are interleaved in rounds (so a noisy neighbour slows all of them alike), each
round times a batch of steps, and the table gives per-step medians, the spread (IQR / median)
and the ratio to hand-written NumPy. Before timing, the first steps of every implementation
must produce the same losses from the same weights, so no one is measured doing less work.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import tracemalloc


def _threads_from_argv() -> str:
    # BLAS reads its thread count when NumPy is imported, so it is set before that import.
    # One thread by default: every implementation gets the same, and results stay stable on
    # a shared machine (a spinning BLAS thread pool is the noisiest thing on a busy box).
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


_THREADS = _threads_from_argv()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _THREADS

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from workloads import MLP_WORKLOADS, CNNWorkload, GradcheckWorkload, XYZWorkload  # noqa: E402

try:  # PyTorch is an optional comparison, never a dependency.
    import torch
    torch.set_num_threads(int(_THREADS))
except ImportError:
    torch = None


def _steps_per_round(step, target_seconds: float) -> int:
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < target_seconds / 4:
        step()
        n += 1
    return max(1, int(n * 4 * target_seconds / max(time.perf_counter() - t0, 1e-9) / 4))


def _time(step, n: int) -> float:
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        return (time.perf_counter() - t0) / n
    finally:
        gc.enable()


def step_memory(make_step) -> tuple[int, int]:
    """(peak bytes allocated during one step after warm-up, bytes the first two calls left
    allocated for later ones: a jitted step's recording and buffers, lazily made optimizer
    state), as traced by tracemalloc once the step is made."""
    gc.collect()
    tracemalloc.start()
    step = make_step()
    made = tracemalloc.get_traced_memory()[0]
    step()
    step()
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - made
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base, kept


def check_same_losses(w, impls: dict) -> None:
    """Three steps from the same weights must give the same losses in every implementation."""
    fresh = {name: make() for name, make in impls.items()}
    losses = {name: [float(step()) for _ in range(3)] for name, step in fresh.items()}
    ref = np.array(losses["numpy"])
    for name, vals in losses.items():
        if not np.allclose(vals, ref, rtol=2e-3, atol=1e-5):
            raise SystemExit(f"{w.name}: {name} losses {vals} differ from hand-written NumPy {list(ref)}")


def run(workloads, rounds: int, seconds: float) -> list:
    results = []
    for w in workloads:
        impls = {"numpy": w.numpy_step, "tinygrad_course": w.ours_step,
                 "tc.jit": lambda w=w: w.ours_step(jit=True)}
        if torch is not None:
            impls["torch"] = lambda w=w: w.torch_step(torch)
        if isinstance(w, (type(MLP_WORKLOADS[0]), CNNWorkload)):
            check_same_losses(w, impls)
        steps = {name: make() for name, make in impls.items()}
        for s in steps.values():
            s()
        n = {name: _steps_per_round(s, seconds) for name, s in steps.items()}
        times = {name: [] for name in steps}
        for _ in range(rounds):
            for name, s in steps.items():
                times[name].append(_time(s, n[name]))
        # tracemalloc sees NumPy's allocations, not PyTorch's, so memory compares ours to NumPy.
        # A step's memory is its peak while it runs; a jitted step's also counts what it keeps
        # between calls beyond what the eager step keeps (the same optimizer state): its
        # recording and its kernels' buffers, allocated before the step it serves.
        traced = {name: step_memory(make) for name, make in impls.items() if name != "torch"}
        mem = {name: peak for name, (peak, _) in traced.items()}
        mem["tc.jit"] += max(traced["tc.jit"][1] - traced["tinygrad_course"][1], 0)
        ref = float(np.median(times["numpy"]))
        row = {"workload": w.name, "impls": {}}
        for name, ts in times.items():
            med = float(np.median(ts))
            q1, q3 = np.percentile(ts, [25, 75])
            row["impls"][name] = {"median_s": med, "spread": float((q3 - q1) / med),
                                  "ratio": med / ref, "peak_bytes": mem.get(name),
                                  "memory_ratio": mem[name] / max(mem["numpy"], 1) if name in mem else None}
        results.append(row)
        _print_row(row)
    return results


def run_gradcheck(rounds: int) -> dict:
    """Full centered differences vs fast mode; the ratio says how much fast mode saves."""
    w = GradcheckWorkload()
    full, fast = w.make(fast=False), w.make(fast=True)
    times = {"full": [], "fast": []}
    for _ in range(max(3, rounds // 3)):
        times["full"].append(_time(full, 1))
        times["fast"].append(_time(fast, 3))
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"{w.name:15s} full {med['full'] * 1e3:8.1f} ms | fast {med['fast'] * 1e3:8.1f} ms "
          f"(fast is {med['full'] / med['fast']:.0f}x quicker)", flush=True)
    return {"workload": w.name, "full_s": med["full"], "fast_s": med["fast"]}


def _print_row(row: dict) -> None:
    parts = []
    for name, r in row["impls"].items():
        mem = f" mem x{r['memory_ratio']:4.2f}" if r["memory_ratio"] is not None else ""
        parts.append(f"{name} {r['median_s'] * 1e6:9.1f} us (±{r['spread'] * 100:4.1f}%) "
                     f"x{r['ratio']:5.2f}{mem}")
    print(f"{row['workload']:15s} " + " | ".join(parts), flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--seconds", type=float, default=0.2, help="time per implementation per round")
    p.add_argument("--only", default="", help="comma-separated workload names")
    p.add_argument("--threads", default="1", help="BLAS/PyTorch threads for every implementation")
    p.add_argument("--json", default=os.path.join(os.path.dirname(__file__), "results.json"))
    args = p.parse_args(argv)
    workloads = [XYZWorkload(False), XYZWorkload(True), *MLP_WORKLOADS, CNNWorkload()]
    if args.only:
        keep = set(args.only.split(","))
        workloads = [w for w in workloads if w.name.split()[0] in keep or w.name in keep]
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
          f"{_THREADS} thread(s); "
          f"median per step over {args.rounds} interleaved rounds; x = ratio to hand-written NumPy")
    results = run(workloads, args.rounds, args.seconds)
    if not args.only or "gradcheck" in args.only.split(","):
        results.append(run_gradcheck(args.rounds))
    with open(args.json, "w") as f:
        json.dump({"numpy": np.__version__, "torch": torch.__version__ if torch else None,
                   "results": results}, f, indent=1)
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
