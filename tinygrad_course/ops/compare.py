"""Comparisons: ==, !=, <, <=, >, >= elementwise, giving bool tensors with no gradient."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .common import no_grad_op


def _compare(ufunc, doc: str):
    def op(a, b) -> Tensor:
        return no_grad_op(ufunc, a, b)
    op.__name__ = ufunc.__name__
    op.__doc__ = f"a {doc} b elementwise, a bool tensor with no gradient (NumPy's {ufunc.__name__})."
    return op


equal, not_equal = _compare(np.equal, "=="), _compare(np.not_equal, "!=")
less, less_equal = _compare(np.less, "<"), _compare(np.less_equal, "<=")
greater, greater_equal = _compare(np.greater, ">"), _compare(np.greater_equal, ">=")

Tensor.__eq__, Tensor.__ne__ = equal, not_equal
Tensor.__lt__, Tensor.__le__ = less, less_equal
Tensor.__gt__, Tensor.__ge__ = greater, greater_equal
