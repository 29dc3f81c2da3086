"""Matrix products with NumPy's rules (1-D operands, batched leading dimensions): matmul (`@`),
dot, and the fused linear layer x @ W^T + b. Einsum and its products are in einsum.py, tc.linalg's
inverse, determinants, solve and norms in matrix.py."""
from __future__ import annotations


import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ..lowering import Lowered, grad_buffer, lowering, same_dtype
from .common import shape_constant


def _check_matmul(a, b) -> None:
    sa, sb = np.shape(a), np.shape(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: {sa} @ {sb}: both operands need at least one dimension "
                         "(use * for a scalar product)")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(f"matmul: {sa} @ {sb}: inner dimensions {ka} and {kb} differ")


class MatMul(Function):
    """z = a @ b; da = g @ b^T, db = a^T @ g (with 1-D operands promoted as NumPy does)."""

    @staticmethod
    def forward(ctx, a, b):
        _check_matmul(a, b)
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(a if nb else None, b if na else None)
        ctx.nd = (np.ndim(a), np.ndim(b))
        try:
            return a @ b
        except ValueError as e:
            raise ValueError(f"matmul: {np.shape(a)} @ {np.shape(b)}: batch dimensions do not "
                             f"broadcast ({e})") from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        a_nd, b_nd = ctx.nd
        if a_nd == 1 and b_nd == 1:
            return (g * b if na else None), (g * a if nb else None)
        if a_nd == 1:
            g2 = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
            ga = (g2 @ b.swapaxes(-1, -2)) if na else None
            gb = None
            if nb:
                gb = a.reshape((a.shape[0], 1)) @ g2
            return ga, gb
        if b_nd == 1:
            g2 = g.reshape(g.shape + (1,))
            ga = (g2 @ b.reshape((1, b.shape[0]))) if na else None
            gb = None
            if nb:
                gb2 = a.swapaxes(-1, -2) @ g2
                gb = gb2.reshape(gb2.shape[:-1])
            return ga, gb
        ga = (g @ b.swapaxes(-1, -2)) if na else None
        gb = (a.swapaxes(-1, -2) @ g) if nb else None
        return ga, gb


@shape_constant
def _ones(n: int, dtype) -> np.ndarray:
    """A row of n ones (made once per size: np.ones costs a microsecond of Python)."""
    return np.ones(n, dtype)


class Linear(Function):
    """z = x @ W^T + b, fused (one node, one pass): dx = g W, dW = g^T x, db = sum(g)."""

    @staticmethod
    def forward(ctx, x, w, b):
        if x.ndim < 1 or x.shape[-1] != w.shape[1]:
            raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} "
                             f"features but the weight of shape {w.shape} expects {w.shape[1]}")
        nx, nw, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if nw else None, w if nx else None)
        out = x @ w.T
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        nx, nw, nb = ctx.needs_input_grad
        gx = g @ w if nx else None
        gw = None
        if nw:
            if g.ndim == 2:
                gw = g.T @ x
            else:
                gw = g.reshape((-1, g.shape[-1])).T @ x.reshape((-1, x.shape[-1]))
        gb = None
        if nb:
            if g.ndim == 2 and type(g) is np.ndarray:
                # A row of ones times g is the column sum as one BLAS call, several times
                # faster than np.sum(axis=0) on a tall, narrow gradient.
                gb = _ones(g.shape[0], g.dtype) @ g
            else:
                gb = g.sum(axis=tuple(range(g.ndim - 1))) if g.ndim > 1 else g
        return gx, gw, gb


@lowering(Linear)
def _linear_kernels(ctx, args: list, out: np.ndarray) -> Lowered | None:
    """Linear's replay kernels for a batch of rows (x 2-D): the same matmuls, into buffers."""
    if args[0].ndim != 2:
        return None
    nx, nw, nb = ctx.needs_input_grad
    z, dtype, grads = np.empty_like(out), out.dtype, [None] * 3  # out; dx, dW, db
    ones = _ones(out.shape[0], dtype)  # (db = ones @ g, the batch fixed by the signature)

    def forward(ctx, x, w, b):
        ctx.saved = (x, w)  # (let go of as eager's are: by the backward plan, or at the end)
        np.matmul(x, w.T, z)
        return z if b is None else np.add(z, b, z)

    def backward(ctx, g):
        if g.dtype is not dtype:
            return Linear.backward(ctx, g)
        x, w = ctx.saved
        return (np.matmul(g, w, grad_buffer(grads, 0, x.shape, dtype)) if nx else None,
                np.matmul(g.T, x, grad_buffer(grads, 1, w.shape, dtype)) if nw else None,
                np.matmul(ones, g, grad_buffer(grads, 2, w.shape[:1], dtype))
                if nb else None)

    fits = same_dtype(dtype, *args) and (args[2] is None or args[2].shape == out.shape[1:])

    def bind(g, outs):
        dx, dw, db = outs

        def run():
            x, w = ctx.saved
            if dx is not None:
                np.matmul(g, w, dx.array)
            if dw is not None:
                np.matmul(g.T, x, dw.array)
            if db is not None:
                np.matmul(ones, g, db.array)
        return run
    return Lowered(forward, backward, grads, out=z, fresh=True, bind=bind if fits else None)


def matmul(a, b) -> Tensor:
    """a @ b with NumPy's rules for 1-D and batched operands."""
    return MatMul.apply(a, b)


def dot(a, b) -> Tensor:
    """NumPy's dot for 1-D and 2-D operands (inner product, or matrix product)."""
    nd = (np.ndim(a.data if isinstance(a, Tensor) else a), np.ndim(b.data if isinstance(b, Tensor) else b))
    if max(nd) > 2:
        raise ValueError("dot: only 1-D and 2-D operands are supported; use matmul for batches")
    if min(nd) == 0:
        return a * b if isinstance(a, Tensor) else b * a
    return MatMul.apply(a, b)


def linear(x, weight, bias=None) -> Tensor:
    """x @ weight^T + bias as one fused op (weight of shape (out, in), as in PyTorch)."""
    return Linear.apply(x, weight, bias)


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: MatMul.apply(other, self)
Tensor.matmul, Tensor.dot = matmul, dot
