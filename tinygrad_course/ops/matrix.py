"""tc.linalg's ops, as numpy.linalg and torch.linalg: inverse, determinant, log-determinant,
linear solve, and vector and matrix norms; differentiable, with second derivatives where the math
allows (the rules are written with Tensor ops)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import (as_tensor, expand_reduced, keepdims_shape, no_grad_op, normalize_axis,
                     torch_axis)
from .einsum import _data


LinAlgError = np.linalg.LinAlgError


def _check_square(a, op: str) -> None:
    if np.ndim(a) < 2 or a.shape[-1] != a.shape[-2]:
        raise LinAlgError(f"{op}: needs square matrices in the last two dimensions, shape "
                          f"(..., n, n); got shape {np.shape(a)}")


def _singular(op: str, a) -> LinAlgError:
    """The error for a singular matrix: which one (in a batch) and what to do."""
    where = ""
    for idx in np.ndindex(a.shape[:-2]):
        if np.linalg.matrix_rank(a[idx]) < a.shape[-1]:
            where = f" (the one at batch index {idx})" if idx else ""
            break
    n = a.shape[-1]
    return LinAlgError(f"{op}: the {n}x{n} matrix{where} of the input of shape {a.shape} is "
                       "singular (its rows are linearly dependent), so it has no inverse; "
                       f"regularize it (A + 1e-6 * tc.eye({n})) or check how it was built")


def _inv(a, op: str = "inv"):
    """inv(a) of an array, or of a Tensor (differentiable)."""
    if isinstance(a, Tensor):
        return Inv.apply(a)
    try:
        return np.linalg.inv(a)
    except LinAlgError:
        raise _singular(op, a) from None


def _solve(a, b):
    """solve(a, b) of arrays, or of Tensors (differentiable)."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return Solve.apply(a, b)
    return np.linalg.solve(a, b)


def _mT(x):
    """The matrix transpose (last two axes swapped) of an array or a Tensor."""
    return x.swapaxes(-1, -2)


def _as_matrix_scale(s):
    """A batch of scalars (...,) as (..., 1, 1), to scale a batch of matrices."""
    return s.reshape(tuple(s.shape) + (1, 1))


class Inv(Function):
    """B = inv(A); dA = -B^T g B^T."""

    @staticmethod
    def forward(ctx, a):
        _check_square(a, "inv")
        out = _inv(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (b,) = ctx.saved
        bt = _mT(b)
        return -(bt @ g @ bt)


class Det(Function):
    """d = det(A); dA = g d inv(A)^T (the cofactor matrix, from the SVD when d = 0)."""

    @staticmethod
    def forward(ctx, a):
        _check_square(a, "det")
        out = np.linalg.det(a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, d = ctx.saved
        if not isinstance(a, Tensor) and np.any(d == 0):
            return _as_matrix_scale(g) * _cofactor(a)
        return _as_matrix_scale(g * d) * _mT(_inv(a, "det (backward)"))


def _cofactor(a: np.ndarray) -> np.ndarray:
    """det(A) inv(A)^T without the inverse, so it exists for singular A: with A = U S V^T,
    it is det(U) det(V) U diag(prod of the other singular values) V^T."""
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return _as_matrix_scale(sign) * ((u * others[..., None, :]) @ vh)


class LogAbsDet(Function):
    """l = log|det(A)|; dA = g inv(A)^T (slogdet's sign, with no gradient, is an op of its own)."""

    name = "slogdet"

    @staticmethod
    def forward(ctx, a):
        _check_square(a, "slogdet")
        ctx.save_for_backward(a)
        return np.linalg.slogdet(a)[1]

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return _as_matrix_scale(g) * _mT(_inv(a, "slogdet (backward)"))


class Solve(Function):
    """x = solve(A, b), so A x = b; gb = solve(A^T, g), gA = -gb x^T (b is a vector when
    1-D, else a batch of (n, k) matrices, as NumPy 2)."""

    @staticmethod
    def forward(ctx, a, b):
        _check_square(a, "solve")
        b = np.asarray(b)
        rows = b.shape[0] if b.ndim == 1 else (b.shape[-2] if b.ndim >= 2 else None)
        if rows != a.shape[-1]:
            raise ValueError(f"solve: A of shape {a.shape} needs b of shape ({a.shape[-1]},) or "
                             f"(..., {a.shape[-1]}, k); got b of shape {b.shape}")
        try:
            out = np.linalg.solve(a, b)
        except LinAlgError:
            raise _singular("solve", a) from None
        except ValueError as e:
            raise ValueError(f"solve: A of shape {a.shape} and b of shape {b.shape}: the batch "
                             f"dimensions do not broadcast ({e})") from None
        ctx.vector = b.ndim == 1
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved
        if ctx.vector:
            g, x = g.reshape(tuple(g.shape) + (1,)), x.reshape(tuple(x.shape) + (1,))
        gb = _solve(_mT(a), g)
        ga = -(gb @ _mT(x)) if ctx.needs_input_grad[0] else None
        if ctx.needs_input_grad[1] and ctx.vector:
            gb = gb.reshape(tuple(gb.shape[:-1]))
        return ga, (gb if ctx.needs_input_grad[1] else None)


def inv(a) -> Tensor:
    """The inverse of each square matrix in the last two dimensions; LinAlgError if singular."""
    return Inv.apply(a)


def det(a) -> Tensor:
    """The determinant of each square matrix in the last two dimensions."""
    return Det.apply(a)


class SlogdetResult(NamedTuple):
    """slogdet's result: det(A) = sign * exp(logabsdet)."""

    sign: Tensor
    logabsdet: Tensor


def slogdet(a) -> SlogdetResult:
    """(sign, log|det A|) of each square matrix, overflow-free; only logabsdet has a gradient
    (inv(A)^T). A singular matrix gives sign 0 and logabsdet -inf, as in NumPy."""
    logabsdet = LogAbsDet.apply(a)
    # The sign by an op (no gradient), so a step replayed by tc.jit computes it again.
    return SlogdetResult(no_grad_op(_slogdet_sign, a), logabsdet)


def _slogdet_sign(a: np.ndarray) -> np.ndarray:
    return np.linalg.slogdet(a)[0]


def solve(a, b) -> Tensor:
    """x with A x = b, for each square A in a batch; b is (n,) or (..., n, k) (NumPy 2's
    rule), batch dimensions broadcast. Differentiable in A and b."""
    return Solve.apply(a, b)


# ---- tc.linalg.norm ------------------------------------------------------------------------
class VectorNorm(Function):
    """||x||_p = (sum |x|^p)^(1/p) over axes, for finite p > 0; the gradient is
    g sign(x) |x|^(p-1) / ||x||^(p-1), and 0 at x_i = 0 and where the norm is 0 (PyTorch's
    convention)."""

    name = "norm"

    @staticmethod
    def forward(ctx, x, p, axes, keepdims):
        ctx.p, ctx.axes, ctx.keepdims, ctx.shape = p, axes, keepdims, x.shape
        if p == 2:
            out = np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdims))
        elif p == 1:
            out = np.sum(np.abs(x), axis=axes, keepdims=keepdims)
        else:
            out = np.sum(np.abs(x) ** p, axis=axes, keepdims=keepdims) ** (1.0 / p)
        out = np.asarray(out)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        if not ctx.keepdims:
            g, out = expand_reduced(g, ctx.shape, ctx.axes), expand_reduced(out, ctx.shape, ctx.axes)
        sign = np.sign(_data(x))  # piecewise constant: no second-order term
        if ctx.p == 1:
            return g * sign, None, None, None
        safe = out + (_data(out) == 0)  # the norm, with 1 where it is 0 (x is all 0 there)
        if ctx.p == 2:
            return g * x / safe, None, None, None
        p = ctx.p  # |x|^(p-1) taken as 0 at x = 0 even for p < 1, as PyTorch does
        magnitude = np.abs(x) + (sign == 0)
        return g * sign * magnitude ** (p - 1) / safe ** (p - 1), None, None, None


def _is_ord(ord, *values) -> bool:
    return not isinstance(ord, str) and ord is not None and any(ord == v for v in values)


def _vector_norm(x: Tensor, ord, axes: tuple, keepdims: bool) -> Tensor:
    if ord is None:
        ord = 2
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm takes a number "
                         "(2, 1, inf, -inf, 0 or any p)")
    if ord == np.inf or ord == -np.inf:
        m = np.abs(x)
        return m.max(axis=axes, keepdims=keepdims) if ord > 0 else m.min(axis=axes, keepdims=keepdims)
    if ord == 0:  # the count of nonzeros: piecewise constant, no gradient (an op, for tc.jit)
        return no_grad_op(_count_nonzero, x, axes, keepdims)
    if ord > 0:
        return VectorNorm.apply(x, float(ord), axes, keepdims)
    return (np.abs(x) ** ord).sum(axis=axes, keepdims=keepdims) ** (1.0 / ord)


def _count_nonzero(x: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    return np.sum(x != 0, axis=axes, keepdims=keepdims).astype(x.dtype)


class SingularValueNorm(Function):
    """The largest (ord 2) or smallest (ord -2) singular value, or their sum ('nuc'), of the
    matrices in the last two axes; with A = U S V^T the gradient is g u_k v_k^T (or g U V^T)."""

    name = "norm"

    @staticmethod
    def forward(ctx, a, ord):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        if ord == "nuc":
            ctx.save_for_backward(u @ vh)
            return s.sum(axis=-1)
        k = 0 if ord == 2 else s.shape[-1] - 1
        ctx.save_for_backward(u[..., :, k:k + 1] @ vh[..., k:k + 1, :])
        return s[..., k]

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            raise NotImplementedError(
                "norm: the second derivative of the matrix norms ord=2, -2 and 'nuc' (singular "
                "values) is not implemented; ord='fro' has one")
        (uv,) = ctx.saved
        return _as_matrix_scale(g) * uv, None


def _matrix_norm(x: Tensor, ord, axes: tuple, keepdims: bool) -> Tensor:
    row, col = axes
    if ord is None or ord in ("fro", "f"):
        out = VectorNorm.apply(x, 2.0, axes, False)
    elif _is_ord(ord, 1, -1):
        sums = np.abs(x).sum(axis=row)
        c = col - 1 if col > row else col
        out = sums.max(axis=c) if ord > 0 else sums.min(axis=c)
    elif _is_ord(ord, np.inf, -np.inf):
        sums = np.abs(x).sum(axis=col)
        r = row - 1 if row > col else row
        out = sums.max(axis=r) if ord > 0 else sums.min(axis=r)
    elif _is_ord(ord, 2, -2) or ord == "nuc":
        rest = [i for i in range(x.ndim) if i not in axes]
        out = SingularValueNorm.apply(x.transpose((*rest, row, col)), ord)
    else:
        raise ValueError(f"norm: ord={ord!r} is not a matrix norm; use 'fro', 'nuc', 1, -1, 2, "
                         "-2, inf or -inf")
    if keepdims:
        out = out.reshape(keepdims_shape(x.shape, axes))
    return out


def norm(x, ord=None, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """numpy.linalg.norm: a vector p-norm (ord a number, inf, -inf, 0; 2 by default) over one
    axis, or a matrix norm ('fro' by default, 'nuc', 1, -1, 2, -2, inf, -inf) over two; with
    axis=None, the 2-norm of all elements (ord=None) or the norm of a 1-D or 2-D tensor.
    PyTorch's dim=/keepdim= are accepted. Integer inputs give float64, as in NumPy."""
    axis, keepdims = torch_axis("norm", axis, dim, keepdims, keepdim)
    x = as_tensor(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if axis is None:
        if ord is None:
            return VectorNorm.apply(x, 2.0, tuple(range(x.ndim)), keepdims)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D tensor, got "
                             f"shape {x.shape}; give axis= (one axis: vector norm, two: matrix norm)")
        axis = tuple(range(x.ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    norm_axes = normalize_axis(axes, x.ndim, "norm")
    if len(axes) == 1:
        return _vector_norm(x, ord, norm_axes, keepdims)
    if len(axes) == 2:
        row, col = (int(a) % x.ndim for a in axes)  # in the order given: it says which is the row
        return _matrix_norm(x, ord, (row, col), keepdims)
    raise ValueError(f"norm: axis={axis!r}: give one axis (vector norm) or two (matrix norm)")


def vector_norm(x, ord=2, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """torch.linalg.vector_norm: the p-norm of x over `axis` (all elements when None)."""
    axis, keepdims = torch_axis("vector_norm", axis, dim, keepdims, keepdim)
    x = as_tensor(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    axes = normalize_axis(axis, x.ndim, "vector_norm")
    return _vector_norm(x, ord, axes, keepdims)


def matrix_norm(x, ord="fro", axis=(-2, -1), keepdims: bool = False, *, dim=None,
                keepdim=None) -> Tensor:
    """torch.linalg.matrix_norm: a matrix norm over the two axes `axis` (the last two)."""
    axis, keepdims = torch_axis("matrix_norm", axis, dim, keepdims, keepdim)
    return norm(x, ord, tuple(axis), keepdims)


Tensor.inverse, Tensor.det, Tensor.slogdet = inv, det, slogdet  # PyTorch's method names
