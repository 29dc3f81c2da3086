"""What letting go of a step's arrays after backward costs the eager engine: the `x*y + z`, tiny,
course and deep steps with `backward._release` as it is and switched off, alternated in rounds in
one process (the same steps, the same arrays), median per step.

    python benchmarks/release_cost.py [--rounds 15]

Issue "One engine" asks for both: nodes that let go of what they no longer need after a backward
without retain_graph (so a loss kept for plotting does not keep a step's activations alive), and
a speed budget set from a plain engine that did not.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import tinygrad_course as tc  # noqa: E402
from workloads import MLP_WORKLOADS, XYZWorkload  # noqa: E402

backward_module = importlib.import_module("tinygrad_course.backward")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=15)
    rounds = p.parse_args(argv).rounds
    release = backward_module._release
    variants = {"with release": release, "without": lambda node: None}
    xyz = XYZWorkload(True)
    steps = [(xyz.name, xyz._step(lambda a, requires_grad: tc.Tensor(a, requires_grad=requires_grad)),
              3000)]
    steps += [(w.name, w.ours_step(), {"deep": 60}.get(w.name, 300))
              for w in MLP_WORKLOADS if w.name in ("tiny", "course", "deep")]
    try:
        for name, step, n in steps:
            for _ in range(20):
                step()
            times = {k: [] for k in variants}
            gc.disable()
            for _ in range(rounds):
                for k, f in variants.items():
                    backward_module._release = f
                    t0 = time.perf_counter()
                    for _ in range(n):
                        step()
                    times[k].append((time.perf_counter() - t0) / n)
            gc.enable()
            med = {k: float(np.median(v)) * 1e6 for k, v in times.items()}
            print(f"{name:14s} with release {med['with release']:8.1f} us | without "
                  f"{med['without']:8.1f} us | release costs {med['with release'] - med['without']:6.1f} us")
    finally:
        backward_module._release = release
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
