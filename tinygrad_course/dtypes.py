"""The default floating dtype and the dtype rules for new tensors."""
from __future__ import annotations

import numpy as np

_default_float = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """Set the dtype given to tensors made from Python floats (float32 unless changed)."""
    global _default_float
    d = np.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _default_float = d


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats and float lists become."""
    return _default_float


def is_floating(dtype) -> bool:
    return np.dtype(dtype).kind == "f"
