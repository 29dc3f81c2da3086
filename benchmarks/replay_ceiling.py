"""How fast can a replay of the ops' own functions be? The course and deep steps, three ways, in one
process: hand-written NumPy, tc.jit, and the same op forward/backward functions called in a
hand-unrolled sequence with no bookkeeping at all (gradients wrapped, the same fused optimizer).

    python benchmarks/replay_ceiling.py [--rounds 9]

The unrolled column is the ceiling of replaying op functions: what is left there is the ops'
own Python and NumPy's allocations, which only recording at the level of NumPy calls removes.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from tinygrad_course import optim  # noqa: E402
from tinygrad_course.nn.loss_functions import SoftmaxCrossEntropy  # noqa: E402
from tinygrad_course.ops.activations import ReLU, Tanh  # noqa: E402
from tinygrad_course.ops.linalg import Linear  # noqa: E402
from tinygrad_course.tensor import Tensor  # noqa: E402
from workloads import MLP_WORKLOADS  # noqa: E402


def _ctx(cls, needs: tuple):
    ctx = object.__new__(cls)
    ctx.needs_input_grad, ctx.saved = needs, ()
    return ctx


def unrolled_step(w):
    """The workload's step as direct calls of the op functions tc.jit would replay."""
    X, y, weights = w.data()
    params = [Tensor(a.copy(), requires_grad=True) for pair in weights for a in pair]
    opt = {"adam": lambda p: optim.Adam(p, lr=w.lr),
           "momentum": lambda p: optim.Momentum(p, lr=w.lr, beta=0.9),
           "sgd": lambda p: optim.SGD(p, lr=w.lr)}[w.optimizer](params)
    act = {"relu": ReLU, "tanh": Tanh}[w.activation]
    n = len(weights)
    lins = [_ctx(Linear, (i > 0, True, True)) for i in range(n)]
    acts = [_ctx(act, (True,)) for _ in range(n - 1)]
    loss_ctx = _ctx(SoftmaxCrossEntropy, (True, False, False, False))
    one = np.ones((), X.dtype)

    def step():
        opt.zero_grad()
        a = X
        for i in range(n):
            lins[i].saved = ()
            z = Linear.forward(lins[i], a, params[2 * i].data, params[2 * i + 1].data)
            if i < n - 1:
                acts[i].saved = ()
                a = act.forward(acts[i], z)
        loss_ctx.saved = ()
        loss = SoftmaxCrossEntropy.forward(loss_ctx, z, None, y, "mean")
        g = SoftmaxCrossEntropy.backward(loss_ctx, one)[0]
        for i in range(n - 1, -1, -1):
            ga, gw, gb = Linear.backward(lins[i], g)
            params[2 * i].grad, params[2 * i + 1].grad = Tensor._wrap(gw), Tensor._wrap(gb)
            if i:
                g = act.backward(acts[i - 1], ga)
        opt.step()
        return loss
    return step


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args(argv)
    for w in [w for w in MLP_WORKLOADS if w.name in ("tiny", "course", "deep")]:
        # Three steps from the same weights must give the same losses: no one does less work.
        reference, unrolled = w.numpy_step(), unrolled_step(w)
        for _ in range(3):
            a, b = float(reference()), float(unrolled())
            if not np.isclose(a, b, rtol=2e-3):
                raise SystemExit(f"{w.name}: the unrolled step's loss {b} differs from NumPy's {a}")
        steps = {"numpy": w.numpy_step(), "tc.jit": w.ours_step(jit=True), "unrolled ops": unrolled_step(w)}
        n = {"tiny": 300, "course": 300}.get(w.name, 60)
        times = {k: [] for k in steps}
        for s in steps.values():
            for _ in range(10):
                s()
        gc.disable()
        for _ in range(args.rounds):
            for k, s in steps.items():
                t0 = time.perf_counter()
                for _ in range(n):
                    s()
                times[k].append((time.perf_counter() - t0) / n)
        gc.enable()
        med = {k: float(np.median(v)) for k, v in times.items()}
        print(f"{w.name:7s} " + " | ".join(f"{k} {v * 1e6:7.1f} us x{v / med['numpy']:.3f}"
                                          for k, v in med.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
