"""Loss functions: the course's fused losses (mse_loss, binary_cross_entropy on probabilities and
on logits, cross_entropy = fused softmax + cross-entropy) and PyTorch's others (nll_loss,
cross-entropy with class weights, ignore_index and label smoothing, l1_loss, huber_loss,
smooth_l1_loss, kl_div). `nn.F` re-exports them; `nn.losses` wraps them as modules.

Examples are rows. The fused losses are single graph nodes whose backward is the textbook
formula (softmax - y) / m or (sigmoid - y) / m; under create_graph that formula is rebuilt from
Tensor ops so second derivatives stay exact. PyTorch's other losses are written with Tensor ops,
so their gradients (and second derivatives) come from the ops. `reduction` is "mean" (the
course's 1/m sum over examples), "sum" or "none" (one loss per example); formulas follow
PyTorch's documentation.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..autograd import Function
from ..dtypes import get_default_dtype
from ..lowering import Lowered, grad_buffer, lowering
from ..creation import arange
from ..ops.common import OpError, is_tensor, no_grad_op
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction: str, op: str, extra: tuple = ()) -> str:
    if reduction not in _REDUCTIONS + extra:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS + extra}, got {reduction!r}")
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
    # Checked in an op (no_grad_op), so a step replayed by tc.jit checks each batch's targets.
    no_grad_op(_binary_targets_in_range, target, op)


def _binary_targets_in_range(target, op: str) -> np.ndarray:
    """Raise unless every target is in [0, 1]; the op's result (True) is not used."""
    t = np.asarray(target)
    if t.size and (t.min() < 0 or t.max() > 1):
        raise OpError(f"{op}: targets must be in [0, 1] (labels 0/1 or probabilities), got "
                      f"values from {t.min():g} to {t.max():g}; for more than two classes use "
                      "cross_entropy with integer labels")
    return np.asarray(True)


# ---- softmax over rows of few classes ------------------------------------------------------
# NumPy reduces a short last axis element by element: 10 us for the max of 300 rows of 3 classes,
# where a ufunc call per column takes 2 us. The fused loss takes its row max, row sum and
# division per column when rows are that narrow. Results are the same bits: max is exact in any
# order, and a column-by-column sum adds in the order NumPy's sum uses for fewer than 8 items.

def _narrow(m: int, c: int, exact_sum: bool = False) -> bool:
    return 2 <= c <= (7 if exact_sum else 16) and (c <= 4 or m >= 32 * c)


def _by_columns(ufunc, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out (m, 1) = ufunc.reduce of each row of x (m, c), one column after another."""
    col = out[:, 0]
    ufunc(x[:, 0], x[:, 1], out=col)
    for j in range(2, x.shape[1]):
        ufunc(col, x[:, j], out=col)
    return out


def _row_max(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out (m, 1) = the largest entry of each row of z (m, c)."""
    if _narrow(*z.shape):
        return _by_columns(np.maximum, z, out)
    return np.maximum.reduce(z, 1, None, out, True)


def _row_sum(p: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out (m, 1) = the sum of each row of p (m, c), in NumPy's order, for p >= 0 (softmax's
    numerators: NumPy starts from +0.0, so a row of only -0.0 would sum to 0.0 there, -0.0 here)."""
    # (float16 sums accumulate in float32 in NumPy: only float32 and float64 go by columns)
    if p.dtype.itemsize >= 4 and _narrow(*p.shape, exact_sum=True):
        return _by_columns(np.add, p, out)
    return np.add.reduce(p, 1, None, out, True)


def _as_float_target(y, like: np.ndarray):
    # Targets take the prediction's dtype, so a float64 target (np.eye(C)[y] is float64) never
    # turns a float32 model's cost and backward into float64; only a target that requires grad
    # is kept as it is.
    if isinstance(y, Tensor):
        if y.dtype == like.dtype or (y.requires_grad and y.dtype.kind == "f"):
            return y
        return ops.astype(y, like.dtype)  # an op, so a step replayed by tc.jit converts again
    y = np.asarray(y)
    # (converted by the op too: in a step tc.jit records, an array converted here would be
    # one the step made without an op, and its first value would be replayed)
    return y if y.dtype == like.dtype else ops.astype(Tensor._wrap(y), like.dtype)


def _any_outside(labels: np.ndarray, c: int) -> bool:
    """Whether a label is < 0 or >= c, in one pass: read as unsigned, a negative label is huge."""
    if not labels.size:
        return False
    if labels.dtype.kind == "i":
        labels = labels.view(labels.dtype.str.replace("i", "u"))
    return bool(np.maximum.reduce(labels, axis=None) >= c)


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
def one_hot(labels, num_classes: int | None = None, dtype=None) -> Tensor:
    """Labels (m,) -> rows (m, C) with a 1 in each label's column (floats of the default dtype,
    ready as targets; the course's convert_to_one_hot, transposed since examples are rows)."""
    y = _array(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got dtype {y.dtype}")
    inferred = num_classes is None
    if inferred:
        num_classes = int(y.max()) + 1 if y.size else 0
    # An op, so a step recorded by tc.jit encodes (and checks) each call's labels.
    return no_grad_op(_one_hot, labels, num_classes, np.dtype(dtype or get_default_dtype()),
                      inferred)


def _one_hot(y: np.ndarray, num_classes: int, dtype, inferred: bool) -> np.ndarray:
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise OpError(f"one_hot: labels must be in 0..{num_classes - 1}, got values from "
                      f"{y.min()} to {y.max()}")
    if inferred and y.size and y.max() != num_classes - 1:  # only in a replay
        raise OpError(f"one_hot: without num_classes the width is the largest label + 1, which "
                      f"was {num_classes} when tc.jit recorded the step and is {y.max() + 1} "
                      "in this batch; pass num_classes so every batch has the same width")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, y[..., None].astype(np.intp), 1, axis=-1)
    return out


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
        # Checked here, in the kernel, so a step replayed by tc.jit checks each batch too.
        if p.size and ((p < 0).any() or (p > 1).any()):
            raise ValueError(f"binary_cross_entropy: probabilities must be in [0, 1], got values "
                             f"from {np.nanmin(p):g} to {np.nanmax(p):g} (shape {p.shape}); for "
                             "logits use binary_cross_entropy_with_logits, or apply sigmoid first")
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
        return weighted_binary_cross_entropy(probs, target, weight, reduction)
    _reduction(reduction, "binary_cross_entropy")
    _same_shape(probs, target, "binary_cross_entropy", "probabilities", "targets")
    _check_binary_targets(target, "binary_cross_entropy")
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
    `labels` (integer classes) or `y` (one-hot or probabilities, same shape as z) is given; a
    label of -100 (PyTorch's default ignore_index) is ignored: its row adds nothing, and the mean
    is over the other rows. (Decided here, in the kernel, so a step replayed by tc.jit decides
    it again for each batch.)"""

    name = "softmax_cross_entropy"

    @staticmethod
    def forward(ctx, z, y, labels, reduction):
        m = z.shape[0]
        shifted = z - _row_max(z, np.empty((m, 1), z.dtype))
        p = np.exp(shifted)
        total = _row_sum(p, np.empty((m, 1), p.dtype))
        np.divide(p, total, out=p)  # (one call: faster than by columns on every shape)
        lse = np.log(total[:, 0])
        keep = None
        if labels is not None:
            c = z.shape[1]  # checked here, in the kernel, so a replayed step checks each batch
            if _any_outside(labels, c):
                keep = labels != -100
                wrong = keep & ((labels < 0) | (labels >= c))
                if wrong.any():
                    raise OpError(f"cross_entropy: label {labels[wrong][0]} is out of range for "
                                  f"{c} classes (0..{c - 1}); -100 marks a row to ignore")
                labels = np.where(keep, labels, 0)
            # Flat positions of each row's label: one gather, cheaper than a 2-D fancy index.
            ctx.flat = np.arange(0, m * c, c) + labels
            loss = lse - shifted.take(ctx.flat)
            if keep is not None:
                loss *= keep
        else:
            loss = lse * y.sum(axis=1) - np.einsum("ij,ij->i", y, shifted)
        n = m if keep is None else int(keep.sum())
        ctx.reduction, ctx.n, ctx.labels, ctx.keep = reduction, n, labels, keep
        logp = None
        if ctx.needs_input_grad[1]:
            logp = shifted - lse[:, None]
        ctx.save_for_backward(z, y, p, logp)
        if keep is not None and reduction == "mean":  # the mean over the rows not ignored
            return np.asarray(np.add.reduce(loss) / np.array(n, loss.dtype))
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        z, y, p, logp = ctx.saved
        nz, ny = ctx.needs_input_grad[:2]
        scale = _upstream(g, ctx.reduction, ctx.n, (len(z), 1))
        if is_tensor(g):
            logp = ops.log_softmax(z, axis=1)
            p = ops.exp(logp)
        gz = gy = None
        if nz:
            if ctx.labels is None:
                # Rows of y that do not sum to 1 (smoothed or partial targets) scale softmax(z).
                gz = (p * y.sum(axis=1, keepdims=True) - y) * scale
            elif is_tensor(g):  # (one-hot from ctx.flat: the labels passed may have changed since)
                onehot = np.zeros(z.shape, z.dtype)
                onehot.reshape(-1)[ctx.flat] = 1
                gz = (p - onehot) * scale
            else:
                gz = p.copy()
                gz.reshape(-1)[ctx.flat] -= 1
                gz *= scale
            if ctx.keep is not None:  # an ignored row has no gradient
                gz = gz * ctx.keep[:, None]
        if ny:
            gy = -logp * scale
        return gz, gy, None, None


@lowering(SoftmaxCrossEntropy)
def _softmax_cross_entropy_kernels(ctx, args: list, out: np.ndarray) -> Lowered | None:
    """The fused loss's replay kernels for integer labels (mean or sum): the same passes, into
    buffers. A batch with a label to ignore (-100) or out of range runs the op's own functions."""
    logits, y, labels, reduction = args
    if (y is not None or labels is None or logits.ndim != 2 or reduction not in ("mean", "sum")
            or ctx.keep is not None or not ctx.needs_input_grad[0]):
        return None
    (m, c), dtype = logits.shape, logits.dtype
    rows = np.arange(0, m * c, c)
    biggest, total = np.empty((m, 1), dtype), np.empty((m, 1), dtype)
    shifted, p = np.empty((m, c), dtype), np.empty((m, c), dtype)
    lse, picked, loss = np.empty(m, dtype), np.empty(m, dtype), np.empty(m, dtype)
    flat, grads, own = np.empty(m, (rows + labels).dtype), [None], [False]

    def forward(ctx, z, y, labels, reduction):
        own[0] = _any_outside(labels, c)
        if own[0]:  # (the op checks the labels, and ignores -100)
            return SoftmaxCrossEntropy.forward(ctx, z, y, labels, reduction)
        np.subtract(z, _row_max(z, biggest), shifted)
        np.exp(shifted, p)
        np.divide(p, _row_sum(p, total), out=p)
        np.log(total[:, 0], lse)
        np.add(rows, labels, flat)
        return _reduce(np.subtract(lse, shifted.take(flat, out=picked), loss), reduction)

    def backward(ctx, g):
        if own[0]:
            return SoftmaxCrossEntropy.backward(ctx, g)
        dz = grad_buffer(grads, 0, p.shape, dtype)
        np.copyto(dz, p)
        dz.reshape(-1)[flat] -= 1
        dz *= _upstream(g, reduction, m, (m, 1))
        return dz, None, None, None

    def bind(g, outs):
        target = outs[0]

        def run():
            dz = target.array
            if own[0]:
                np.copyto(dz, SoftmaxCrossEntropy.backward(ctx, g)[0])
                return
            np.copyto(dz, p)
            dz.reshape(-1)[flat] -= 1
            dz *= _upstream(g, reduction, m, (m, 1))
        return run
    return Lowered(forward, backward, grads, fresh=True, bind=bind)  # (no out: the loss is new)


def _labels(target, m: int, op: str) -> np.ndarray:
    labels = _array(target)
    if labels.ndim == 2 and labels.shape[1] == 1:  # a column: flattened by an op, for tc.jit
        labels = no_grad_op(np.reshape, labels, (-1,)).data
    if labels.shape != (m,):
        raise ValueError(f"{op}: integer labels must have shape ({m},) for logits with {m} rows, "
                         f"got shape {labels.shape}")
    return labels  # (their range is checked by the kernel)


def cross_entropy(logits, target, reduction: str = "mean", *, weight=None,
                  ignore_index: int = -100, label_smoothing: float = 0.0) -> Tensor:
    """Softmax regression's cost -1/m sum_i sum_j y_ij log softmax(z_i)_j, from logits z of shape
    (m, C) (classes along axis 1, examples in rows), with `target` either integer labels of shape
    (m,) or one-hot / probability rows of shape (m, C). One fused, stable node.
    PyTorch's options (class `weight`, `ignore_index`, `label_smoothing`, logits (N, C, d1, ...))
    are keyword-only and computed by `nn.losses.cross_entropy_with_options`."""
    op = "cross_entropy"
    t = _array(target)
    if isinstance(target, Tensor) and t.ndim == 2 and t.shape[1] == 1 and t.dtype.kind in "iu":
        target = target.reshape(-1)  # a column of labels, by an op (tc.jit replays it)
        t = target.data
    # Which kernel runs depends on the arguments only (the fused one ignores -100 itself), so a
    # step recorded by tc.jit runs the same kernel whatever the labels of later batches.
    if (weight is not None or label_smoothing or np.ndim(_array(logits)) > 2
            or (t.dtype.kind in "iu" and ignore_index != -100)):
        return cross_entropy_with_options(logits, target, weight, ignore_index, label_smoothing,
                                          reduction)
    _reduction(reduction, op)
    z = _array(logits)
    if z.ndim != 2:
        raise ValueError(f"{op}: logits must have shape (m, C) (examples in rows, classes in "
                         f"columns), got shape {z.shape}")
    if t.dtype.kind in "iub":
        if t.dtype.kind == "b":
            raise TypeError(f"{op}: bool targets are ambiguous; give integer labels or one-hot floats")
        return SoftmaxCrossEntropy.apply(logits, None, _labels(t, z.shape[0], op),
                                         reduction)
    if t.shape != z.shape:
        hint = ("; these look like class labels stored as floats: pass y.astype(np.int64)"
                if t.size and t.shape[:1] == z.shape[:1] and np.all(t == np.round(t)) else "")
        raise ValueError(f"{op}: floating targets are one-hot or probability rows and must have "
                         f"the logits' shape {z.shape}, got {t.shape} (integer labels have shape "
                         f"({z.shape[0]},)){hint}")
    return SoftmaxCrossEntropy.apply(logits, _as_float_target(target, z), None, reduction)



def _reduce_tensor(loss, reduction: str):
    # Tensor losses reduce with Tensor ops, so their gradients come from the ops.
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _as_tensor_like(y, like):
    y = _as_float_target(y, _array(like))
    return y if isinstance(y, Tensor) else Tensor._wrap(np.asarray(y))


# ---- class-index losses ---------------------------------------------------------------------
def _classes_last(x):
    """(N, C, d1, ...) -> (N * d1 * ..., C), so per-position class scores are rows."""
    if x.ndim == 2:
        return x
    c = x.shape[1]
    return ops.transpose(x, (0, *range(2, x.ndim), 1)).reshape(-1, c)


def _target_shape(target, logp_shape: tuple, ignore_index: int, op: str) -> tuple:
    """The targets' shape, once they are checked: integers, one per position (the range is
    checked by _kept_labels)."""
    t = _array(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: class-index targets must be integers, got dtype {t.dtype}")
    want = (logp_shape[0],) + tuple(logp_shape[2:])
    if t.shape != want:
        raise ValueError(f"{op}: targets must have shape {want} for inputs of shape "
                         f"{logp_shape}, got {t.shape}")
    return t.shape


def _kept_labels(t: np.ndarray, ignore_index: int, c: int, op: str) -> np.ndarray:
    """The targets, flat, checked to be in range, with 0 where they are ignored (any valid row
    to index with). An op (no_grad_op), so a step replayed by tc.jit checks each batch: a target
    of -1 would otherwise pick the last class."""
    flat = t.reshape(-1)
    keep = flat != ignore_index
    bad = keep & ((flat < 0) | (flat >= c))
    if bad.any():
        raise OpError(f"{op}: target {flat[bad][0]} is out of range for {c} classes "
                      f"(0..{c - 1}; ignore_index={ignore_index})")
    return np.where(keep, flat, 0)


def _label_weights(t: np.ndarray, w: np.ndarray, ignore_index: int) -> np.ndarray:
    """Each target's class weight, 0 where it is ignored."""
    flat = t.reshape(-1)
    keep = flat != ignore_index
    return np.where(keep, w[np.where(keep, flat, 0)], 0).astype(w.dtype)


def _kept_share(t: np.ndarray, ignore_index: int, c: int, dtype) -> np.ndarray:
    """1 / C where the target counts, 0 where it is ignored (label smoothing's share)."""
    return ((t.reshape(-1) != ignore_index) / c).astype(dtype)


def _class_weights(weight, c: int, dtype, op: str) -> Tensor:
    """The class weights as a tensor of `dtype` (ones without `weight`), made by an op."""
    if weight is not None and np.shape(_array(weight)) != (c,):
        raise ValueError(f"{op}: weight must have one entry per class, shape ({c},), got "
                         f"{np.shape(_array(weight))}")
    return no_grad_op(_weights_array, weight, c, np.dtype(dtype))


def _weights_array(weight, c: int, dtype) -> np.ndarray:
    return np.ones(c, dtype) if weight is None else np.asarray(weight, dtype=dtype)


def _weighted_nll(logp, target, weight, ignore_index: int, reduction: str, op: str,
                  label_smoothing: float = 0.0):
    """-w[y] logp[y] per position (and the label-smoothing term), reduced as PyTorch does:
    'mean' divides by the total weight of the targets that are not ignored."""
    rows = _classes_last(logp)
    c = rows.shape[1]
    shape = _target_shape(target, logp.shape, ignore_index, op)
    w = _class_weights(weight, c, rows.dtype, op)
    # The targets' arrays come from ops, so a step recorded by tc.jit reads each call's targets.
    y = no_grad_op(_kept_labels, target, ignore_index, c, op)
    wy = no_grad_op(_label_weights, target, w, ignore_index)
    loss = -(rows[arange(y.shape[0]), y] * wy)
    if label_smoothing:
        smooth = -(rows * w).sum(axis=1) * no_grad_op(_kept_share, target, ignore_index, c,
                                                      rows.dtype)
        loss = loss * (1 - label_smoothing) + smooth * label_smoothing
    if reduction == "none":
        return loss.reshape(shape)
    total = loss.sum()
    return total if reduction == "sum" else total / wy.sum()


def nll_loss(log_probs, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer targets given log-probabilities (N, C) or
    (N, C, d1, ...): loss_n = -weight[y_n] * log_probs[n, y_n], 0 where y_n == ignore_index;
    'mean' divides by the sum of the targets' weights (PyTorch's nll_loss)."""
    _reduction(reduction, "nll_loss")
    return _weighted_nll(log_probs, target, weight, ignore_index, reduction, "nll_loss")


def cross_entropy_with_options(logits, target, weight=None, ignore_index: int = -100,
                               label_smoothing: float = 0.0, reduction: str = "mean") -> Tensor:
    """PyTorch's cross_entropy in full: log_softmax over axis 1 of (N, C) or (N, C, d1, ...),
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
    t = _array(target)
    if t.dtype.kind in "iu":
        return _weighted_nll(logp, target, weight, ignore_index, reduction, op, label_smoothing)
    if t.shape != tuple(logits.shape):
        raise ValueError(f"{op}: probability targets must have the logits' shape "
                         f"{tuple(logits.shape)}, got {t.shape}")
    c = logits.shape[1]
    y = _as_tensor_like(target, logits)
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / c
    w = _class_weights(weight, c, _array(logits).dtype, op).reshape((c,) + (1,) * (len(t.shape) - 2))
    loss = -(logp * y * w).sum(axis=1)
    return _reduce_tensor(loss, reduction)


# ---- regression losses ------------------------------------------------------------------------
def _difference(pred, target, op: str):
    _same_shape(pred, target, op, "predictions", "targets")
    return pred - _as_tensor_like(target, pred)


def l1_loss(pred, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error |pred - target| (PyTorch's l1_loss; gradient sign(d), 0 at d = 0)."""
    _reduction(reduction, "l1_loss")
    return _reduce_tensor(ops.abs(_difference(pred, target, "l1_loss")), reduction)


def huber_loss(pred, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = pred - target
    (quadratic near 0, linear far away: robust to outliers)."""
    _reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    d = _difference(pred, target, "huber_loss")
    a = ops.abs(d)
    small = a < delta
    return _reduce_tensor(ops.where(small, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)


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
    small = a < beta
    return _reduce_tensor(ops.where(small, (0.5 / beta) * d * d, a - 0.5 * beta), reduction)


# ---- binary and distribution losses -----------------------------------------------------------
def weighted_binary_cross_entropy(probs, target, weight=None, reduction: str = "mean") -> Tensor:
    """binary_cross_entropy times a `weight` broadcast to the elements (PyTorch's weight=)."""
    if weight is None:
        return binary_cross_entropy(probs, target, reduction)
    loss = binary_cross_entropy(probs, target, "none") * _array(weight)
    return _reduce_tensor(loss, _reduction(reduction, "binary_cross_entropy"))


def weighted_binary_cross_entropy_with_logits(logits, target, weight=None,
                                              reduction: str = "mean", pos_weight=None) -> Tensor:
    """-w [p y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], p = pos_weight (per class, the
    last axis), computed stably as (1 - y) z + (1 + (p - 1) y) (log(1 + e^-|z|) + max(-z, 0))."""
    op = "binary_cross_entropy_with_logits"
    _reduction(reduction, op)
    if weight is None and pos_weight is None:
        return binary_cross_entropy_with_logits(logits, target, reduction)
    _same_shape(logits, target, op, "logits", "targets")
    _check_binary_targets(target, op)
    y = _as_tensor_like(target, logits)
    softplus_neg = ops.log(1 + ops.exp(-ops.abs(logits))) + ops.maximum(-logits, 0.0)
    coef = 1.0 if pos_weight is None else 1 + (_as_tensor_like(pos_weight, logits) - 1) * y
    loss = (1 - y) * logits + coef * softplus_neg
    if weight is not None:
        loss = loss * _array(weight)
    return _reduce_tensor(loss, reduction)


def kl_div(input, target, reduction: str = "mean", log_target: bool = False) -> Tensor:  # noqa: A002
    """KL(target || model) with `input` the model's LOG-probabilities (as PyTorch):
    pointwise target (log target - input), 0 where target = 0; with log_target the target is
    given as log-probabilities t: e^t (t - input). 'batchmean' divides the sum by the batch size
    (the true KL divergence per example); 'mean' divides by the number of elements."""
    _reduction(reduction, "kl_div", ("batchmean",))
    _same_shape(input, target, "kl_div", "input", "target")
    t = _as_tensor_like(target, input)
    if log_target:
        point = ops.exp(t) * (t - input)
    else:  # 0 log 0 = 0, as PyTorch's xlogy
        point = t * (ops.log(ops.where(t > 0, t, 1.0)) - input)
    if reduction == "batchmean":
        return point.sum() / (input.shape[0] if len(input.shape) else 1)
    return _reduce_tensor(point, reduction)


# ---- modules ----------------------------------------------------------------------------------
