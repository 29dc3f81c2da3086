"""Tensor's conversions and Python protocols: numpy(), item(), tolist(), np.asarray(t), len(),
iteration, bool/float/int/index, f-string formatting and repr."""
from __future__ import annotations

import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor


def numpy(self) -> np.ndarray:
    """The underlying ndarray (shared, not copied)."""
    return self.data

def item(self):
    """The one element as a Python number."""
    if self.data.size != 1:
        raise ValueError(f"item: only a tensor with one element can be converted to a Python "
                         f"scalar, this one has shape {self.shape}")
    return self.data.item()

def tolist(self):
    """The data as nested Python lists."""
    return self.data.tolist()

def __array__(self, dtype=None, copy=None):
    if dtype is not None and np.dtype(dtype) != self.data.dtype:
        return self.data.astype(dtype)
    return self.data.copy() if copy else self.data

def __len__(self) -> int:
    if self.data.ndim == 0:
        raise TypeError("len() of a 0-d tensor")
    return len(self.data)

def __iter__(self):
    if self.data.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(len(self.data)))

def __bool__(self) -> bool:
    if self.data.size != 1:
        raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                         "use tc.any(t) or tc.all(t) (or t.data.any())")
    return bool(self.data)

def __float__(self) -> float:
    return float(self.item())

def __int__(self) -> int:
    return int(self.item())

def __index__(self) -> int:
    if self.data.dtype.kind not in "iu":
        raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
    return int(self.item())

def __format__(self, spec: str) -> str:
    # f"{loss:.4f}" formats a one-element tensor as its number, as PyTorch does.
    if spec and self.data.size == 1:
        return format(self.item(), spec)
    return format(str(self), spec)

def __repr__(self) -> str:
    body = np.array2string(self.data, separator=", ", prefix="tensor(")
    extras = []
    if self.data.dtype not in (get_default_dtype(), np.dtype(np.int64), np.dtype(np.bool_)):
        extras.append(f"dtype={self.data.dtype}")
    if self._ctx is not None:
        extras.append(f"grad_fn=<{type(self._ctx).__name__}>")
    elif self.requires_grad:
        extras.append("requires_grad=True")
    if self.name:
        extras.append(f"name={self.name!r}")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


for _f in (numpy, item, tolist, __array__, __len__, __iter__, __bool__, __float__, __int__, __index__, __format__, __repr__):
    setattr(Tensor, _f.__name__, _f)
