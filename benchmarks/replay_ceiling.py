"""How fast can a replay be? The tiny, course and deep steps, four ways, in one process:
hand-written NumPy, tc.jit, the op functions tc.jit would replay called in a hand-unrolled
sequence with no bookkeeping at all (gradients wrapped, the same fused optimizer), the replay
kernels of tc.jit's own record called the same way (what a replay costs without the jit's
signature check, routing and slots), and the step
as nothing but NumPy calls into preallocated buffers, with the parameters and their gradients
in one flat buffer and a flat optimizer update (no ops, no checks, no Tensor: what a replay of
NumPy kernels could at best do).

    python benchmarks/replay_ceiling.py [--rounds 9]

The unrolled column is the ceiling of replaying op functions: what is left there is the ops'
own Python and the optimizer's checks. The buffered column is the ceiling of any NumPy replay.
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


def kernels_step(w):
    """The workload's tc.jit record, its replay kernels called one after another with no jit
    around them: each forward on the arrays it was bound to, each backward on the gradient the
    one before returned (an MLP is a chain), the leaves' .grad wrapped, the optimizer's step."""
    import importlib
    jit_module = importlib.import_module("tinygrad_course.jit")
    X, y, weights = w.data()
    recorded = []
    real_compile = jit_module._Entry.compile

    def compile_and_keep(entry):  # (the entry the jit makes when it records)
        recorded.append(entry)
        return real_compile(entry)
    jit_module._Entry.compile = compile_and_keep
    try:
        step = w.ours_step(jit=True)
        step()
    finally:
        jit_module._Entry.compile = real_compile
    entry = recorded[-1]
    kernels = [e for e in entry.events if isinstance(e, jit_module._Kernel)]
    plan = next(e for e in entry.events if isinstance(e, jit_module._Backward))
    call = next(e for e in entry.events if isinstance(e, jit_module._Call) and e.fn.__name__ == "step")
    opt = call.args[0]
    slots = [None] * entry.n_slots
    for pos, s in entry.inputs:
        slots[s] = X if pos == 0 else y
    forward = []
    for k in kernels:
        a = list(k.args)
        for pos, s in k.from_slots:
            a[pos] = slots[s]
        for pos, t in k.from_tensors:
            a[pos] = t.data
        slots[k.out] = k.lowered.forward(k.ctx, *a)
        forward.append((k.lowered.forward, k.ctx, tuple(a)))
    backward = [(plan.lowered[i].backward, ctx, [(j, leaf) for j, _, _, parent, leaf in routes
                                                  if parent is None])
                for i, ctx, _, routes in plan.plan]
    one = np.ones((), X.dtype)

    def run():
        for p in opt.params:
            p.grad = None
        for f, ctx, a in forward:
            out = f(ctx, *a)
        g = one
        for f, ctx, leaves in backward:
            gin = f(ctx, g)
            gin = gin if type(gin) is tuple else (gin,)
            for j, leaf in leaves:
                leaf.grad = Tensor._wrap(gin[j])
            g = gin[0]
        opt.step()
        return out
    return run


def buffered_step(w):
    """The workload's step as NumPy calls into preallocated buffers, with flat parameters and
    gradients (the same arithmetic as NumpyMLP's, in the same order where it matters)."""
    X, y, weights = w.data()
    arrays = [a for pair in weights for a in pair]
    flat_w = np.concatenate([a.ravel() for a in arrays])
    flat_g, v, s, tmp = (np.zeros_like(flat_w) for _ in range(4))
    views, start = [], 0
    for a in arrays:
        views.append((flat_w[start:start + a.size].reshape(a.shape),
                      flat_g[start:start + a.size].reshape(a.shape)))
        start += a.size
    n, m = len(weights), X.shape[0]
    W, B = [views[2 * i][0] for i in range(n)], [views[2 * i + 1][0] for i in range(n)]
    GW, GB = [views[2 * i][1] for i in range(n)], [views[2 * i + 1][1] for i in range(n)]
    Z = [np.empty((m, wt.shape[0]), X.dtype) for wt, _ in weights]
    A = [np.empty((m, wt.shape[0]), X.dtype) for wt, _ in weights[:-1]]
    D = [np.empty((m, wt.shape[1]), X.dtype) for wt, _ in weights]
    T = [np.empty((m, wt.shape[0]), X.dtype) for wt, _ in weights]
    ones = np.ones(m, X.dtype)
    picks = np.arange(m) * weights[-1][0].shape[0] + y
    tanh = w.activation == "tanh"
    t = [0]

    def step():
        a = X
        for i in range(n):
            np.matmul(a, W[i].T, out=Z[i])
            Z[i] += B[i]
            if i < n - 1:
                (np.tanh(Z[i], out=A[i]) if tanh else np.maximum(Z[i], 0, out=A[i]))
                a = A[i]
        shifted = np.subtract(Z[-1], Z[-1].max(axis=1, keepdims=True), out=T[-1])
        p = np.exp(shifted)
        total = p.sum(axis=1, keepdims=True)
        loss = float((np.add.reduce(np.log(total), axis=None) - np.add.reduce(shifted.take(picks), axis=None)) / m)
        p /= total
        dz = p
        dz.put(picks, dz.take(picks) - 1)
        dz /= m
        for i in range(n - 1, -1, -1):
            np.matmul(dz.T, X if i == 0 else A[i - 1], out=GW[i])
            np.matmul(ones, dz, out=GB[i])
            if i:
                da, d = np.matmul(dz, W[i], out=D[i]), T[i - 1]
                if tanh:
                    np.multiply(A[i - 1], A[i - 1], out=d)
                    np.subtract(1, d, out=d)
                    np.multiply(da, d, out=d)
                else:
                    np.multiply(da, A[i - 1] > 0, out=d)
                dz = d
        if w.optimizer == "sgd":
            np.multiply(flat_g, w.lr, out=tmp)
        elif w.optimizer == "momentum":
            np.multiply(flat_g, 0.1, out=tmp)
            v.__imul__(0.9)
            v.__iadd__(tmp)
            np.multiply(v, w.lr, out=tmp)
        else:
            t[0] += 1
            c1, root_c2 = 1 - 0.9 ** t[0], np.sqrt(1 - 0.999 ** t[0])
            np.square(flat_g, out=tmp)
            np.multiply(tmp, 0.001, out=tmp)
            s.__imul__(0.999)
            s.__iadd__(tmp)
            np.multiply(flat_g, 0.1, out=tmp)
            v.__imul__(0.9)
            v.__iadd__(tmp)
            np.sqrt(s, out=tmp)
            np.add(tmp, 1e-8 * root_c2, out=tmp)
            np.divide(v, tmp, out=tmp)
            np.multiply(tmp, w.lr * root_c2 / c1, out=tmp)
        flat_w.__isub__(tmp)
        return loss
    return step


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=9)
    args = p.parse_args(argv)
    for w in [w for w in MLP_WORKLOADS if w.name in ("tiny", "course", "deep")]:
        # Three steps from the same weights must give the same losses: no one does less work.
        reference, jitted = w.numpy_step(), w.ours_step(jit=True)
        jitted()  # (the kernels' step starts after the update its recording made)
        others = {"unrolled": (unrolled_step(w), reference), "kernels": (kernels_step(w), jitted),
                  "buffered": (buffered_step(w), reference)}
        for _ in range(3):
            losses = {id(r): float(r()) for r in (reference, jitted)}
            for name, (step, ref) in others.items():
                a, b = losses[id(ref)], float(step())
                if not np.isclose(a, b, rtol=2e-3):
                    raise SystemExit(f"{w.name}: the {name} step's loss {b} differs from {a}")
        steps = {"numpy": w.numpy_step(), "tc.jit": w.ours_step(jit=True),
                 "unrolled ops": unrolled_step(w), "replay kernels": kernels_step(w),
                 "NumPy calls into buffers": buffered_step(w)}
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
