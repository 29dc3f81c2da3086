"""Helpers that backward rules share, working on ndarrays and on Tensors alike."""
from __future__ import annotations

import numpy as np

from .. import autograd


def is_tensor(x) -> bool:
    return isinstance(x, autograd.Tensor)


def normalize_axis(axis, ndim: int, op: str) -> tuple:
    """`axis` (None, int or tuple) as a sorted tuple of non-negative axes; errors name the op."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % max(ndim, 1) if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out)) if ndim else ()


def keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_to(g, shape: tuple):
    """g broadcast to `shape`: a new writable array (cheaper than np.broadcast_to for small
    arrays, and safe to hand to a leaf's .grad), or a differentiable op for Tensors."""
    if is_tensor(g):
        from .shape import BroadcastTo
        return BroadcastTo._apply2(g, tuple(shape))
    out = np.empty(shape, dtype=g.dtype)
    out[...] = g
    return out


def expand_reduced(g, in_shape: tuple, axes: tuple):
    """The gradient of a reduction over `axes`, reshaped to keep the reduced axes as size 1."""
    return g.reshape(keepdims_shape(in_shape, axes))


def scatter_add(g, index, shape: tuple):
    """zeros(shape) with g added at `index` (repeated indices accumulate): the adjoint of x[index]."""
    if is_tensor(g):
        from .indexing import IndexAdd
        return IndexAdd._apply3(g, index, tuple(shape))
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


def _is_basic(index) -> bool:
    # Basic indexing (ints, slices, None, Ellipsis) never repeats an element, so assignment is exact.
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in items)
