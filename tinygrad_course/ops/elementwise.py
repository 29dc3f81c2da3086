"""Elementwise arithmetic: + - * / **, neg, abs, sqrt, exp, log, maximum, minimum, clip, and
the in-place operators += -= *= /=."""
from __future__ import annotations

import numpy as np

from ..autograd import Function, is_grad_enabled, no_grad
from ..inplace import change
from ..lowering import Lowered, grad_buffer, lowering, output_shaped, same_dtype, writes_whole
from ..tensor import Tensor
from .common import as_scalar


class Add(Function):
    """z = x + y; dz/dx = 1, dz/dy = 1."""

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """z = x - y."""

    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """z = x * y; dz/dx = y, dz/dy = x (each saved only if the other side needs it)."""

    @staticmethod
    def forward(ctx, x, y):
        nx, ny = ctx.needs_input_grad
        ctx.saved = (x if ny else None, y if nx else None)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        nx, ny = ctx.needs_input_grad
        return (g * y if nx else None), (g * x if ny else None)


@lowering(Add)
def _add_kernels(ctx, args: list, out: np.ndarray) -> Lowered | None:
    """Add's replay kernel: the sum into a buffer (the gradient is g itself)."""
    if out.ndim == 0:  # 0-d math gives NumPy scalars, which cannot be written into
        return None
    z = np.empty_like(out)
    shaped = output_shaped(args, out)

    def bind(g, outs):  # (a copy of g for each input, as eager gives a leaf its own)
        if not writes_whole(shaped, outs):
            return None
        dx, dy = outs

        def run():
            if dx is not None:
                np.copyto(dx.array, g)
            if dy is not None:
                np.copyto(dy.array, g)
        return run
    return Lowered(lambda ctx, x, y: np.add(x, y, z), Add.backward, out=z,
                   bind=bind if same_dtype(out.dtype, *args) else None)


@lowering(Mul)
def _mul_kernels(ctx, args: list, out: np.ndarray) -> Lowered | None:
    """Mul's replay kernels: x * y, g * y and g * x, into buffers."""
    if out.ndim == 0:
        return None
    nx, ny = ctx.needs_input_grad
    z, dtype, grads = np.empty_like(out), out.dtype, [None] * 2  # out; dx, dy

    def forward(ctx, x, y):
        ctx.saved = (x, y)
        return np.multiply(x, y, z)

    def backward(ctx, g):
        if g.dtype is not dtype:
            return Mul.backward(ctx, g)
        x, y = ctx.saved
        return (np.multiply(g, y, grad_buffer(grads, 0, z.shape, dtype)) if nx else None,
                np.multiply(g, x, grad_buffer(grads, 1, z.shape, dtype)) if ny else None)

    shaped = output_shaped(args, out)

    def bind(g, outs):
        if not writes_whole(shaped, outs):
            return None
        dx, dy = outs

        def run():
            x, y = ctx.saved
            if dx is not None:
                np.multiply(g, y, dx.array)
            if dy is not None:
                np.multiply(g, x, dy.array)
        return run
    return Lowered(forward, backward, grads, out=z, fresh=True,
                   bind=bind if same_dtype(dtype, *args) else None)


class Div(Function):
    """z = x / y; dz/dx = 1/y, dz/dy = -z/y."""

    @staticmethod
    def forward(ctx, x, y):
        out = x / y
        ctx.save_for_backward(y, out if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx, g):
        y, out = ctx.saved
        nx, ny = ctx.needs_input_grad
        gx = g / y
        return (gx if nx else None), (-gx * out if ny else None)


class Pow(Function):
    """z = x ** p; dz/dx = p x^(p-1), dz/dp = z log x."""

    @staticmethod
    def forward(ctx, x, p):
        out = x ** p
        ctx.save_for_backward(x, p, out if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx, g):
        x, p, out = ctx.saved
        nx, np_ = ctx.needs_input_grad
        gx = gp = None
        if nx:
            # Where p == 0, x ** p is constant in x: its derivative is 0, not 0 * x ** -1
            # (nan at x = 0), for a scalar exponent and a tensor one alike.
            if isinstance(p, (int, float)):
                gx = g * 0.0 if p == 0 else g * p * x ** (p - 1)
            else:
                gx = g * p * x ** (p - (p != 0))
        if np_:
            # d/dp x ** p = x ** p log x, and 0 at x = 0 (PyTorch's choice: for p > 0 the
            # function is constant in p there), instead of 0 * -inf = nan.
            gp = g * out * np.log(x + (x == 0))
        return gx, gp


class Neg(Function):
    """z = -x."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Abs(Function):
    """z = |x|; dz/dx = sign(x), 0 at x = 0 (as in PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(np.sign(x))
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved
        return g * s


class Sqrt(Function):
    """z = sqrt(x); dz/dx = 1 / (2 z)."""

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return g / (2 * out)


class Exp(Function):
    """z = e^x; dz/dx = z."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return g * out


class Log(Function):
    """z = ln x; dz/dx = 1/x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g / x


class _Select(Function):
    """z = x where x wins the comparison, else y; ties split the gradient evenly."""

    _wins = None  # the comparison under which x is chosen
    _pick = None  # the NumPy function computing z

    @classmethod
    def forward(cls, ctx, x, y):
        wx = cls._wins(x, y) + 0.5 * (x == y)
        ctx.save_for_backward(wx.astype(np.result_type(x, y, np.float32), copy=False))
        return cls._pick(x, y)

    @staticmethod
    def backward(ctx, g):
        (wx,) = ctx.saved
        nx, ny = ctx.needs_input_grad
        return (g * wx if nx else None), (g * (1 - wx) if ny else None)


class Maximum(_Select):
    """z = max(x, y) elementwise; the gradient goes to the larger, split evenly on ties."""

    _wins = staticmethod(np.greater)
    _pick = staticmethod(np.maximum)


class Minimum(_Select):
    """z = min(x, y) elementwise; the gradient goes to the smaller, split evenly on ties."""

    _wins = staticmethod(np.less)
    _pick = staticmethod(np.minimum)


class Clip(Function):
    """z = min(max(x, lo), hi); the gradient passes where lo <= x <= hi (boundaries included)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        # checked here, in the kernel, so a step replayed by tc.jit checks each call's bounds
        if lo is not None and hi is not None and np.any(np.asarray(lo) > np.asarray(hi)):
            raise ValueError(f"clip: min {lo} is greater than max {hi}")
        inside = np.ones(np.shape(x), dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        ctx.save_for_backward(inside)
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (inside,) = ctx.saved
        return g * inside, None, None


class Clone(Function):
    """z = copy of x; dz/dx = 1."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class AsType(Function):
    """z = x converted to another floating dtype; the gradient is converted back."""

    name = "astype"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.src), None


def add(a, b) -> Tensor:
    """a + b with broadcasting."""
    return Add.apply(a, b)


def sub(a, b) -> Tensor:
    """a - b with broadcasting."""
    return Sub.apply(a, b)


def mul(a, b) -> Tensor:
    """a * b with broadcasting."""
    return Mul.apply(a, b)


def div(a, b) -> Tensor:
    """a / b with broadcasting."""
    return Div.apply(a, b)


def pow(a, b) -> Tensor:  # noqa: A001 - the ecosystem's name
    """a ** b with broadcasting."""
    return Pow.apply(a, b)


def neg(x) -> Tensor:
    """-x."""
    return Neg.apply(x)


def abs(x) -> Tensor:  # noqa: A001
    """|x|, with derivative sign(x) (0 at 0)."""
    return Abs.apply(x)


def sqrt(x) -> Tensor:
    """sqrt(x); derivative 1 / (2 sqrt(x))."""
    return Sqrt.apply(x)


def exp(x) -> Tensor:
    """e^x."""
    return Exp.apply(x)


def log(x) -> Tensor:
    """Natural logarithm ln x; derivative 1/x."""
    return Log.apply(x)


def maximum(a, b) -> Tensor:
    """Elementwise max; on ties the gradient is split evenly."""
    return Maximum.apply(a, b)


def minimum(a, b) -> Tensor:
    """Elementwise min; on ties the gradient is split evenly."""
    return Minimum.apply(a, b)


def clip(x, min=None, max=None) -> Tensor:  # noqa: A002 - NumPy's/PyTorch's argument names
    """x limited to [min, max]; the gradient passes where min <= x <= max."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    return Clip.apply(x, as_scalar(min), as_scalar(max))


def clone(x) -> Tensor:
    """A copy of x's data that stays in the graph (the gradient flows back unchanged)."""
    return Clone.apply(x)


def astype(x, dtype) -> Tensor:
    """x converted to `dtype`; differentiable between floating dtypes."""
    dtype = np.dtype(dtype)
    if x.data.dtype == dtype:
        return x
    if dtype.kind != "f":  # integers and bools carry no gradient
        with no_grad():
            return AsType.apply(x, dtype)
    return AsType.apply(x, dtype)


def _write_ufunc(ufunc, t: Tensor, other, symbol: str) -> None:
    """t.data = ufunc(t.data, other), in place, keeping t's dtype; errors name the operator."""
    od = other.data if isinstance(other, Tensor) else other
    try:
        ufunc(t.data, od, out=t.data, casting="same_kind")
    except (ValueError, TypeError) as e:  # NumPy's casting errors are TypeError subclasses
        error = ValueError if isinstance(e, ValueError) else TypeError
        raise error(f"{symbol}: cannot update a tensor of shape {t.shape} and dtype {t.dtype} in "
                    f"place with shape {np.shape(od)}: {e}") from None


def _inplace(fn, ufunc, symbol: str):
    def op(self, other):
        other = as_scalar(other)
        needs = self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)
        return change(self, symbol, is_grad_enabled(), needs, lambda: fn(self, other),
                      lambda: _write_ufunc(ufunc, self, other, symbol))
    op.__name__ = f"__i{fn.__name__}__"
    op.__doc__ = f"self {symbol} other, in place (see inplace.py for what it does to the graph)."
    return op


Tensor.__add__ = add
Tensor.__radd__ = lambda self, other: Add.apply(other, self)
Tensor.__sub__ = sub
Tensor.__rsub__ = lambda self, other: Sub.apply(other, self)
Tensor.__mul__ = mul
Tensor.__rmul__ = lambda self, other: Mul.apply(other, self)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = lambda self, other: Div.apply(other, self)
Tensor.__pow__ = pow
Tensor.__rpow__ = lambda self, other: Pow.apply(other, self)
Tensor.__neg__ = neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = abs
Tensor.__iadd__ = _inplace(add, np.add, "+=")
Tensor.__isub__ = _inplace(sub, np.subtract, "-=")
Tensor.__imul__ = _inplace(mul, np.multiply, "*=")
Tensor.__itruediv__ = _inplace(div, np.true_divide, "/=")
Tensor.abs, Tensor.sqrt, Tensor.exp, Tensor.log = abs, sqrt, exp, log
Tensor.maximum, Tensor.minimum, Tensor.clip = maximum, minimum, clip
Tensor.clone, Tensor.astype = clone, astype
