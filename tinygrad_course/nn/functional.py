"""Losses and metrics: mse_loss, binary_cross_entropy (on probabilities and on logits),
cross_entropy (fused softmax + cross-entropy), one_hot, accuracy, confusion_matrix, and the
course's L2 cost term.

Examples are rows. The fused losses are single graph nodes whose backward is the textbook
formula (softmax - y) / m or (sigmoid - y) / m; under create_graph that formula is rebuilt from
Tensor ops so second derivatives stay exact. `reduction` is "mean" (the course's 1/m sum over
examples), "sum" or "none" (one loss per example).
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import Function
from ..dtypes import get_default_dtype
from ..ops.conv import conv1d, conv2d, conv_transpose2d, fold, unfold  # noqa: F401  (F.conv2d, ...)
from ..ops.pool import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d,  # noqa: F401
                        avg_pool2d, interpolate, max_pool1d, max_pool2d)
from ..ops.activations import (celu, elu, gelu, hardsigmoid, hardswish, hardtanh,  # noqa: F401
                               leaky_relu, log_softmax, logsigmoid, mish, relu, relu6, selu,
                               sigmoid, silu, softmax, softmin, softplus, softsign, tanh)
from ..ops.common import is_tensor
from ..tensor import Tensor
from .batchnorm import batch_norm  # noqa: F401  (F.batch_norm, as in PyTorch)
from .dropout import dropout  # noqa: F401  (F.dropout)

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction: str, op: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _same_shape(a, b, op: str, a_name: str, b_name: str) -> None:
    sa, sb = np.shape(_array(a)), np.shape(_array(b))
    if sa != sb:
        raise ValueError(f"{op}: {a_name} of shape {sa} and {b_name} of shape {sb} differ; give "
                         f"them the same shape (e.g. y.reshape(-1, 1) for a column of labels), "
                         "broadcasting them would silently compare every pair")


def _check_binary_targets(target, op: str) -> None:
    t = _array(target)
    if t.size and (t.min() < 0 or t.max() > 1):
        raise ValueError(f"{op}: targets must be in [0, 1] (labels 0/1 or probabilities), got "
                         f"values from {t.min():g} to {t.max():g}; for more than two classes use "
                         "cross_entropy with integer labels")


def _as_float_target(y, like: np.ndarray):
    # Targets take the prediction's dtype, so a float64 target (np.eye(C)[y] is float64) never
    # turns a float32 model's cost and backward into float64; only a target that requires grad
    # is kept as it is.
    if isinstance(y, Tensor):
        if y.dtype == like.dtype or (y.requires_grad and y.dtype.kind == "f"):
            return y
        return Tensor._wrap(y.data.astype(like.dtype))
    y = np.asarray(y)
    return y if y.dtype == like.dtype else y.astype(like.dtype)


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        # add.reduce / n is ndarray.mean without its Python-level wrapper (several us per call).
        return np.asarray(np.add.reduce(loss, axis=None) / max(loss.size, 1), dtype=loss.dtype)
    if reduction == "sum":
        return np.asarray(loss.sum())
    return loss


def _upstream(g, reduction: str, n: int, per_example_shape: tuple):
    """The upstream gradient as it multiplies each example's derivative: g/n, g, or g per row."""
    if reduction == "mean":
        return g / n
    if reduction == "sum":
        return g
    return g.reshape(per_example_shape)


# ---- regression ---------------------------------------------------------------------------
def mse_loss(pred, target, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((pred - target)^2) over every element."""
    _reduction(reduction, "mse_loss")
    _same_shape(pred, target, "mse_loss", "predictions", "targets")
    d = pred - _as_float_target(target, _array(pred))
    sq = d * d
    if reduction == "none":
        return sq
    return sq.mean() if reduction == "mean" else sq.sum()


# ---- binary classification ----------------------------------------------------------------
class BinaryCrossEntropy(Function):
    """L = -(y log p + (1 - y) log(1 - p)) with p clipped to [eps, 1 - eps];
    dL/dp = (p - y) / (p (1 - p)) inside the clip, 0 outside; dL/dy = log(1 - p) - log p."""

    name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx, p, y, reduction):
        eps = float(np.finfo(p.dtype).eps)
        pc = np.clip(p, eps, 1 - eps)
        log_p, log_1mp = np.log(pc), np.log1p(-pc)
        loss = -(y * log_p + (1 - y) * log_1mp)
        ctx.reduction, ctx.n = reduction, loss.size
        inside = ((p >= eps) & (p <= 1 - eps)).astype(p.dtype)
        ctx.save_for_backward(p, y, inside, log_1mp - log_p if ctx.needs_input_grad[1] else None)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        p, y, inside, dlog = ctx.saved
        np_, ny = ctx.needs_input_grad[:2]
        scale = _upstream(g, ctx.reduction, ctx.n, p.shape)
        gp = gy = None
        if np_:
            # Outside the clip the loss is flat in p; the added (1 - inside) keeps 0/0 away there.
            gp = scale * (p - y) * inside / (p * (1 - p) + (1 - inside))
        if ny:
            if is_tensor(g):
                pc = ops.clip(p, float(np.finfo(p.dtype).eps), 1 - float(np.finfo(p.dtype).eps))
                dlog = ops.log(1 - pc) - ops.log(pc)
            gy = scale * dlog
        return gp, gy, None


def binary_cross_entropy(probs, target, reduction: str = "mean", *, weight=None) -> Tensor:
    """The course's logistic cost: -1/m sum(y log a + (1 - y) log(1 - a)) on probabilities a;
    a is clipped to [eps, 1 - eps] (eps the dtype's machine epsilon) so log(0) never happens
    (PyTorch clamps each log at -100 instead). PyTorch's `weight` multiplies each element's loss.
    Values outside [0, 1] are refused: they are logits, for `binary_cross_entropy_with_logits`."""
    if weight is not None:
        from .losses import weighted_binary_cross_entropy
        return weighted_binary_cross_entropy(probs, target, weight, reduction)
    _reduction(reduction, "binary_cross_entropy")
    _same_shape(probs, target, "binary_cross_entropy", "probabilities", "targets")
    _check_binary_targets(target, "binary_cross_entropy")
    p = _array(probs)
    if p.size and ((p < 0).any() or (p > 1).any()):
        raise ValueError(f"binary_cross_entropy: probabilities must be in [0, 1], got values from "
                         f"{np.nanmin(p):g} to {np.nanmax(p):g} (shape {p.shape}); for logits "
                         "use binary_cross_entropy_with_logits, or apply sigmoid first")
    return BinaryCrossEntropy.apply(probs, _as_float_target(target, _array(probs)), reduction)


class BinaryCrossEntropyWithLogits(Function):
    """L = max(z, 0) - z y + log(1 + e^-|z|) = BCE(sigmoid(z), y), exact for any |z|;
    dL/dz = sigmoid(z) - y, dL/dy = -z."""

    name = "binary_cross_entropy_with_logits"

    @staticmethod
    def forward(ctx, z, y, reduction):
        e = np.exp(-np.abs(z))
        loss = np.maximum(z, 0) - z * y + np.log1p(e)
        ctx.reduction, ctx.n = reduction, loss.size
        s = None
        if ctx.needs_input_grad[0]:
            s = np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)
        ctx.save_for_backward(z, y, s)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        z, y, s = ctx.saved
        nz, ny = ctx.needs_input_grad[:2]
        scale = _upstream(g, ctx.reduction, ctx.n, z.shape)
        gz = gy = None
        if nz:
            if is_tensor(g):
                s = ops.sigmoid(z)
            gz = scale * (s - y)
        if ny:
            gy = scale * -z
        return gz, gy, None


def binary_cross_entropy_with_logits(logits, target, reduction: str = "mean", *, weight=None,
                                     pos_weight=None) -> Tensor:
    """BCE of sigmoid(logits) computed from the logits, stable at |logit| = 1e4 (prefer it to
    sigmoid followed by binary_cross_entropy: one node, no clipping, exact gradients).
    PyTorch's `weight` (per element) and `pos_weight` (per class) are keyword-only here."""
    if weight is not None or pos_weight is not None:
        from .losses import weighted_binary_cross_entropy_with_logits
        return weighted_binary_cross_entropy_with_logits(logits, target, weight, reduction,
                                                         pos_weight)
    _reduction(reduction, "binary_cross_entropy_with_logits")
    _same_shape(logits, target, "binary_cross_entropy_with_logits", "logits", "targets")
    _check_binary_targets(target, "binary_cross_entropy_with_logits")
    return BinaryCrossEntropyWithLogits.apply(logits, _as_float_target(target, _array(logits)),
                                              reduction)


# ---- multi-class classification -----------------------------------------------------------
class SoftmaxCrossEntropy(Function):
    """Softmax regression's cost with the softmax fused in: L_i = -sum_j y_ij log softmax(z_i)_j
    = logsumexp(z_i) sum_j y_ij - sum_j y_ij z_ij; dL/dz = (softmax(z) sum_j y_ij - y) / m, which is
    (softmax(z) - y) / m for one-hot rows; dL/dy = -log_softmax(z).
    `labels` (integer classes) or `y` (one-hot or probabilities, same shape as z) is given."""

    name = "softmax_cross_entropy"

    @staticmethod
    def forward(ctx, z, y, labels, reduction):
        m = z.shape[0]
        shifted = z - z.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        total = p.sum(axis=1, keepdims=True)
        p /= total
        lse = np.log(total[:, 0])
        if labels is not None:
            # Flat positions of each row's label: one gather, cheaper than a 2-D fancy index.
            ctx.flat = np.arange(0, m * z.shape[1], z.shape[1]) + labels
            loss = lse - shifted.take(ctx.flat)
        else:
            loss = lse * y.sum(axis=1) - np.einsum("ij,ij->i", y, shifted)
        ctx.reduction, ctx.n, ctx.labels = reduction, m, labels
        logp = None
        if ctx.needs_input_grad[1]:
            logp = shifted - lse[:, None]
        ctx.save_for_backward(z, y, p, logp)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        z, y, p, logp = ctx.saved
        nz, ny = ctx.needs_input_grad[:2]
        scale = _upstream(g, ctx.reduction, ctx.n, (ctx.n, 1))
        if is_tensor(g):
            logp = ops.log_softmax(z, axis=1)
            p = ops.exp(logp)
        gz = gy = None
        if nz:
            if ctx.labels is None:
                # Rows of y that do not sum to 1 (smoothed or partial targets) scale softmax(z).
                gz = (p * y.sum(axis=1, keepdims=True) - y) * scale
            elif is_tensor(g):
                gz = (p - one_hot(ctx.labels, z.shape[1], dtype=z.dtype).data) * scale
            else:
                gz = p.copy()
                gz.reshape(-1)[ctx.flat] -= 1
                gz *= scale
        if ny:
            gy = -logp * scale
        return gz, gy, None, None


def _labels(target, n_classes: int, m: int, op: str) -> np.ndarray:
    labels = _array(target)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape != (m,):
        raise ValueError(f"{op}: integer labels must have shape ({m},) for logits with {m} rows, "
                         f"got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise ValueError(f"{op}: label {bad} is out of range for {n_classes} classes (0..{n_classes - 1})")
    return labels


def cross_entropy(logits, target, reduction: str = "mean", *, weight=None,
                  ignore_index: int = -100, label_smoothing: float = 0.0) -> Tensor:
    """Softmax regression's cost -1/m sum_i sum_j y_ij log softmax(z_i)_j, from logits z of shape
    (m, C) (classes along axis 1, examples in rows), with `target` either integer labels of shape
    (m,) or one-hot / probability rows of shape (m, C). One fused, stable node.
    PyTorch's options (class `weight`, `ignore_index`, `label_smoothing`, logits (N, C, d1, ...))
    are keyword-only and computed by `nn.losses.cross_entropy_with_options`."""
    op = "cross_entropy"
    if (weight is not None or label_smoothing or np.ndim(_array(logits)) > 2
            or (_array(target).dtype.kind in "iu" and np.any(_array(target) == ignore_index))):
        from .losses import cross_entropy_with_options
        return cross_entropy_with_options(logits, target, weight, ignore_index, label_smoothing,
                                          reduction)
    _reduction(reduction, op)
    z = _array(logits)
    if z.ndim != 2:
        raise ValueError(f"{op}: logits must have shape (m, C) (examples in rows, classes in "
                         f"columns), got shape {z.shape}")
    t = _array(target)
    if t.dtype.kind in "iub":
        if t.dtype.kind == "b":
            raise TypeError(f"{op}: bool targets are ambiguous; give integer labels or one-hot floats")
        return SoftmaxCrossEntropy.apply(logits, None, _labels(t, z.shape[1], z.shape[0], op),
                                         reduction)
    if t.shape != z.shape:
        hint = ("; these look like class labels stored as floats: pass y.astype(np.int64)"
                if t.size and t.shape[:1] == z.shape[:1] and np.all(t == np.round(t)) else "")
        raise ValueError(f"{op}: floating targets are one-hot or probability rows and must have "
                         f"the logits' shape {z.shape}, got {t.shape} (integer labels have shape "
                         f"({z.shape[0]},)){hint}")
    return SoftmaxCrossEntropy.apply(logits, _as_float_target(target, z), None, reduction)


def one_hot(labels, num_classes: int | None = None, dtype=None) -> Tensor:
    """Labels (m,) -> rows (m, C) with a 1 in each label's column (floats of the default dtype,
    ready as targets; the course's convert_to_one_hot, transposed since examples are rows)."""
    y = _array(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got dtype {y.dtype}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"one_hot: labels must be in 0..{num_classes - 1}, got values from "
                         f"{y.min()} to {y.max()}")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype or get_default_dtype())
    np.put_along_axis(out, y[..., None].astype(np.intp), 1, axis=-1)
    return Tensor._wrap(out)


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


def accuracy(output, target, threshold: float | None = None) -> float:
    """Fraction of correct predictions. With C > 1 columns the prediction is the argmax; with one
    column (or 1-D) it is output > threshold: pass 0 for logits; the default is 0.5, for
    probabilities, and refuses an output outside [0, 1]. `target` is labels (m,) or (m, 1), or
    one-hot rows (m, C)."""
    pred, t = _predicted_and_true(output, target, threshold, "accuracy")
    return float(np.mean(pred == t)) if pred.size else float("nan")


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


# PyTorch's other losses are written with Tensor ops in losses.py, which uses this module, so
# they are imported last (F.nll_loss, F.l1_loss, ...).
from .losses import huber_loss, kl_div, l1_loss, nll_loss, smooth_l1_loss  # noqa: E402,F401

