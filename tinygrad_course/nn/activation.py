"""Activations as modules, each one graph node: ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax,
and PyTorch's GELU, SiLU, ELU, SELU, CELU, Softplus, Softsign, Mish, ReLU6, Hardtanh, Hardsigmoid,
Hardswish, LogSigmoid, Softmin (same constructor arguments; `inplace` is accepted and ignored:
the output is always a new tensor)."""
from __future__ import annotations

from ..ops import activations as A
from ..ops.common import torch_axis
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
    def __init__(self, axis: int | None = None, *, dim: int | None = None):
        super().__init__()
        axis, _ = torch_axis(type(self).__name__, axis, dim)
        self.axis = -1 if axis is None else int(axis)

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


class Softmin(_AlongAxis):
    """softmin(z) = softmax(-z) along `axis` (PyTorch's `dim`; the last axis by default)."""

    def forward(self, x):
        return A.softmin(x, self._axis(x))


class _Pointwise(Module):
    """An activation with fixed arguments: `_fn(x, **self._args)`; `inplace` is PyTorch's flag,
    accepted and ignored (the result is always a new tensor, so the input stays usable)."""

    _fn = None

    def __init__(self, inplace: bool = False, **args):
        super().__init__()
        self.inplace = bool(inplace)
        self._args = args

    def forward(self, x):
        return type(self)._fn(x, **self._args)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._args.items())


class GELU(_Pointwise):
    """gelu(z) = z Phi(z) (exact), or approximate="tanh" as in PyTorch."""

    _fn = staticmethod(A.gelu)

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        super().__init__(approximate=approximate)


class SiLU(_Pointwise):
    """silu(z) = z sigmoid(z)."""

    _fn = staticmethod(A.silu)


class ELU(_Pointwise):
    """elu(z) = z if z > 0 else alpha (e^z - 1)."""

    _fn = staticmethod(A.elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace, alpha=float(alpha))


class SELU(_Pointwise):
    """selu(z) = 1.0507 elu(z, 1.6733) (PyTorch's constants)."""

    _fn = staticmethod(A.selu)


class CELU(_Pointwise):
    """celu(z) = max(0, z) + min(0, alpha (e^(z/alpha) - 1))."""

    _fn = staticmethod(A.celu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        if alpha == 0:
            raise ValueError("CELU: alpha must not be 0 (it divides z); use e.g. alpha=1.0")
        super().__init__(inplace, alpha=float(alpha))


class Softplus(_Pointwise):
    """softplus(z) = log(1 + e^(beta z)) / beta, and z where beta z > threshold."""

    _fn = staticmethod(A.softplus)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        if beta == 0:
            raise ValueError("Softplus: beta must not be 0 (it divides); the default is beta=1.0")
        super().__init__(beta=float(beta), threshold=float(threshold))


class Softsign(_Pointwise):
    """softsign(z) = z / (1 + |z|)."""

    _fn = staticmethod(A.softsign)


class Mish(_Pointwise):
    """mish(z) = z tanh(softplus(z))."""

    _fn = staticmethod(A.mish)


class ReLU6(_Pointwise):
    """relu6(z) = min(max(z, 0), 6)."""

    _fn = staticmethod(A.relu6)


class Hardtanh(_Pointwise):
    """hardtanh(z) = z clipped to [min_val, max_val]."""

    _fn = staticmethod(A.hardtanh)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val {min_val} is greater than max_val {max_val}")
        super().__init__(inplace, min_val=float(min_val), max_val=float(max_val))


class Hardsigmoid(_Pointwise):
    """hardsigmoid(z) = relu6(z + 3) / 6."""

    _fn = staticmethod(A.hardsigmoid)


class Hardswish(_Pointwise):
    """hardswish(z) = z relu6(z + 3) / 6."""

    _fn = staticmethod(A.hardswish)


class LogSigmoid(_Pointwise):
    """logsigmoid(z) = log(sigmoid(z)), exact for any |z|."""

    _fn = staticmethod(A.logsigmoid)
