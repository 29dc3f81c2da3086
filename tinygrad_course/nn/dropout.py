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
    """a * D / keep_prob with a fixed mask D; the gradient is g * D / keep_prob (the same mask)."""

    name = "dropout"

    @staticmethod
    def forward(ctx, x, scaled_mask):
        ctx.save_for_backward(scaled_mask)
        return x * scaled_mask

    @staticmethod
    def backward(ctx, g):
        (scaled_mask,) = ctx.saved
        return g * scaled_mask, None


def dropout(x, keep_prob: float = 0.5, training: bool = True, *,
            generator: Generator | None = None):
    """The course's inverted dropout: D = rand(shape) < keep_prob; A = A * D / keep_prob, so the
    expected activation is unchanged and nothing needs rescaling at test time. Identity when
    not training or when keep_prob = 1. The mask comes from `generator`, else the thread's
    default generator (`tc.manual_seed`, `tc.use_generator`)."""
    kp = check_keep_prob(keep_prob, "dropout")
    if not training or kp == 1.0:
        return x
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    rng = rng_from(generator=generator)
    d = rng.random(x.shape, dtype=dt if dt.itemsize in (4, 8) else np.float64) < kp
    return DropoutFunction.apply(x, d * dt.type(1.0 / kp))


class Dropout(Module):
    """Inverted dropout with keep_prob (the course's name; PyTorch's p = 1 - keep_prob): in
    training each unit is kept with probability keep_prob and scaled by 1 / keep_prob; in eval()
    it is the identity. keep_prob = 1 is the identity in both modes. Masks come from `generator`,
    else from the thread's default generator at each call."""

    def __init__(self, keep_prob: float = 0.5, *, generator: Generator | None = None):
        super().__init__()
        self.generator = generator
        self.keep_prob = check_keep_prob(keep_prob, "Dropout")
        if self.keep_prob < 0.5:
            # Dropout(0.2) from a PyTorch habit would keep 20% of the units, not drop 20%.
            warnings.warn(f"Dropout(keep_prob={self.keep_prob}) keeps only {self.keep_prob:.0%} of the "
                          f"units; if you meant PyTorch's p (the fraction dropped), write "
                          f"Dropout(keep_prob={1 - self.keep_prob:g})", UserWarning, stacklevel=2)

    def forward(self, x):
        """Training: x * mask / keep_prob, mask ~ Bernoulli(keep_prob) (inverted dropout); eval: x."""
        if not self.training or self.keep_prob == 1.0:
            return x
        return dropout(x, self.keep_prob, True, generator=self.generator)

    def extra_repr(self) -> str:
        return f"keep_prob={self.keep_prob}"
