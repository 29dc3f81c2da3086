"""Reductions over `axis` (int, tuple or None) with `keepdims`: sum, mean, max, min, var, std,
argmax, argmin."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autograd import Function
from ..lowering import Lowered, grad_buffer, lowering
from ..tensor import Tensor
from .common import as_tensor, expand_reduced, no_grad_op, normalize_axis, torch_axis
from .elementwise import astype, sqrt
from .shape import expand_to


def _count(shape: tuple, axes: tuple) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    """sum over axes; the gradient is g broadcast back over the summed axes."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        # axis=None (here with keepdims; without, it is SumAll) broadcasts its gradient as is.
        axes = None if axis is None else normalize_axis(axis, x.ndim, "sum")
        ctx.axes, ctx.keepdims, ctx.shape = axes, keepdims, x.shape
        return np.add.reduce(x, axes, None, None, keepdims)

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdims and ctx.axes is not None:
            g = expand_reduced(g, ctx.shape, ctx.axes)
        return expand_to(g, ctx.shape), None, None


class SumAll(Function):
    """sum of every element (axis=None, a loss's sum); the gradient is g in every position."""

    name = "sum"

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        if x.dtype.kind == "f":  # straight into a 0-d array, not a NumPy scalar to convert
            return np.add.reduce(x, None, None, np.empty((), x.dtype))
        return np.add.reduce(x, None)

    @staticmethod
    def backward(ctx, g):
        if type(g) is not np.ndarray:
            return (expand_to(g, ctx.shape),)
        out = np.empty(ctx.shape, g.dtype)  # inlined expand_to: this is every loss's last step
        out[...] = g
        return (out,)


@lowering(SumAll)
def _sum_all_kernels(ctx, args: list, out: np.ndarray) -> Lowered | None:
    """SumAll's replay kernels: the sum into a 0-d buffer, g broadcast into a buffer."""
    if args[0].dtype.kind != "f":
        return None
    total, shape, grads = np.empty((), out.dtype), args[0].shape, [None]

    def forward(ctx, x):
        return np.add.reduce(x, None, None, total)

    def backward(ctx, g):
        dx = grad_buffer(grads, 0, shape, g.dtype)
        dx[...] = g
        return (dx,)

    def bind(g, outs):
        target = outs[0]

        def run():
            target.array[...] = g
        return run
    return Lowered(forward, backward, grads, out=total, fresh=True, bind=bind)


class Mean(Function):
    """mean over axes; the gradient is g / n broadcast back."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        axes = None if axis is None else normalize_axis(axis, x.ndim, "mean")
        n = x.size if axes is None else _count(x.shape, axes)
        if n == 0:
            raise ValueError(f"mean: cannot take the mean over an empty axis of shape {x.shape}")
        ctx.axes, ctx.keepdims, ctx.shape, ctx.n = axes, keepdims, x.shape, n
        out = np.add.reduce(x, axis=axes, keepdims=keepdims)
        return np.true_divide(out, n, out=out) if type(out) is np.ndarray else out / n

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdims and ctx.axes is not None:
            g = expand_reduced(g, ctx.shape, ctx.axes)
        return expand_to(g / ctx.n, ctx.shape), None, None


class _Extremum(Function):
    _np = None

    @classmethod
    def forward(cls, ctx, x, axis, keepdims):
        axes = normalize_axis(axis, x.ndim, cls.name)
        if x.size == 0:
            raise ValueError(f"{cls.name}: cannot reduce an empty tensor of shape {x.shape}")
        out = cls._np(x, axis=axes, keepdims=True)
        # Ties share the gradient evenly, so the rule is symmetric and matches the subgradient mean.
        mask = x == out
        w = mask / np.sum(mask, axis=axes, keepdims=True, dtype=x.dtype)
        ctx.axes, ctx.keepdims, ctx.shape = axes, keepdims, x.shape
        ctx.save_for_backward(w.astype(x.dtype, copy=False))
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved
        if not ctx.keepdims:
            g = expand_reduced(g, ctx.shape, ctx.axes)
        return g * w, None, None


class Max(_Extremum):
    """max over axes; the gradient goes to the maximum, split evenly among ties."""

    _np = staticmethod(np.max)


class Min(_Extremum):
    """min over axes; the gradient goes to the minimum, split evenly among ties."""

    _np = staticmethod(np.min)


class Var(Function):
    """var = sum((x - mean)^2) / (n - ddof); gradient 2 (x - mean) / (n - ddof)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims, ddof, op="var"):
        axes = normalize_axis(axis, x.ndim, op)
        n = _count(x.shape, axes)
        if n - ddof <= 0:
            raise ValueError(f"{op}: {n} elements with ddof={ddof} leave no degrees of freedom "
                             f"(shape {x.shape}, axis {axis})")
        ctx.axes, ctx.keepdims, ctx.shape, ctx.denom = axes, keepdims, x.shape, n - ddof
        ctx.save_for_backward(x)
        return np.var(x, axis=axes, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        if not ctx.keepdims:
            g = expand_reduced(g, ctx.shape, ctx.axes)
        centered = x - x.mean(axis=ctx.axes, keepdims=True)
        return g * centered * (2.0 / ctx.denom), None, None, None


def sum(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None,  # noqa: A001
        dtype=None) -> Tensor:
    """Sum over `axis` (all axes when None), in `dtype` if given (x is converted first, so the
    gradient flows back in x's dtype); `dim=`/`keepdim=` are PyTorch's names for them."""
    if dtype is not None:
        x = astype(as_tensor(x), dtype)
    if dim is not None or keepdim is not None:
        axis, keepdims = torch_axis("sum", axis, dim, keepdims, keepdim)
    if axis is None and not keepdims:
        return SumAll.apply(x)
    return Sum.apply(x, axis, keepdims)


def mean(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None, dtype=None) -> Tensor:
    """Mean over `axis` (all axes when None), in `dtype` if given (as in `sum`); `dim=`/`keepdim=`
    are PyTorch's names for them."""
    if dtype is not None:
        x = astype(as_tensor(x), dtype)
    axis, keepdims = torch_axis("mean", axis, dim, keepdims, keepdim)
    return Mean.apply(x, axis, keepdims)


class ValuesIndices(NamedTuple):
    """What PyTorch's max(x, dim=d)/min(x, dim=d) return: the values and their indices."""

    values: Tensor
    indices: Tensor


def _extremum(cls, arg, x, axis, keepdims, dim, keepdim):
    values_only = dim is None
    axis, keepdims = torch_axis(cls.name, axis, dim, keepdims, keepdim)
    out = cls.apply(x, axis, keepdims)
    # PyTorch's spelling gets PyTorch's meaning: max(x, dim=d) is (values, indices).
    return out if values_only else ValuesIndices(out, arg(x, axis, keepdims))


def max(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):  # noqa: A001
    """Max over `axis`; ties share the gradient evenly. With PyTorch's `dim=` it returns
    PyTorch's (values, indices) pair, as torch.max(x, dim) does."""
    return _extremum(Max, argmax, x, axis, keepdims, dim, keepdim)


def min(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None):  # noqa: A001
    """Min over `axis`; ties share the gradient evenly. With PyTorch's `dim=` it returns
    PyTorch's (values, indices) pair, as torch.min(x, dim) does."""
    return _extremum(Min, argmin, x, axis, keepdims, dim, keepdim)


def _ddof(op: str, ddof, dim, correction, unbiased) -> int:
    given = [(n, v) for n, v in (("ddof", ddof), ("correction", correction),
                                 ("unbiased", unbiased)) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: got {given[0][0]} and {given[1][0]}; they say the same thing "
                        "(ddof is NumPy's name, correction PyTorch's), give one")
    if unbiased is not None:
        return 1 if unbiased else 0
    if given:
        return int(given[0][1])
    # PyTorch's spelling gets PyTorch's default (the unbiased estimate); NumPy's gets NumPy's.
    return 0 if dim is None else 1


def var(x, axis=None, keepdims: bool = False, ddof: int | None = None, *, dim=None,
        keepdim=None, correction: int | None = None, unbiased: bool | None = None) -> Tensor:
    """Variance, sum((x - mean)^2) / (n - ddof). ddof defaults to 0 as in NumPy (the biased
    estimate); with PyTorch's `dim=` it defaults to PyTorch's correction=1 (unbiased), and
    PyTorch's `correction=`/`unbiased=` are accepted."""
    d = _ddof("var", ddof, dim, correction, unbiased)
    axis, keepdims = torch_axis("var", axis, dim, keepdims, keepdim)
    return Var.apply(x, axis, keepdims, d)


def std(x, axis=None, keepdims: bool = False, ddof: int | None = None, *, dim=None,
        keepdim=None, correction: int | None = None, unbiased: bool | None = None) -> Tensor:
    """Standard deviation, sqrt(var(x, ddof)); the defaults as in `var` (NumPy's ddof=0, or
    PyTorch's correction=1 when `dim=` is used)."""
    d = _ddof("std", ddof, dim, correction, unbiased)
    axis, keepdims = torch_axis("std", axis, dim, keepdims, keepdim)
    return sqrt(Var.apply(x, axis, keepdims, d, op="std"))


def _arg(fn, x, axis, keepdims: bool, op: str) -> Tensor:
    d = x.data if isinstance(x, Tensor) else np.asarray(x)
    if axis is not None:
        axis = normalize_axis(axis, d.ndim, op)
        if len(axis) != 1 and d.ndim:
            raise TypeError(f"{op}: axis must be a single int or None")
        axis = axis[0] if d.ndim else None
    return no_grad_op(fn, d, axis=axis, keepdims=keepdims)


def argmax(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """Index of the largest element (over the flattened tensor when axis is None); no gradient."""
    axis, keepdims = torch_axis("argmax", axis, dim, keepdims, keepdim)
    return _arg(np.argmax, x, axis, keepdims, "argmax")


def argmin(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """Index of the smallest element (over the flattened tensor when axis is None); no gradient."""
    axis, keepdims = torch_axis("argmin", axis, dim, keepdims, keepdim)
    return _arg(np.argmin, x, axis, keepdims, "argmin")


Tensor.sum, Tensor.mean, Tensor.max, Tensor.min = sum, mean, max, min
Tensor.var, Tensor.std, Tensor.argmax, Tensor.argmin = var, std, argmax, argmin
