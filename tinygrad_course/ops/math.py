"""Elementwise math beyond arithmetic: trigonometric and hyperbolic functions and their inverses,
exp2/expm1/log2/log10/log1p/rsqrt/reciprocal/square, erf/erfc, the rounding family (sign, floor,
ceil, round, trunc: zero gradient), fmod/remainder (`%`), floor_divide (`//`), copysign, hypot,
logaddexp and lerp. Names are NumPy's (so `np.sin(t)` reaches `sin`), with PyTorch's aliases
(asin, atan2, ...) where PyTorch spells them otherwise."""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import reflected

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _array(x):
    """The ndarray of x (a backward rule gets arrays, or Tensors under create_graph)."""
    return x.data if isinstance(x, Tensor) else x


def _zeros(g):
    """A zero gradient shaped like g, a constant (never NaN, whatever g holds)."""
    z = np.zeros_like(_array(g))
    return Tensor._wrap(z) if isinstance(g, Tensor) else z


# ---- z = f(x) with f' from x and z ------------------------------------------------------
class _Unary(Function):
    """z = f(x); dz/dx = derivative(x, z). Both are saved, and both come back as graph Tensors
    under create_graph, so a derivative written with arithmetic and ufuncs differentiates again."""

    _f = None

    @classmethod
    def forward(cls, ctx, x):
        out = cls._f(x)
        ctx.save_for_backward(x, out)
        return out

    @classmethod
    def backward(cls, ctx, g):
        x, out = ctx.saved
        return g * cls.derivative(x, out)


class Sin(_Unary):
    """z = sin x; dz/dx = cos x."""

    _f = staticmethod(np.sin)

    @staticmethod
    def derivative(x, out):
        return np.cos(x)


class Cos(_Unary):
    """z = cos x; dz/dx = -sin x."""

    _f = staticmethod(np.cos)

    @staticmethod
    def derivative(x, out):
        return -np.sin(x)


class Tan(_Unary):
    """z = tan x; dz/dx = 1 + z^2."""

    _f = staticmethod(np.tan)

    @staticmethod
    def derivative(x, out):
        return 1 + out * out


class Arcsin(_Unary):
    """z = arcsin x on [-1, 1]; dz/dx = 1 / sqrt(1 - x^2) (inf at +-1, as in PyTorch)."""

    _f = staticmethod(np.arcsin)

    @staticmethod
    def derivative(x, out):
        return 1 / np.sqrt((1 - x) * (1 + x))


class Arccos(_Unary):
    """z = arccos x on [-1, 1]; dz/dx = -1 / sqrt(1 - x^2)."""

    _f = staticmethod(np.arccos)

    @staticmethod
    def derivative(x, out):
        return -1 / np.sqrt((1 - x) * (1 + x))


class Arctan(_Unary):
    """z = arctan x; dz/dx = 1 / (1 + x^2)."""

    _f = staticmethod(np.arctan)

    @staticmethod
    def derivative(x, out):
        return 1 / (1 + x * x)


class Sinh(_Unary):
    """z = sinh x; dz/dx = cosh x."""

    _f = staticmethod(np.sinh)

    @staticmethod
    def derivative(x, out):
        return np.cosh(x)


class Cosh(_Unary):
    """z = cosh x; dz/dx = sinh x."""

    _f = staticmethod(np.cosh)

    @staticmethod
    def derivative(x, out):
        return np.sinh(x)


class Arcsinh(_Unary):
    """z = arcsinh x; dz/dx = 1 / sqrt(x^2 + 1)."""

    _f = staticmethod(np.arcsinh)

    @staticmethod
    def derivative(x, out):
        return 1 / np.sqrt(x * x + 1)


class Arccosh(_Unary):
    """z = arccosh x for x >= 1; dz/dx = 1 / sqrt(x^2 - 1) (inf at 1, as in PyTorch)."""

    _f = staticmethod(np.arccosh)

    @staticmethod
    def derivative(x, out):
        return 1 / np.sqrt((x - 1) * (x + 1))


class Arctanh(_Unary):
    """z = arctanh x on (-1, 1); dz/dx = 1 / (1 - x^2)."""

    _f = staticmethod(np.arctanh)

    @staticmethod
    def derivative(x, out):
        return 1 / ((1 - x) * (1 + x))


class Exp2(_Unary):
    """z = 2^x; dz/dx = z ln 2."""

    _f = staticmethod(np.exp2)

    @staticmethod
    def derivative(x, out):
        return out * _LN2


class Expm1(_Unary):
    """z = e^x - 1 (accurate near 0); dz/dx = z + 1."""

    _f = staticmethod(np.expm1)

    @staticmethod
    def derivative(x, out):
        return out + 1


class Log2(_Unary):
    """z = log2 x; dz/dx = 1 / (x ln 2)."""

    _f = staticmethod(np.log2)

    @staticmethod
    def derivative(x, out):
        return 1 / (x * _LN2)


class Log10(_Unary):
    """z = log10 x; dz/dx = 1 / (x ln 10)."""

    _f = staticmethod(np.log10)

    @staticmethod
    def derivative(x, out):
        return 1 / (x * _LN10)


class Log1p(_Unary):
    """z = ln(1 + x) (accurate near 0); dz/dx = 1 / (1 + x)."""

    _f = staticmethod(np.log1p)

    @staticmethod
    def derivative(x, out):
        return 1 / (1 + x)


class Rsqrt(_Unary):
    """z = 1 / sqrt x; dz/dx = -z^3 / 2 (-inf at 0, as in PyTorch)."""

    @staticmethod
    def _f(x):
        return 1 / np.sqrt(x)

    @staticmethod
    def derivative(x, out):
        return -0.5 * out * out * out


class Reciprocal(_Unary):
    """z = 1 / x (NumPy's: integer division for integer x); dz/dx = -z^2."""

    _f = staticmethod(np.reciprocal)

    @staticmethod
    def derivative(x, out):
        return -(out * out)


class Square(_Unary):
    """z = x^2; dz/dx = 2 x."""

    _f = staticmethod(np.square)

    @staticmethod
    def derivative(x, out):
        return 2 * x


# ---- erf and erfc: W. J. Cody's rational approximations (Math. Comp. 23, 1969; CALERF) ------
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_ERF_SMALL = 0.46875  # |x| up to here: erf by its own series; beyond: erfc first


def _erf_near_zero(x: np.ndarray) -> np.ndarray:
    """erf x for |x| <= 0.46875: x P(x^2) / Q(x^2)."""
    z = x * x
    num, den = _A[4] * z, z
    for a, b in zip(_A[:3], _B[:3]):
        num, den = (num + a) * z, (den + b) * z
    return x * (num + _A[3]) / (den + _B[3])


def _erfc_positive(y: np.ndarray) -> np.ndarray:
    """erfc y for y > 0.46875: e^(-y^2) R(y) with R rational in y (y <= 4) or in 1/y^2."""
    y = np.minimum(y, 28.0)  # erfc(28) underflows to 0; keeps inf - inf out of the split below
    r = np.empty_like(y)
    mid = y <= 4.0
    ym = y[mid]
    num, den = _C[8] * ym, ym
    for c, d in zip(_C[:7], _D[:7]):
        num, den = (num + c) * ym, (den + d) * ym
    r[mid] = (num + _C[7]) / (den + _D[7])
    yt = y[~mid]
    z = 1 / (yt * yt)
    num, den = _P[5] * z, z
    for p, q in zip(_P[:4], _Q[:4]):
        num, den = (num + p) * z, (den + q) * z
    r[~mid] = (1 / math.sqrt(math.pi) - z * (num + _P[4]) / (den + _Q[4])) / yt
    # e^(-y^2) = e^(-s^2) e^(-(y - s)(y + s)) with s = y rounded down to 1/16: s^2 is exact, so
    # the tail keeps its full relative accuracy.
    s = np.trunc(y * 16) / 16
    return np.exp(-s * s) * np.exp(-(y - s) * (y + s)) * r


def _erf_parts(x: np.ndarray, complement: bool) -> np.ndarray:
    d = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    flat = np.asarray(x, dtype=np.float64).ravel()
    out = np.empty_like(flat)
    near = np.abs(flat) <= _ERF_SMALL
    e = _erf_near_zero(flat[near])
    out[near] = 1 - e if complement else e
    far = flat[~near]
    r = _erfc_positive(np.abs(far))
    if complement:
        out[~near] = np.where(far < 0, 2 - r, r)
    else:
        out[~near] = np.copysign((0.5 - r) + 0.5, far)
    return out.reshape(x.shape).astype(d, copy=False)


class Erf(_Unary):
    """z = erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt; dz/dx = 2/sqrt(pi) e^(-x^2)."""

    @staticmethod
    def _f(x):
        return _erf_parts(np.asarray(x), complement=False)

    @staticmethod
    def derivative(x, out):
        return _TWO_OVER_SQRT_PI * np.exp(-(x * x))


class Erfc(_Unary):
    """z = erfc x = 1 - erf x (accurate where erf x is near 1); dz/dx = -2/sqrt(pi) e^(-x^2)."""

    @staticmethod
    def _f(x):
        return _erf_parts(np.asarray(x), complement=True)

    @staticmethod
    def derivative(x, out):
        return -_TWO_OVER_SQRT_PI * np.exp(-(x * x))


# ---- piecewise constant: zero gradient -----------------------------------------------------
class _Step(Function):
    """A piecewise-constant op: its gradient is 0, taken as 0 at the jumps too (PyTorch's
    convention for sign, floor, ceil, round, trunc; it has no gradient for floor_divide)."""

    _f = None

    @classmethod
    def forward(cls, ctx, *args):
        return cls._f(*args)

    @staticmethod
    def backward(ctx, g):
        return tuple(_zeros(g) if n else None for n in ctx.needs_input_grad)


class Sign(_Step):
    """z = sign x (-1, 0 or 1); zero gradient."""

    _f = staticmethod(np.sign)


class Floor(_Step):
    """z = floor x; zero gradient."""

    _f = staticmethod(np.floor)


class Ceil(_Step):
    """z = ceil x; zero gradient."""

    _f = staticmethod(np.ceil)


class Trunc(_Step):
    """z = x rounded toward 0; zero gradient."""

    _f = staticmethod(np.trunc)


class Round(_Step):
    """z = x rounded to `decimals` places, halves to even (NumPy's and PyTorch's); zero gradient."""

    _f = staticmethod(np.round)


class FloorDivide(_Step):
    """z = floor(x / y); zero gradient in both."""

    name = "floor_divide"
    _f = staticmethod(np.floor_divide)


# ---- binary ------------------------------------------------------------------------------
class _Modulo(Function):
    """z = x - q y with q an integer quotient; dz/dx = 1, dz/dy = -q. q is recovered from the
    output as round((x - z) / y), so it is the very quotient forward used."""

    _f = None

    @classmethod
    def forward(cls, ctx, x, y):
        out = cls._f(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved
        nx, ny = ctx.needs_input_grad
        return (g if nx else None), (-g * np.round((x - out) / y) if ny else None)


class Fmod(_Modulo):
    """z = fmod(x, y) = x - trunc(x / y) y, the sign of x (C's fmod); dz/dx = 1, dz/dy = -trunc(x/y)."""

    _f = staticmethod(np.fmod)


class Remainder(_Modulo):
    """z = x % y = x - floor(x / y) y, the sign of y (Python's %); dz/dx = 1, dz/dy = -floor(x/y)."""

    _f = staticmethod(np.remainder)


class Copysign(Function):
    """z = |x| with the sign of y; dz/dx = sign(x) sign(z) (0 at x = 0), dz/dy = 0 (as PyTorch)."""

    @staticmethod
    def forward(ctx, x, y):
        out = np.copysign(x, y)
        ctx.save_for_backward(np.sign(x) * np.sign(out))
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved
        nx, ny = ctx.needs_input_grad
        return (g * s if nx else None), (_zeros(g) if ny else None)


class Hypot(Function):
    """z = sqrt(x^2 + y^2); dz/dx = x / z, dz/dy = y / z, and 0 at x = y = 0 (the subgradient
    of least norm, as PyTorch's linalg.norm at 0; PyTorch's hypot gives NaN there)."""

    @staticmethod
    def forward(ctx, x, y):
        out = np.hypot(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved
        nx, ny = ctx.needs_input_grad
        gz = g / (out + (_array(out) == 0))  # where z = 0, x = y = 0 makes the gradient 0
        return (gz * x if nx else None), (gz * y if ny else None)


class Arctan2(Function):
    """z = arctan2(y, x), the angle of (x, y); dz/dy = x / (x^2 + y^2), dz/dx = -y / (x^2 + y^2),
    and 0 at the origin (as PyTorch)."""

    @staticmethod
    def forward(ctx, y, x):
        ctx.save_for_backward(y, x)
        return np.arctan2(y, x)

    @staticmethod
    def backward(ctx, g):
        y, x = ctx.saved
        ny, nx = ctx.needs_input_grad
        r2 = x * x + y * y
        gr = g / (r2 + (_array(r2) == 0))
        return (gr * x if ny else None), (-gr * y if nx else None)


def _logaddexp_weight(x, y, out):
    """e^(x - z), dz/dx of z = logaddexp(x, y). Where x and z are the same infinity, x - z is
    undefined: the weight is 1 if y is smaller, 1/2 if y is the same infinity (the tie rule
    of maximum, and the limit along x = y)."""
    xa, ya, za = _array(x), _array(y), _array(out)
    stuck = np.isinf(xa) & (xa == za)
    if not stuck.any():
        return np.exp(x - out)
    tie = 1.0 - 0.5 * (xa == ya)
    return np.where(stuck, tie, np.exp(np.where(stuck, 0.0, x) - np.where(stuck, 0.0, out)))


class LogAddExp(Function):
    """z = log(e^x + e^y), computed without overflow; dz/dx = e^(x - z), dz/dy = e^(y - z)
    (softmax weights; 1/2 each where x = y = -inf or +inf, where PyTorch gives NaN)."""

    @staticmethod
    def forward(ctx, x, y):
        out = np.logaddexp(x, y)
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, out = ctx.saved
        nx, ny = ctx.needs_input_grad
        return ((g * _logaddexp_weight(x, y, out) if nx else None),
                (g * _logaddexp_weight(y, x, out) if ny else None))


# ---- functions -----------------------------------------------------------------------------
def sin(x) -> Tensor:
    """sin x (radians); derivative cos x."""
    return Sin.apply(x)


def cos(x) -> Tensor:
    """cos x (radians); derivative -sin x."""
    return Cos.apply(x)


def tan(x) -> Tensor:
    """tan x (radians); derivative 1 + tan^2 x."""
    return Tan.apply(x)


def arcsin(x) -> Tensor:
    """arcsin x for x in [-1, 1]; derivative 1 / sqrt(1 - x^2). PyTorch: asin."""
    return Arcsin.apply(x)


def arccos(x) -> Tensor:
    """arccos x for x in [-1, 1]; derivative -1 / sqrt(1 - x^2). PyTorch: acos."""
    return Arccos.apply(x)


def arctan(x) -> Tensor:
    """arctan x; derivative 1 / (1 + x^2). PyTorch: atan."""
    return Arctan.apply(x)


def arctan2(y, x) -> Tensor:
    """The angle of the point (x, y) in (-pi, pi], y first as in NumPy and PyTorch (atan2);
    gradient (x, -y) / (x^2 + y^2), 0 at the origin."""
    return Arctan2.apply(y, x)


def sinh(x) -> Tensor:
    """sinh x = (e^x - e^-x) / 2; derivative cosh x."""
    return Sinh.apply(x)


def cosh(x) -> Tensor:
    """cosh x = (e^x + e^-x) / 2; derivative sinh x."""
    return Cosh.apply(x)


def arcsinh(x) -> Tensor:
    """arcsinh x = ln(x + sqrt(x^2 + 1)); derivative 1 / sqrt(x^2 + 1). PyTorch: asinh."""
    return Arcsinh.apply(x)


def arccosh(x) -> Tensor:
    """arccosh x for x >= 1; derivative 1 / sqrt(x^2 - 1). PyTorch: acosh."""
    return Arccosh.apply(x)


def arctanh(x) -> Tensor:
    """arctanh x for x in (-1, 1); derivative 1 / (1 - x^2). PyTorch: atanh."""
    return Arctanh.apply(x)


def exp2(x) -> Tensor:
    """2^x; derivative 2^x ln 2."""
    return Exp2.apply(x)


def expm1(x) -> Tensor:
    """e^x - 1, accurate for small x; derivative e^x."""
    return Expm1.apply(x)


def log2(x) -> Tensor:
    """Base-2 logarithm; derivative 1 / (x ln 2)."""
    return Log2.apply(x)


def log10(x) -> Tensor:
    """Base-10 logarithm; derivative 1 / (x ln 10)."""
    return Log10.apply(x)


def log1p(x) -> Tensor:
    """ln(1 + x), accurate for small x; derivative 1 / (1 + x)."""
    return Log1p.apply(x)


def rsqrt(x) -> Tensor:
    """1 / sqrt(x) (PyTorch's rsqrt); derivative -x^(-3/2) / 2."""
    return Rsqrt.apply(x)


def reciprocal(x) -> Tensor:
    """1 / x; derivative -1 / x^2. As NumPy, an integer tensor gives integer division."""
    return Reciprocal.apply(x)


def square(x) -> Tensor:
    """x^2; derivative 2x."""
    return Square.apply(x)


def erf(x) -> Tensor:
    """The error function 2/sqrt(pi) int_0^x e^(-t^2) dt, to float64 precision (Cody's
    rational approximations); derivative 2/sqrt(pi) e^(-x^2)."""
    return Erf.apply(x)


def erfc(x) -> Tensor:
    """1 - erf x, accurate in the tail where erf x rounds to 1 (erfc(10) = 2.1e-45);
    derivative -2/sqrt(pi) e^(-x^2)."""
    return Erfc.apply(x)


def sign(x) -> Tensor:
    """-1, 0 or 1 by the sign of x (NaN stays NaN); zero gradient, as in PyTorch."""
    return Sign.apply(x)


def floor(x) -> Tensor:
    """The largest integer <= x; zero gradient, as in PyTorch."""
    return Floor.apply(x)


def ceil(x) -> Tensor:
    """The smallest integer >= x; zero gradient, as in PyTorch."""
    return Ceil.apply(x)


def trunc(x) -> Tensor:
    """x rounded toward zero; zero gradient, as in PyTorch."""
    return Trunc.apply(x)


def round(x, decimals: int = 0) -> Tensor:  # noqa: A001 - NumPy's and PyTorch's name
    """x rounded to `decimals` places, halves to even (round(2.5) = 2); zero gradient."""
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    return Round.apply(x, int(decimals))


def fmod(x, y) -> Tensor:
    """x - trunc(x / y) y, with the sign of x (C's fmod; NumPy's and PyTorch's fmod);
    gradient 1 for x and -trunc(x / y) for y."""
    return Fmod.apply(x, y)


def remainder(x, y) -> Tensor:
    """x % y = x - floor(x / y) y, with the sign of y (Python's %; NumPy's remainder/mod);
    gradient 1 for x and -floor(x / y) for y."""
    return Remainder.apply(x, y)


def floor_divide(x, y) -> Tensor:
    """x // y = floor(x / y) (NumPy's floor_divide, Python's //); zero gradient (PyTorch has
    none: its floor_divide cannot be differentiated; div(rounding_mode='floor') gives 0)."""
    return FloorDivide.apply(x, y)


def copysign(x, y) -> Tensor:
    """|x| with the sign of y; gradient sign(x) sign(result) for x (0 at x = 0), 0 for y."""
    return Copysign.apply(x, y)


def hypot(x, y) -> Tensor:
    """sqrt(x^2 + y^2) without overflow; gradient (x, y) / hypot, and 0 at x = y = 0."""
    return Hypot.apply(x, y)


def logaddexp(x, y) -> Tensor:
    """log(e^x + e^y) without overflow; gradient the softmax weights e^(x - z), e^(y - z)."""
    return LogAddExp.apply(x, y)


def lerp(start, end, weight) -> Tensor:
    """start + weight (end - start), differentiable in all three (PyTorch's lerp)."""
    return start + weight * (end - start)


asin, acos, atan, atan2 = arcsin, arccos, arctan, arctan2
asinh, acosh, atanh = arcsinh, arccosh, arctanh


def _round_builtin(self, ndigits=None) -> Tensor:
    """round(t) and round(t, n) give tensors, as in PyTorch."""
    return round(self, 0 if ndigits is None else ndigits)


for _fn in (sin, cos, tan, arcsin, arccos, arctan, arctan2, sinh, cosh, arcsinh, arccosh, arctanh,
            exp2, expm1, log2, log10, log1p, rsqrt, reciprocal, square, erf, erfc, sign, floor,
            ceil, trunc, round, fmod, remainder, floor_divide, copysign, hypot, logaddexp, lerp):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.asin, Tensor.acos, Tensor.atan, Tensor.atan2 = asin, acos, atan, atan2
Tensor.asinh, Tensor.acosh, Tensor.atanh = asinh, acosh, atanh
Tensor.__mod__, Tensor.__rmod__ = remainder, reflected(remainder, "__rmod__")
Tensor.__floordiv__, Tensor.__rfloordiv__ = floor_divide, reflected(floor_divide, "__rfloordiv__")
Tensor.__round__ = _round_builtin
