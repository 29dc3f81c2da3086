"""Helpers the ops share: axis normalization, reduced shapes, argument conversion."""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from ..autograd import Function, _state, no_grad
from ..tensor import Tensor


def as_scalar(x):
    """A NumPy float scalar as a Python float (so it never upcasts a float32 tensor)."""
    return float(x) if isinstance(x, np.floating) else x


def as_tensor(x) -> Tensor:
    """x itself if a Tensor, else a new Tensor from it."""
    return x if isinstance(x, Tensor) else Tensor(x)


def normalize_axis(axis, ndim: int, op: str) -> tuple:
    """`axis` (None, int or tuple) as a sorted tuple of non-negative axes; errors name the op."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
        # A 0-d tensor takes axis 0 and -1, as in PyTorch (one rule for every op with an axis).
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out)) if ndim else ()


def keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_reduced(g, in_shape: tuple, axes: tuple):
    """The gradient of a reduction over `axes`, reshaped to keep the reduced axes as size 1."""
    return g.reshape(keepdims_shape(in_shape, axes))


def is_tensor(x) -> bool:
    """Whether x is a Tensor (backward rules run on arrays, or on Tensors under create_graph)."""
    return isinstance(x, Tensor)


def torch_axis(op: str, axis, dim, keepdims: bool = False, keepdim: bool | None = None):
    """(axis, keepdims) from NumPy's `axis=`/`keepdims=` or PyTorch's `dim=`/`keepdim=`
    (keyword-only in the ops); giving both spellings of one argument is a TypeError."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: got both axis={axis!r} and dim={dim!r}; they are the same "
                            "argument (NumPy's and PyTorch's name), give one")
        axis = dim
    if keepdim is not None:
        if keepdims:
            raise TypeError(f"{op}: got both keepdims and keepdim; they are the same argument "
                            "(NumPy's and PyTorch's name), give one")
        keepdims = keepdim
    return axis, bool(keepdims)


def reflected(fn, dunder: str):
    """The reflected operator (`__rmod__`, `__rand__`, ...): fn(other, self), for a Python value
    or an ndarray on the left of a Tensor."""
    def op(self, other):
        return fn(other, self)
    op.__name__ = dunder
    op.__doc__ = f"{fn.__name__}(other, self): a Python value or ndarray on the left."
    return op


def shape_constant(fn: Callable) -> Callable:
    """Decorate a function of shapes and options (hashable arguments) that makes arrays: each
    result is made once per arguments and read-only, so every call returns the same arrays
    (cheap, and a step recorded by tc.jit reads the same ones at each replay)."""
    @functools.lru_cache(maxsize=256)
    @functools.wraps(fn)
    def made(*args):
        out = fn(*args)
        for a in out if isinstance(out, tuple) else (out,):
            a.flags.writeable = False
        return out
    return made


class NoGrad(Function):
    """y = fn(*arrays, **options): a NumPy function without a gradient (a comparison, a logic op,
    argmax). While tc.jit records a step it runs through apply like any op, so a replay runs it
    again instead of keeping its first result."""

    name = "no_grad_op"

    @staticmethod
    def forward(ctx, fn, *arrays, numpy_scalars=(), **options):
        args = list(arrays)
        for i, value in numpy_scalars:
            args[i] = value
        return _call(fn, args, options)


def _call(fn, args: list, options: dict) -> np.ndarray:
    try:
        return np.asarray(fn(*args, **options))
    except OpError:
        raise
    except ValueError as e:  # named after the op, not after NoGrad (apply would)
        raise OpError(f"{getattr(fn, '__name__', 'op')}: {e}") from None


def reads_values(fn: Callable) -> Callable:
    """Mark a function that returns Python values read from tensors (accuracy, allclose): inside
    a step tc.jit records, it is refused as `.item()` is, since a replay would not call it again
    and would return its first value."""
    @functools.wraps(fn)
    def read(*args, **kwargs):
        if _state.recorder is not None:
            _state.recorder.value_read(fn.__name__)
        return fn(*args, **kwargs)
    return read


class OpError(ValueError):
    """A ValueError whose message already names the op the user called: apply passes it on as
    it is (a function run by no_grad_op, or a kernel, raises it for a bad value)."""


def no_grad_op(fn, *args, **options) -> Tensor:
    """fn of the arrays of `args` (tensors unwrapped) as a tensor with no gradient. A NumPy
    float scalar keeps its type (apply would make it a Python float): t > np.float64(0.1)
    compares as NumPy does, the same as np.float64(0.1) < t."""
    if _state.recorder is None:  # only a recording needs the op (and its cost): call fn
        return Tensor._wrap(_call(fn, [a.data if isinstance(a, Tensor) else a for a in args],
                                  options))
    scalars = tuple((i, a) for i, a in enumerate(args) if isinstance(a, np.floating))
    if scalars:
        options["numpy_scalars"] = scalars
    with no_grad():  # tensors go in as tensors, so that tc.jit reads them by reference
        return NoGrad.apply(fn, *args, **options)
