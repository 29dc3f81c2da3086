"""Rearranging ops: flip, roll, tile, repeat (PyTorch's), repeat_interleave, chunk, unflatten,
tril, triu, diag, diagonal, trace, meshgrid.

They move elements without arithmetic, so each gradient moves g back, adding where an element
was used more than once (tile, repeat_interleave). Flip, Roll and Tile are classes; the rest are
built from reshape, getitem, where and index_select, and get their gradients from those.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import (OpError, as_tensor, is_tensor, no_grad_op, normalize_axis, shape_constant,
                     torch_axis)
from .gather import index_select
from .indexing import getitem, scatter_add, where
from .shape import broadcast_to, reshape, split, transpose


def _same_op(cls, g, *args):
    """cls's forward applied to g: a graph node under create_graph, plain NumPy otherwise."""
    return cls.apply(g, *args) if is_tensor(g) else cls.forward(object.__new__(cls), g, *args)


class Flip(Function):
    """y = x reversed along `axes`; the gradient is g reversed along the same axes."""

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.flip(x, axes).copy()

    @staticmethod
    def backward(ctx, g):
        return _same_op(Flip, g, ctx.axes), None


class Roll(Function):
    """y = x shifted cyclically by `shift` along `axis` (flattened when None); the gradient is g
    shifted back by -shift."""

    @staticmethod
    def forward(ctx, x, shift, axis):
        ctx.shift, ctx.axis = shift, axis
        return np.roll(x, shift, axis)

    @staticmethod
    def backward(ctx, g):
        back = tuple(-s for s in ctx.shift) if isinstance(ctx.shift, tuple) else -ctx.shift
        return _same_op(Roll, g, back, ctx.axis), None, None


class Tile(Function):
    """y = x repeated reps[d] times along each axis d (numpy.tile); the gradient sums the copies:
    g viewed as (r0, n0, r1, n1, ...) summed over the r axes."""

    @staticmethod
    def forward(ctx, x, reps):
        ctx.shape = x.shape
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        shape = (1,) * (g.ndim - len(ctx.shape)) + ctx.shape
        split_shape = [k for n, m in zip(shape, g.shape) for k in (m // n if n else 0, n)]
        summed = g.reshape(split_shape).sum(axis=tuple(range(0, 2 * g.ndim, 2)))
        return summed.reshape(ctx.shape), None


def _axes_arg(axis, dims, op: str, ndim: int):
    axis, _ = torch_axis(op, axis, dims)
    return None if axis is None else normalize_axis(axis, ndim, op)


def flip(x, axis: int | Sequence[int] | None = None, *, dims=None) -> Tensor:
    """x reversed along `axis` (PyTorch's `dims`; every axis when None, as numpy.flip)."""
    x = as_tensor(x)
    return Flip.apply(x, _axes_arg(axis, dims, "flip", x.ndim))


def roll(x, shift, axis: int | Sequence[int] | None = None, *, dims=None) -> Tensor:
    """x shifted cyclically: element i moves to i + shift along `axis` (PyTorch's `dims`);
    with no axis x is rolled flattened and keeps its shape, as numpy.roll and torch.roll."""
    x = as_tensor(x)
    axis, _ = torch_axis("roll", axis, dims)
    if isinstance(shift, (list, tuple)) or isinstance(axis, (list, tuple)):
        shift = tuple(int(s) for s in np.broadcast_to(shift, np.shape(axis) or np.shape(shift)))
        if axis is not None and len(shift) != len(axis):
            raise ValueError(f"roll: {len(shift)} shifts for {len(axis)} axes; give one shift "
                             "per axis")
        axis = None if axis is None else tuple(normalize_axis(a, x.ndim, "roll")[0] for a in axis)
    else:
        shift = int(shift)
        axis = None if axis is None else normalize_axis(axis, x.ndim, "roll")[0]
    return Roll.apply(x, shift, axis)


def tile(x, reps) -> Tensor:
    """x repeated reps[d] times along axis d, as numpy.tile (and torch.tile): fewer reps than
    axes repeat the last axes; more add leading axes."""
    x = as_tensor(x)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    if any(isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 0 for r in reps):
        raise ValueError(f"tile: repetitions must be non-negative ints, got {reps}")
    return Tile.apply(x, tuple(int(r) for r in reps))


def repeat(x, *sizes, axis=None) -> Tensor:
    """PyTorch's repeat: x tiled sizes[d] times along each axis d (one size per axis, more add
    leading axes). NumPy's repeat (each element repeated) is `repeat_interleave`."""
    if axis is not None:
        raise TypeError("repeat: this is PyTorch's repeat (tiling, no axis); for NumPy's "
                        f"repeat along an axis write tc.repeat_interleave(x, repeats, axis={axis})")
    x = as_tensor(x)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: {len(sizes)} sizes for a tensor with {x.ndim} dimensions; give "
                         f"one per dimension (e.g. x.repeat({', '.join(['1'] * x.ndim)})), or use "
                         "tc.tile, which repeats the last axes, or repeat_interleave for NumPy's "
                         "repeat")
    return tile(x, sizes)


def repeat_interleave(x, repeats, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Each element repeated `repeats` times (an int, or one count per element) along `axis`
    (PyTorch's `dim`; x flattened when None), as numpy.repeat. The gradient sums each run."""
    x = as_tensor(x)
    axis, _ = torch_axis("repeat_interleave", axis, dim)
    if axis is None:
        x, axis = x.reshape(-1), 0
    ax = normalize_axis(axis, x.ndim, "repeat_interleave")[0]
    n = x.shape[ax] if x.ndim else 1
    # The index comes from an op, so a step recorded by tc.jit repeats each call's counts (and
    # refuses a replay whose counts change the output's length).
    return index_select(x, ax, no_grad_op(_repeated_positions, repeats, n, ax).data)


def _repeated_positions(counts, n: int, ax: int) -> np.ndarray:
    """0..n-1, each position repeated counts[i] times (or counts times)."""
    counts = np.asarray(counts)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or counts.size not in (1, n) or (counts < 0).any():
        raise OpError(f"repeat_interleave: repeats must be a non-negative int or one per "
                      f"element along axis {ax} ({n}), got {counts.tolist()!r}")
    return np.repeat(np.arange(n), counts.reshape(-1) if counts.ndim else counts)


def chunk(x, chunks: int, axis: int | None = None, *, dim: int | None = None) -> list:
    """x cut into `chunks` pieces along `axis` (PyTorch's `dim`, 0 by default), each of
    ceil(n / chunks) elements but the last, as torch.chunk (so there may be fewer pieces)."""
    x = as_tensor(x)
    axis, _ = torch_axis("chunk", axis, dim)
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    ax = normalize_axis(0 if axis is None else axis, x.ndim, "chunk")[0]
    n = x.shape[ax]
    size = -(-n // chunks) or 1
    return split(x, list(range(size, n, size)), ax)


def unflatten(x, axis: int, sizes: Sequence[int]) -> Tensor:
    """Axis `axis` of x split into axes of `sizes` (one may be -1), as torch.unflatten."""
    x = as_tensor(x)
    ax = normalize_axis(axis, x.ndim, "unflatten")[0]
    sizes = tuple(int(s) for s in sizes)
    known = int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) > 1 or (-1 not in sizes and known != x.shape[ax]) or (
            -1 in sizes and (known == 0 or x.shape[ax] % known)):
        raise ValueError(f"unflatten: sizes {sizes} do not multiply to {x.shape[ax]}, the length "
                         f"of axis {ax} of shape {x.shape} (one size may be -1)")
    return reshape(x, x.shape[:ax] + sizes + x.shape[ax + 1:])


def _triangle(x, k, diagonal, op: str, lower: bool) -> Tensor:
    x = as_tensor(x)
    if diagonal is not None:
        k = diagonal
    if x.ndim < 2:
        raise ValueError(f"{op}: needs a tensor with at least 2 dimensions (a matrix or a batch "
                         f"of them), got shape {x.shape}")
    n, m = x.shape[-2:]
    return where(_triangle_mask(n, m, k, lower), x, x.dtype.type(0))


@shape_constant
def _triangle_mask(n: int, m: int, k: int, lower: bool) -> np.ndarray:
    """Where j - i <= k (lower) or >= k."""
    return np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)


def tril(x, k: int = 0, *, diagonal: int | None = None) -> Tensor:
    """The lower triangle of the last two axes: x[..., i, j] where j - i <= k, else 0 (k is
    PyTorch's `diagonal`). The gradient is g on the triangle, zero elsewhere."""
    return _triangle(x, k, diagonal, "tril", lower=True)


def triu(x, k: int = 0, *, diagonal: int | None = None) -> Tensor:
    """The upper triangle of the last two axes: x[..., i, j] where j - i >= k, else 0 (k is
    PyTorch's `diagonal`). The gradient is g on the triangle, zero elsewhere."""
    return _triangle(x, k, diagonal, "triu", lower=False)


@shape_constant
def _diagonal_index(n1: int, n2: int, offset: int) -> tuple:
    """The rows and columns of diagonal `offset`."""
    r0, c0 = max(-offset, 0), max(offset, 0)
    length = max(0, min(n1 - r0, n2 - c0))
    return np.arange(r0, r0 + length), np.arange(c0, c0 + length)


def diagonal(x, offset: int = 0, axis1: int = 0, axis2: int = 1, *, dim1: int | None = None,
             dim2: int | None = None) -> Tensor:
    """The diagonal x[..., i, i + offset] of the plane (axis1, axis2) (PyTorch's dim1, dim2),
    as the last axis of the result, as numpy.diagonal and torch.diagonal."""
    x = as_tensor(x)
    a1 = dim1 if dim1 is not None else axis1
    a2 = dim2 if dim2 is not None else axis2
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    a1, a2 = (normalize_axis(a, x.ndim, "diagonal")[0] for a in (a1, a2))
    if a1 == a2:
        raise ValueError(f"diagonal: axis1 and axis2 are the same axis ({a1})")
    rest = [d for d in range(x.ndim) if d not in (a1, a2)]
    moved = transpose(x, (*rest, a1, a2)) if (a1, a2) != (x.ndim - 2, x.ndim - 1) else x
    return getitem(moved, (Ellipsis, *_diagonal_index(x.shape[a1], x.shape[a2], int(offset))))


def diag(x, k: int = 0, *, diagonal: int | None = None) -> Tensor:
    """From a vector, the square matrix with it on diagonal k (PyTorch's `diagonal`); from a
    matrix, its diagonal k (numpy.diag and torch.diag)."""
    x = as_tensor(x)
    k = int(k if diagonal is None else diagonal)
    if x.ndim == 2:
        return getitem(x, _diagonal_index(*x.shape, k))
    if x.ndim != 1:
        raise ValueError(f"diag: needs a 1-D or 2-D tensor, got shape {x.shape} (for batches of "
                         "matrices use tc.diagonal)")
    n = x.shape[0] + abs(k)
    return scatter_add(x, _diagonal_index(n, n, k), (n, n))


def trace(x, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The sum of the diagonal of the plane (axis1, axis2), as numpy.trace (a matrix's trace)."""
    return diagonal(x, offset, axis1, axis2).sum(axis=-1)


def meshgrid(*xs, indexing: str = "xy") -> tuple:
    """Coordinate grids from 1-D tensors: output i holds xs[i] along its own axis, broadcast
    over the others. indexing="xy" (NumPy's default, and PyTorch's announced one) swaps the first
    two axes; "ij" (PyTorch's current default) does not. Outputs are broadcast views."""
    if len(xs) == 1 and isinstance(xs[0], (list, tuple)):
        xs = tuple(xs[0])
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [as_tensor(v).reshape(-1) for v in xs]
    shape = [v.shape[0] for v in xs]
    swap = indexing == "xy" and len(xs) > 1
    if swap:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, v in enumerate(xs):
        pos = {0: 1, 1: 0}.get(i, i) if swap else i
        view = [1] * len(xs)
        view[pos] = -1
        out.append(broadcast_to(v.reshape(tuple(view)), tuple(shape)))
    return tuple(out)


for _f in (flip, roll, tile, repeat, repeat_interleave, chunk, unflatten, tril, triu, diag,
           diagonal, trace):
    setattr(Tensor, _f.__name__, _f)
