"""Comparisons: ==, !=, <, <=, >, >= elementwise, giving bool tensors with no gradient."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _compare(ufunc, doc: str):
    def op(a, b) -> Tensor:
        ad = a.data if isinstance(a, Tensor) else a
        bd = b.data if isinstance(b, Tensor) else b
        return Tensor._wrap(np.asarray(ufunc(ad, bd)))
    op.__name__ = ufunc.__name__
    op.__doc__ = f"a {doc} b elementwise, a bool tensor with no gradient (NumPy's {ufunc.__name__})."
    return op


equal, not_equal = _compare(np.equal, "=="), _compare(np.not_equal, "!=")
less, less_equal = _compare(np.less, "<"), _compare(np.less_equal, "<=")
greater, greater_equal = _compare(np.greater, ">"), _compare(np.greater_equal, ">=")

Tensor.__eq__, Tensor.__ne__ = equal, not_equal
Tensor.__lt__, Tensor.__le__ = less, less_equal
Tensor.__gt__, Tensor.__ge__ = greater, greater_equal
