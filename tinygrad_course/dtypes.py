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


# PyTorch's dtype names (torch.float32, torch.long, ...), here the NumPy types they stand for.
float16 = half = np.float16
float32 = np.float32
float64 = double = np.float64
int8, uint8, int16, int32 = np.int8, np.uint8, np.int16, np.int32
int64 = long = np.int64
# torch.float, torch.int and torch.bool would shadow Python's builtins in a star import, so
# tc.float, tc.int and tc.bool are served by the package's __getattr__ instead.
SHADOWING_ALIASES = {"float": np.float32, "int": np.int32, "bool": np.bool_}
