"""Gradient descent: W -= lr * dW."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent, W -= lr * dW. Batch, mini-batch or stochastic gradient descent is the same
    class: which one you get depends on the batches you feed it (m, 1 < size < m, or 1 example)."""

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict, tmp: np.ndarray,
                group: dict) -> None:
        np.multiply(g, group["lr"], out=tmp)
        w -= tmp
