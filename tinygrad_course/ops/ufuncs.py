"""NumPy ufuncs on Tensors (`np.exp(t)`, `ndarray * t`) go to the differentiable op of the same
name in `tinygrad_course.ops` (NumPy's own name, or the alias below)."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor

# NumPy names whose op is spelled otherwise here.
_ALIASES = {"subtract": "sub", "multiply": "mul", "divide": "div", "true_divide": "div",
            "power": "pow", "negative": "neg", "absolute": "abs"}


def _array_ufunc(self, ufunc, method: str, *inputs, **kwargs):
    if method != "__call__" or kwargs:
        return NotImplemented
    if ufunc is np.positive:
        return inputs[0]
    fn = getattr(ops, _ALIASES.get(ufunc.__name__, ufunc.__name__), None)
    if fn is None:
        return NotImplemented
    return fn(*inputs)


Tensor.__array_ufunc__ = _array_ufunc
