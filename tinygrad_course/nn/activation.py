"""Activations as modules, each one graph node: ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax."""
from __future__ import annotations

from ..ops import activations as A
from .module import Module


class ReLU(Module):
    """relu(z) = max(z, 0)."""

    def forward(self, x):
        return A.ReLU.apply(x)


class LeakyReLU(Module):
    """leaky_relu(z) = z if z > 0 else negative_slope * z."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return A.LeakyReLU.apply(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """sigmoid(z) = 1 / (1 + e^-z)."""

    def forward(self, x):
        return A.Sigmoid.apply(x)


class Tanh(Module):
    """tanh(z)."""

    def forward(self, x):
        return A.Tanh.apply(x)


class _AlongAxis(Module):
    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = int(axis)

    def _axis(self, x) -> int:
        nd = len(x.shape)
        if not -nd <= self.axis < nd or nd == 0:
            raise ValueError(f"{self._where()}: axis {self.axis} is out of range for an input of "
                             f"shape {tuple(x.shape)}")
        return self.axis % nd

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Softmax(_AlongAxis):
    """softmax(z)_i = e^z_i / sum_j e^z_j along `axis` (the classes; the last axis by default,
    since examples are rows)."""

    def forward(self, x):
        return A.Softmax.apply(x, self._axis(x))


class LogSoftmax(_AlongAxis):
    """log_softmax(z) = z - logsumexp(z) along `axis`."""

    def forward(self, x):
        return A.LogSoftmax.apply(x, self._axis(x))
