"""NumPy ufuncs on Tensors (`np.exp(t)`, `ndarray * t`) dispatch to the differentiable ops."""
from __future__ import annotations

import numpy as np

from .. import ops


def _table() -> dict:
    return {
        np.add: ops.add, np.subtract: ops.sub, np.multiply: ops.mul, np.true_divide: ops.div,
        np.power: ops.pow, np.negative: ops.neg, np.positive: lambda x: x, np.absolute: ops.abs,
        np.sqrt: ops.sqrt, np.exp: ops.exp, np.log: ops.log, np.maximum: ops.maximum,
        np.minimum: ops.minimum, np.tanh: ops.tanh, np.matmul: ops.matmul,
        np.equal: ops.equal, np.not_equal: ops.not_equal, np.less: ops.less,
        np.less_equal: ops.less_equal, np.greater: ops.greater, np.greater_equal: ops.greater_equal,
    }


_TABLE: dict = {}


def dispatch_ufunc(ufunc, method: str, inputs: tuple, kwargs: dict):
    if not _TABLE:
        _TABLE.update(_table())
    fn = _TABLE.get(ufunc)
    if fn is None or method != "__call__" or kwargs:
        return NotImplemented
    return fn(*inputs)
