"""Activations: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax, logsumexp (all stable)."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import expand_reduced, normalize_axis, torch_axis


class ReLU(Function):
    """relu(x) = max(x, 0); derivative 1 for x > 0, else 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x > 0)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved
        return g * mask


class LeakyReLU(Function):
    """leaky_relu(x) = x if x > 0 else slope * x."""

    name = "leaky_relu"

    @staticmethod
    def forward(ctx, x, negative_slope):
        d = np.where(x > 0, 1.0, negative_slope).astype(x.dtype)
        ctx.save_for_backward(d)
        return x * d

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved
        return g * d, None


class Sigmoid(Function):
    """sigmoid(x) = 1 / (1 + e^-x), computed without overflow; derivative s (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved
        return g * s * (1 - s)


class Tanh(Function):
    """tanh(x); derivative 1 - tanh(x)^2."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved
        return g * (1 - t * t)


def _logsumexp(x: np.ndarray, axes: tuple) -> np.ndarray:
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return m + np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True))


class Softmax(Function):
    """softmax(x)_i = e^(x_i - max x) / sum_j e^(x_j - max x); backward s * (g - sum(g s))."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        out = e / np.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved
        gs = g * s
        return gs - s * gs.sum(axis=ctx.axis, keepdims=True), None


class LogSoftmax(Function):
    """log_softmax(x) = x - logsumexp(x); backward g - softmax(x) * sum(g)."""

    name = "log_softmax"

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        # (x - m) - log sum e^(x - m): subtracting m first keeps float32 exact at |x| = 1e4,
        # where x - (m + log ...) rounds m + log(...) to x's spacing (about 1e-3 there).
        m = np.max(x, axis=axis, keepdims=True)
        shifted = x - np.where(np.isfinite(m), m, 0)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return g - np.exp(out) * g.sum(axis=ctx.axis, keepdims=True), None


class LogSumExp(Function):
    """logsumexp(x) = m + log sum e^(x - m), m = max x; derivative softmax(x)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        axes = normalize_axis(axis, x.ndim, "logsumexp")
        ctx.axes = axes
        ctx.keepdims = keepdims
        out = _logsumexp(x, axes)
        if not keepdims:
            out = out.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        if not ctx.keepdims:
            g = expand_reduced(g, x.shape, ctx.axes)
            out = expand_reduced(out, x.shape, ctx.axes)
        return g * np.exp(x - out), None, None


def relu(x) -> Tensor:
    """relu(x) = max(x, 0); derivative 1 for x > 0, else 0."""
    return ReLU.apply(x)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    return LeakyReLU.apply(x, float(negative_slope))


def sigmoid(x) -> Tensor:
    """1 / (1 + e^-x), stable for large |x|."""
    return Sigmoid.apply(x)


def tanh(x) -> Tensor:
    """tanh(x); derivative 1 - tanh(x)^2."""
    return Tanh.apply(x)


def one_axis(x, axis, op: str) -> int:
    """`axis` as the one non-negative axis an op along an axis (softmax, cumsum, ...) works on."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be a single int, got {axis!r}")
    ndim = np.ndim(x.data if isinstance(x, Tensor) else x)
    axes = normalize_axis(axis, ndim, op)
    return axes[0] if ndim else 0


def _axis_or_last(op: str, axis, dim):
    axis, _ = torch_axis(op, axis, dim)
    return -1 if axis is None else axis


def softmax(x, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """e^x / sum(e^x) along `axis` (PyTorch's `dim`; the last axis by default), shifted by the
    max so |x| = 1e4 is exact."""
    axis = one_axis(x, _axis_or_last("softmax", axis, dim), "softmax")
    if x.ndim == 0:
        return softmax(x.reshape(1), 0).reshape(())
    return Softmax.apply(x, axis)


def log_softmax(x, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """(x - max) - log(sum(e^(x - max))) along `axis` (PyTorch's `dim`; the last axis by
    default): x - logsumexp(x), stable and exact."""
    axis = one_axis(x, _axis_or_last("log_softmax", axis, dim), "log_softmax")
    if x.ndim == 0:
        return log_softmax(x.reshape(1), 0).reshape(())
    return LogSoftmax.apply(x, axis)


def logsumexp(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """log(sum(e^x)) = m + log(sum(e^(x - m))) with m = max x; `dim=`/`keepdim=` are PyTorch's
    names for `axis`/`keepdims`."""
    axis, keepdims = torch_axis("logsumexp", axis, dim, keepdims, keepdim)
    return LogSumExp.apply(x, axis, keepdims)


Tensor.relu, Tensor.leaky_relu, Tensor.sigmoid, Tensor.tanh = relu, leaky_relu, sigmoid, tanh
Tensor.softmax, Tensor.log_softmax, Tensor.logsumexp = softmax, log_softmax, logsumexp
