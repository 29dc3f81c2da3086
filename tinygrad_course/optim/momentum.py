"""Gradient descent with momentum, the course's form: an exponentially weighted average of dW."""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from ..ewa import ewa_update_
from ..nn.functional import is_weight
from ..tensor import Tensor
from .optimizer import Optimizer


class Momentum(Optimizer):
    """Momentum: v = beta * v + (1 - beta) * dW; W -= lr * v (v starts at 0, no bias correction).

    PyTorch's SGD(momentum=mu) uses v = mu * v + dW instead, so its lr acts like ours scaled by
    1 / (1 - beta): lr_torch = lr * (1 - beta) gives the same trajectory.
    """

    hyperparameter_rules = {**Optimizer.hyperparameter_rules, "beta": "beta"}
    state_keys = ("v",)
    momentum_key = "beta"

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float, beta: float = 0.9,
                 weight_decay: float = 0.0,
                 decay_filter: Callable[[Tensor], bool] = is_weight, *,
                 foreach: bool | None = None):
        super().__init__(params, lr, weight_decay, decay_filter, foreach=foreach, beta=beta)

    def _update(self, g: np.ndarray, state: dict, tmp: np.ndarray, group: dict) -> None:
        v = state.get("v")
        if v is None:
            v = state["v"] = np.zeros_like(tmp)
        ewa_update_(v, g, group["beta"], scratch=tmp)  # v = beta * v + (1 - beta) * dW
        np.multiply(v, group["lr"], out=tmp)  # W -= lr * v
