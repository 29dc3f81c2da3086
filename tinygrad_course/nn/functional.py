"""`nn.F`: the functions behind the layers and losses, as in `torch.nn.functional`: every loss
(from `loss_functions.py`), every activation, convolution and pooling (from `ops`), batch_norm,
dropout, plus one_hot, pad, accuracy, confusion_matrix and the course's L2 cost term.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import Function
from ..dtypes import get_default_dtype
from ..ops.activations import (celu, elu, gelu, hardsigmoid, hardswish, hardtanh,  # noqa: F401
                               leaky_relu, log_softmax, logsigmoid, mish, relu, relu6, selu,
                               sigmoid, silu, softmax, softmin, softplus, softsign, tanh)
from ..ops.conv import conv1d, conv2d, conv_transpose2d, fold, unfold  # noqa: F401  (F.conv2d, ...)
from ..ops.pool import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d,  # noqa: F401
                        avg_pool2d, interpolate, max_pool1d, max_pool2d)
from ..ops.common import is_tensor, reads_values
from ..tensor import Tensor
from .batchnorm import batch_norm  # noqa: F401  (F.batch_norm, as in PyTorch)
from .dropout import dropout  # noqa: F401  (F.dropout)
from .loss_functions import (  # noqa: F401  (F.cross_entropy, ...)
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss, kl_div,
    l1_loss, mse_loss, nll_loss, one_hot, smooth_l1_loss)
from .loss_functions import _array


def pad(input, pad: tuple, mode: str = "constant", value: float | None = None) -> Tensor:
    """PyTorch's F.pad: `pad` is flat and starts from the last axis, (left, right, top, bottom,
    ...); mode "constant" (with `value`), "reflect", "replicate" or "circular"; negative widths
    crop. tc.pad takes NumPy's per-axis pad_width instead."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: pad={tuple(pad)} must hold a (before, after) pair per padded axis, "
                         f"last axis first, for at most the {x.ndim} axes of shape {x.shape}")
    pairs = [tuple(pad[i:i + 2]) for i in range(0, len(pad), 2)][::-1]
    widths = [(0, 0)] * (x.ndim - len(pairs)) + pairs
    return ops.pad(x, widths, 0.0 if value is None else value, mode)


# ---- metrics and regularization ----------------------------------------------------------
def _predicted_and_true(output, target, threshold: float | None, op: str) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class, true class) per example, as `accuracy` documents them."""
    out, t = _array(output), _array(target)
    if out.ndim == 2 and out.shape[1] > 1:
        pred = out.argmax(axis=1)
        t = t.argmax(axis=1) if t.ndim == 2 and t.shape[1] > 1 else t.reshape(-1)
    else:
        scores = out.reshape(-1)
        if threshold is None:
            # 0.5 is for probabilities; on logits it would silently miscount every z in (0, 0.5].
            if scores.size and (scores.min() < 0 or scores.max() > 1):
                raise ValueError(
                    f"{op}: the output has one column with values from {scores.min():.4g} to "
                    f"{scores.max():.4g}, outside [0, 1], so it holds logits, not probabilities; "
                    "pass threshold=0.0 for logits (sigmoid(z) > 0.5 exactly when z > 0), or "
                    "threshold=0.5 for probabilities")
            threshold = 0.5
        pred = scores > threshold
        t = t.reshape(-1) > 0.5
    if pred.shape != t.shape:
        raise ValueError(f"{op}: {pred.shape[0]} predictions (output of shape {out.shape}) but "
                         f"{t.shape[0]} targets (shape {_array(target).shape})")
    return pred, t


@reads_values
def accuracy(output, target, threshold: float | None = None) -> float:
    """Fraction of correct predictions. With C > 1 columns the prediction is the argmax; with one
    column (or 1-D) it is output > threshold: pass 0 for logits; the default is 0.5, for
    probabilities, and refuses an output outside [0, 1]. `target` is labels (m,) or (m, 1), or
    one-hot rows (m, C)."""
    pred, t = _predicted_and_true(output, target, threshold, "accuracy")
    return float(np.mean(pred == t)) if pred.size else float("nan")


@reads_values
def confusion_matrix(output, target, threshold: float | None = None,
                     num_classes: int | None = None) -> np.ndarray:
    """counts[i, j] = how many examples of true class i were predicted as class j (rows: truth,
    columns: prediction; the diagonal is what `accuracy` counts). Predictions as in `accuracy`;
    `num_classes` defaults to the output's columns (2 for one column)."""
    pred, t = _predicted_and_true(output, target, threshold, "confusion_matrix")
    pred, t = pred.astype(np.int64), t.astype(np.int64)
    out = _array(output)
    k = num_classes or (out.shape[1] if out.ndim == 2 and out.shape[1] > 1 else 2)
    if t.size and (t.min() < 0 or max(t.max(), pred.max()) >= k):
        raise ValueError(f"confusion_matrix: classes must be in 0..{k - 1} for {k} classes, got "
                         f"targets from {t.min()} to {t.max()} and predictions up to {pred.max()}; "
                         "pass num_classes")
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (t, pred), 1)
    return counts


class L2Penalty(Function):
    """c * sum_l ||W[l]||^2 over several weights at once; d/dW[l] = 2 c W[l]."""

    name = "l2_penalty"

    @staticmethod
    def forward(ctx, coef, *weights):
        ctx.coef = coef
        ctx.save_for_backward(*weights)
        total = 0.0
        for w in weights:
            flat = w.reshape(-1)
            total += float(flat @ flat)
        return np.asarray(coef * total, dtype=np.result_type(*weights))

    @staticmethod
    def backward(ctx, g):
        weights = ctx.saved
        k = g * (2 * ctx.coef)
        return (None,) + tuple(k * w if need else None
                               for w, need in zip(weights, ctx.needs_input_grad[1:]))


def is_weight(p: Tensor) -> bool:
    """A layer's weight W[l]: a parameter with ndim >= 2. Biases and batch norm's 1-D gamma and
    beta are not weights. The course's L2 cost penalizes weights only, and so does the optimizers'
    weight_decay (its default decay_filter is this function)."""
    return p.ndim >= 2


def penalized_weights(model_or_params) -> list:
    """What the L2 term penalizes: the parameters that are weights (`is_weight`), in order."""
    params = model_or_params.parameters() if hasattr(model_or_params, "parameters") else model_or_params
    return [p for p in params if is_weight(p)]


def l2_penalty(model_or_params, lambd: float, m: int) -> Tensor:
    """The course's L2 regularization cost lambd / (2 m) * sum_l ||W[l]||_F^2 (weights only, see
    `penalized_weights`); its gradient lambd / m * W is what optimizers' weight_decay adds."""
    if m <= 0:
        raise ValueError(f"l2_penalty: m (the number of training examples) must be positive, got {m}")
    if not lambd >= 0:
        raise ValueError(f"l2_penalty: lambd (the regularization strength) must be >= 0, got "
                         f"{lambd}; lambd = 0 is no regularization")
    weights = penalized_weights(model_or_params)
    if not weights:
        raise ValueError("l2_penalty: no weights with 2 or more dimensions to penalize")
    return L2Penalty.apply(float(lambd) / (2 * m), *weights)


# they are imported last (F.nll_loss, F.l1_loss, ...).

