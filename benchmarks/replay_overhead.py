"""What a tc.jit replay costs beyond its NumPy work: the tiny, course and deep steps replayed
with every replay kernel's NumPy calls taken out (each returns the arrays it returned last) and
the optimizer's step and zero_grad made to do nothing. What is left is the jit's own Python: the
signature check, moving arrays between kernels, the backward plan, the leaves' .grad tensors.

    python benchmarks/replay_overhead.py [--rounds 7]

Compare it with the hand-written NumPy step: a replay cannot be faster than NumPy's step minus
the work NumPy does that the replay does not (see replay_ceiling.py for that limit).
"""
from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import timeit

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tinygrad_course as tc  # noqa: E402
from workloads import MLP_WORKLOADS  # noqa: E402

jit_module = importlib.import_module("tinygrad_course.jit")


def _replaying_last(fn):
    """fn, then at later calls only the result of that first call (no NumPy work)."""
    last = []

    def run(*args):
        if not last:
            last.append(fn(*args))
        return last[0]
    return run


def hollow_step(w):
    """The workload's jitted step, recorded, with its kernels' NumPy work and its optimizer
    calls taken out."""
    step = w.ours_step(jit=True)
    step()
    step()
    jitted = next(o for o in gc.get_objects() if isinstance(o, tc.jit))
    entry = jitted._last[0]
    for event in entry.events:
        if isinstance(event, jit_module._Kernel) and event.lowered is not None:
            event.lowered.forward = _replaying_last(event.lowered.forward)
        elif isinstance(event, jit_module._Backward):
            for lowered in event.lowered.values():
                lowered.backward = _replaying_last(lowered.backward)
        elif isinstance(event, jit_module._Call):
            event.fn = lambda *args, **kwargs: None
    entry.compile()
    not_lowered = [e.name for e in entry.events
                   if isinstance(e, jit_module._Kernel) and e.lowered is None]
    return step, not_lowered


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=7, help="timings of 300 steps; the best is kept")
    rounds = p.parse_args(argv).rounds
    for w in MLP_WORKLOADS:
        if w.name not in ("tiny", "course", "deep"):
            continue
        numpy_step = w.numpy_step()
        step, not_lowered = hollow_step(w)
        step()
        gc.collect()
        t_numpy = min(timeit.repeat(numpy_step, number=300, repeat=rounds)) / 300
        t_hollow = min(timeit.repeat(step, number=300, repeat=rounds)) / 300
        extra = f" (kernels still doing their work: {', '.join(not_lowered)})" if not_lowered else ""
        print(f"{w.name:7s} hand-written NumPy {t_numpy * 1e6:7.1f} us | replay without its NumPy "
              f"work {t_hollow * 1e6:6.1f} us = x{t_hollow / t_numpy:.3f} of NumPy's step{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
