"""The optimizer step alone, on the parameters of the tiny, course and deep workloads (µs, min
of 7 runs of 2000 steps; gradients of 1e-3 set before each step, as backward would):

    python benchmarks/optimizer_step.py

Run it at two commits (a `git worktree` of the older one, with PYTHONPATH pointing at it) to
compare optimizer changes on one machine in one session.
"""
from __future__ import annotations

import os
import sys
import timeit

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import tinygrad_course as tc  # noqa: E402
from tinygrad_course import optim  # noqa: E402
from workloads import MLP_WORKLOADS  # noqa: E402


def step_of(w):
    """The workload's optimizer (foreach=True) over copies of its weights, and one step of it."""
    _, _, weights = w.data()
    params = [tc.Tensor(a.copy(), requires_grad=True) for pair in weights for a in pair]
    grads = [np.full_like(p.data, 1e-3) for p in params]
    make = {"adam": lambda: optim.Adam(params, lr=w.lr, foreach=True),
            "momentum": lambda: optim.Momentum(params, lr=w.lr, beta=0.9, foreach=True),
            "sgd": lambda: optim.SGD(params, lr=w.lr, foreach=True)}[w.optimizer]
    opt = make()

    def step():
        for p, g in zip(params, grads):
            p.grad = tc.Tensor(g)
        opt.step()
    return step


def main() -> int:
    print(f"tinygrad_course from {os.path.dirname(tc.__file__)}")
    for w in MLP_WORKLOADS:
        if w.name == "wide":  # its large parameters step alone: nothing fused to measure
            continue
        step = step_of(w)
        step()
        t = min(timeit.repeat(step, number=2000, repeat=7)) / 2000
        print(f"{w.name:7s} {w.optimizer:9s} {t * 1e6:7.1f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
