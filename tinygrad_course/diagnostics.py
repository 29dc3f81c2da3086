"""Bias and variance from train and dev errors, and the lecture's basic recipe for each case."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .autograd import no_grad
from .nn.functional import accuracy
from .tensor import Tensor

BIAS_RECIPE = ("bigger network", "train longer (or a better optimization algorithm)")
VARIANCE_RECIPE = ("more data", "regularization")
ARCHITECTURE_SEARCH = "(NN architecture search)"
_ROUNDING = 1e-9


@dataclass(frozen=True)
class Diagnosis:
    """What `diagnose` found: the two gaps, the thresholds they were held to, and what to do.

    avoidable_bias = train_error - bayes_error; variance = dev_error - train_error. A gap larger
    than `tolerance` is "high". `focus` is the larger gap, the one to work on first (the lecture's
    human-level performance comparison); `recipe` is the lecture's basic recipe, bias first.
    """
    train_error: float
    dev_error: float
    bayes_error: float
    tolerance: float
    avoidable_bias: float
    variance: float
    high_bias: bool
    high_variance: bool
    label: str
    focus: str
    recipe: tuple[str, ...]

    def __str__(self) -> str:
        steps = "; ".join(self.recipe) if self.recipe else "nothing to fix: done"
        return (f"{self.label}: avoidable bias {self.avoidable_bias:.2%} (train {self.train_error:.2%} "
                f"- Bayes {self.bayes_error:.2%}), variance {self.variance:.2%} (dev {self.dev_error:.2%} "
                f"- train), tolerance {self.tolerance:.2%}. Recipe: {steps}")


def _check_error(value, name: str) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        hint = f" (did you mean {value / 100:g}?)" if 1.0 < value <= 100.0 else ""
        raise ValueError(f"diagnose: {name} is an error rate in [0, 1], got {value:g}{hint}")
    return value


def diagnose(train_error: float, dev_error: float, bayes_error: float = 0.0,
             tolerance: float = 0.02) -> Diagnosis:
    """High bias if train_error - bayes_error > tolerance; high variance if dev_error - train_error
    > tolerance (each by more than 1e-9 of rounding); both, or neither. Errors are fractions
    (0.11 for 11%).

    The default tolerance, 2 points, sorts the lecture's four cases (Bayes ~ 0%): train 1% / dev
    11% high variance; 15% / 16% high bias; 15% / 30% both; 0.5% / 1% neither.
    """
    train_error = _check_error(train_error, "train_error")
    dev_error = _check_error(dev_error, "dev_error")
    bayes_error = _check_error(bayes_error, "bayes_error")
    tolerance = float(tolerance)
    if not tolerance >= 0.0:
        raise ValueError(f"diagnose: tolerance must be >= 0, got {tolerance:g}")
    avoidable_bias, variance = train_error - bayes_error, dev_error - train_error
    # A gap has to beat the tolerance by more than rounding: 0.07 - 0.05 is 0.020000000000000004.
    high_bias = avoidable_bias > tolerance + _ROUNDING
    high_variance = variance > tolerance + _ROUNDING
    label = {(True, True): "high bias and high variance", (True, False): "high bias",
             (False, True): "high variance", (False, False): "neither"}[high_bias, high_variance]
    recipe = ((BIAS_RECIPE if high_bias else ()) + (VARIANCE_RECIPE if high_variance else ())
              + ((ARCHITECTURE_SEARCH,) if high_bias or high_variance else ()))
    return Diagnosis(train_error, dev_error, bayes_error, tolerance, avoidable_bias, variance,
                     high_bias, high_variance, label,
                     "bias" if avoidable_bias >= variance else "variance", recipe)


def _model_error(model, X, y, threshold: float) -> float:
    with no_grad():
        scores = model(X if isinstance(X, Tensor) else Tensor(np.asarray(X)))
    return 1.0 - accuracy(scores, y, threshold=threshold)


def diagnose_model(model, train: tuple, dev: tuple, bayes_error: float = 0.0,
                   tolerance: float = 0.02, outputs: str = "logits") -> Diagnosis:
    """`diagnose` from a classifier's errors (1 - accuracy) on (X_train, y_train) and (X_dev, y_dev).

    `model(X)` gets X as a Tensor and returns a Tensor or array of scores: logits by default (the
    framework's convention, as in PyTorch: losses take logits), or probabilities with
    `outputs="probabilities"`. Accuracy is `nn.functional.accuracy`: the argmax of (m, k) scores,
    or with one score per example class 1 when the logit > 0 (the probability > 0.5). The model
    runs without grad, and one with `eval()`/`train()` (a Module) is evaluated in eval mode
    (dropout off) and put back in the mode it was in.
    """
    if outputs not in ("logits", "probabilities"):
        raise ValueError(f"diagnose_model: outputs must be 'logits' or 'probabilities', got {outputs!r}")
    threshold = 0.0 if outputs == "logits" else 0.5
    was_training = getattr(model, "training", None)
    if was_training is not None and hasattr(model, "eval"):
        model.eval()
    try:
        train_error = _model_error(model, *train, threshold)
        dev_error = _model_error(model, *dev, threshold)
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    return diagnose(train_error, dev_error, bayes_error, tolerance)
