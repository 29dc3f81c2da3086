"""Every differentiable op as a function (`tc.exp(x)`), and the Tensor methods that call them."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..autograd import Function
from ..autograd import is_grad_enabled
from ..tensor import Tensor
from .activations import LeakyReLU, LogSoftmax, LogSumExp, ReLU, Sigmoid, Softmax, Tanh
from .common import normalize_axis
from .elementwise import (Abs, Add, AsType, Clip, Clone, Div, Exp, Log, Maximum, Minimum, Mul,
                          Neg, Pow, Sqrt, Sub)
from .indexing import GetItem, Where, normalize_index
from .linalg import Linear, MatMul
from .reductions import Max, Mean, Min, Sum, SumAll, Var
from .shape import BroadcastTo, Concatenate, Pad, Reshape, Transpose


def _c(x):
    # NumPy float scalars count as Python scalars, so they never upcast a float32 tensor
    # (Function.apply does this itself for two-argument ops; here for clip, where, concatenate).
    return float(x) if isinstance(x, np.floating) else x


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


# ---- elementwise ------------------------------------------------------------------------
def add(a, b) -> Tensor:
    """a + b with broadcasting."""
    return Add._apply2(a, b)


def sub(a, b) -> Tensor:
    """a - b with broadcasting."""
    return Sub._apply2(a, b)


def mul(a, b) -> Tensor:
    """a * b with broadcasting."""
    return Mul._apply2(a, b)


def div(a, b) -> Tensor:
    """a / b with broadcasting."""
    return Div._apply2(a, b)


def pow(a, b) -> Tensor:  # noqa: A001 - the ecosystem's name
    """a ** b with broadcasting."""
    return Pow._apply2(a, b)


def neg(x) -> Tensor:
    return Neg._apply1(x)


def abs(x) -> Tensor:  # noqa: A001
    """|x|, with derivative sign(x) (0 at 0)."""
    return Abs._apply1(x)


def sqrt(x) -> Tensor:
    return Sqrt._apply1(x)


def exp(x) -> Tensor:
    return Exp._apply1(x)


def log(x) -> Tensor:
    return Log._apply1(x)


def maximum(a, b) -> Tensor:
    """Elementwise max; on ties the gradient is split evenly."""
    return Maximum._apply2(a, b)


def minimum(a, b) -> Tensor:
    """Elementwise min; on ties the gradient is split evenly."""
    return Minimum._apply2(a, b)


def clip(x, min=None, max=None) -> Tensor:  # noqa: A002 - NumPy's/PyTorch's argument names
    """x limited to [min, max]; the gradient passes where min <= x <= max."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    if min is not None and max is not None and np.any(np.asarray(min) > np.asarray(max)):
        raise ValueError(f"clip: min {min} is greater than max {max}")
    return Clip._apply3(x, _c(min), _c(max))


def clone(x) -> Tensor:
    return Clone._apply1(x)


def astype(x, dtype) -> Tensor:
    """x converted to `dtype`; differentiable between floating dtypes."""
    dtype = np.dtype(dtype)
    if x.data.dtype == dtype:
        return x
    if dtype.kind != "f" and x.requires_grad and is_grad_enabled():
        with _no_grad():
            return AsType._apply2(x, dtype)
    return AsType._apply2(x, dtype)


# ---- activations ------------------------------------------------------------------------
def relu(x) -> Tensor:
    """max(x, 0)."""
    return ReLU._apply1(x)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    return LeakyReLU._apply2(x, float(negative_slope))


def sigmoid(x) -> Tensor:
    """1 / (1 + e^-x), stable for large |x|."""
    return Sigmoid._apply1(x)


def tanh(x) -> Tensor:
    return Tanh._apply1(x)


def _one_axis(x, axis, op: str) -> int:
    if x.ndim == 0:
        raise ValueError(f"{op}: needs at least one dimension, got a 0-d tensor")
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be a single int, got {axis!r}")
    return normalize_axis(axis, x.ndim, op)[0]


def softmax(x, axis: int = -1) -> Tensor:
    """e^x / sum(e^x) along `axis`, shifted by the max so |x| = 1e4 is exact."""
    return Softmax._apply2(x, _one_axis(x, axis, "softmax"))


def log_softmax(x, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along `axis`, stable."""
    return LogSoftmax._apply2(x, _one_axis(x, axis, "log_softmax"))


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log(sum(e^x)) = m + log(sum(e^(x - m))) with m = max x."""
    return LogSumExp._apply3(x, axis, keepdims)


# ---- reductions -------------------------------------------------------------------------
def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    if axis is None and not keepdims:
        return SumAll._apply1(x)
    return Sum._apply3(x, axis, keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    return Mean._apply3(x, axis, keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Max over `axis`; ties share the gradient evenly."""
    return Max._apply3(x, axis, keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Min over `axis`; ties share the gradient evenly."""
    return Min._apply3(x, axis, keepdims)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance, sum((x - mean)^2) / (n - ddof); ddof=0 as in NumPy (the biased estimate)."""
    return Var.apply(x, axis, keepdims, ddof)


def std(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Standard deviation, sqrt(var(x, ddof))."""
    return sqrt(Var.apply(x, axis, keepdims, ddof, op="std"))


# ---- shape ------------------------------------------------------------------------------
def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x, *shape) -> Tensor:
    """x with a new shape (one entry may be -1)."""
    return Reshape._apply2(x, _shape_arg(shape))


def transpose(x, *axes) -> Tensor:
    """Axes permuted (reversed when none are given), as in NumPy."""
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    axes = tuple(axes) if axes else None
    if axes is not None and len(axes) != x.ndim:
        raise ValueError(f"transpose: {len(axes)} axes given for a tensor with {x.ndim} dimensions")
    return Transpose._apply2(x, axes)


def permute(x, *dims) -> Tensor:
    """Axes in the given order (PyTorch's name for transpose with axes)."""
    dims = _shape_arg(dims)
    return transpose(x, dims)


def swapaxes(x, a: int, b: int) -> Tensor:
    axes = list(range(x.ndim))
    a, b = normalize_axis(a, x.ndim, "swapaxes")[0], normalize_axis(b, x.ndim, "swapaxes")[0]
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose._apply2(x, tuple(axes))


def squeeze(x, axis=None) -> Tensor:
    """x without the size-1 axes (or only those in `axis`, which must have size 1)."""
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axis(axis, x.ndim, "squeeze")
        bad = [a for a in axes if x.shape[a] != 1]
        if bad:
            raise ValueError(f"squeeze: axis {bad[0]} of shape {x.shape} has size {x.shape[bad[0]]}, not 1")
    return Reshape._apply2(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x, axis: int) -> Tensor:
    """x with a new size-1 axis at `axis` (NumPy's expand_dims)."""
    nd = x.ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(f"unsqueeze: axis {axis} is out of range for a result with {nd} dimensions")
    axis %= nd
    shape = list(x.shape)
    shape.insert(axis, 1)
    return Reshape._apply2(x, tuple(shape))


expand_dims = unsqueeze


def broadcast_to(x, shape) -> Tensor:
    return BroadcastTo._apply2(x, tuple(shape))


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Axes start_dim..end_dim merged into one (all of them by default, giving 1-D)."""
    if x.ndim == 0:
        return Reshape._apply2(x, (1,))
    s, e = normalize_axis(start_dim, x.ndim, "flatten")[0], normalize_axis(end_dim, x.ndim, "flatten")[0]
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (-1,) + x.shape[e + 1:]
    if x.size == 0:
        shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:]
    return Reshape._apply2(x, shape)


def concatenate(tensors: Sequence, axis: int = 0) -> Tensor:
    """Tensors joined along an existing axis."""
    return Concatenate.apply(axis, *[_c(t) for t in tensors])


def stack(tensors: Sequence, axis: int = 0) -> Tensor:
    """Tensors of one shape joined along a new axis."""
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([unsqueeze(t, axis) for t in tensors], axis)


def split(x, indices_or_sections, axis: int = 0) -> list:
    """x cut along `axis` into equal sections (an int) or at the given indices, as NumPy does."""
    ax = normalize_axis(axis, x.ndim, "split")[0]
    n = x.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {ax} of length {n} cannot be split into {k} equal sections")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0, *[int(i) for i in indices_or_sections], n]
    pre = (slice(None),) * ax
    return [x[pre + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:])]


def pad(x, pad_width, value: float = 0.0) -> Tensor:
    """x padded with a constant, pad_width as in numpy.pad."""
    return Pad._apply3(x, pad_width, value)


# ---- indexing, selection, linear algebra ------------------------------------------------
def getitem(x, index) -> Tensor:
    return GetItem._apply2(x, normalize_index(index))


def where(cond, a, b) -> Tensor:
    """a where cond is true, else b (broadcast together)."""
    cond = cond.data if isinstance(cond, Tensor) else cond
    return Where._apply3(cond, _c(a), _c(b))


def matmul(a, b) -> Tensor:
    """a @ b with NumPy's rules for 1-D and batched operands."""
    return MatMul._apply2(a, b)


def dot(a, b) -> Tensor:
    """NumPy's dot for 1-D and 2-D operands (inner product, or matrix product)."""
    if np.ndim(a.data if isinstance(a, Tensor) else a) > 2 or np.ndim(b.data if isinstance(b, Tensor) else b) > 2:
        raise ValueError("dot: only 1-D and 2-D operands are supported; use matmul for batches")
    if np.ndim(a.data if isinstance(a, Tensor) else a) == 0 or np.ndim(b.data if isinstance(b, Tensor) else b) == 0:
        return mul(a, b)
    return MatMul._apply2(a, b)


def linear(x, weight, bias=None) -> Tensor:
    """x @ weight^T + bias as one fused op (weight of shape (out, in), as in PyTorch)."""
    return Linear._apply3(x, weight, bias)


# ---- non-differentiable -----------------------------------------------------------------
def _compare(ufunc):
    def op(a, b):
        ad = a.data if isinstance(a, Tensor) else a
        bd = b.data if isinstance(b, Tensor) else b
        return Tensor._wrap(np.asarray(ufunc(ad, bd)))
    op.__name__ = ufunc.__name__
    op.__doc__ = f"Elementwise {ufunc.__name__}, a bool tensor with no gradient."
    return op


equal, not_equal = _compare(np.equal), _compare(np.not_equal)
less, less_equal = _compare(np.less), _compare(np.less_equal)
greater, greater_equal = _compare(np.greater), _compare(np.greater_equal)


def argmax(x, axis=None, keepdims: bool = False) -> Tensor:
    return Tensor._wrap(np.asarray(np.argmax(x.data, axis=axis, keepdims=keepdims)))


def argmin(x, axis=None, keepdims: bool = False) -> Tensor:
    return Tensor._wrap(np.asarray(np.argmin(x.data, axis=axis, keepdims=keepdims)))


from ..autograd import no_grad as _no_grad  # noqa: E402
from . import methods as _methods  # noqa: E402,F401  (installs the Tensor methods)

__all__ = [
    "Function", "add", "sub", "mul", "div", "pow", "neg", "abs", "sqrt", "exp", "log", "maximum",
    "minimum", "clip", "clone", "astype", "relu", "leaky_relu", "sigmoid", "tanh", "softmax",
    "log_softmax", "logsumexp", "sum", "mean", "max", "min", "var", "std", "reshape", "transpose",
    "permute", "swapaxes", "squeeze", "unsqueeze", "expand_dims", "broadcast_to", "flatten",
    "concatenate", "stack", "split", "pad", "getitem", "where", "matmul", "dot", "linear", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal", "argmax", "argmin",
]
