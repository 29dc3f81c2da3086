"""Adam: Momentum and RMSprop together, with bias correction; AdamW, its decoupled weight decay."""
from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np

from ..ewa import correction_factor, ewa_update_
from ..nn.functional import is_weight
from ..tensor import Tensor
from .optimizer import Optimizer


def _split_betas(owner: str, betas) -> dict[str, float]:
    """PyTorch's betas=(beta1, beta2) as the course's two names."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}; or write "
                        "beta1=..., beta2=... (the course's names)")
    return {"beta1": betas[0], "beta2": betas[1]}


class Adam(Optimizer):
    """Adam: v = b1*v + (1-b1)*dW; s = b2*s + (1-b2)*dW**2; v_hat = v / (1 - b1**t),
    s_hat = s / (1 - b2**t); W -= lr * v_hat / (sqrt(s_hat) + eps).

    The same as PyTorch's Adam(betas=(beta1, beta2)), eps outside the square root in both
    (`betas=` is accepted too, here and in a parameter group); t counts this parameter's updates
    (a step where it has no gradient does not count). `weight_decay` is the course's L2 in the
    gradient (PyTorch's Adam(weight_decay=) too), so Adam divides it by sqrt(s_hat) like the rest
    of dW; see AdamW for the decoupled form.
    """

    hyperparameter_rules = {**Optimizer.hyperparameter_rules, "beta1": "beta", "beta2": "beta",
                            "eps": "positive"}
    state_keys = ("v", "s", "t")
    momentum_key = "beta1"

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                 decay_filter: Callable[[Tensor], bool] = is_weight, *,
                 betas: tuple[float, float] | None = None, foreach: bool | None = None):
        if betas is not None:
            if (beta1, beta2) != (0.9, 0.999):
                raise TypeError(f"{type(self).__name__}: got betas={betas!r} and beta1/beta2; "
                                "betas=(beta1, beta2) is PyTorch's spelling of the same two "
                                "numbers, give one")
            beta1, beta2 = _split_betas(type(self).__name__, betas).values()
        super().__init__(params, lr, weight_decay, decay_filter, foreach=foreach, beta1=beta1,
                         beta2=beta2, eps=eps)

    def add_param_group(self, param_group: dict) -> None:
        if isinstance(param_group, dict) and "betas" in param_group:
            param_group = {**{k: v for k, v in param_group.items() if k != "betas"},
                           **_split_betas(type(self).__name__, param_group["betas"])}
        super().add_param_group(param_group)

    def _update(self, g: np.ndarray, state: dict, tmp: np.ndarray, group: dict) -> None:
        v = state.get("v")
        if v is None:
            v = state["v"] = np.zeros_like(tmp)
            state["s"] = np.zeros_like(tmp)
            state["t"] = 0
        s = state["s"]
        t = state["t"] = state["t"] + 1
        beta1, beta2 = group["beta1"], group["beta2"]
        np.square(g, out=tmp)
        ewa_update_(s, tmp, beta2, scratch=tmp)
        ewa_update_(v, g, beta1, scratch=tmp)
        # v_hat / (sqrt(s_hat) + eps) = (sqrt(c2) / c1) * v / (sqrt(s) + eps * sqrt(c2)):
        # the same value with the corrections folded into two scalars (two passes fewer).
        root_c2 = math.sqrt(correction_factor(beta2, t))
        np.sqrt(s, out=tmp)
        tmp += group["eps"] * root_c2
        np.divide(v, tmp, out=tmp)
        tmp *= group["lr"] * root_c2 / correction_factor(beta1, t)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter): Adam on dW alone, and the weights decayed apart from it,
    W -= lr * weight_decay * W before each update (PyTorch's AdamW, default weight_decay=0.01).

    The difference from Adam(weight_decay=) (the course's L2, dW += weight_decay * W): there the
    decay goes through v_hat / sqrt(s_hat), so weights with large gradients are barely decayed;
    here every weight shrinks by the same factor (1 - lr * weight_decay) per step. The decay
    applies to the parameters `decay_filter` accepts (by default weights, not biases; PyTorch
    decays all: `decay_filter=lambda p: True`).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.01,
                 decay_filter: Callable[[Tensor], bool] = is_weight, *,
                 betas: tuple[float, float] | None = None, foreach: bool | None = None):
        super().__init__(params, lr, beta1, beta2, eps, weight_decay, decay_filter, betas=betas,
                         foreach=foreach)

    def _weight_decay(self, w: np.ndarray, g: np.ndarray, group: dict,
                      out: np.ndarray) -> np.ndarray:
        w *= 1.0 - group["lr"] * group["weight_decay"]  # W -= lr * weight_decay * W; dW as is
        return g
