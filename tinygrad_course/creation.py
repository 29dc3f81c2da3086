"""Factories: tensor, zeros, ones, full, arange, eye, randn, rand, zeros_like, ones_like."""
from __future__ import annotations

import numpy as np

from .dtypes import get_default_dtype
from .random import Generator, rng_from
from .tensor import Tensor


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"shape entries must be non-negative ints, got {shape}")
    return tuple(int(s) for s in shape)


def _float(dtype):
    return np.dtype(dtype) if dtype is not None else get_default_dtype()


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """A new tensor (a copy of `data`)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of the given shape (`zeros(2, 3)` or `zeros((2, 3))`), default float
    dtype."""
    return Tensor._wrap(np.zeros(_shape(shape), _float(dtype))).requires_grad_(requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of the given shape (`ones(2, 3)` or `ones((2, 3))`), default float dtype."""
    return Tensor._wrap(np.ones(_shape(shape), _float(dtype))).requires_grad_(requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of `shape` filled with `fill_value` (a Python float gives the default float dtype)."""
    shape = _shape((shape,) if isinstance(shape, (int, np.integer)) else (shape,))
    if dtype is None:
        dtype = get_default_dtype() if isinstance(fill_value, float) else np.asarray(fill_value).dtype
    return Tensor._wrap(np.full(shape, fill_value, dtype)).requires_grad_(requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as numpy.arange (floats give the default dtype)."""
    a = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is not None:
        a = a.astype(dtype)
    elif a.dtype.kind == "f":
        a = a.astype(get_default_dtype())
    return Tensor._wrap(a).requires_grad_(requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (ones on the diagonal), as numpy.eye; m defaults to n."""
    return Tensor._wrap(np.eye(n, m, dtype=_float(dtype))).requires_grad_(requires_grad)


def randn(*shape, dtype=None, requires_grad: bool = False,
          generator: Generator | None = None) -> Tensor:
    """Standard normal samples from `generator`, else the thread's default (see `manual_seed`)."""
    a = rng_from(generator=generator).standard_normal(_shape(shape)).astype(_float(dtype))
    return Tensor._wrap(a).requires_grad_(requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False,
         generator: Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1) from `generator`, else the thread's default (see `manual_seed`)."""
    a = rng_from(generator=generator).random(_shape(shape)).astype(_float(dtype))
    return Tensor._wrap(a).requires_grad_(requires_grad)


def zeros_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and, unless `dtype` is given, the dtype) of `t`."""
    d = t.data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor._wrap(np.zeros_like(d, dtype=dtype)).requires_grad_(requires_grad)


def ones_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and, unless `dtype` is given, the dtype) of `t`."""
    d = t.data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor._wrap(np.ones_like(d, dtype=dtype)).requires_grad_(requires_grad)
