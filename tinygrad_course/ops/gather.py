"""Gathering and scattering along an axis: gather, take_along_axis, index_select, scatter,
scatter_add, put_along_axis, masked_fill, masked_select, nonzero.

Each is an advanced index `x[idx]` built from the index along one axis and `arange`s along the
others, so it reuses getitem (gradient scattered back, repeated indices accumulating), SetItem
(the overwritten elements get no gradient) and IndexAdd (np.add.at), each of which has a
second derivative.
"""
from __future__ import annotations


import numpy as np

from ..tensor import Tensor
from .common import as_tensor, no_grad_op, normalize_axis, shape_constant
from .indexing import IndexAdd, SetItem, getitem, where
from .shape import broadcast_to


def _int_index(index, op: str) -> np.ndarray:
    """`index` (a Tensor, array or list) as an integer ndarray; anything else is a TypeError."""
    a = np.asarray(index.data if isinstance(index, Tensor) else index)
    if a.dtype.kind not in "iu" and not (a.size == 0 and a.dtype.kind == "f"):
        raise TypeError(f"{op}: index must hold integers, got dtype {a.dtype} "
                        "(convert with .astype(np.int64))")
    # (converted to int64 by the op that checks it, so a step recorded by tc.jit converts again)
    return a if a.dtype.kind in "iu" else a.astype(np.int64)


def _check_range(index: np.ndarray, n: int, axis: int, shape: tuple, op: str) -> None:
    if index.size and (index.min() < -n or index.max() >= n):
        bad = index.min() if index.min() < -n else index.max()
        raise IndexError(f"{op}: index {int(bad)} is out of range for axis {axis} of size {n} "
                         f"(input shape {shape}); indices must lie in [-{n}, {n - 1}]")


def along_axis_index(index: np.ndarray, axis: int, sizes: tuple) -> tuple:
    """The advanced index that picks element `index[i]` along `axis` and element `i` along every
    other axis d (an arange of sizes[d], shaped to broadcast against `index`)."""
    nd = len(sizes)
    return tuple(index if d == axis else _axis_range(sizes[d], d, nd) for d in range(nd))


@shape_constant
def _axis_range(n: int, d: int, nd: int) -> np.ndarray:
    """arange(n) along axis d of nd."""
    return np.arange(n).reshape((1,) * d + (-1,) + (1,) * (nd - d - 1))


def _op_index(index: np.ndarray, shape: tuple, n: int, axis: int, input_shape: tuple,
              op: str) -> np.ndarray:
    """The index array checked against the axis it indexes (of size n) and reshaped, by an op,
    so a step recorded by tc.jit checks and reshapes each call's index."""
    return no_grad_op(_checked_index, index, shape, n, axis, input_shape, op).data


def _checked_index(index: np.ndarray, shape: tuple, n: int, axis: int, input_shape: tuple,
                   op: str) -> np.ndarray:
    _check_range(index, n, axis, input_shape, op)
    return index.astype(np.int64, copy=False).reshape(shape)


def _gather_index(x: Tensor, dim, index, op: str) -> tuple:
    """PyTorch's gather/scatter index: same ndim as x, no larger than x off `dim`."""
    index = _int_index(index, op)
    if index.ndim != max(x.ndim, 1) and not (x.ndim == 0 and index.ndim == 0):
        raise ValueError(f"{op}: index must have as many dimensions as the input ({x.ndim}), "
                         f"got index shape {index.shape} for input shape {x.shape}")
    shape = x.shape if x.ndim else (1,)
    axis = normalize_axis(dim, len(shape), op)[0]
    for d, (k, n) in enumerate(zip(index.shape or (1,), shape)):
        if d != axis and k > n:
            raise ValueError(f"{op}: index shape {index.shape} is larger than the input shape "
                             f"{x.shape} along axis {d} (only axis {axis}, the one indexed, may be)")
    index = _op_index(index, index.shape or (1,), shape[axis], axis, x.shape, op)
    return along_axis_index(index, axis, index.shape)


def _flat(x: Tensor) -> Tensor:
    return x.reshape(1) if x.ndim == 0 else x


def gather(x, dim: int, index) -> Tensor:
    """PyTorch's gather: out[i][j] = x[index[i][j]][j] for dim=0 (x[i][index[i][j]] for dim=1).
    `index` has x's number of dimensions and is no larger than x off `dim`; negative indices
    count from the end, as in NumPy. The gradient adds g back at the gathered places."""
    x = as_tensor(x)
    idx = _gather_index(x, dim, index, "gather")
    out = getitem(_flat(x), idx)
    return out.reshape(()) if np.ndim(index) == 0 else out


def take_along_axis(x, indices, axis: int | None = -1, *, dim: int | None = None) -> Tensor:
    """NumPy's take_along_axis: out[..., i, ...] = x[..., indices[..., i, ...], ...] along
    `axis` (PyTorch's take_along_dim), `indices` broadcast against x off the axis; axis=None
    works on x flattened. The gradient adds g back at the taken places (repeats accumulate)."""
    if dim is not None:
        if axis != -1:
            raise TypeError(f"take_along_axis: got both axis={axis!r} and dim={dim!r}; they are "
                            "the same argument (NumPy's and PyTorch's name), give one")
        axis = dim
    x = as_tensor(x)
    indices = _int_index(indices, "take_along_axis")
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    if indices.ndim != x.ndim or x.ndim == 0:
        raise ValueError(f"take_along_axis: indices must have as many dimensions as the input "
                         f"({x.ndim}, at least 1), got indices shape {indices.shape} for input "
                         f"shape {x.shape}")
    ax = normalize_axis(axis, x.ndim, "take_along_axis")[0]
    indices = _op_index(indices, indices.shape, x.shape[ax], ax, x.shape, "take_along_axis")
    return getitem(x, along_axis_index(indices, ax, x.shape))


def index_select(x, dim: int, index) -> Tensor:
    """The entries of x at the 1-D `index` along `dim` (PyTorch's index_select, NumPy's
    take with an axis); repeated indices accumulate in the gradient."""
    x = as_tensor(x)
    index = _int_index(index, "index_select")
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 0-d or 1-D, got shape {index.shape}")
    x1 = _flat(x)
    axis = normalize_axis(dim, x1.ndim, "index_select")[0]
    index = _op_index(index, (-1,), x1.shape[axis], axis, x.shape, "index_select")
    return getitem(x1, (slice(None),) * axis + (index,))


def scatter(x, dim: int, index, src=None, *, value=None) -> Tensor:
    """PyTorch's scatter, out of place: x with out[index[i][j]][j] = src[i][j] (dim=0), or the
    number `value`. Gradients (PyTorch's): zero for x where it was overwritten, g gathered at
    `index` for src (with repeated indices each source element gets g of its target)."""
    x = as_tensor(x)
    if (src is None) == (value is None):
        raise TypeError("scatter: give src (a tensor, or a number) or value=, exactly one")
    if value is not None or not isinstance(src, (Tensor, np.ndarray, list)):
        v = value if value is not None else src
        out = SetItem.apply(_flat(x), _gather_index(x, dim, index, "scatter"), v)
    else:
        out = SetItem.apply(_flat(x), *_scatter_parts(x, dim, index, src, "scatter"))
    return out.reshape(()) if x.ndim == 0 else out


def _scatter_parts(x: Tensor, dim, index, src, op: str) -> tuple:
    idx = _gather_index(x, dim, index, op)
    src = _flat(as_tensor(src))
    shape = idx[0].shape if len(idx) == 1 else np.broadcast_shapes(*(i.shape for i in idx))
    if src.ndim != len(shape) or any(k > n for k, n in zip(shape, src.shape)):
        raise ValueError(f"{op}: src of shape {src.shape} must have the index's dimensions and "
                         f"be at least as large as the index ({shape}) along each")
    if src.shape != shape:
        src = src[tuple(slice(0, k) for k in shape)]
    return idx, src


def scatter_add(x, dim: int, index, src) -> Tensor:
    """PyTorch's scatter_add, out of place: x with src[i][j] added at out[index[i][j]][j]
    (dim=0); repeated indices accumulate. Gradients: g for x, g gathered at `index` for src."""
    x = as_tensor(x)
    idx, src = _scatter_parts(x, dim, index, src, "scatter_add")
    added = IndexAdd.apply(src, idx, _flat(x).shape)
    return x + (added.reshape(()) if x.ndim == 0 else added)


def put_along_axis(x: Tensor, indices, values, axis: int | None) -> None:
    """NumPy's put_along_axis, in place like NumPy's: x[..., indices[..., i, ...], ...] = values
    along `axis` (values broadcast to the indices' shape; axis=None: x flattened). The change is
    recorded as `x[idx] = values` is; for an out-of-place version with a gradient, use scatter."""
    if not isinstance(x, Tensor):
        raise TypeError(f"put_along_axis: x must be a Tensor (it is changed in place), got "
                        f"{type(x).__name__}")
    indices = _int_index(indices, "put_along_axis")
    shape = x.shape
    if axis is None:
        shape, axis = (x.size,), 0
    if indices.ndim != len(shape) or not shape:
        raise ValueError(f"put_along_axis: indices must have as many dimensions as the input "
                         f"({len(shape)}, at least 1), got shape {indices.shape}")
    ax = normalize_axis(axis, len(shape), "put_along_axis")[0]
    _check_range(indices, shape[ax], ax, x.shape, "put_along_axis")
    if len(shape) == x.ndim:
        x[along_axis_index(indices, ax, shape)] = values
    else:
        x[np.unravel_index(indices % x.size, x.shape)] = values


def masked_fill(x, mask, value) -> Tensor:
    """x with `value` where `mask` is true (mask broadcast to x's shape; value cast to x's
    dtype, as PyTorch does). The gradient is zero at the masked positions; a Tensor value gets
    the sum of g there."""
    x = as_tensor(x)
    mask = _bool_mask(mask, "masked_fill")
    if np.broadcast_shapes(mask.shape, x.shape) != x.shape:
        raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the "
                         f"input's shape {x.shape}")
    if not isinstance(value, Tensor):
        value = x.dtype.type(value)  # a scalar of x's dtype, not an array made here (tc.jit)
    return where(mask, value, x)


def _bool_mask(mask, op: str) -> np.ndarray:
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be a bool tensor, got dtype {m.dtype} "
                        "(e.g. write x > 0, or mask.astype(bool))")
    return m


def masked_select(x, mask) -> Tensor:
    """The 1-D tensor of x's elements where `mask` is true (x and mask broadcast together)."""
    x = as_tensor(x)
    mask = _bool_mask(mask, "masked_select")
    shape = np.broadcast_shapes(mask.shape, x.shape) or (1,)
    if x.shape != shape:
        x = broadcast_to(x, shape)
    return getitem(x, np.broadcast_to(mask, shape).nonzero())


def nonzero(x, *, as_tuple: bool = False):
    """Indices of the non-zero elements, PyTorch's way: an int64 tensor of shape (n, ndim), one
    row per element; as_tuple=True gives NumPy's form, one 1-D tensor per axis. No gradient."""
    a = np.asarray(x.data if isinstance(x, Tensor) else x)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(a)))
    return Tensor._wrap(np.argwhere(a).astype(np.int64))


def take_along_dim(x, indices, dim: int | None = None) -> Tensor:
    """PyTorch's take_along_dim: take_along_axis with torch's default (dim=None: x flattened)."""
    return take_along_axis(x, indices, dim)


for _f in (gather, index_select, scatter, scatter_add, masked_fill, masked_select, nonzero,
           take_along_dim):
    setattr(Tensor, _f.__name__, _f)
