"""The command line: `python -m tinygrad_course demo`."""
from __future__ import annotations

import argparse

import numpy as np


def _demo(args) -> int:
    import tinygrad_course as tc

    tc.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    m = 400
    theta = rng.uniform(0, 2 * np.pi, m)
    r = np.where(np.arange(m) % 2 == 0, 1.0, 2.0) + rng.normal(0, 0.1, m)
    X = tc.tensor(np.stack([r * np.cos(theta), r * np.sin(theta)], 1).astype(np.float32))
    y = tc.tensor((np.arange(m) % 2).astype(np.float32).reshape(-1, 1))
    W1 = (tc.randn(2, 16) * np.sqrt(2 / 2)).requires_grad_()
    b1 = tc.zeros(16, requires_grad=True)
    W2 = (tc.randn(16, 1) * np.sqrt(2 / 16)).requires_grad_()
    b2 = tc.zeros(1, requires_grad=True)
    params = [W1, b1, W2, b2]
    for epoch in range(args.epochs):
        a = ((X @ W1 + b1).relu() @ W2 + b2).sigmoid().clip(1e-7, 1 - 1e-7)
        loss = -(y * a.log() + (1 - y) * (1 - a).log()).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with tc.no_grad():
            for p in params:
                p -= args.lr * p.grad
        if epoch % (args.epochs // 10) == 0 or epoch == args.epochs - 1:
            acc = float(((a.data > 0.5) == (y.data > 0.5)).mean())
            print(f"epoch {epoch:4d}  loss {loss.item():.4f}  train accuracy {acc:.3f}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tinygrad-course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small network on a built-in dataset")
    demo.add_argument("--epochs", type=int, default=500)
    demo.add_argument("--lr", type=float, default=0.5)
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return {"demo": _demo}[args.command](args)
