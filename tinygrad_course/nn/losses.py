"""Loss modules with PyTorch's names and arguments (CrossEntropyLoss, NLLLoss, MSELoss, L1Loss,
HuberLoss, SmoothL1Loss, BCELoss, BCEWithLogitsLoss, KLDivLoss) and the functions behind them
that `nn.F` lacked: nll_loss, l1_loss, huber_loss, smooth_l1_loss, kl_div, and cross-entropy with
class weights, ignore_index and label smoothing.

The course's fused losses (`F.cross_entropy`, `F.binary_cross_entropy*`) serve the plain cases;
the options are written with Tensor ops, so their gradients (and second derivatives) come from
the ops. Formulas and reductions follow PyTorch's documentation.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor
from . import functional as F
from .module import Module

_ALL_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction: str, op: str, extra: tuple = ()) -> str:
    if reduction not in _ALL_REDUCTIONS + extra:
        raise ValueError(f"{op}: reduction must be one of {_ALL_REDUCTIONS + extra}, got {reduction!r}")
    return reduction


def _reduce(loss, reduction: str):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _as_tensor_like(y, like):
    y = F._as_float_target(y, F._array(like))
    return y if isinstance(y, Tensor) else Tensor._wrap(np.asarray(y))


# ---- class-index losses ---------------------------------------------------------------------
def _classes_last(x):
    """(N, C, d1, ...) -> (N * d1 * ..., C), so per-position class scores are rows."""
    if x.ndim == 2:
        return x
    c = x.shape[1]
    return ops.transpose(x, (0, *range(2, x.ndim), 1)).reshape(-1, c)


def _targets(target, logp_shape: tuple, ignore_index: int, op: str):
    t = F._array(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: class-index targets must be integers, got dtype {t.dtype}")
    want = (logp_shape[0],) + tuple(logp_shape[2:])
    if t.shape != want:
        raise ValueError(f"{op}: targets must have shape {want} for inputs of shape "
                         f"{logp_shape}, got {t.shape}")
    flat = t.reshape(-1)
    keep = flat != ignore_index
    c = logp_shape[1]
    bad = keep & ((flat < 0) | (flat >= c))
    if bad.any():
        raise ValueError(f"{op}: target {flat[bad][0]} is out of range for {c} classes "
                         f"(0..{c - 1}; ignore_index={ignore_index})")
    return np.where(keep, flat, 0), keep, t.shape


def _class_weights(weight, c: int, dtype, op: str) -> np.ndarray:
    if weight is None:
        return np.ones(c, dtype)
    w = F._array(weight).astype(dtype, copy=False)
    if w.shape != (c,):
        raise ValueError(f"{op}: weight must have one entry per class, shape ({c},), got {w.shape}")
    return w


def _weighted_nll(logp, target, weight, ignore_index: int, reduction: str, op: str,
                  label_smoothing: float = 0.0):
    """-w[y] logp[y] per position (and the label-smoothing term), reduced as PyTorch does:
    'mean' divides by the total weight of the targets that are not ignored."""
    rows = _classes_last(logp)
    c = rows.shape[1]
    y, keep, shape = _targets(target, logp.shape, ignore_index, op)
    w = _class_weights(weight, c, F._array(logp).dtype, op)
    wy = np.where(keep, w[y], 0).astype(rows.dtype)
    loss = -(rows[np.arange(len(y)), y] * wy)
    if label_smoothing:
        smooth = -(rows * w).sum(axis=1) * (keep / c).astype(rows.dtype)
        loss = loss * (1 - label_smoothing) + smooth * label_smoothing
    if reduction == "none":
        return loss.reshape(shape)
    total = loss.sum()
    return total if reduction == "sum" else total / wy.sum()


def nll_loss(log_probs, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer targets given log-probabilities (N, C) or
    (N, C, d1, ...): loss_n = -weight[y_n] * log_probs[n, y_n], 0 where y_n == ignore_index;
    'mean' divides by the sum of the targets' weights (PyTorch's F.nll_loss)."""
    _reduction(reduction, "nll_loss")
    return _weighted_nll(log_probs, target, weight, ignore_index, reduction, "nll_loss")


def cross_entropy_with_options(logits, target, weight=None, ignore_index: int = -100,
                               label_smoothing: float = 0.0, reduction: str = "mean") -> Tensor:
    """PyTorch's F.cross_entropy in full: log_softmax over axis 1 of (N, C) or (N, C, d1, ...),
    then with integer targets (1 - eps) * nll + eps * (-sum_c w_c log p_c / C), ignore_index and
    class weights as nll_loss; with probability targets (the input's shape)
    -sum_c w_c y'_c log p_c, y' = (1 - eps) y + eps / C, and 'mean' over the N positions."""
    op = "cross_entropy"
    _reduction(reduction, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if len(logits.shape) < 2:
        raise ValueError(f"{op}: logits must have shape (N, C) or (N, C, d1, ...), got "
                         f"{tuple(logits.shape)}")
    logp = ops.log_softmax(logits, axis=1)
    t = F._array(target)
    if t.dtype.kind in "iu":
        return _weighted_nll(logp, target, weight, ignore_index, reduction, op, label_smoothing)
    if t.shape != tuple(logits.shape):
        raise ValueError(f"{op}: probability targets must have the logits' shape "
                         f"{tuple(logits.shape)}, got {t.shape}")
    c = logits.shape[1]
    y = _as_tensor_like(target, logits)
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / c
    w = _class_weights(weight, c, F._array(logits).dtype, op).reshape((c,) + (1,) * (len(t.shape) - 2))
    loss = -(logp * y * w).sum(axis=1)
    return _reduce(loss, reduction)


# ---- regression losses ------------------------------------------------------------------------
def _difference(pred, target, op: str):
    F._same_shape(pred, target, op, "predictions", "targets")
    return pred - _as_tensor_like(target, pred)


def l1_loss(pred, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error |pred - target| (PyTorch's F.l1_loss; gradient sign(d), 0 at d = 0)."""
    _reduction(reduction, "l1_loss")
    return _reduce(ops.abs(_difference(pred, target, "l1_loss")), reduction)


def huber_loss(pred, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = pred - target
    (quadratic near 0, linear far away: robust to outliers)."""
    _reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    d = _difference(pred, target, "huber_loss")
    a = ops.abs(d)
    small = F._array(a) < delta
    return _reduce(ops.where(small, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)


def smooth_l1_loss(pred, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (Huber / beta; with
    beta = 0 it is the L1 loss)."""
    _reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return l1_loss(pred, target, reduction)
    d = _difference(pred, target, "smooth_l1_loss")
    a = ops.abs(d)
    small = F._array(a) < beta
    return _reduce(ops.where(small, (0.5 / beta) * d * d, a - 0.5 * beta), reduction)


# ---- binary and distribution losses -----------------------------------------------------------
def weighted_binary_cross_entropy(probs, target, weight=None, reduction: str = "mean") -> Tensor:
    """F.binary_cross_entropy times a `weight` broadcast to the elements (PyTorch's weight=)."""
    if weight is None:
        return F.binary_cross_entropy(probs, target, reduction)
    loss = F.binary_cross_entropy(probs, target, "none") * F._array(weight)
    return _reduce(loss, _reduction(reduction, "binary_cross_entropy"))


def weighted_binary_cross_entropy_with_logits(logits, target, weight=None,
                                              reduction: str = "mean", pos_weight=None) -> Tensor:
    """-w [p y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], p = pos_weight (per class, the
    last axis), computed stably as (1 - y) z + (1 + (p - 1) y) (log(1 + e^-|z|) + max(-z, 0))."""
    op = "binary_cross_entropy_with_logits"
    _reduction(reduction, op)
    if weight is None and pos_weight is None:
        return F.binary_cross_entropy_with_logits(logits, target, reduction)
    F._same_shape(logits, target, op, "logits", "targets")
    F._check_binary_targets(target, op)
    y = _as_tensor_like(target, logits)
    softplus_neg = ops.log(1 + ops.exp(-ops.abs(logits))) + ops.maximum(-logits, 0.0)
    coef = 1.0 if pos_weight is None else 1 + (F._array(pos_weight) - 1) * y
    loss = (1 - y) * logits + coef * softplus_neg
    if weight is not None:
        loss = loss * F._array(weight)
    return _reduce(loss, reduction)


def kl_div(input, target, reduction: str = "mean", log_target: bool = False) -> Tensor:  # noqa: A002
    """KL(target || model) with `input` the model's LOG-probabilities (as PyTorch):
    pointwise target (log target - input), 0 where target = 0; with log_target the target is
    given as log-probabilities t: e^t (t - input). 'batchmean' divides the sum by the batch size
    (the true KL divergence per example); 'mean' divides by the number of elements."""
    _reduction(reduction, "kl_div", ("batchmean",))
    F._same_shape(input, target, "kl_div", "input", "target")
    t = _as_tensor_like(target, input)
    td = F._array(t)
    if log_target:
        point = ops.exp(t) * (t - input)
    elif t.requires_grad:  # 0 log 0 = 0, as PyTorch's xlogy
        point = t * (ops.log(ops.where(td > 0, t, 1.0)) - input)
    else:
        point = t * (np.log(np.where(td > 0, td, 1)) - input)
    if reduction == "batchmean":
        return point.sum() / (input.shape[0] if len(input.shape) else 1)
    return _reduce(point, reduction)


# ---- modules ----------------------------------------------------------------------------------
class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _reduction(reduction, type(self).__name__)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax + negative log-likelihood of logits (N, C) or (N, C, d1, ...), with integer
    targets or probability targets; `weight` per class, `ignore_index`, `label_smoothing`,
    as PyTorch's. The plain case is the course's fused softmax cross-entropy node."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.weight, self.ignore_index, self.label_smoothing = weight, ignore_index, label_smoothing

    def forward(self, input, target):  # noqa: A002
        return F.cross_entropy(input, target, self.reduction, weight=self.weight,
                               ignore_index=self.ignore_index,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of integer targets given log-probabilities (after LogSoftmax)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, input, target):  # noqa: A002
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Mean squared error (pred - target)^2."""

    def forward(self, input, target):  # noqa: A002
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |pred - target|."""

    def forward(self, input, target):  # noqa: A002
        return l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Huber loss with threshold `delta` (see huber_loss)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = float(delta)

    def forward(self, input, target):  # noqa: A002
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    """Smooth L1 loss with threshold `beta` (see smooth_l1_loss)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = float(beta)

    def forward(self, input, target):  # noqa: A002
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (the course's logistic cost), times `weight`."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input, target):  # noqa: A002
        return weighted_binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (sigmoid fused, stable), with `weight` and `pos_weight`
    (the weight of positive examples, per class: > 1 raises recall)."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, input, target):  # noqa: A002
        return weighted_binary_cross_entropy_with_logits(input, target, self.weight,
                                                         self.reduction, self.pos_weight)


class KLDivLoss(Module):
    """KL divergence with the input as log-probabilities (see kl_div); use
    reduction='batchmean' for the mathematical KL per example."""

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__()
        self.reduction = _reduction(reduction, "KLDivLoss", ("batchmean",))
        self.log_target = bool(log_target)

    def forward(self, input, target):  # noqa: A002
        return kl_div(input, target, self.reduction, self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"
