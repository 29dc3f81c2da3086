"""Tests and logic: isnan/isinf/isfinite, isclose/allclose, logical_and/or/xor/not, the bitwise
ops behind `&`, `|`, `^`, `~` (logical on bool tensors, bitwise on integers, as in NumPy), and
any/all over axes. They give bool (or integer) tensors with no gradient."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .common import no_grad_op, normalize_axis, reads_values, reflected, torch_axis


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _no_grad_op(ufunc, doc: str):
    def op(*args) -> Tensor:
        return no_grad_op(ufunc, *args)
    op.__name__ = ufunc.__name__
    op.__doc__ = f"{doc}, elementwise; no gradient (NumPy's {ufunc.__name__})."
    return op


isnan = _no_grad_op(np.isnan, "Whether x is NaN, a bool tensor")
isinf = _no_grad_op(np.isinf, "Whether x is +inf or -inf, a bool tensor")
isfinite = _no_grad_op(np.isfinite, "Whether x is neither NaN nor infinite, a bool tensor")
logical_and = _no_grad_op(np.logical_and, "a and b (nonzero counts as true), a bool tensor")
logical_or = _no_grad_op(np.logical_or, "a or b (nonzero counts as true), a bool tensor")
logical_xor = _no_grad_op(np.logical_xor, "a xor b (nonzero counts as true), a bool tensor")
logical_not = _no_grad_op(np.logical_not, "not x (zero counts as false), a bool tensor")


def _bitwise(ufunc, symbol: str, doc: str):
    def op(*args) -> Tensor:
        arrays = [_data(a) for a in args]
        kinds = [np.result_type(a) for a in arrays]
        if [k for k in kinds if k.kind not in "biu"]:
            example = "~(a > 0)" if len(args) == 1 else "(a > 0) & (b < 1)"
            raise TypeError(
                f"{ufunc.__name__} ({symbol}): works on bool and integer tensors, got dtypes "
                f"{', '.join(map(str, kinds))}; compare floats first, e.g. {example}, or use "
                f"tc.logical_{'not' if len(args) == 1 else ufunc.__name__.split('_')[1]} "
                "(nonzero counts as true)")
        return no_grad_op(ufunc, *arrays)
    op.__name__ = ufunc.__name__
    op.__doc__ = (f"{doc} (`{symbol}`): logical on bool tensors, bitwise on integers, as in "
                  f"NumPy; no gradient.")
    return op


bitwise_and = _bitwise(np.bitwise_and, "&", "a AND b")
bitwise_or = _bitwise(np.bitwise_or, "|", "a OR b")
bitwise_xor = _bitwise(np.bitwise_xor, "^", "a XOR b")
invert = _bitwise(np.invert, "~", "NOT x")
bitwise_not = invert


def isclose(a, b, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """|a - b| <= atol + rtol |b| elementwise (NumPy's and PyTorch's defaults), a bool tensor."""
    return no_grad_op(np.isclose, a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


@reads_values
def allclose(a, b, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """Whether isclose(a, b) holds everywhere, as a Python bool (as NumPy and PyTorch)."""
    return bool(np.allclose(_data(a), _data(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def _reduce(fn, op: str, x, axis, keepdims, dim, keepdim) -> Tensor:
    axis, keepdims = torch_axis(op, axis, dim, keepdims, keepdim)
    d = np.asarray(_data(x))
    axes = None if axis is None else normalize_axis(axis, d.ndim, op)
    return no_grad_op(fn, d, axis=axes, keepdims=keepdims)


def any(x, axis=None, keepdims: bool = False, *, dim=None,  # noqa: A001 - NumPy's name
        keepdim: bool | None = None) -> Tensor:
    """Whether any element over `axis` (PyTorch's `dim`; all axes when None) is nonzero, a bool
    tensor with no gradient."""
    return _reduce(np.any, "any", x, axis, keepdims, dim, keepdim)


def all(x, axis=None, keepdims: bool = False, *, dim=None,  # noqa: A001 - NumPy's name
        keepdim: bool | None = None) -> Tensor:
    """Whether every element over `axis` (PyTorch's `dim`; all axes when None) is nonzero, a bool
    tensor with no gradient."""
    return _reduce(np.all, "all", x, axis, keepdims, dim, keepdim)


Tensor.isnan, Tensor.isinf, Tensor.isfinite = isnan, isinf, isfinite
Tensor.isclose, Tensor.allclose, Tensor.any, Tensor.all = isclose, allclose, any, all
Tensor.logical_and, Tensor.logical_or = logical_and, logical_or
Tensor.logical_xor, Tensor.logical_not = logical_xor, logical_not
Tensor.bitwise_and, Tensor.bitwise_or, Tensor.bitwise_xor = bitwise_and, bitwise_or, bitwise_xor
Tensor.bitwise_not = bitwise_not
Tensor.__and__, Tensor.__rand__ = bitwise_and, reflected(bitwise_and, "__rand__")
Tensor.__or__, Tensor.__ror__ = bitwise_or, reflected(bitwise_or, "__ror__")
Tensor.__xor__, Tensor.__rxor__ = bitwise_xor, reflected(bitwise_xor, "__rxor__")
Tensor.__invert__ = invert
