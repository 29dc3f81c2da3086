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


def normal_(t: Tensor, std: float = 1.0, *, mean: float = 0.0,
            generator: Generator | None = None) -> Tensor:
    """t = mean + std * randn: the course's `randn(...) * 0.01` is normal_(W, 0.01).
    (std comes first, as the course thinks of it; mean is keyword-only, unlike PyTorch.)"""
    return _fill(t, mean + std * rng_from(generator=generator).standard_normal(t.shape))


def uniform_(t: Tensor, low: float = 0.0, high: float = 1.0, *,
             generator: Generator | None = None) -> Tensor:
    """t ~ U(low, high)."""
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
