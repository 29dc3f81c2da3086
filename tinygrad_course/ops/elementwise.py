"""Elementwise arithmetic: + - * / **, neg, abs, sqrt, exp, log, maximum, minimum, clip."""
from __future__ import annotations

import numpy as np

from ..autograd import Function


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
        gx = None
        if nx:
            # x ** 0 is constant: its derivative is 0, not 0 * x ** -1 (nan at x = 0).
            gx = g * 0.0 if isinstance(p, (int, float)) and p == 0 else g * p * x ** (p - 1)
        gp = g * out * np.log(x) if np_ else None
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
