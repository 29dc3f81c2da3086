"""Adam: Momentum and RMSprop together, with bias correction."""
from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np

from ..ewa import correction_factor, ewa_update_
from ..nn.functional import is_weight
from ..tensor import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam: v = b1*v + (1-b1)*dW; s = b2*s + (1-b2)*dW**2; v_hat = v / (1 - b1**t),
    s_hat = s / (1 - b2**t); W -= lr * v_hat / (sqrt(s_hat) + eps).

    The same as PyTorch's Adam(betas=(beta1, beta2)), eps outside the square root in both;
    t counts this parameter's updates (a step where it has no gradient does not count).
    """

    hyperparameter_rules = {**Optimizer.hyperparameter_rules, "beta1": "beta", "beta2": "beta",
                            "eps": "positive"}
    state_keys = ("v", "s", "t")

    def __init__(self, params: Iterable[Tensor], lr: float, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                 decay_filter: Callable[[Tensor], bool] = is_weight):
        super().__init__(params, lr, weight_decay, decay_filter)
        self._set_hyperparameters(beta1=beta1, beta2=beta2, eps=eps)

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict, tmp: np.ndarray) -> None:
        v = state.get("v")
        if v is None:
            v = state["v"] = np.zeros_like(w)
            state["s"] = np.zeros_like(w)
            state["t"] = 0
        s = state["s"]
        t = state["t"] = state["t"] + 1
        np.square(g, out=tmp)
        ewa_update_(s, tmp, self.beta2, scratch=tmp)
        ewa_update_(v, g, self.beta1, scratch=tmp)
        # v_hat / (sqrt(s_hat) + eps) = (sqrt(c2) / c1) * v / (sqrt(s) + eps * sqrt(c2)):
        # the same value with the corrections folded into two scalars (two passes fewer).
        root_c2 = math.sqrt(correction_factor(self.beta2, t))
        np.sqrt(s, out=tmp)
        tmp += self.eps * root_c2
        np.divide(v, tmp, out=tmp)
        tmp *= self.lr * root_c2 / correction_factor(self.beta1, t)
        w -= tmp
