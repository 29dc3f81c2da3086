"""Weight initialization, in place; every draw from `generator=`, else the thread's default generator.

For a weight of shape (n_out, n_in) (the course's W[l] of shape (n[l], n[l-1])):
zeros (symmetry is never broken), random = randn * scale (the course's * 0.01 and * 10),
Xavier/Glorot Var = 2 / (n_in + n_out), LeCun Var = 1 / n_in (the course's choice for tanh),
He Var = 2 / n_in (the course's choice for ReLU).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..autograd import bump_version
from ..random import Generator, rng_from, use_generator
from ..tensor import Tensor


def _fill(t: Tensor, values) -> Tensor:
    # Written into the existing array, so a Parameter held by an optimizer keeps its identity.
    np.copyto(t.data, values, casting="unsafe")
    bump_version(t)
    return t


def fans(t: Tensor, op: str = "init") -> tuple[int, int]:
    """(n_in, n_out) of a weight of shape (n_out, n_in, *kernel), as in PyTorch."""
    shape = t.shape
    if len(shape) < 2:
        raise ValueError(f"{op}: needs a weight with at least 2 dimensions (n_out, n_in) to know "
                         f"n_in and n_out, got shape {shape}; initialize biases with zeros_")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def zeros_(t: Tensor) -> Tensor:
    """t = 0."""
    return _fill(t, 0)


def ones_(t: Tensor) -> Tensor:
    """t = 1."""
    return _fill(t, 1)


def constant_(t: Tensor, val: float) -> Tensor:
    """t = val everywhere."""
    return _fill(t, val)


def normal_(t: Tensor, std: float = 1.0, *args, mean: float = 0.0,
            generator: Generator | None = None) -> Tensor:
    """t = mean + std * randn: the course's `randn(...) * 0.01` is normal_(W, 0.01).
    (std comes first, as the course thinks of it; mean is keyword-only, unlike PyTorch's
    normal_(t, mean, std), so PyTorch's positional form is refused with the keyword form.)"""
    if args:
        raise TypeError(f"normal_: std comes first here and mean is keyword-only; PyTorch's "
                        f"normal_(t, {std!r}, {args[0]!r}) is normal_(t, mean={std!r}, "
                        f"std={args[0]!r})")
    return _fill(t, mean + std * rng_from(generator=generator).standard_normal(t.shape))


def uniform_(t: Tensor, low: float = 0.0, high: float = 1.0, *, a: float | None = None,
             b: float | None = None, generator: Generator | None = None) -> Tensor:
    """t ~ U(low, high); PyTorch's a=/b= are accepted for low/high."""
    low = low if a is None else a
    high = high if b is None else b
    return _fill(t, rng_from(generator=generator).uniform(low, high, t.shape))


def xavier_normal_(t: Tensor, gain: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Glorot: t ~ N(0, gain^2 * 2 / (n_in + n_out))."""
    n_in, n_out = fans(t, "xavier_normal_")
    return normal_(t, gain * math.sqrt(2.0 / (n_in + n_out)), generator=generator)


def xavier_uniform_(t: Tensor, gain: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Glorot: t ~ U(-a, a), a = gain * sqrt(6 / (n_in + n_out)), so Var = 2 / (n_in + n_out)."""
    n_in, n_out = fans(t, "xavier_uniform_")
    a = gain * math.sqrt(6.0 / (n_in + n_out))
    return uniform_(t, -a, a, generator=generator)


def lecun_normal_(t: Tensor, *, generator: Generator | None = None) -> Tensor:
    """LeCun: t ~ N(0, 1 / n_in), the course's initialization for tanh layers."""
    n_in, _ = fans(t, "lecun_normal_")
    return normal_(t, math.sqrt(1.0 / n_in), generator=generator)


def he_normal_(t: Tensor, *, generator: Generator | None = None) -> Tensor:
    """He: t ~ N(0, 2 / n_in), the course's `randn(n[l], n[l-1]) * sqrt(2 / n[l-1])` for ReLU."""
    n_in, _ = fans(t, "he_normal_")
    return normal_(t, math.sqrt(2.0 / n_in), generator=generator)


def he_uniform_(t: Tensor, *, generator: Generator | None = None) -> Tensor:
    """He: t ~ U(-a, a), a = sqrt(6 / n_in), so Var = 2 / n_in."""
    n_in, _ = fans(t, "he_uniform_")
    a = math.sqrt(6.0 / n_in)
    return uniform_(t, -a, a, generator=generator)


_GAINS = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0),
          "selu": 3.0 / 4}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope 0.01 by default), 3/4 for selu."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity.startswith("conv") or nonlinearity in _GAINS:
        return _GAINS.get(nonlinearity, 1.0)
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; choose one of "
                     f"{sorted(_GAINS) + ['leaky_relu', 'conv1d', 'conv2d']}")


def _kaiming_std(t: Tensor, a: float, mode: str, nonlinearity: str, op: str) -> float:
    n_in, n_out = fans(t, op)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return calculate_gain(nonlinearity, a) / math.sqrt(n_in if mode == "fan_in" else n_out)


def kaiming_normal_(t: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", *, generator: Generator | None = None) -> Tensor:
    """PyTorch's name for He: t ~ N(0, gain^2 / fan); the defaults (a=0, fan_in) give the
    course's He initialization N(0, 2 / n_in)."""
    return normal_(t, _kaiming_std(t, a, mode, nonlinearity, "kaiming_normal_"), generator=generator)


def kaiming_uniform_(t: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", *, generator: Generator | None = None) -> Tensor:
    """PyTorch's name for He uniform: t ~ U(-b, b), b = gain * sqrt(3 / fan); the defaults give
    he_uniform_ (Var = 2 / n_in)."""
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(t, -bound, bound, generator=generator)


def trunc_normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  *, generator: Generator | None = None) -> Tensor:
    """t ~ N(mean, std^2) conditioned on [a, b] (PyTorch's argument order; a and b are absolute
    bounds, as in PyTorch): out-of-range draws are redrawn until every value fits."""
    if not a < b:
        raise ValueError(f"trunc_normal_: the bounds must satisfy a < b, got a={a}, b={b}")
    rng = rng_from(generator=generator)
    values = mean + std * rng.standard_normal(t.shape)
    bad = (values < a) | (values > b)
    while bad.any():
        values[bad] = mean + std * rng.standard_normal(int(bad.sum()))
        bad = (values < a) | (values > b)
    return _fill(t, values)


def orthogonal_(t: Tensor, gain: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """t (rows, cols...) set to a (semi-)orthogonal matrix times gain (Saxe et al., 2013), from
    the QR decomposition of a Gaussian matrix with the signs of R's diagonal fixed, as PyTorch."""
    if t.ndim < 2:
        raise ValueError(f"orthogonal_: needs at least 2 dimensions, got shape {t.shape}")
    rows, cols = t.shape[0], int(np.prod(t.shape[1:]))
    flat = rng_from(generator=generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(t, gain * q.reshape(t.shape))


SCHEMES: dict[str, Callable] = {
    "zeros": zeros_,
    "random": normal_,
    "xavier": xavier_normal_,
    "xavier_uniform": xavier_uniform_,
    "lecun": lecun_normal_,
    "he": he_normal_,
    "he_uniform": he_uniform_,
}


def check_scheme(init: str, op: str) -> str:
    """`init` if it is a known scheme name (zeros, random, xavier, he, ...), else a ValueError
    naming `op` and the choices."""
    if init not in SCHEMES:
        raise ValueError(f"{op}: unknown init {init!r}; choose one of {sorted(SCHEMES)}")
    return init


def init_weight_(weight: Tensor, init: str = "he", scale: float = 0.01, *,
                 generator: Generator | None = None) -> Tensor:
    """Initialize one weight by scheme name; `scale` is the std of init="random"."""
    check_scheme(init, "init_weight_")
    if init == "zeros":
        return zeros_(weight)
    if init == "random":
        return normal_(weight, scale, generator=generator)
    return SCHEMES[init](weight, generator=generator)


def initialize_(model, init: str = "he", scale: float = 0.01, *, generator: Generator | None = None):
    """Re-initialize every layer of a model by scheme name (weights by the scheme, biases to zero,
    batch norm back to gamma = 1, beta = 0 and fresh running averages), drawing from `generator`
    (else the thread's default); returns the model."""
    check_scheme(init, "initialize_")
    with use_generator(generator):
        for m in model.modules():
            m.reset_parameters(init=init, scale=scale)
    return model
