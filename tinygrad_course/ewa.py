"""Exponentially weighted averages, the one implementation behind Momentum, RMSprop, Adam and
BatchNorm's running statistics."""
from __future__ import annotations

import numpy as np

from .serialization import check_state_keys


def check_beta(beta: float, owner: str = "EWA", name: str = "beta", note: str = "") -> float:
    """`beta` as a float, or a ValueError naming `owner` and `name` unless 0 <= beta < 1."""
    b = float(beta)
    if not 0.0 <= b < 1.0:
        raise ValueError(f"{owner}: {name} must be in [0, 1), got {beta!r}{note}")
    return b


def ewa_update_(avg: np.ndarray, value, beta: float, scratch: np.ndarray | None = None) -> np.ndarray:
    """In place: avg = beta * avg + (1 - beta) * value. `scratch` (an array like `avg`, which may be
    `value` itself when it can be overwritten) saves the one temporary, for optimizers' hot paths."""
    if scratch is None:
        scratch = np.empty_like(avg)
    np.multiply(value, 1.0 - beta, out=scratch)
    avg *= beta
    avg += scratch
    return avg


def correction_factor(beta: float, t: int) -> float:
    """1 - beta^t: what an average started from 0 is divided by after t updates (bias correction)."""
    return 1.0 - beta ** t if t else 1.0


class EWA:
    """v_t = beta * v_{t-1} + (1 - beta) * theta_t, from v_0 = 0; bias-corrected v_t / (1 - beta^t).

    Averages roughly the last 1 / (1 - beta) values. Works on scalars and arrays of a fixed
    shape; with arrays, `update` writes into its state in place (`value` stays the same array).
    """

    def __init__(self, beta: float, bias_correction: bool = False):
        self.beta = check_beta(beta)
        self.bias_correction = bool(bias_correction)
        self.value = None
        self.t = 0

    def update(self, theta):
        """Fold in one observation and return the (corrected, if asked) average."""
        b = self.beta
        theta_arr = np.asarray(theta)
        if self.value is None:
            if theta_arr.ndim == 0:
                self.value = (1 - b) * float(theta_arr)
            else:
                self.value = (1 - b) * theta_arr.astype(theta_arr.dtype if theta_arr.dtype.kind == "f"
                                                        else np.float64)
        elif theta_arr.shape != np.shape(self.value):
            raise ValueError(f"EWA.update: got a value of shape {theta_arr.shape}, but this average "
                             f"has shape {np.shape(self.value)} (from its first update); use one "
                             "EWA per quantity, or reset() it first")
        elif isinstance(self.value, np.ndarray):
            ewa_update_(self.value, theta_arr, b)
        else:
            self.value = b * self.value + (1 - b) * float(theta_arr)
        self.t += 1
        return self.average

    @property
    def correction(self) -> float:
        """1 - beta^t: what the raw average is divided by to remove the bias toward v_0 = 0."""
        return correction_factor(self.beta, self.t)

    @property
    def average(self):
        """The current average, bias-corrected when `bias_correction` is on."""
        if self.value is None:
            raise ValueError("EWA: no value yet; call update() first")
        if self.bias_correction:
            return self.value / self.correction
        return self.value

    def reset(self) -> None:
        """Forget every update: back to v_0 = 0, t = 0."""
        self.value = None
        self.t = 0

    def state_dict(self) -> dict:
        """{beta, bias_correction, t, value}: enough to continue the average where it stopped."""
        return {"beta": self.beta, "bias_correction": self.bias_correction, "t": self.t,
                "value": None if self.value is None else np.array(self.value, copy=True)}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict()` returned; a missing entry raises StateDictError."""
        check_state_keys("EWA", state, ("beta", "bias_correction", "t", "value"))
        self.beta = check_beta(state["beta"])
        self.bias_correction = bool(state["bias_correction"])
        self.t = int(state["t"])
        v = state["value"]
        self.value = None if v is None else (np.array(v, copy=True) if np.ndim(v) else float(v))


def ewa_series(values, beta: float, bias_correction: bool = False) -> np.ndarray:
    """v_t for t = 1..len(values) of a whole series (the course's temperature plot), divided by
    1 - beta^t when `bias_correction` is on."""
    avg = EWA(beta, bias_correction)
    return np.array([avg.update(v) for v in np.asarray(values, dtype=np.float64)])
