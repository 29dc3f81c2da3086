"""Scans and order statistics: prod, cumsum, cumprod, logcumsumexp, cummax, cummin, sort,
argsort, topk, median, norm (torch.norm), std_mean, var_mean.

Ops that pick elements (sort, topk, median along an axis, cummax/cummin) compute indices
without gradient and take the values with `take_along_axis`, so the gradient goes back to the
picked element and second derivatives come for free. Each backward rule also runs on Tensors
(create_graph), through the same ops.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import as_tensor, expand_reduced, no_grad_op, normalize_axis, torch_axis
from .elementwise import astype
from .gather import along_axis_index, take_along_axis
from .matrix import matrix_norm, vector_norm
from .reductions import ValuesIndices, mean, std, var
from .shape import concatenate


def _flip(a, axis: int):
    """a reversed along `axis` (an array or a Tensor)."""
    return a[(slice(None),) * axis + (slice(None, None, -1),)]


def _scan_input(x, axis, dim, op: str, dtype=None) -> tuple:
    """(x as a Tensor the scan runs along one axis of, that axis, the shape to give back or None).
    axis=None scans x flattened, as NumPy does; a 0-d tensor takes axis 0 or -1."""
    x = as_tensor(x)
    if dtype is not None:
        x = astype(x, dtype)
    axis, _ = torch_axis(op, axis, dim)
    if axis is None:
        return x.reshape(-1), 0, None
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be a single int (or None for the flattened tensor), "
                        f"got {axis!r}")
    (a,) = normalize_axis(axis, x.ndim, op) or (0,)
    if x.ndim == 0:
        return x.reshape(1), 0, ()
    return x, a, None


def _give_back(out, shape):
    return out if shape is None else out.reshape(shape)


# ---- cumulative sums and products --------------------------------------------------------
def _cumsum(a, axis: int):
    return CumSum.apply(a, axis) if isinstance(a, Tensor) else np.cumsum(a, axis=axis)


def _cumprod(a, axis: int):
    return CumProd.apply(a, axis) if isinstance(a, Tensor) else np.cumprod(a, axis=axis)


class CumSum(Function):
    """y_k = sum_{j<=k} x_j along an axis; dL/dx_i = sum_{k>=i} g_k, the reversed cumulative
    sum of g."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, g):
        a = ctx.axis
        return _flip(_cumsum(_flip(g, a), a), a), None


def _leave_one_out_cumprod_grad(x, g, axis: int):
    """sum_{k>=i} g_k prod_{j<=k, j!=i} x_j for every i, exact with zeros in x: row i of an
    (n, n) matrix is x with x_i set to 1, cumulated; O(n^2) per lane."""
    xs, gs = x.swapaxes(axis, -1), g.swapaxes(axis, -1)
    n = xs.shape[-1]
    eye = np.eye(n, dtype=bool)
    rows = xs[..., None, :] * ~eye + eye  # rows[..., i, j] = x_j, or 1 where j == i
    later = np.triu(np.ones((n, n), dtype=bool))  # k >= i
    out = (_cumprod(rows, rows.ndim - 1) * later * gs[..., None, :]).sum(axis=-1)
    return out.swapaxes(axis, -1)


class CumProd(Function):
    """y_k = prod_{j<=k} x_j along an axis; dL/dx_i = sum_{k>=i} g_k prod_{j<=k, j!=i} x_j,
    which is revcumsum(g y)_i / x_i when no x is 0 (else computed leaving x_i out)."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        out = np.cumprod(x, axis=axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        a = ctx.axis
        if not isinstance(x, Tensor) and np.all(x != 0):
            return _flip(np.cumsum(_flip(g * out, a), axis=a), a) / x, None
        return _leave_one_out_cumprod_grad(x, g, a), None


class LogCumSumExp(Function):
    """y_k = log sum_{j<=k} e^(x_j) (np.logaddexp.accumulate: no overflow);
    dL/dx_i = sum_{k>=i} g_k e^(x_i - y_k), every exponent <= 0."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        out = np.logaddexp.accumulate(x, axis=axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        a = ctx.axis
        if isinstance(x, Tensor):  # the O(n^2) sum, built from differentiable ops
            xs, ys, gs = x.swapaxes(a, -1), out.swapaxes(a, -1), g.swapaxes(a, -1)
            later = np.triu(np.ones((xs.shape[-1],) * 2, dtype=bool))  # k >= i
            w = np.exp((xs[..., :, None] - ys[..., None, :]) * later) * later
            return (w * gs[..., None, :]).sum(axis=-1).swapaxes(a, -1), None
        # O(n): split g by sign and sum each part in log space, from the end backwards.
        with np.errstate(divide="ignore"):
            parts = []
            for part in (np.maximum(g, 0), np.maximum(-g, 0)):
                logs = _flip(np.logaddexp.accumulate(_flip(np.log(part) - out, a), axis=a), a)
                parts.append(np.exp(x + logs))
        return parts[0] - parts[1], None


def cumsum(x, axis: int | None = None, *, dim: int | None = None, dtype=None) -> Tensor:
    """Cumulative sum along `axis` (PyTorch's `dim`; x flattened when None, as in NumPy)."""
    x, a, shape = _scan_input(x, axis, dim, "cumsum", dtype)
    return _give_back(CumSum.apply(x, a), shape)


def cumprod(x, axis: int | None = None, *, dim: int | None = None, dtype=None) -> Tensor:
    """Cumulative product along `axis` (x flattened when None); the gradient is exact with
    zeros in x."""
    x, a, shape = _scan_input(x, axis, dim, "cumprod", dtype)
    return _give_back(CumProd.apply(x, a), shape)


def logcumsumexp(x, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """log(cumsum(e^x)) along `axis` (x flattened when None), finite and exact at |x| = 1e4."""
    x, a, shape = _scan_input(x, axis, dim, "logcumsumexp")
    return _give_back(LogCumSumExp.apply(x, a), shape)


def _cumulative_extreme(x, axis, dim, op: str, ufunc) -> ValuesIndices:
    x, a, shape = _scan_input(x, axis, dim, op)
    # The indices come from an op, so a step recorded by tc.jit computes them at each replay.
    indices = no_grad_op(_running_extreme_index, x, a, ufunc)
    values = take_along_axis(x, indices, a)
    return ValuesIndices(_give_back(values, shape), _give_back(indices, shape))


def _running_extreme_index(d: np.ndarray, a: int, ufunc) -> np.ndarray:
    """Where d reaches its running extreme along a (ties: the later index, as PyTorch) or is NaN
    (it propagates, as in PyTorch), the index moves to it."""
    running = ufunc.accumulate(d, axis=a)
    hit = d == running
    if d.dtype.kind == "f":
        hit |= np.isnan(d)
    positions = np.arange(d.shape[a]).reshape((-1,) + (1,) * (d.ndim - a - 1))
    return np.maximum.accumulate(np.where(hit, positions, 0), axis=a)


def cummax(x, axis: int | None = None, *, dim: int | None = None) -> ValuesIndices:
    """(values, indices) of the running maximum along `axis`, as torch.cummax; ties take the
    later index, and the gradient goes to the element each value came from."""
    return _cumulative_extreme(x, axis, dim, "cummax", np.maximum)


def cummin(x, axis: int | None = None, *, dim: int | None = None) -> ValuesIndices:
    """(values, indices) of the running minimum along `axis`, as torch.cummin."""
    return _cumulative_extreme(x, axis, dim, "cummin", np.minimum)


# ---- prod ----------------------------------------------------------------------------------
def _products_of_the_others(x, axes: tuple):
    """prod_{j != i} x_j over `axes` for every element i, exact with zeros: the product of the
    exclusive cumulative products from the left and from the right (works on Tensors too)."""
    rest = [i for i in range(x.ndim) if i not in axes]
    perm = (*rest, *axes)
    xt = x.transpose(perm)
    moved = xt.shape
    flat = xt.reshape(moved[:len(rest)] + (-1,))
    n = flat.shape[-1]
    ones = np.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
    join = (lambda parts: concatenate(parts, -1)) if isinstance(x, Tensor) else (
        lambda parts: np.concatenate(parts, axis=-1))
    last = flat.ndim - 1
    left = _cumprod(join([ones, flat[..., :n - 1]]), last)
    right = _flip(_cumprod(join([ones, _flip(flat, last)[..., :n - 1]]), last), last)
    return (left * right).reshape(moved).transpose(tuple(np.argsort(perm)))


class Prod(Function):
    """prod over axes; d/dx_i = the product of the other elements: out / x_i when no element is
    0; with one zero, the product of the rest at the zero and 0 elsewhere; with two, 0."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        axes = normalize_axis(axis, x.ndim, "prod")
        ctx.axes, ctx.keepdims = axes, keepdims
        out = np.prod(x, axis=axes, keepdims=keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        if not ctx.keepdims:
            g = expand_reduced(g, x.shape, ctx.axes)
            out = expand_reduced(out, x.shape, ctx.axes)
        if not isinstance(x, Tensor) and np.all(x != 0):
            return g * (out / x), None, None
        if x.size == 0:
            return g * x, None, None
        return g * _products_of_the_others(x, ctx.axes), None, None


def prod(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None, dtype=None) -> Tensor:
    """Product over `axis` (all axes when None), in `dtype` if given; the gradient is exact
    with zeros in x (the product of the other elements)."""
    axis, keepdims = torch_axis("prod", axis, dim, keepdims, keepdim)
    x = as_tensor(x)
    if dtype is not None:
        x = astype(x, dtype)
    return Prod.apply(x, axis, keepdims)


# ---- order statistics --------------------------------------------------------------------
def _order(d: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sort indices along `axis`: ties keep their order either way; NaN sorts as the
    largest (last ascending, first descending), as in PyTorch."""
    if not descending:
        return np.argsort(d, axis=axis, kind="stable")
    # Sorting the reversed array and reversing the result keeps ties in their first order.
    n = d.shape[axis]
    return n - 1 - _flip(np.argsort(_flip(d, axis), axis=axis, kind="stable"), axis)


def _axis_or_dim(axis, dim, op: str):
    """axis, or PyTorch's dim for ops whose axis defaults to -1 (giving both is an error)."""
    if dim is None:
        return axis
    if axis != -1:
        raise TypeError(f"{op}: got both axis={axis!r} and dim={dim!r}; they are the same "
                        "argument (NumPy's and PyTorch's name), give one")
    return dim


def sort(x, axis: int | None = -1, descending: bool = False, stable: bool = True, *,
         dim: int | None = None) -> ValuesIndices:
    """(values, indices) of x sorted along `axis` (the last by default; None: flattened), as
    torch.sort; always stable (ties keep their order), so `stable` is accepted and needs no
    effect. The gradient goes back to where each value came from."""
    x, a, shape = _scan_input(x, _axis_or_dim(axis, dim, "sort"), None, "sort")
    order = no_grad_op(_order, x, a, descending)  # an op: tc.jit sorts again at each replay
    return ValuesIndices(_give_back(take_along_axis(x, order, a), shape), _give_back(order, shape))


def argsort(x, axis: int | None = -1, descending: bool = False, stable: bool = True, *,
            dim: int | None = None) -> Tensor:
    """Indices that sort x along `axis` (stable: ties keep their order); no gradient."""
    return sort(x, axis, descending, stable, dim=dim).indices


def topk(x, k: int, axis: int = -1, largest: bool = True, sorted: bool = True, *,  # noqa: A002
         dim: int | None = None) -> ValuesIndices:
    """(values, indices) of the k largest (or smallest) elements along `axis`, as torch.topk,
    best first; ties go to the lower index first. The values are differentiable (the gradient
    goes back to the picked elements); `sorted=False` returns them sorted as well."""
    x, a, shape = _scan_input(x, _axis_or_dim(axis, dim, "topk"), None, "topk")
    n = x.shape[a]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"topk: k must be an int from 0 to {n} (the size of axis {a} of shape "
                         f"{x.shape if shape is None else shape}), got {k!r}")
    order = no_grad_op(_first_k, x, a, largest, int(k))  # an op: tc.jit picks again at each replay
    values = take_along_axis(x, order, a)
    if shape is not None:  # a 0-d input: k is 0 or 1, the result keeps PyTorch's 0-d shape if 1
        shape = () if k == 1 else (0,)
    return ValuesIndices(_give_back(values, shape), _give_back(order, shape))


def _first_k(d: np.ndarray, a: int, largest: bool, k: int) -> np.ndarray:
    return _order(d, a, largest)[(slice(None),) * a + (slice(0, k),)]


class MedianAll(Function):
    """The lower median of all elements (the ((n-1)//2)-th smallest; NaN if any is NaN); the
    gradient is split evenly among the elements equal to it, as PyTorch's median()."""

    name = "median"

    @staticmethod
    def forward(ctx, x):
        flat = x.reshape(-1)
        if flat.size == 0:
            raise ValueError("median: the median of an empty tensor is undefined")
        nan = np.isnan(flat) if flat.dtype.kind == "f" else np.zeros(flat.shape, bool)
        if nan.any():
            value, chosen = flat[np.argmax(nan)], nan & (np.cumsum(nan) == 1)
        else:
            value = np.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2]
            chosen = flat == value
        ctx.weights = (chosen / np.sum(chosen)).reshape(x.shape).astype(x.dtype, copy=False)
        return np.asarray(value)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.weights


def median(x, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
           keepdim: bool | None = None):
    """The lower median, as PyTorch (for an even count the smaller middle value, not NumPy's
    mean of the two; NaN if any is NaN). With axis=None a 0-d tensor whose gradient is split
    among the elements equal to it; along an axis, (values, indices) as torch.median(x, dim),
    the gradient going to the chosen element."""
    axis, keepdims = torch_axis("median", axis, dim, keepdims, keepdim)
    x = as_tensor(x)
    if axis is None:
        out = MedianAll.apply(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    x, a, shape = _scan_input(x, axis, None, "median")
    if x.shape[a] == 0:
        raise ValueError(f"median: axis {a} of shape {x.shape} is empty")
    index = no_grad_op(_median_index, x, a)  # an op: tc.jit finds it again at each replay
    values = take_along_axis(x, index, a)
    if not keepdims or shape is not None:  # a 0-d input gives 0-d results either way
        values, index = values.squeeze(a), index.squeeze(a)
    return ValuesIndices(values, index)


def _median_index(d: np.ndarray, a: int) -> np.ndarray:
    """The index of the lower median along a (kept as a length-1 axis); NaN sorts last, so the
    first NaN in order is the median when there is one."""
    n = d.shape[a]
    order = _order(d, a, False)
    pos = np.full(d.shape[:a] + (1,) + d.shape[a + 1:], (n - 1) // 2)
    if d.dtype.kind == "f":
        nans = np.sum(np.isnan(d), axis=a, keepdims=True)
        pos = np.where(nans > 0, n - nans, pos)
    return np.take_along_axis(order, pos, axis=a)


# ---- norms and moments -------------------------------------------------------------------
def norm(x, p="fro", axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """torch.norm: the p-norm of x over `axis` (all elements when None) for p a number, inf,
    -inf or 0; 'fro' (the default) is the 2-norm of the elements, 'nuc' the sum of singular
    values over two axes (the last two when None). Gradient 0 at the zero vector, as PyTorch.
    For NumPy's matrix-aware norm see tc.linalg.norm."""
    axis, keepdims = torch_axis("norm", axis, dim, keepdims, keepdim)
    if p == "nuc":
        return matrix_norm(x, "nuc", (-2, -1) if axis is None else axis, keepdims)
    if isinstance(p, str) and p != "fro":
        raise ValueError(f"norm: p must be a number, inf, -inf, 'fro' or 'nuc', got {p!r}")
    return vector_norm(x, 2 if p == "fro" else p, axis, keepdims)


def var_mean(x, axis=None, keepdims: bool = False, ddof: int | None = None, *, dim=None,
             keepdim=None, correction: int | None = None, unbiased: bool | None = None) -> tuple:
    """(var, mean) over `axis`, as torch.var_mean; ddof as in `var` (NumPy's 0 by default,
    PyTorch's correction=1 when `dim=` is used)."""
    kw = dict(dim=dim, keepdim=keepdim, correction=correction, unbiased=unbiased)
    return (var(x, axis, keepdims, ddof, **kw),
            mean(x, axis, keepdims, dim=dim, keepdim=keepdim))


def std_mean(x, axis=None, keepdims: bool = False, ddof: int | None = None, *, dim=None,
             keepdim=None, correction: int | None = None, unbiased: bool | None = None) -> tuple:
    """(std, mean) over `axis`, as torch.std_mean; ddof as in `std`."""
    kw = dict(dim=dim, keepdim=keepdim, correction=correction, unbiased=unbiased)
    return (std(x, axis, keepdims, ddof, **kw),
            mean(x, axis, keepdims, dim=dim, keepdim=keepdim))


Tensor.prod, Tensor.cumsum, Tensor.cumprod, Tensor.logcumsumexp = prod, cumsum, cumprod, logcumsumexp
Tensor.cummax, Tensor.cummin, Tensor.sort, Tensor.argsort = cummax, cummin, sort, argsort
Tensor.topk, Tensor.median, Tensor.norm = topk, median, norm
