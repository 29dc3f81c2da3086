"""Learning-rate decay: the lecture's formulas, stepped once per epoch (or per mini-batch)."""
from __future__ import annotations

import bisect
import math
from typing import Callable, ClassVar, Mapping, Sequence

import numpy as np

from ..jit import replayed
from ..serialization import check_state_keys
from .optimizer import check_hyperparameter


def _check_schedule_state(name: str, state: dict, keys) -> None:
    """Refuse a state from another schedule, or one missing any of `keys` (StateDictError)."""
    check_state_keys(name, state, ("schedule",))
    if state["schedule"] != name:
        raise ValueError(f"{name}.load_state_dict: the state is from "
                         f"{state['schedule']!r}, not {name}")
    check_state_keys(name, state, keys)


class LRSchedule:
    """Sets the optimizer's lr from a formula in the epoch number: `lr_at(epoch)` is the formula,
    `step()` (once per epoch) moves to the next epoch and sets the lr.

    Epochs count from 0, as in the course: construction sets lr_at(0) (= lr0, the optimizer's lr
    unless `lr0` is given) and the k-th `step()` sets lr_at(k). With `by="batch"` the count is the
    mini-batch iteration t instead, and `fit` steps the schedule after every mini-batch.
    With parameter groups, each group's "lr" follows the formula from its own starting lr
    (`base_lrs`; every group starts at `lr0` when it is given). Works with any optimizer that has
    `param_groups` or a settable `lr`.
    """

    #: hyperparameter name -> validation rule (see check_hyperparameter); saved in state_dict.
    hyperparameter_rules: ClassVar[dict[str, str]] = {}

    def __init__(self, optimizer, lr0: float | None = None, by: str = "epoch", **hyperparameters):
        name = type(self).__name__
        if by not in ("epoch", "batch"):
            raise ValueError(f"{name}: by must be 'epoch' or 'batch', got {by!r}")
        if not hasattr(optimizer, "lr"):
            raise TypeError(f"{name}: the first argument is the optimizer whose lr it sets (e.g. "
                            f"optim.Adam(model.parameters(), lr=0.01)), got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.by = by
        groups = getattr(optimizer, "param_groups", None)
        # A group's "initial_lr" (set by a PyTorch-style scheduler built before) is its start.
        starts = [optimizer.lr] if groups is None else [g.get("initial_lr", g["lr"])
                                                        for g in groups]
        self.base_lrs = [check_hyperparameter(name, "lr0", lr)
                         for lr in (starts if lr0 is None else [lr0] * len(starts))]
        self.lr0 = self.base_lrs[0]
        self._set_hyperparameters(**hyperparameters)
        self.epoch = 0
        self._apply()

    def _apply(self) -> float:
        """Set each group's lr for the current epoch; the first group's."""
        lrs = [self._formula(self.epoch, base) for base in self.base_lrs]
        groups = getattr(self.optimizer, "param_groups", None)
        if groups is None:
            self.optimizer.lr = lrs[0]
        else:
            for group, lr in zip(groups, lrs):
                group["lr"] = lr
        return lrs[0]

    def get_last_lr(self) -> list[float]:
        """Each group's lr as last set (PyTorch's name)."""
        groups = getattr(self.optimizer, "param_groups", None)
        return [self.optimizer.lr] if groups is None else [g["lr"] for g in groups]

    def _restart(self) -> None:
        # SequentialLR at this schedule's milestone: epoch 0 again, from the base lrs.
        self.epoch = 0
        self._apply()

    def _set_hyperparameters(self, **values) -> None:
        for key, value in values.items():
            setattr(self, key, check_hyperparameter(type(self).__name__, key, value,
                                                    self.hyperparameter_rules[key]))

    def lr_at(self, epoch: int) -> float:
        """The learning rate for `epoch` (0, 1, 2, ...), without changing anything."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"{type(self).__name__}.lr_at: epoch must be an int >= 0, "
                             f"got {epoch!r}")
        return self._formula(int(epoch), self.lr0)

    def _formula(self, epoch: int, lr0: float) -> float:
        """The learning rate of `epoch` for a group that started at `lr0`."""
        raise NotImplementedError

    @property
    def lr(self) -> float:
        """The learning rate of the current epoch."""
        return self.lr_at(self.epoch)

    @replayed
    def step(self) -> float:
        """Move to the next epoch (or iteration); set and return its learning rate."""
        self.epoch += 1
        return self._apply()

    def state_dict(self) -> dict:
        """{schedule, epoch, lr0, base_lrs, by and the schedule's hyperparameters}, as PyTorch's
        lr_scheduler.state_dict."""
        return {"schedule": type(self).__name__, "epoch": self.epoch, "lr0": self.lr0,
                "base_lrs": list(self.base_lrs), "by": self.by,
                **{k: getattr(self, k) for k in self.hyperparameter_rules}}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict()` returned and set the optimizer's lr to match."""
        name = type(self).__name__
        _check_schedule_state(name, state, ("epoch", "lr0", "base_lrs", "by",
                                       *self.hyperparameter_rules))
        self.lr0 = check_hyperparameter(name, "lr0", state["lr0"])
        base_lrs = [check_hyperparameter(name, "base_lrs", lr) for lr in state["base_lrs"]]
        if len(base_lrs) != len(self.base_lrs):
            raise ValueError(f"{name}.load_state_dict: the state has {len(base_lrs)} parameter "
                             f"groups, the optimizer has {len(self.base_lrs)}")
        self.base_lrs = base_lrs
        self.by = state["by"]
        self._set_hyperparameters(**{k: state[k] for k in self.hyperparameter_rules})
        self.epoch = int(state["epoch"])
        self._apply()

    def __repr__(self) -> str:
        hyper = "".join(f", {k}={getattr(self, k):g}" for k in self.hyperparameter_rules)
        return f"{type(self).__name__}(lr0={self.lr0:g}{hyper}, epoch={self.epoch})"


class InverseTimeDecay(LRSchedule):
    """lr = lr0 / (1 + decay_rate * epoch), the course's `update_lr`."""

    hyperparameter_rules = {"decay_rate": "nonneg"}

    def __init__(self, optimizer, decay_rate: float = 1.0, lr0: float | None = None,
                 by: str = "epoch"):
        super().__init__(optimizer, lr0, by, decay_rate=decay_rate)

    def _formula(self, epoch: int, lr0: float) -> float:
        return lr0 / (1.0 + self.decay_rate * epoch)


class ScheduledInverseTimeDecay(LRSchedule):
    """lr = lr0 / (1 + decay_rate * floor(epoch / time_interval)), the course's
    `schedule_lr_decay`: inverse time decay applied only every `time_interval` epochs."""

    hyperparameter_rules = {"decay_rate": "nonneg", "time_interval": "positive"}

    def __init__(self, optimizer, decay_rate: float = 1.0, time_interval: float = 1000,
                 lr0: float | None = None, by: str = "epoch"):
        super().__init__(optimizer, lr0, by, decay_rate=decay_rate, time_interval=time_interval)

    def _formula(self, epoch: int, lr0: float) -> float:
        return lr0 / (1.0 + self.decay_rate * math.floor(epoch / self.time_interval))


class ExponentialDecay(LRSchedule):
    """lr = base**epoch * lr0 (the lecture's 0.95**epoch_num * alpha0 with base=0.95;
    PyTorch's ExponentialLR with gamma=base)."""

    hyperparameter_rules = {"base": "fraction"}

    def __init__(self, optimizer, base: float = 0.95, lr0: float | None = None,
                 by: str = "epoch"):
        super().__init__(optimizer, lr0, by, base=base)

    def _formula(self, epoch: int, lr0: float) -> float:
        return self.base ** epoch * lr0


class InverseSqrtDecay(LRSchedule):
    """lr = k / sqrt(epoch) * lr0 for epoch >= 1, and lr0 at epoch 0 (where the formula has no
    value: training starts at lr0, as with every schedule here). With `by="batch"`, epoch is the
    mini-batch count t (the lecture's k / sqrt(t) * alpha0). With k > 1 the first epochs after 0
    use more than lr0."""

    hyperparameter_rules = {"k": "positive"}

    def __init__(self, optimizer, k: float = 1.0, lr0: float | None = None, by: str = "epoch"):
        super().__init__(optimizer, lr0, by, k=k)

    def _formula(self, epoch: int, lr0: float) -> float:
        return lr0 if epoch == 0 else self.k / math.sqrt(epoch) * lr0


class StaircaseDecay(LRSchedule):
    """lr = lr0 * factor**floor(epoch / step_size): the lecture's discrete staircase, the rate
    cut by `factor` every `step_size` epochs (PyTorch's StepLR with gamma=factor)."""

    hyperparameter_rules = {"step_size": "positive", "factor": "fraction"}

    def __init__(self, optimizer, step_size: float, factor: float = 0.5,
                 lr0: float | None = None, by: str = "epoch"):
        super().__init__(optimizer, lr0, by, step_size=step_size, factor=factor)

    def _formula(self, epoch: int, lr0: float) -> float:
        return lr0 * self.factor ** math.floor(epoch / self.step_size)


class StepLR(StaircaseDecay):
    """PyTorch's StepLR(optimizer, step_size, gamma=0.1): lr = lr0 * gamma**floor(epoch /
    step_size), the course's StaircaseDecay with factor=gamma."""

    def __init__(self, optimizer, step_size: float, gamma: float = 0.1, lr0: float | None = None,
                 by: str = "epoch"):
        super().__init__(optimizer, step_size, gamma, lr0, by)


class ExponentialLR(ExponentialDecay):
    """PyTorch's ExponentialLR(optimizer, gamma): lr = lr0 * gamma**epoch, the course's
    ExponentialDecay with base=gamma."""

    def __init__(self, optimizer, gamma: float, lr0: float | None = None, by: str = "epoch"):
        super().__init__(optimizer, gamma, lr0, by)


class ManualSchedule(LRSchedule):
    """The learning rate you choose, epoch by epoch (the lecture's "manual decay"):
    a list (lr of epoch i; the last value holds after the end), a dict {epoch: lr} (each lr holds
    from its epoch until the next key; lr0 before the first key) or a function epoch -> lr.
    The chosen lr is every parameter group's.
    The schedule itself is not in state_dict (a function cannot be saved): pass it again."""

    def __init__(self, optimizer, schedule: Sequence[float] | Mapping[int, float] | Callable,
                 lr0: float | None = None, by: str = "epoch"):
        name = type(self).__name__
        if isinstance(schedule, Mapping):
            for epoch in schedule:
                if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
                    raise ValueError(f"{name}: dict keys must be epochs (ints >= 0), got {epoch!r}")
            self._epochs = sorted(int(e) for e in schedule)
            self._lrs = [check_hyperparameter(name, f"lr of epoch {e}", schedule[e])
                         for e in self._epochs]
            self._fn = None
        elif callable(schedule):
            self._fn = schedule
        else:
            lrs = list(schedule)
            if not lrs:
                raise ValueError(f"{name}: the list of learning rates is empty")
            self._lrs = [check_hyperparameter(name, f"lr of epoch {i}", v)
                         for i, v in enumerate(lrs)]
            self._epochs = list(range(len(lrs)))
            self._fn = None
        super().__init__(optimizer, lr0, by)

    def _formula(self, epoch: int, lr0: float) -> float:
        if self._fn is not None:
            return check_hyperparameter(type(self).__name__, f"lr of epoch {epoch}",
                                        self._fn(epoch))
        i = bisect.bisect_right(self._epochs, epoch) - 1
        return lr0 if i < 0 else self._lrs[i]


class LambdaLR(ManualSchedule):
    """PyTorch's LambdaLR(optimizer, lr_lambda): lr = lr0 * lr_lambda(epoch), each group's own
    lr0 (ManualSchedule's function gives the lr itself: ManualSchedule(lambda e: lr0 * f(e)))."""

    def __init__(self, optimizer, lr_lambda: Callable[[int], float], lr0: float | None = None,
                 by: str = "epoch"):
        if not callable(lr_lambda):
            raise TypeError(f"LambdaLR: lr_lambda must be a function epoch -> factor, got "
                            f"{type(lr_lambda).__name__}; a list of lrs is ManualSchedule's")
        super().__init__(optimizer, lr_lambda, lr0, by)

    def _formula(self, epoch: int, lr0: float) -> float:
        return check_hyperparameter("LambdaLR", f"lr of epoch {epoch}", lr0 * self._fn(epoch))
