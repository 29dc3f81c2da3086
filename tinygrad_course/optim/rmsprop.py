"""RMSprop: divide the step by the root of an exponentially weighted average of dW**2."""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from ..ewa import ewa_update_
from ..nn.functional import is_weight
from ..tensor import Tensor
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop: s = beta * s + (1 - beta) * dW**2; W -= lr * dW / (sqrt(s) + eps).

    `beta` is the course's beta2 and PyTorch's `alpha` (same formula, eps outside the root).
    s starts at 0 with no bias correction, so the first steps are about lr / sqrt(1 - beta) large.
    """

    hyperparameter_rules = {**Optimizer.hyperparameter_rules, "beta": "beta", "eps": "positive"}
    state_keys = ("s",)

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float, beta: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 decay_filter: Callable[[Tensor], bool] = is_weight, *,
                 alpha: float | None = None, foreach: bool | None = None):
        if alpha is not None:  # PyTorch's name for beta (the same formula)
            if beta != 0.999:
                raise TypeError(f"RMSprop: got beta={beta} and alpha={alpha}; alpha is PyTorch's "
                                "name for beta, give one")
            beta = alpha
        super().__init__(params, lr, weight_decay, decay_filter, foreach=foreach, beta=beta,
                         eps=eps)

    def _update(self, g: np.ndarray, state: dict, tmp: np.ndarray, group: dict) -> None:
        s = state.get("s")
        if s is None:
            s = state["s"] = np.zeros_like(tmp)
        np.square(g, out=tmp)  # s = beta * s + (1 - beta) * dW**2
        ewa_update_(s, tmp, group["beta"], scratch=tmp)
        np.sqrt(s, out=tmp)
        tmp += group["eps"]
        np.divide(g, tmp, out=tmp)
        tmp *= group["lr"]  # W -= lr * dW / (sqrt(s) + eps)
