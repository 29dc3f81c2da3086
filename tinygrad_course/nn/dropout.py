"""Inverted dropout: keep each unit with probability keep_prob and divide by keep_prob."""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd import Function
from ..random import Generator, rng_from
from .module import Module


def check_keep_prob(keep_prob: float, op: str) -> float:
    kp = float(keep_prob)
    if not 0.0 < kp <= 1.0:
        raise ValueError(f"{op}: keep_prob must be in (0, 1], got {keep_prob!r} (keep_prob is the "
                         "probability of KEEPING a unit; PyTorch's p is 1 - keep_prob)")
    return kp


class DropoutFunction(Function):
    """a * D / keep_prob, D = rand(mask_shape) < keep_prob drawn from `generator` (the thread's
    default when None) by forward itself, so a step replayed by tc.jit draws a new mask; the
    gradient is g * D / keep_prob (the same mask)."""

    name = "dropout"

    @staticmethod
    def forward(ctx, x, kp, generator, mask_shape):
        dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        d = rng_from(generator=generator).random(
            mask_shape, dtype=dt if dt.itemsize in (4, 8) else np.float64) < kp
        scaled_mask = d * dt.type(1.0 / kp)
        ctx.save_for_backward(scaled_mask)
        return x * scaled_mask

    @staticmethod
    def backward(ctx, g):
        (scaled_mask,) = ctx.saved
        return g * scaled_mask, None, None, None


def refuse_p(p, op: str) -> None:
    """PyTorch's p (the fraction DROPPED) is refused, naming the course's keep_prob = 1 - p."""
    if p is not None:
        raise TypeError(f"{op}: p is PyTorch's probability of dropping a unit; here it is the "
                        f"course's keep_prob, the probability of keeping one: write "
                        f"{op}(keep_prob={1 - float(p):g})")


def dropout(x, keep_prob: float = 0.5, training: bool = True, *,
            generator: Generator | None = None, p: float | None = None):
    """The course's inverted dropout: D = rand(shape) < keep_prob; A = A * D / keep_prob, so the
    expected activation is unchanged and nothing needs rescaling at test time. Identity when
    not training or when keep_prob = 1. The mask comes from `generator`, else the thread's
    default generator (`tc.manual_seed`, `tc.use_generator`)."""
    refuse_p(p, "dropout")
    return _dropout(x, check_keep_prob(keep_prob, "dropout"), training, generator, x.shape)


def _dropout(x, kp: float, training: bool, generator, mask_shape: tuple):
    if not training or kp == 1.0:
        return x
    return DropoutFunction.apply(x, kp, generator, mask_shape)


def dropout2d(x, keep_prob: float = 0.5, training: bool = True, *,
              generator: Generator | None = None, p: float | None = None):
    """Channel-wise inverted dropout of x (N, C, *): each whole channel of each example is kept
    with probability keep_prob (and scaled by 1 / keep_prob) or zeroed, as PyTorch's Dropout2d
    (whose p is 1 - keep_prob); neighbouring pixels are correlated, so dropping single pixels
    would barely regularize a convolution."""
    refuse_p(p, "dropout2d")
    kp = check_keep_prob(keep_prob, "dropout2d")
    if len(x.shape) < 2:
        raise ValueError(f"dropout2d: expected an input of shape (N, C, ...), got shape "
                         f"{tuple(x.shape)}")
    return _dropout(x, kp, training, generator, tuple(x.shape[:2]) + (1,) * (len(x.shape) - 2))


class Dropout(Module):
    """Inverted dropout with keep_prob (the course's name; PyTorch's p = 1 - keep_prob): in
    training each unit is kept with probability keep_prob and scaled by 1 / keep_prob; in eval()
    it is the identity. keep_prob = 1 is the identity in both modes. Masks come from `generator`,
    else from the thread's default generator at each call."""

    def __init__(self, keep_prob: float = 0.5, *, generator: Generator | None = None,
                 p: float | None = None):
        super().__init__()
        refuse_p(p, type(self).__name__)
        self.generator = generator
        self.keep_prob = check_keep_prob(keep_prob, type(self).__name__)
        if self.keep_prob < 0.5:
            # Dropout(0.2) from a PyTorch habit would keep 20% of the units, not drop 20%.
            name = type(self).__name__
            warnings.warn(f"{name}(keep_prob={self.keep_prob}) keeps only {self.keep_prob:.0%} of the "
                          f"units; if you meant PyTorch's p (the fraction dropped), write "
                          f"{name}(keep_prob={1 - self.keep_prob:g})", UserWarning, stacklevel=2)

    def forward(self, x):
        """Training: x * mask / keep_prob, mask ~ Bernoulli(keep_prob) (inverted dropout); eval: x."""
        if not self.training or self.keep_prob == 1.0:
            return x
        return dropout(x, self.keep_prob, True, generator=self.generator)

    def extra_repr(self) -> str:
        return f"keep_prob={self.keep_prob}"


class Dropout2d(Dropout):
    """Channel-wise inverted dropout for (N, C, H, W) (or any (N, C, *)): in training each
    channel of each example is kept whole with probability keep_prob and scaled by 1 / keep_prob,
    else zeroed (PyTorch's Dropout2d, whose p is 1 - keep_prob); eval() is the identity."""

    def forward(self, x):
        if not self.training or self.keep_prob == 1.0:
            return x
        return dropout2d(x, self.keep_prob, True, generator=self.generator)
