"""Factories: tensor, zeros, ones, full, empty, arange, linspace, logspace, eye, tril_indices,
triu_indices, the *_like ones, and random draws (randn, rand, randint, normal, uniform) from a
`Generator` (`generator=`, else the thread's default). Floats get the default dtype (float32)
unless `dtype=` says otherwise."""
from __future__ import annotations

import numpy as np

from .dtypes import get_default_dtype
from .ops.common import no_grad_op
from .random import Generator, rng_from
from .tensor import Tensor, _to_array


def _made(fn, *args, requires_grad: bool = False, **options) -> Tensor:
    # Through an op (no gradient), so a step recorded by tc.jit makes it again at each replay:
    # the same values for a fixed recipe, a new draw for a random one.
    return no_grad_op(fn, *args, **options).requires_grad_(requires_grad)


def _draw(method: str, generator, dtype, *args) -> np.ndarray:
    """generator.method(*args) (the thread's default generator when None, at each call)."""
    return np.asarray(getattr(rng_from(generator=generator), method)(*args), dtype=dtype)


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
    if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype (apply would make it float)
        data = np.asarray(data)
    return _made(_to_array, data, dtype, requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of the given shape (`zeros(2, 3)` or `zeros((2, 3))`), default float
    dtype."""
    return _made(np.zeros, _shape(shape), _float(dtype), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of the given shape (`ones(2, 3)` or `ones((2, 3))`), default float dtype."""
    return _made(np.ones, _shape(shape), _float(dtype), requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of `shape` filled with `fill_value` (a Python float gives the default float dtype)."""
    shape = _shape((shape,) if isinstance(shape, (int, np.integer)) else (shape,))
    if dtype is None:
        dtype = get_default_dtype() if isinstance(fill_value, float) else np.asarray(fill_value).dtype
    if np.dtype(dtype).kind in "OUSVM":
        raise TypeError(f"full: cannot make a tensor of {fill_value!r} (dtype {np.dtype(dtype)}); "
                        "give a number")
    return _made(np.full, shape, fill_value, dtype, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as numpy.arange (floats give the default dtype)."""
    return _made(_arange, start, stop, step, dtype, requires_grad=requires_grad)


def _arange(start, stop, step, dtype) -> np.ndarray:
    a = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is not None:
        return a.astype(dtype)
    return a.astype(get_default_dtype()) if a.dtype.kind == "f" else a


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False, *,
        k: int = 0) -> Tensor:
    """The n x m identity matrix (ones on the diagonal), as numpy.eye and torch.eye; m defaults
    to n; NumPy's k moves the ones to diagonal k."""
    for name, v in (("n", n), ("m", m), ("k", k)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              or (name != "k" and v < 0)):
            raise ValueError(f"eye: {name} must be an int{'' if name == 'k' else ' >= 0'}, "
                             f"got {v!r}")
    return _made(np.eye, n, m, k, dtype=_float(dtype), requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad: bool = False,
          generator: Generator | None = None) -> Tensor:
    """Standard normal samples from `generator`, else the thread's default (see `manual_seed`)."""
    return _made(_draw, "standard_normal", generator, _float(dtype), _shape(shape),
                 requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False,
         generator: Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1) from `generator`, else the thread's default (see `manual_seed`)."""
    return _made(_draw, "random", generator, _float(dtype), _shape(shape),
                 requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and, unless `dtype` is given, the dtype) of `t`."""
    return _made(np.zeros_like, _like(t), dtype=dtype, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and, unless `dtype` is given, the dtype) of `t`."""
    return _made(np.ones_like, _like(t), dtype=dtype, requires_grad=requires_grad)


def _like(t) -> np.ndarray:
    return t.data if isinstance(t, Tensor) else np.asarray(t)


def full_like(t, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of t's shape and dtype (or `dtype`) filled with `fill_value`."""
    return _made(np.full_like, _like(t), fill_value, dtype=dtype, requires_grad=requires_grad)


def empty(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of `shape` holding whatever was in memory (default float dtype): fill it first."""
    return _made(np.empty, _shape(shape), _float(dtype), requires_grad=requires_grad)


def empty_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of t's shape and dtype (or `dtype`) holding whatever was in memory."""
    return _made(np.empty_like, _like(t), dtype=dtype, requires_grad=requires_grad)


def _count(num, steps, op: str) -> int:
    if steps is not None:
        num = steps
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 0:
        raise ValueError(f"{op}: the number of points (num, PyTorch's steps) must be an int >= 0, "
                         f"got {num!r}")
    return int(num)


def linspace(start, stop, num: int = 50, endpoint: bool = True, *, steps: int | None = None,
             dtype=None, requires_grad: bool = False) -> Tensor:
    """`num` evenly spaced values from start to stop (stop included unless endpoint=False), as
    numpy.linspace; PyTorch's `steps` is num."""
    a = np.linspace(start, stop, _count(num, steps, "linspace"), endpoint=endpoint)
    return Tensor._wrap(a.astype(_float(dtype))).requires_grad_(requires_grad)


def logspace(start, stop, num: int = 50, endpoint: bool = True, base: float = 10.0, *,
             steps: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """base ** linspace(start, stop, num): values evenly spaced on a log scale, as
    numpy.logspace (PyTorch's `steps` is num)."""
    a = np.logspace(start, stop, _count(num, steps, "logspace"), endpoint=endpoint, base=base)
    return Tensor._wrap(a.astype(_float(dtype))).requires_grad_(requires_grad)


def _triangle_indices(row: int, col: int | None, offset: int, lower: bool) -> Tensor:
    col = row if col is None else col
    mask = np.tri(row, col, offset, dtype=bool)
    rows, cols = np.nonzero(mask if lower else ~np.tri(row, col, offset - 1, dtype=bool))
    return Tensor._wrap(np.stack([rows, cols]).astype(np.int64))


def tril_indices(row: int, col: int | None = None, offset: int = 0) -> Tensor:
    """The (2, N) int64 tensor of the (row, column) indices of the lower triangle (j - i <=
    offset) of a row x col matrix, as torch.tril_indices; col defaults to row. NumPy's
    tril_indices(n, k) is tril_indices(n, offset=k), and x[tuple(idx)] indexes with the result."""
    return _triangle_indices(row, col, offset, lower=True)


def triu_indices(row: int, col: int | None = None, offset: int = 0) -> Tensor:
    """The (2, N) int64 tensor of the (row, column) indices of the upper triangle (j - i >=
    offset) of a row x col matrix, as torch.triu_indices; col defaults to row (NumPy's k is
    offset)."""
    return _triangle_indices(row, col, offset, lower=False)


def _size(size, op: str):
    if size is None or isinstance(size, (int, np.integer)):
        return size
    try:
        return _shape((size,))
    except (TypeError, ValueError):
        raise ValueError(f"{op}: size must be an int or a tuple of non-negative ints, got "
                         f"{size!r}") from None


def _value(v):
    return v.data if isinstance(v, Tensor) else v


def randint(low: int, high=None, size=None, *, dtype=None,
            generator: Generator | None = None) -> Tensor:
    """Random ints in [low, high) ([0, low) given one bound) of shape `size`, int64 unless `dtype`
    says otherwise: NumPy's randint(low, high, size); PyTorch's randint(high, size) and
    randint(low, high, size) work too (a tuple second argument is the size)."""
    if isinstance(high, (tuple, list)) and size is None:
        high, size = None, high
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    if dtype is not None and np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        if low < info.min or high - 1 > info.max:
            raise ValueError(f"randint: [{low}, {high}) does not fit dtype {np.dtype(dtype)} "
                             f"({info.min}..{info.max}); give a smaller range or a wider dtype")
    return _made(_draw, "integers", generator, np.int64 if dtype is None else dtype, low, high,
                 _size(size, "randint"))


def normal(mean=0.0, std=1.0, size=None, *, dtype=None, requires_grad: bool = False,
           generator: Generator | None = None) -> Tensor:
    """Samples from N(mean, std^2) of shape `size` (by default mean's and std's shapes broadcast
    together: a tensor of means gives one draw each), as numpy's normal(loc, scale, size) and
    torch.normal."""
    mean, std = _value(mean), _value(std)
    if np.any(np.asarray(std) < 0):
        raise ValueError(f"normal: std must be >= 0, got {std!r}")
    return _made(_draw, "normal", generator, _float(dtype), mean, std, _size(size, "normal"),
                 requires_grad=requires_grad)


def uniform(low=0.0, high=1.0, size=None, *, dtype=None, requires_grad: bool = False,
            generator: Generator | None = None) -> Tensor:
    """Samples uniform in [low, high) of shape `size` (by default low's and high's shapes
    broadcast together), as numpy's uniform (PyTorch's in-place uniform_ made a factory)."""
    return _made(_draw, "uniform", generator, _float(dtype), _value(low), _value(high),
                 _size(size, "uniform"), requires_grad=requires_grad)


def _float_like(d: np.ndarray, dtype):
    # A random *_like of an integer tensor draws floats of the default dtype (PyTorch refuses).
    if dtype is not None:
        return np.dtype(dtype)
    return d.dtype if d.dtype.kind == "f" else get_default_dtype()


def rand_like(t, dtype=None, requires_grad: bool = False,
              generator: Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1) of t's shape and float dtype (the default one for non-float t)."""
    d = _like(t)
    return rand(*d.shape, dtype=_float_like(d, dtype), requires_grad=requires_grad,
                generator=generator)


def randn_like(t, dtype=None, requires_grad: bool = False,
               generator: Generator | None = None) -> Tensor:
    """Standard normal samples of t's shape and float dtype (the default one for non-float t)."""
    d = _like(t)
    return randn(*d.shape, dtype=_float_like(d, dtype), requires_grad=requires_grad,
                 generator=generator)
