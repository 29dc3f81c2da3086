"""Loss modules with PyTorch's names and arguments (CrossEntropyLoss, NLLLoss, MSELoss, L1Loss,
HuberLoss, SmoothL1Loss, BCELoss, BCEWithLogitsLoss, KLDivLoss), each calling its function in
`nn.F` (see `loss_functions.py` for the formulas)."""
from __future__ import annotations

from . import functional as F
from .loss_functions import (_reduction, huber_loss, kl_div, l1_loss, nll_loss, smooth_l1_loss,
                             weighted_binary_cross_entropy,
                             weighted_binary_cross_entropy_with_logits)
from .module import Module


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
