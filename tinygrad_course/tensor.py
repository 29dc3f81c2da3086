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
    arr = np.array(data, dtype=dtype, order="C")  # (a C-ordered copy, of an ndarray too)
    if dtype is None and arr.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
        # Python floats become the default float dtype (float32 unless set_default_dtype).
        arr = arr.astype(get_default_dtype())
    if arr.dtype == object or arr.dtype.kind in "USVM":
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} of dtype {arr.dtype}; give "
                        "numbers, lists of numbers or a numeric ndarray (e.g. np.asarray(x, dtype=np.float32))")
    return arr


class Tensor:
    """An n-dimensional array that records the ops applied to it, so `backward()` can fill `.grad`.

    `Tensor(data, requires_grad=False, dtype=None)`: Python floats become float32 (the default
    dtype), an ndarray keeps its dtype (it is copied), integers and bools cannot require grad.
    `_ctx` is the Function node that produced it (None for a leaf); `backward()` is attached
    by `backward.py`, the ops' methods by `ops/`.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_vc", "__dict__", "__weakref__")
    __array_priority__ = 1000
    name = None  # set on parameters, for drawing and error messages

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = self._ctx = self._vc = None  # _vc: version counter, shared with views (inplace.py)
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool = False) -> "Tensor":
        """A Tensor over `data` without a copy or checks (what ops return)."""
        t = object.__new__(cls)
        t.data, t.grad, t._ctx, t._vc, t.requires_grad = data, None, None, None, requires_grad
        return t

    shape = property(lambda self: self.data.shape, doc="The array's shape.")
    ndim = property(lambda self: self.data.ndim, doc="The number of axes.")
    size = property(lambda self: self.data.size, doc="The number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="The array's NumPy dtype.")
    grad_fn = property(lambda self: self._ctx, doc="The Function node that made this tensor (None for a leaf).")
    is_leaf = property(lambda self: self._ctx is None, doc="True for a tensor no recorded op made.")
    version = property(lambda self: 0 if self._vc is None else self._vc[0],
                       doc="A stamp that grows with every in-place change of this tensor's memory.")

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data (and version counter), cut from the graph."""
        t = Tensor._wrap(self.data)
        t._vc = self._vc = self._vc or [0]
        return t

    def __copy__(self) -> "Tensor":
        """copy.copy: a new Tensor object over the same data, node and gradient."""
        t = type(self)._wrap(self.data, self.requires_grad)
        t.grad, t._ctx = self.grad, self._ctx
        t.__dict__.update(self.__dict__)
        t._vc = self._vc = self._vc or [0]  # one memory, one version counter
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

    __hash__ = object.__hash__
