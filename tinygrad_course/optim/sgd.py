"""Gradient descent: W -= lr * dW."""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from ..nn.functional import is_weight
from ..tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent, W -= lr * dW. Batch, mini-batch or stochastic gradient descent is the same
    class: which one you get depends on the batches you feed it (m, 1 < size < m, or 1 example).
    PyTorch's SGD(momentum=mu) is refused with the course's equivalent, Momentum.
    `foreach` is off by default: the update is one call per parameter, which a flat buffer
    would only add a gather to."""

    foreach_default = False

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float,
                 weight_decay: float = 0.0, decay_filter: Callable[[Tensor], bool] = is_weight,
                 *, momentum: float = 0.0, foreach: bool | None = None):
        if momentum:
            # Heavy ball v = mu v + dW, W -= lr v equals the course's EWA v = mu v + (1 - mu) dW
            # with lr / (1 - mu): the same steps from the first one.
            raise TypeError(
                f"SGD: momentum={momentum} is PyTorch's heavy ball (v = mu*v + dW); this "
                f"framework's momentum is the course's average v = beta*v + (1 - beta)*dW, which "
                f"takes the same steps with the learning rate divided by (1 - beta): write "
                f"Momentum(params, lr={lr!r} / (1 - {momentum!r}), beta={momentum!r})")
        super().__init__(params, lr, weight_decay, decay_filter, foreach=foreach)

    def _update(self, g: np.ndarray, state: dict, tmp: np.ndarray, group: dict) -> None:
        # W -= lr * dW
        np.multiply(g, group["lr"], out=tmp)
