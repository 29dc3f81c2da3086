"""What the allocator does to a training step: tiny, course and deep, hand-written NumPy against
tc.jit replaying the ops' own functions and tc.jit replaying the ops' kernels into their buffers
(lowering.py), under glibc's two extremes: a heap trimmed at every free (MALLOC_TRIM_THRESHOLD_=0:
every step's arrays fault their pages in again) and one never trimmed.

    python benchmarks/allocator.py [--rounds 7]

Each implementation runs alone in its own process (`--repeats` processes each, interleaved; the
median is shown). Which regime a process gets by default depends on where its long-lived
arrays sit in the heap, so a step can run 10-40% slower in one process than in the next; a
replay into buffers allocates nothing per step and runs the same in both. Linux with glibc.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import os
import subprocess
import sys
import time

REGIMES = {"trimmed at every free": {"MALLOC_TRIM_THRESHOLD_": "0"},
           "never trimmed": {"MALLOC_TRIM_THRESHOLD_": str(10**9), "MALLOC_MMAP_THRESHOLD_": str(10**9)}}


VARIANTS = ("numpy", "tc.jit, ops' functions", "tc.jit, into buffers")


def measure(name: str, variant: str, rounds: int) -> float:
    """The median step time (seconds) of one implementation, alone in this process."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import numpy as np

    from workloads import MLP_WORKLOADS
    jit = importlib.import_module("tinygrad_course.jit")
    w = next(w for w in MLP_WORKLOADS if w.name == name)
    if variant == "numpy":
        step = w.numpy_step()
    else:
        real = jit.lower
        if variant != "tc.jit, into buffers":
            jit.lower = lambda *args: None
        try:
            step = w.ours_step(jit=True)
            step()  # recorded here, with or without the kernels into buffers
        finally:
            jit.lower = real
    for _ in range(10):
        step()
    n, times = {"tiny": 200, "course": 200}.get(name, 50), []
    gc.disable()
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        times.append((time.perf_counter() - t0) / n)
    return float(np.median(times))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3, help="processes per implementation")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # workload, variant
    args = p.parse_args(argv)
    if args.child:
        print(measure(*args.child, args.rounds))
        return 0
    for regime, env in REGIMES.items():
        print(f"heap {regime}:")
        for name in ("tiny", "course", "deep"):
            runs = {v: [] for v in VARIANTS}
            for _ in range(args.repeats):  # processes interleaved, so drift hits all alike
                for v in VARIANTS:
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", name, v, "--rounds", str(args.rounds)],
                        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", **env},
                        capture_output=True, text=True, check=True).stdout
                    runs[v].append(float(out))
            med = {v: sorted(t)[len(t) // 2] for v, t in runs.items()}
            print(f"  {name:7s} " + " | ".join(f"{v} {t * 1e6:6.1f} us x{t / med['numpy']:.2f}"
                                              for v, t in med.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
