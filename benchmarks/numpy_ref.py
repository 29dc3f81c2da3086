"""The same models written by hand in NumPy: forward, backward and update, in place where NumPy
allows. This is the limit a NumPy framework can reach, so every ratio is measured against it."""
from __future__ import annotations

import numpy as np

ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z, a: z > 0),
    "tanh": (np.tanh, lambda z, a: 1 - a * a),
}


class NumpyMLP:
    """An MLP with softmax cross-entropy, trained by SGD, Momentum or Adam, all by hand."""

    def __init__(self, weights: list, activation: str, optimizer: str, lr: float):
        self.W = [w.copy() for w, _ in weights]
        self.b = [b.copy() for _, b in weights]
        self.act, self.dact = ACTIVATIONS[activation]
        self.optimizer, self.lr = optimizer, lr
        self.b1, self.b2, self.eps, self.t = 0.9, 0.999, 1e-8, 0
        params = self.W + self.b
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]

    def step(self, X: np.ndarray, y: np.ndarray) -> float:
        n = len(self.W)
        zs, acts = [], [X]
        a = X
        for i in range(n):
            z = a @ self.W[i].T
            z += self.b[i]
            zs.append(z)
            a = self.act(z) if i < n - 1 else z
            acts.append(a)
        logits = acts[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        m = X.shape[0]
        rows = np.arange(m)
        loss = float(np.log(s[:, 0]).mean() - shifted[rows, y].mean())
        dz = e / s
        dz[rows, y] -= 1
        dz /= m
        grads_w, grads_b = [None] * n, [None] * n
        for i in range(n - 1, -1, -1):
            grads_w[i] = dz.T @ acts[i]
            grads_b[i] = dz.sum(axis=0)
            if i:
                da = dz @ self.W[i]
                dz = da * self.dact(zs[i - 1], acts[i])
        self._update(self.W + self.b, grads_w + grads_b)
        return loss

    def _update(self, params: list, grads: list) -> None:
        lr = self.lr
        if self.optimizer == "sgd":
            for p, g in zip(params, grads):
                g *= lr
                p -= g
        elif self.optimizer == "momentum":
            for p, g, v in zip(params, grads, self.m):
                v *= self.b1
                g *= 1 - self.b1
                v += g
                np.multiply(v, lr, out=g)
                p -= g
        else:
            self.t += 1
            c1 = 1 - self.b1 ** self.t
            c2 = 1 - self.b2 ** self.t
            for p, g, m, v, tmp in zip(params, grads, self.m, self.v, self.tmp):
                m *= self.b1
                np.multiply(g, 1 - self.b1, out=tmp)
                m += tmp
                v *= self.b2
                np.multiply(g, g, out=tmp)
                tmp *= 1 - self.b2
                v += tmp
                np.divide(v, c2, out=tmp)
                np.sqrt(tmp, out=tmp)
                tmp += self.eps
                np.divide(m, tmp, out=tmp)
                tmp *= lr / c1
                p -= tmp


def xyz_forward(x, y, z):
    return x * y + z


def xyz_forward_backward(x, y, z):
    out = x * y + z
    total = out.sum()
    g = np.ones_like(out)
    return total, g * y, g * x, g
