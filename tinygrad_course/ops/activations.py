"""Activations: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax, logsumexp (all stable), and
PyTorch's others: gelu, silu, elu, selu, celu, softplus, softsign, mish, relu6, hardtanh,
hardsigmoid, hardswish, logsigmoid, softmin."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..lowering import Lowered, grad_buffer, lowering, same_dtype
from ..tensor import Tensor
from .common import expand_reduced, normalize_axis, torch_axis
from .math import _erf_parts, erf


class ReLU(Function):
    """relu(x) = max(x, 0); derivative 1 for x > 0, else 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x > 0)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved
        return g * mask


@lowering(ReLU)
def _relu_kernels(ctx, args: list, out: np.ndarray) -> Lowered:
    """ReLU's replay kernels: the mask, the max and the masked gradient, into buffers."""
    z, mask, dtype, grads = np.empty_like(out), np.empty(out.shape, bool), out.dtype, [None]

    def forward(ctx, x):
        ctx.saved = (np.greater(x, 0, mask),)
        return np.maximum(x, 0, out=z)

    def backward(ctx, g):
        if g.dtype is not dtype:
            return ReLU.backward(ctx, g)
        return np.multiply(g, mask, grad_buffer(grads, 0, z.shape, dtype))

    def bind(g, outs):
        dx = outs[0]
        return lambda: np.multiply(g, mask, dx.array)
    return Lowered(forward, backward, grads, out=z, fresh=True,
                   bind=bind if same_dtype(dtype, *args) else None)


class LeakyReLU(Function):
    """leaky_relu(x) = x if x > 0 else slope * x."""

    name = "leaky_relu"

    @staticmethod
    def forward(ctx, x, negative_slope):
        d = np.where(x > 0, 1.0, negative_slope).astype(x.dtype)
        ctx.save_for_backward(d)
        return x * d

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved
        return g * d, None


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    """sigmoid(x) = 1 / (1 + e^-x), computed without overflow; derivative s (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        out = _stable_sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved
        return g * s * (1 - s)


class Tanh(Function):
    """tanh(x); derivative 1 - tanh(x)^2."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved
        return g * (1 - t * t)


@lowering(Tanh)
def _tanh_kernels(ctx, args: list, out: np.ndarray) -> Lowered:
    """Tanh's replay kernels: tanh, then g * (1 - t * t) computed in the gradient's buffer."""
    t, dtype, grads = np.empty_like(out), out.dtype, [None]

    def forward(ctx, x):
        ctx.saved = (np.tanh(x, t),)
        return t

    def backward(ctx, g):
        if g.dtype is not dtype:
            return Tanh.backward(ctx, g)
        dx = np.multiply(t, t, grad_buffer(grads, 0, t.shape, dtype))
        np.subtract(1, dx, dx)
        return np.multiply(g, dx, dx)

    def bind(g, outs):
        target = outs[0]

        def run():
            dx = np.multiply(t, t, target.array)
            np.subtract(1, dx, dx)
            np.multiply(g, dx, dx)
        return run
    return Lowered(forward, backward, grads, out=t, fresh=True,
                   bind=bind if same_dtype(dtype, *args) else None)


def _logsumexp(x: np.ndarray, axes: tuple) -> np.ndarray:
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return m + np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True))


class Softmax(Function):
    """softmax(x)_i = e^(x_i - max x) / sum_j e^(x_j - max x); backward s * (g - sum(g s))."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        out = e / np.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved
        gs = g * s
        return gs - s * gs.sum(axis=ctx.axis, keepdims=True), None


class LogSoftmax(Function):
    """log_softmax(x) = x - logsumexp(x); backward g - softmax(x) * sum(g)."""

    name = "log_softmax"

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        # (x - m) - log sum e^(x - m): subtracting m first keeps float32 exact at |x| = 1e4,
        # where x - (m + log ...) rounds m + log(...) to x's spacing (about 1e-3 there).
        m = np.max(x, axis=axis, keepdims=True)
        shifted = x - np.where(np.isfinite(m), m, 0)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return g - np.exp(out) * g.sum(axis=ctx.axis, keepdims=True), None


class LogSumExp(Function):
    """logsumexp(x) = m + log sum e^(x - m), m = max x; derivative softmax(x)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        axes = normalize_axis(axis, x.ndim, "logsumexp")
        ctx.axes = axes
        ctx.keepdims = keepdims
        out = _logsumexp(x, axes)
        if not keepdims:
            out = out.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        if not ctx.keepdims:
            g = expand_reduced(g, x.shape, ctx.axes)
            out = expand_reduced(out, x.shape, ctx.axes)
        return g * np.exp(x - out), None, None


def relu(x) -> Tensor:
    """relu(x) = max(x, 0); derivative 1 for x > 0, else 0."""
    return ReLU.apply(x)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    return LeakyReLU.apply(x, float(negative_slope))


def sigmoid(x) -> Tensor:
    """1 / (1 + e^-x), stable for large |x|."""
    return Sigmoid.apply(x)


def tanh(x) -> Tensor:
    """tanh(x); derivative 1 - tanh(x)^2."""
    return Tanh.apply(x)


def one_axis(x, axis, op: str) -> int:
    """`axis` as the one non-negative axis an op along an axis (softmax, cumsum, ...) works on."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be a single int, got {axis!r}")
    ndim = np.ndim(x.data if isinstance(x, Tensor) else x)
    axes = normalize_axis(axis, ndim, op)
    return axes[0] if ndim else 0


def _axis_or_last(op: str, axis, dim):
    axis, _ = torch_axis(op, axis, dim)
    return -1 if axis is None else axis


def softmax(x, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """e^x / sum(e^x) along `axis` (PyTorch's `dim`; the last axis by default), shifted by the
    max so |x| = 1e4 is exact."""
    axis = one_axis(x, _axis_or_last("softmax", axis, dim), "softmax")
    if x.ndim == 0:
        return softmax(x.reshape(1), 0).reshape(())
    return Softmax.apply(x, axis)


def log_softmax(x, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """(x - max) - log(sum(e^(x - max))) along `axis` (PyTorch's `dim`; the last axis by
    default): x - logsumexp(x), stable and exact."""
    axis = one_axis(x, _axis_or_last("log_softmax", axis, dim), "log_softmax")
    if x.ndim == 0:
        return log_softmax(x.reshape(1), 0).reshape(())
    return LogSoftmax.apply(x, axis)


def logsumexp(x, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """log(sum(e^x)) = m + log(sum(e^(x - m))) with m = max x; `dim=`/`keepdim=` are PyTorch's
    names for `axis`/`keepdims`."""
    axis, keepdims = torch_axis("logsumexp", axis, dim, keepdims, keepdim)
    return LogSumExp.apply(x, axis, keepdims)


Tensor.relu, Tensor.leaky_relu, Tensor.sigmoid, Tensor.tanh = relu, leaky_relu, sigmoid, tanh
Tensor.softmax, Tensor.log_softmax, Tensor.logsumexp = softmax, log_softmax, logsumexp


# ---- more activations (PyTorch's set): each rule also runs on Tensors, for second derivatives --
_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))
_INV_SQRT_2PI = float(1 / np.sqrt(2 * np.pi))
_SQRT_HALF = float(np.sqrt(0.5))
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _sig(z):
    """sigmoid of an array (NumPy) or of a Tensor (the op, so the rule stays differentiable)."""
    return Sigmoid.apply(z) if isinstance(z, Tensor) else _stable_sigmoid(z)


def _stable_softplus(z: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0)


def _normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 of an array (an array) or a Tensor (differentiable)."""
    if isinstance(x, Tensor):
        return 0.5 * (1 + erf(x * _SQRT_HALF))
    # On arrays, erf's own kernel, not the op: an op called inside a forward would be recorded
    # by tc.jit as a step of its own.
    return 0.5 * (1 + _erf_parts(x * _SQRT_HALF, complement=False))


class GELU(Function):
    """gelu(x) = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2; derivative Phi(x) + x phi(x),
    phi(x) = e^(-x^2/2) / sqrt(2 pi). approximate="tanh": 0.5 x (1 + tanh(u)),
    u = sqrt(2/pi) (x + 0.044715 x^3); derivative 0.5 (1 + t) + 0.5 x (1 - t^2) u'(x)."""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        return x * _normal_cdf(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        if ctx.approximate == "tanh":
            t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
            du = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du), None
        return g * (_normal_cdf(x) + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI), None


class SiLU(Function):
    """silu(x) = x sigmoid(x) (swish); derivative s (1 + x (1 - s)), s = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        s = _stable_sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved
        if isinstance(x, Tensor):
            s = _sig(x)
        return g * s * (1 + x * (1 - s))


class ELU(Function):
    """elu(x) = scale (x if x > 0 else alpha (e^(input_scale x) - 1)), the form PyTorch shares
    among elu, selu and celu; derivative scale for x > 0, else scale alpha input_scale
    e^(input_scale x) (so alpha at 0 for elu, as in PyTorch)."""

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        ctx.pos, ctx.params = x > 0, (alpha, scale, input_scale)
        ctx.save_for_backward(x)
        out = np.where(ctx.pos, x, alpha * np.expm1(np.minimum(x, 0) * input_scale))
        return out if scale == 1 else scale * out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        alpha, scale, input_scale = ctx.params
        neg = ~ctx.pos
        # e^(input_scale x) only where x <= 0 (x * neg is 0 elsewhere, so it never overflows).
        d = np.exp(x * neg * input_scale) * (neg * (alpha * input_scale)) + ctx.pos
        return g * (d if scale == 1 else d * scale), None, None, None


class Softplus(Function):
    """softplus(x) = log(1 + e^(beta x)) / beta = (log1p(e^-|z|) + max(z, 0)) / beta with z = beta x
    (no overflow), and x itself where beta x > threshold (PyTorch's linear tail); derivative
    sigmoid(beta x), 1 past the threshold."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        z = x * beta
        ctx.lin, ctx.beta = z > threshold, beta
        ctx.save_for_backward(x)
        soft = _stable_softplus(z)
        return np.where(ctx.lin, x, soft if beta == 1 else soft / beta)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * (_sig(x * ctx.beta) * ~ctx.lin + ctx.lin), None, None


class Softsign(Function):
    """softsign(x) = x / (1 + |x|); derivative 1 / (1 + |x|)^2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x / (1 + np.abs(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        d = 1 + np.abs(x)
        return g / (d * d)


class Mish(Function):
    """mish(x) = x tanh(softplus(x)); derivative t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x))."""

    @staticmethod
    def forward(ctx, x):
        t = np.tanh(_stable_softplus(x))
        ctx.save_for_backward(x, t)
        return x * t

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved
        if isinstance(x, Tensor):
            t = np.tanh(Softplus.apply(x, 1.0, np.inf))
        return g * (t + x * (1 - t * t) * _sig(x))


class Hardtanh(Function):
    """hardtanh(x) = min(max(x, min_val), max_val); derivative 1 strictly between the bounds and
    0 elsewhere, the corners included (PyTorch's convention; relu6 is hardtanh(x, 0, 6))."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.inside = (x > lo) & (x < hi)
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.inside, None, None


class Hardsigmoid(Function):
    """hardsigmoid(x) = relu6(x + 3) / 6; derivative 1/6 for -3 < x < 3, else 0 (PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.inside = (x > -3) & (x < 3)
        return np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        return g * (ctx.inside / 6)


class Hardswish(Function):
    """hardswish(x) = x relu6(x + 3) / 6; derivative 0 for x <= -3, x/3 + 1/2 for -3 < x < 3,
    1 for x >= 3 (PyTorch's values at the corners)."""

    @staticmethod
    def forward(ctx, x):
        ctx.mid, ctx.high = (x > -3) & (x < 3), x >= 3
        ctx.save_for_backward(x)
        return x * np.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * ((x / 3 + 0.5) * ctx.mid + ctx.high)


class LogSigmoid(Function):
    """logsigmoid(x) = log(1 / (1 + e^-x)) = min(x, 0) - log1p(e^-|x|) (= -softplus(-x), no
    overflow); derivative sigmoid(-x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * _sig(-x)


def gelu(x, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x Phi(x), Phi the standard normal CDF (exact, through erf), or
    PyTorch's approximate="tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate)


def silu(x) -> Tensor:
    """silu(x) = x sigmoid(x) (also called swish)."""
    return SiLU.apply(x)


def elu(x, alpha: float = 1.0) -> Tensor:
    """elu(x) = x if x > 0 else alpha (e^x - 1)."""
    return ELU.apply(x, float(alpha), 1.0, 1.0)


def selu(x) -> Tensor:
    """selu(x) = scale elu(x, alpha) with PyTorch's constants alpha = 1.6733, scale = 1.0507
    (self-normalizing: keeps mean 0 and variance 1 through layers with LeCun-normal weights)."""
    return ELU.apply(x, _SELU_ALPHA, _SELU_SCALE, 1.0)


def celu(x, alpha: float = 1.0) -> Tensor:
    """celu(x) = max(0, x) + min(0, alpha (e^(x/alpha) - 1)) (continuously differentiable elu)."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x); use e.g. alpha=1.0")
    return ELU.apply(x, float(alpha), 1.0, 1.0 / alpha)


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """softplus(x) = log(1 + e^(beta x)) / beta, a smooth relu, exact and finite for any |x|; x
    itself where beta x > threshold, as in PyTorch."""
    if beta == 0:
        raise ValueError("softplus: beta must not be 0 (it divides); the default is beta=1.0")
    return Softplus.apply(x, float(beta), float(threshold))


def softsign(x) -> Tensor:
    """softsign(x) = x / (1 + |x|)."""
    return Softsign.apply(x)


def mish(x) -> Tensor:
    """mish(x) = x tanh(softplus(x))."""
    return Mish.apply(x)


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """hardtanh(x) = x clipped to [min_val, max_val]; gradient 1 strictly inside, 0 at and past
    the corners (PyTorch's convention; `clip` passes it at the bounds)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val {min_val} is greater than max_val {max_val}")
    return Hardtanh.apply(x, float(min_val), float(max_val))


def relu6(x) -> Tensor:
    """relu6(x) = min(max(x, 0), 6) = hardtanh(x, 0, 6); gradient 0 at 0 and 6 (PyTorch)."""
    return Hardtanh.apply(x, 0.0, 6.0)


def hardsigmoid(x) -> Tensor:
    """hardsigmoid(x) = relu6(x + 3) / 6, a piecewise-linear sigmoid."""
    return Hardsigmoid.apply(x)


def hardswish(x) -> Tensor:
    """hardswish(x) = x relu6(x + 3) / 6, a piecewise silu (MobileNetV3)."""
    return Hardswish.apply(x)


def logsigmoid(x) -> Tensor:
    """logsigmoid(x) = log(sigmoid(x)) = -softplus(-x), exact and finite for any |x|."""
    return LogSigmoid.apply(x)


def softmin(x, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """softmin(x) = softmax(-x) along `axis` (PyTorch's `dim`; the last axis by default)."""
    return softmax(-x, _axis_or_last("softmin", axis, dim))
