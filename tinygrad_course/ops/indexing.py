"""Indexing: x[index] (basic and advanced), its adjoint index_add, where, and x[index] = v."""
from __future__ import annotations

import copy

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..inplace import change
from ..tensor import Tensor
from .common import as_scalar


def scatter_add(g, index, shape: tuple):
    """zeros(shape) with g added at `index` (repeated indices accumulate): the adjoint of x[index]."""
    if isinstance(g, Tensor):
        return IndexAdd.apply(g, index, tuple(shape))
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


def _kept(index):
    """`index` with its writeable arrays copied, as a node keeps it for backward: changing the
    index array (or the Tensor it came from) after the op must not move the op's gradient."""
    if isinstance(index, tuple):
        return tuple(_kept(i) for i in index)
    if isinstance(index, list):
        return copy.deepcopy(index)
    return index.copy() if isinstance(index, np.ndarray) and index.flags.writeable else index


def normalize_index(index):
    """An index with Tensors replaced by their arrays, checked to be something NumPy accepts."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for i in items:
        if isinstance(i, Tensor):
            i = i.data
        # A list stays a list (NumPy indexes with it as with its array): an array made here
        # would be a new one at every call, which a step recorded by tc.jit cannot replay.
        kind = np.asarray(i).dtype.kind if isinstance(i, list) else None
        if isinstance(i, np.ndarray):
            kind = i.dtype.kind
        if kind is not None and kind not in "biu" and not (isinstance(i, list) and not i):
            raise IndexError(f"getitem: arrays used as indices must be integer or bool, got "
                             f"{np.asarray(i).dtype}")
        if isinstance(i, float):
            raise IndexError(f"getitem: index {i!r} is a float; indices must be ints, slices, "
                             "None, ..., or integer/bool arrays")
        out.append(i)
    return tuple(out) if isinstance(index, tuple) else out[0]


class GetItem(Function):
    """x[index]; the gradient is scattered back, repeated indices accumulating."""

    name = "getitem"

    @staticmethod
    def forward(ctx, x, index):
        try:
            out = x[index]
        except IndexError as e:
            raise IndexError(f"getitem: index {index!r} for a tensor of shape {x.shape}: {e}") from None
        ctx.index, ctx.shape = _kept(index), x.shape
        return out

    @staticmethod
    def backward(ctx, g):
        return scatter_add(g, ctx.index, ctx.shape), None

    is_view = True


class IndexAdd(Function):
    """zeros(shape) with g added at index (the adjoint of getitem); its gradient is getitem."""

    name = "index_add"

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = _kept(index)
        return scatter_add(g, index, shape)

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.index], None, None


class Where(Function):
    """where(cond, a, b): a where cond is true, else b; the gradient is routed the same way."""

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond, dtype=bool)
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved
        na, nb = ctx.needs_input_grad[1:]
        return None, (g * cond if na else None), (g * ~cond if nb else None)


class SetItem(Function):
    """x with x[index] = v, out of place; gradients: g with the index zeroed to x, g[index] to v."""

    name = "setitem"

    @staticmethod
    def forward(ctx, x, index, v):
        out = x.copy()
        try:
            out[index] = v
        except (IndexError, ValueError) as e:
            raise type(e)(f"setitem: cannot set index {index!r} of a tensor of shape {x.shape} "
                          f"to a value of shape {np.shape(v)}: {e}") from None
        keep = np.ones(x.shape, dtype=x.dtype)
        keep[index] = 0
        ctx.index = _kept(index)
        ctx.save_for_backward(keep)
        return out

    @staticmethod
    def backward(ctx, g):
        (keep,) = ctx.saved
        nx, _, nv = ctx.needs_input_grad
        return (g * keep if nx else None), None, (g[ctx.index] if nv else None)


def getitem(x, index) -> Tensor:
    """x[index], NumPy's basic and advanced indexing; the gradient is scattered back."""
    return GetItem.apply(x, normalize_index(index))


def where(cond, a, b) -> Tensor:
    """a where cond is true, else b (broadcast together)."""
    cond = cond.data if isinstance(cond, Tensor) else cond
    return Where.apply(cond, as_scalar(a), as_scalar(b))


def _setitem(self, index, value) -> None:
    index = normalize_index(index)
    needs = self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)

    def write():
        self.data[index] = value.data if isinstance(value, Tensor) else value
    change(self, "setitem", is_grad_enabled(), needs, lambda: SetItem.apply(self, index, value), write)


Tensor.__getitem__ = getitem
Tensor.__setitem__ = _setitem
