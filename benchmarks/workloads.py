"""The benchmark workloads, each defined once and built for every implementation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import tinygrad_course as tc

from numpy_ref import NumpyCNN, NumpyMLP, xyz_forward, xyz_forward_backward


@dataclass
class MLPWorkload:
    """An MLP trained with softmax cross-entropy on random data."""

    name: str
    sizes: list
    activation: str
    optimizer: str
    batch: int
    lr: float
    dtype: type = np.float32

    def data(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((self.batch, self.sizes[0])).astype(self.dtype)
        y = rng.integers(0, self.sizes[-1], self.batch)
        weights = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            scale = np.sqrt((2.0 if self.activation == "relu" else 1.0) / n_in)
            weights.append(((rng.standard_normal((n_out, n_in)) * scale).astype(self.dtype),
                            np.zeros(n_out, self.dtype)))
        return X, y, weights

    def numpy_step(self):
        X, y, weights = self.data()
        model = NumpyMLP(weights, self.activation, self.optimizer, self.lr)
        return lambda: model.step(X, y)

    def ours_step(self, jit: bool = False):
        from tinygrad_course import nn, optim
        from tinygrad_course.nn import functional as F

        X, y, weights = self.data()
        layers = []
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[self.activation]
        for i, (w, b) in enumerate(weights):
            lin = nn.Linear(w.shape[1], w.shape[0])
            lin.weight.data[...] = w
            lin.bias.data[...] = b
            layers.append(lin)
            if i < len(weights) - 1:
                layers.append(act())
        model = nn.Sequential(*layers)
        opt = {"sgd": lambda p: optim.SGD(p, lr=self.lr),
               "momentum": lambda p: optim.Momentum(p, lr=self.lr, beta=0.9),
               "adam": lambda p: optim.Adam(p, lr=self.lr)}[self.optimizer](model.parameters())
        Xt, yt = tc.Tensor(X), tc.Tensor(y)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        step = tc.jit(step) if jit else step
        return lambda: step(Xt, yt).item()

    def torch_step(self, torch):
        X, y, weights = self.data()
        layers = []
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[self.activation]
        for i, (w, b) in enumerate(weights):
            lin = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if i < len(weights) - 1:
                layers.append(act())
        model = torch.nn.Sequential(*layers)
        if self.optimizer == "sgd":
            opt = torch.optim.SGD(model.parameters(), lr=self.lr)
        elif self.optimizer == "momentum":
            # The course's v = b v + (1 - b) g is (1 - b) times PyTorch's buffer b v + g
            # (PyTorch skips dampening on the first step), so scale its lr by 1 - b.
            opt = torch.optim.SGD(model.parameters(), lr=self.lr * 0.1, momentum=0.9)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss = loss_fn(model(Xt), yt)
            loss.backward()
            opt.step()
            return loss.item()
        return step


MLP_WORKLOADS = [
    MLPWorkload("tiny", [2, 100, 3], "relu", "sgd", 300, 0.1),
    MLPWorkload("course", [64, 128, 64, 10], "relu", "adam", 64, 1e-3),
    MLPWorkload("wide", [784, 1024, 1024, 10], "relu", "adam", 512, 1e-3),
    MLPWorkload("deep", [64] * 21 + [10], "tanh", "momentum", 64, 0.01),
]


class XYZWorkload:
    """x*y + z on 16-element float32 tensors: pure per-op overhead."""

    def __init__(self, backward: bool):
        self.backward = backward
        self.name = "x*y+z fwd+bwd" if backward else "x*y+z forward"

    def _data(self):
        rng = np.random.default_rng(0)
        return [rng.standard_normal(16).astype(np.float32) for _ in range(3)]

    def numpy_step(self):
        x, y, z = self._data()
        f = xyz_forward_backward if self.backward else xyz_forward
        return lambda: f(x, y, z)

    def _step(self, make_tensor, jit=lambda f: f):
        # The same code runs on our Tensor and PyTorch's: only the constructor differs.
        x, y, z = (make_tensor(a, requires_grad=self.backward) for a in self._data())
        if not self.backward:
            forward = jit(lambda x, y, z: x * y + z)
            return lambda: forward(x, y, z)

        backward = jit(lambda x, y, z: (x * y + z).sum().backward())

        def step():
            # Outside the jitted part: a replay does not rerun the step's Python assignments.
            x.grad = y.grad = z.grad = None
            backward(x, y, z)
        return step

    def ours_step(self, jit: bool = False):
        return self._step(tc.Tensor, tc.jit if jit else (lambda f: f))

    def torch_step(self, torch):
        return self._step(torch.tensor)


class GradcheckWorkload:
    """Gradient checking of a 3-layer model (2 -> 16 -> 8 -> 1 on 32 examples): every element by
    centered differences, against `fast=True` (random directional derivatives)."""

    name = "gradcheck 3-layer"

    def make(self, fast: bool):
        from tinygrad_course import nn

        rng = np.random.default_rng(0)
        X = tc.Tensor(rng.standard_normal((32, 2)))
        y = tc.Tensor((rng.random((32, 1)) > 0.5).astype(np.float64))
        sizes = [2, 16, 8, 1]
        params = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            params.append(tc.Tensor(rng.standard_normal((n_out, n_in)) * np.sqrt(2 / n_in), requires_grad=True))
            params.append(tc.Tensor(np.zeros(n_out), requires_grad=True))

        def loss(W1, b1, W2, b2, W3, b3):
            h = tc.linear(X, W1, b1).relu()
            h = tc.linear(h, W2, b2).relu()
            return nn.F.binary_cross_entropy_with_logits(tc.linear(h, W3, b3), y)

        return lambda: tc.gradcheck(loss, params, fast=fast)


class CNNWorkload:
    """A small CNN on 8x8 digit-sized images (conv 1->8 3x3 pad 1, ReLU, max-pool 2, conv 8->16
    3x3 pad 1, ReLU, max-pool 2, linear 64->10), batch 64, Adam; written with tc ops directly."""

    name = "cnn"
    batch, lr = 64, 1e-3

    def data(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        X = rng.random((self.batch, 1, 8, 8)).astype(np.float32)
        y = rng.integers(0, 10, self.batch)
        shapes = [((8, 1, 3, 3), 9), ((16, 8, 3, 3), 72), ((10, 64), 64)]
        weights = [((rng.standard_normal(s) * np.sqrt(2 / fan_in)).astype(np.float32),
                    np.zeros(s[0], np.float32)) for s, fan_in in shapes]
        return X, y, weights

    def numpy_step(self):
        X, y, weights = self.data()
        model = NumpyCNN(weights, self.lr)
        return lambda: model.step(X, y)

    def ours_step(self, jit: bool = False):
        from tinygrad_course import nn, optim

        X, y, weights = self.data()
        (w1, b1), (w2, b2), (w3, b3) = [(tc.Tensor(w, requires_grad=True), tc.Tensor(b, requires_grad=True))
                                        for w, b in weights]
        opt = optim.Adam([w1, b1, w2, b2, w3, b3], lr=self.lr)
        Xt, yt = tc.Tensor(X), tc.Tensor(y)

        def step(x, y):
            opt.zero_grad()
            h = tc.max_pool2d(tc.conv2d(x, w1, b1, padding=1).relu(), 2)
            h = tc.max_pool2d(tc.conv2d(h, w2, b2, padding=1).relu(), 2)
            loss = nn.F.cross_entropy(tc.linear(h.reshape(self.batch, -1), w3, b3), y)
            loss.backward()
            opt.step()
            return loss
        step = tc.jit(step) if jit else step
        return lambda: step(Xt, yt).item()

    def torch_step(self, torch):
        F = torch.nn.functional
        X, y, weights = self.data()
        (w1, b1), (w2, b2), (w3, b3) = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
                                        for w, b in weights]
        opt = torch.optim.Adam([w1, b1, w2, b2, w3, b3], lr=self.lr)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

        def step():
            opt.zero_grad()
            h = F.max_pool2d(F.relu(F.conv2d(Xt, w1, b1, padding=1)), 2)
            h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)
            loss = F.cross_entropy(F.linear(h.reshape(self.batch, -1), w3, b3), yt)
            loss.backward()
            opt.step()
            return loss.item()
        return step
