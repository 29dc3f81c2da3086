"""Tensor's operators and methods, each a call to the op in `ops`; in-place ops with version counting."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import bump_version
from ..autograd import is_grad_enabled
from ..tensor import Tensor
from .elementwise import Add, Div, Mul, Pow, Sub
from .linalg import MatMul
from .indexing import GetItem, SetItem, normalize_index

_c = ops._c


def _inplace(cls, symbol: str):
    def op(self, other):
        other = _c(other)
        other_rg = isinstance(other, Tensor) and other.requires_grad
        _check_leaf(self, symbol)
        if is_grad_enabled() and (self.requires_grad or other_rg):
            _check_view(self, symbol)
            _rebase(self, cls.apply(_alias(self), other))
        else:
            od = other.data if isinstance(other, Tensor) else other
            try:
                _UFUNC[cls](self.data, od, out=self.data, casting="same_kind")
            except (ValueError, np.exceptions.UFuncTypeError) as e:
                raise type(e)(f"{symbol}: cannot update a tensor of shape {self.shape} and dtype "
                              f"{self.dtype} in place with shape {np.shape(od)}: {e}") from None
            bump_version(self)
        return self
    op.__name__ = f"__i{cls.name}__"
    return op


_UFUNC = {Add: np.add, Sub: np.subtract, Mul: np.multiply, Div: np.true_divide}


def _check_leaf(t: Tensor, symbol: str) -> None:
    if t.requires_grad and t._ctx is None and is_grad_enabled():
        raise RuntimeError(
            f"{symbol}: a leaf tensor that requires grad (shape {t.shape}) cannot be changed in place "
            "while grad is recorded; do it under `with tc.no_grad():` (as optimizers do) or use an "
            "out-of-place op")


def _check_view(t: Tensor, symbol: str) -> None:
    c = t._ctx
    if c is not None and type(c).is_view and np.may_share_memory(t.data, c.inputs[0].data):
        raise RuntimeError(
            f"{symbol}: this tensor of shape {t.shape} is a view ({type(c).__name__}) of a tensor in "
            "the graph, and changing it in place would not reach that tensor's gradient; assign "
            "through the base instead (h[1:] = h[1:] * 3) or use out-of-place ops")


def _alias(t: Tensor) -> Tensor:
    # The tensor as it was before the in-place op: same data, counter and graph node.
    a = Tensor._wrap(t.data, t.requires_grad)
    if t._vc is None:
        t._vc = [0]
    a._vc, a._ctx = t._vc, t._ctx
    if t._ctx is not None:
        a._pass, a._nuse = None, 0  # _rebase hands it t's users
    a._rebased = True  # its memory is about to change by design: the in-place node accounts for it
    return a


def _rebase(t: Tensor, result: Tensor) -> None:
    # Write the result into t's own memory (so views see it) and make t the output of that op.
    np.copyto(t.data, result.data, casting="same_kind")
    bump_version(t)
    t._ctx = c = result._ctx
    t.requires_grad = result.requires_grad
    if c is not None:
        alias = c.inputs[0]
        if alias._ctx is not None:
            # Every user counted on t so far, the in-place op itself included when t is also
            # its other operand (h += h), used the old t, which the alias now stands for.
            alias._nuse += t._nuse
        # Nodes made before this op still mean the old t: the engine steps back over this one.
        c.inplace = True
        c.written = t._vc[0]
    t._pass, t._nuse = None, 0


def _setitem(self, index, value):
    _check_leaf(self, "setitem")
    index = normalize_index(index)
    if is_grad_enabled() and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
        _check_view(self, "setitem")
        _rebase(self, SetItem._apply3(_alias(self), index, value))
    else:
        self.data[index] = value.data if isinstance(value, Tensor) else value
        bump_version(self)


def _getitem(self, index):
    return GetItem._apply2(self, normalize_index(index))


T = Tensor
# Operators are the ops' unrolled two-argument apply itself: no wrapper call per operation
# (apply treats NumPy float scalars as Python scalars).
T.__add__ = Add._apply2
T.__radd__ = lambda self, other: Add._apply2(other, self)
T.__sub__ = Sub._apply2
T.__rsub__ = lambda self, other: Sub._apply2(other, self)
T.__mul__ = Mul._apply2
T.__rmul__ = lambda self, other: Mul._apply2(other, self)
T.__truediv__ = Div._apply2
T.__rtruediv__ = lambda self, other: Div._apply2(other, self)
T.__pow__ = Pow._apply2
T.__rpow__ = lambda self, other: Pow._apply2(other, self)
T.__matmul__ = MatMul._apply2
T.__rmatmul__ = lambda self, other: MatMul._apply2(other, self)
T.__neg__ = ops.neg
T.__pos__ = lambda self: self
T.__abs__ = ops.abs
T.__eq__ = ops.equal
T.__ne__ = ops.not_equal
T.__lt__ = ops.less
T.__le__ = ops.less_equal
T.__gt__ = ops.greater
T.__ge__ = ops.greater_equal
T.__iadd__ = _inplace(Add, "+=")
T.__isub__ = _inplace(Sub, "-=")
T.__imul__ = _inplace(Mul, "*=")
T.__itruediv__ = _inplace(Div, "/=")
T.__getitem__ = _getitem
T.__setitem__ = _setitem

for _name in ["abs", "sqrt", "exp", "log", "maximum", "minimum", "clip", "relu", "leaky_relu",
              "sigmoid", "tanh", "softmax", "log_softmax", "logsumexp", "sum", "mean", "max", "min",
              "var", "std", "reshape", "transpose", "permute", "swapaxes", "squeeze", "unsqueeze",
              "expand_dims", "broadcast_to", "flatten", "split", "pad", "matmul", "dot", "argmax",
              "argmin"]:
    setattr(T, _name, getattr(ops, _name))
T.T = property(lambda self: ops.transpose(self), doc="The transpose (axes reversed).")
T.mT = property(lambda self: ops.swapaxes(self, -1, -2), doc="Transpose of the last two axes.")
