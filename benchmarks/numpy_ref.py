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


class NumpyCNN(NumpyMLP):
    """conv 1->8 3x3 pad 1, ReLU, max-pool 2, conv 8->16 3x3 pad 1, ReLU, max-pool 2, linear
    64->10, softmax cross-entropy, Adam: im2col convolutions and reshape max-pools, by hand."""

    def __init__(self, weights: list, lr: float):
        super().__init__(weights, "relu", "adam", lr)

    @staticmethod
    def _im2col(x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        xp = np.zeros((n, c, h + 2, w + 2), x.dtype)
        xp[:, :, 1:-1, 1:-1] = x
        win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))  # (N, C, H, W, 3, 3)
        return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * 9)

    @staticmethod
    def _col2im(dcols: np.ndarray, shape: tuple) -> np.ndarray:
        n, c, h, w = shape
        d = dcols.reshape(n, h, w, c, 3, 3)
        dxp = np.zeros((n, c, h + 2, w + 2), dcols.dtype)
        for p in range(3):
            for q in range(3):
                dxp[:, :, p:p + h, q:q + w] += d[:, :, :, :, p, q].transpose(0, 3, 1, 2)
        return dxp[:, :, 1:-1, 1:-1]

    def _conv_relu_pool(self, x, i):
        n, c, h, w = x.shape
        cols = self._im2col(x)
        z = cols @ self.W[i].reshape(self.W[i].shape[0], -1).T
        z += self.b[i]
        o = z.shape[1]
        a = np.maximum(z, 0).reshape(n, h, w, o).transpose(0, 3, 1, 2)  # NCHW
        win = a.reshape(n, o, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, o, h // 2, w // 2, 4)
        arg = win.argmax(axis=-1)
        out = np.take_along_axis(win, arg[..., None], -1)[..., 0]
        return out, (cols, z, arg, x.shape)

    def _conv_relu_pool_backward(self, dout, cache, i, need_dx: bool):
        cols, z, arg, (n, c, h, w) = cache
        o = z.shape[1]
        d4 = np.zeros(dout.shape + (4,), dout.dtype)
        np.put_along_axis(d4, arg[..., None], dout[..., None], -1)
        da = d4.reshape(n, o, h // 2, w // 2, 2, 2).transpose(0, 2, 4, 3, 5, 1).reshape(-1, o)  # NHWC rows
        dz = da * (z > 0)
        dw = (dz.T @ cols).reshape(self.W[i].shape)
        db = dz.sum(axis=0)
        dx = self._col2im(dz @ self.W[i].reshape(o, -1), (n, c, h, w)) if need_dx else None
        return dx, dw, db

    def step(self, X: np.ndarray, y: np.ndarray) -> float:
        h1, c1 = self._conv_relu_pool(X, 0)
        h2, c2 = self._conv_relu_pool(h1, 1)
        m = X.shape[0]
        flat = h2.reshape(m, -1)
        logits = flat @ self.W[2].T
        logits += self.b[2]
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(m)
        loss = float(np.log(s[:, 0]).mean() - shifted[rows, y].mean())
        dz = e / s
        dz[rows, y] -= 1
        dz /= m
        dw3, db3 = dz.T @ flat, dz.sum(axis=0)
        dh2 = (dz @ self.W[2]).reshape(h2.shape)
        dh1, dw2, db2 = self._conv_relu_pool_backward(dh2, c2, 1, True)
        _, dw1, db1 = self._conv_relu_pool_backward(dh1, c1, 0, False)
        self._update(self.W + self.b, [dw1, dw2, dw3, db1, db2, db3])
        return loss
