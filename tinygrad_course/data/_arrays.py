"""What splits and loaders share: examples along axis 0, ndarrays or Tensors in, the same kind out."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def as_array(a, name: str, where: str) -> np.ndarray:
    """The ndarray behind `a` (a Tensor's .data, or np.asarray), with at least one axis."""
    arr = a.data if isinstance(a, Tensor) else np.asarray(a)
    if arr.ndim == 0:
        raise ValueError(f"{where}: {name} must have examples along axis 0, got a 0-d value")
    return arr


def num_examples(X, y, where: str) -> int:
    """m, the number of examples, after checking that X and y agree on it."""
    m = as_array(X, "X", where).shape[0]
    if y is not None and as_array(y, "y", where).shape[0] != m:
        raise ValueError(f"{where}: X and y must have the same number of examples (axis 0), got "
                         f"X with {m} and y with {as_array(y, 'y', where).shape[0]}")
    return m


def take(a, idx: np.ndarray):
    """The examples `idx` of `a`, as a new array of the same kind (a Tensor stays a Tensor)."""
    if isinstance(a, Tensor):
        return Tensor._wrap(a.data[idx])
    return np.asarray(a)[idx]
