"""Tensor: a NumPy array, its gradient, and the node of the graph that produced it.

The engine is four files, read in this order: `tensor.py` (this), `autograd.py` (Function,
apply, grad mode), `inplace.py` (version counters, in-place changes), `backward.py` (the one
backward pass). Ops and their Tensor methods (`x.exp()`, `x + y`) live in `ops/`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .dtypes import get_default_dtype


def _to_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        arr = np.array(data, dtype=dtype)
    elif isinstance(data, np.ndarray):
        arr = data.copy()
    else:
        arr = np.array(data)
        if arr.dtype == np.float64 and not isinstance(data, np.generic):
            # Python floats become the default float dtype (float32 unless set_default_dtype).
            arr = arr.astype(get_default_dtype())
    if arr.dtype == object or arr.dtype.kind in "USVM":
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} of dtype "
                        f"{arr.dtype}; give numbers, lists of numbers or a numeric ndarray "
                        "(e.g. np.asarray(x, dtype=np.float32))")
    return arr


class Tensor:
    """An n-dimensional array that records the ops applied to it, so `backward()` can fill `.grad`.

    `Tensor(data, requires_grad=False, dtype=None)`: Python floats become float32 (the default
    dtype), an ndarray keeps its dtype (it is copied), integers and bools cannot require grad.
    `_ctx` is the Function node that produced it (None for a leaf); `backward()` is attached
    by `backward.py`, the ops' methods by `ops/`.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "__dict__", "__weakref__")
    __array_priority__ = 1000
    name = None  # set on parameters, for drawing and error messages
    _vc = None  # version counter, shared with views: see inplace.py

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool = False) -> "Tensor":
        """A Tensor over `data` without a copy or checks (what ops return)."""
        t = object.__new__(cls)
        t.data, t.grad, t._ctx, t.requires_grad = data, None, None, requires_grad
        return t

    @property
    def shape(self) -> tuple:
        """The array's shape."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """The array's NumPy dtype."""
        return self.data.dtype

    @property
    def grad_fn(self):
        """The Function node that produced this tensor (None for a leaf)."""
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        """True for a tensor no recorded op produced (data, parameters)."""
        return self._ctx is None

    @property
    def version(self) -> int:
        """A stamp that grows with every in-place change of this tensor's memory (0: never changed)."""
        return 0 if self._vc is None else self._vc[0]

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

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data (and version counter), cut from the graph."""
        if self._vc is None:
            self._vc = [0]
        t = Tensor._wrap(self.data)
        t._vc = self._vc
        return t

    def __copy__(self) -> "Tensor":
        """copy.copy: a new Tensor object over the same data, node and gradient."""
        t = type(self)._wrap(self.data, self.requires_grad)
        t.grad, t._ctx = self.grad, self._ctx
        t.__dict__.update(self.__dict__)
        return t

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Start (or stop) recording ops on this leaf for backward; only floating tensors can."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating tensors can require grad; this tensor "
                            f"has dtype {self.dtype} (convert with .astype(np.float32) first)")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False): this tensor is the output of an op; "
                               "use .detach() to cut it from the graph")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> "Tensor":
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        if self._ctx is not None and not any(t is self for t in self._ctx.retained):
            self._ctx.retained = (*self._ctx.retained, self)
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (`.grad = None`)."""
        self.grad = None

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

    __hash__ = object.__hash__

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
