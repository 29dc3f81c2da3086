"""Tensor: a NumPy array plus its place in the computation graph."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import autograd
from . import engine
from .engine import _initial_grad, backward_from, run_backward
from .dtypes import get_default_dtype


def _to_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data.copy()
    if isinstance(data, np.generic):
        return np.array(data)
    arr = np.array(data)
    if arr.dtype == np.float64:
        # Python floats become the default float dtype (float32 unless set_default_dtype).
        arr = arr.astype(get_default_dtype())
    elif arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__} "
                        f"(NumPy sees dtype {arr.dtype}); give numbers, lists of numbers or an ndarray")
    return arr


_ONE: dict = {}  # dtype -> a read-only 0-d array holding 1, the seed of loss.backward()


class Tensor:
    """An n-dimensional array that records the ops applied to it, so `backward()` can fill `.grad`.

    `Tensor(data, requires_grad=False, dtype=None)`: Python floats become float32 (the default
    dtype), an ndarray keeps its dtype (it is copied), integers and bools cannot require grad.
    """

    # Hot attributes are slots; rarely set ones live in __dict__ with class defaults, so making
    # a tensor costs four attribute writes. The output of a recorded op also carries backward's
    # bookkeeping for its node (_g, _pending, _pass, _nuse: see engine.run_backward): on the
    # tensor, one type, CPython can specialize the engine's reads, which it cannot across the
    # many Function subclasses.
    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_g", "_pending", "_pass", "_nuse",
                 "__dict__", "__weakref__")
    __array_priority__ = 1000
    name = None
    _retains_grad = False
    _vc = None  # the version counter [stamp], made on the first in-place change or view
    _rebased = False  # True for the stand-in of a tensor's old self made by an in-place op

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool = False) -> "Tensor":
        """A Tensor over `data` without a copy or checks (internal fast path)."""
        t = Tensor.__new__(cls)
        t.data = data
        t.grad = None
        t._ctx = None
        t.requires_grad = requires_grad
        return t

    # ---- basic properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def grad_fn(self):
        """The Function node that produced this tensor (None for a leaf)."""
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def version(self) -> int:
        """A stamp that grows with every in-place change of this tensor's memory (0: never changed)."""
        return 0 if self._vc is None else self._vc[0]

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied; use `.detach()` rules for safety)."""
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a Python "
                             f"scalar, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data, cut from the graph."""
        t = Tensor._wrap(self.data)
        if self._vc is None:
            self._vc = [0]
        t._vc = self._vc
        return t

    def __copy__(self) -> "Tensor":
        """copy.copy: a new Tensor over the same data. In a graph it is a view node of this one,
        so backward counts it as one more user (a second object for the same node would not be)."""
        if self._ctx is not None:
            return self.reshape(self.data.shape)
        t = type(self)._wrap(self.data, self.requires_grad)
        t.grad = self.grad
        t.__dict__.update(self.__dict__)
        return t

    def clone(self) -> "Tensor":
        """A copy of the data that stays in the graph (gradient flows back unchanged)."""
        from .ops import clone
        return clone(self)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
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
        self._retains_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def astype(self, dtype) -> "Tensor":
        from .ops import astype
        return astype(self, dtype)

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        if copy:
            return self.data.copy()
        return self.data

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .ops.ufuncs import dispatch_ufunc
        return dispatch_ufunc(ufunc, method, inputs, kwargs)

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
                             "use .any() or .all()")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

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

    # ---- autograd ---------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Backpropagate from this tensor: every leaf it depends on gets d(self)/d(leaf) added to `.grad`."""
        data = self.data
        if gradient is None and not create_graph and self.requires_grad and data.size == 1:
            # The usual loss.backward(), checks inlined. The seed is a cached read-only 1: the
            # engine never hands it out as a .grad (it copies arrays it was given), and a rule
            # that tried to change it in place would fail loudly instead of corrupting it.
            one = _ONE.get(data.dtype)
            if one is None:
                one = _ONE[data.dtype] = np.ones((), data.dtype)
                one.flags.writeable = False
            return backward_from(self, one if data.ndim == 0 else one.reshape(data.shape),
                                 retain_graph)
        g = _initial_grad(self, gradient, "backward", create_graph)
        run_backward((self,), (g,), retain_graph or create_graph, create_graph)

    def draw_graph(self, **kwargs):
        """A graphviz.Digraph of everything this tensor depends on (see `tinygrad_course.viz`)."""
        from .viz import draw_graph
        return draw_graph(self, **kwargs)


autograd.Tensor = Tensor
engine.bind_tensor(Tensor)
