"""Callbacks for `fit` (`tc.callbacks`): early stopping, checkpoints, stopping on NaN, gradient
clipping and a learning-rate log. A callback is a `Callback` subclass overriding the hooks it
needs."""
from __future__ import annotations

import math
import os
import warnings
from typing import TYPE_CHECKING, Callable

import numpy as np

from .autograd import bump_version
from .nn.utils import clip_grad_norm_

if TYPE_CHECKING:
    from .training import History


class Callback:
    """Hooks into `fit`; override the ones you need. `fit` sets `self.model` and
    `self.optimizer` before `on_train_begin`. `on_epoch_end` returning True stops training."""

    model = None
    optimizer = None

    def on_train_begin(self, history: History) -> None:
        """Called once before the first epoch, with the (empty) history."""
        pass

    def on_epoch_begin(self, epoch: int) -> None:
        """Called at the start of each epoch (0-based)."""
        pass

    def on_before_optimizer_step(self, iteration: int) -> None:
        """Called after backward, before the optimizer's step, while the gradients can still be
        changed (gradient clipping; PyTorch Lightning's hook of the same name)."""
        pass

    def on_batch_end(self, iteration: int, cost: float) -> None:
        """Called after each optimizer step with the iteration count and the mini-batch's cost."""
        pass

    def on_epoch_end(self, epoch: int, history: History) -> bool | None:
        """Called after each epoch (dev metrics recorded); return True to stop training."""
        pass

    def on_train_end(self, history: History) -> None:
        """Called once after the last epoch (also when stopped early)."""
        pass


class _EpochEndFunction(Callback):
    def __init__(self, fn: Callable[[int, History], bool | None]):
        self.on_epoch_end = fn


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs (the
    course's early stopping); with `restore_best`, training ends with the model of the best
    epoch: its `state_dict()` (parameters and buffers such as batch norm's running averages) when
    it has one, else its parameters.

    `monitor` is "dev_<name>" (history.dev), "train_<name>" (history.train) or "cost" (the
    epoch cost); `mode` is "min" for costs and "max" for accuracies.
    """

    def __init__(self, monitor: str = "dev_cost", patience: int = 10, min_delta: float = 0.0,
                 mode: str = "min", restore_best: bool = True):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be an int >= 1, got {patience!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.sign = 1.0 if mode == "min" else -1.0
        self.restore_best = restore_best

    def on_train_begin(self, history: History) -> None:
        """Forget any earlier run: no best value yet."""
        self.best, self.best_epoch, self._best_state = math.inf, -1, None

    def on_epoch_end(self, epoch: int, history: History) -> bool:
        """Record the monitored value; True (stop) after `patience` epochs without an improvement
        of more than `min_delta`."""
        value = self.sign * _monitored(self.monitor, history, "EarlyStopping")
        if value < self.best - self.min_delta:
            self.best, self.best_epoch = value, epoch
            if self.restore_best:
                self._best_state = (self.model.state_dict() if has_state(self.model)
                                    else [p.data.copy() for p in self.model.parameters()])
            return False
        return epoch - self.best_epoch >= self.patience

    def state_dict(self) -> dict:
        """best, best_epoch and the best weights: what a resumed fit needs to stop alike."""
        return {"best": self.best, "best_epoch": self.best_epoch, "best_state": self._best_state}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict()` returned."""
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self._best_state = state["best_state"]

    def on_train_end(self, history: History) -> None:
        """With `restore_best`, load the best epoch's weights (and buffers) back into the model."""
        if not self.restore_best or self._best_state is None:
            return
        if has_state(self.model):
            self.model.load_state_dict(self._best_state)
            return
        for p, best in zip(self.model.parameters(), self._best_state):
            np.copyto(p.data, best)
            bump_version(p)


def has_state(model) -> bool:
    """Whether `model` has state_dict() and load_state_dict() (a Module does)."""
    return callable(getattr(model, "state_dict", None)) and callable(
        getattr(model, "load_state_dict", None))


def _monitored(monitor: str, history: History, owner: str) -> float:
    """The last value of `monitor` ("cost", "dev_<name>" or "train_<name>") in `history`."""
    if monitor == "cost":
        series = history.epoch_costs
    else:
        split, _, name = monitor.partition("_")
        series = {"dev": history.dev, "train": history.train}.get(split, {}).get(name)
    if not series:
        raise ValueError(f"{owner}: nothing recorded under {monitor!r}; give fit dev= data or "
                         "the metric, or monitor 'cost'")
    return series[-1]


class ModelCheckpoint(Callback):
    """Save the model's state_dict to `path` after each epoch (atomically: a crash mid-write
    leaves the previous file), or with `save_best_only` only when `monitor` improved (`mode`
    "min" or "max"). `path` may hold "{epoch}" (e.g. "ckpt-{epoch:03d}.npz"), as Keras's."""

    def __init__(self, path: str | os.PathLike, monitor: str = "dev_cost", mode: str = "min",
                 save_best_only: bool = False):
        if mode not in ("min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'min' or 'max', got {mode!r}")
        self.path, self.monitor, self.save_best_only = os.fspath(path), monitor, save_best_only
        self.sign = 1.0 if mode == "min" else -1.0
        self.best = math.inf

    def on_train_begin(self, history: History) -> None:
        """Forget any earlier run: no best value yet."""
        self.best = math.inf

    def on_epoch_end(self, epoch: int, history: History) -> None:
        """Write the model's state_dict (when it improved, with save_best_only)."""
        from .serialization import save
        if self.save_best_only:
            value = self.sign * _monitored(self.monitor, history, "ModelCheckpoint")
            if not value < self.best:
                return
            self.best = value
        save(self.model.state_dict(), self.path.format(epoch=epoch))


class TerminateOnNaN(Callback):
    """Stop training, with a warning instead of fit's FloatingPointError, when a mini-batch cost
    is NaN or inf; the step that would spread it is not taken (Keras's TerminateOnNaN)."""

    stops_on_nonfinite = True


class GradientClipping(Callback):
    """Clip the model's gradients by their total norm before every step
    (`nn.utils.clip_grad_norm_(model.parameters(), max_norm, norm_type)`, the course's answer to
    exploding gradients); `norms[k]` is the k-th step's norm before clipping, so
    `sum(n > max_norm for n in norms)` counts the steps it clipped."""

    def __init__(self, max_norm: float, norm_type: float = 2.0):
        if not max_norm > 0:
            raise ValueError(f"GradientClipping: max_norm must be > 0, got {max_norm!r}")
        self.max_norm, self.norm_type = float(max_norm), float(norm_type)
        self.norms: list[float] = []

    def on_train_begin(self, history: History) -> None:
        """Forget any earlier run's norms."""
        self.norms = []

    def on_before_optimizer_step(self, iteration: int) -> None:
        """Scale the gradients down to norm max_norm when they are larger; record their norm."""
        self.norms.append(float(clip_grad_norm_(self.model.parameters(), self.max_norm,
                                                self.norm_type)))

    def state_dict(self) -> dict:
        """The norms recorded so far, so a resumed fit's `norms` covers the whole run."""
        return {"norms": np.array(self.norms, dtype=np.float64)}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict()` returned."""
        self.norms = np.asarray(state["norms"], dtype=np.float64).tolist()


class LearningRateLogger(Callback):
    """Record every parameter group's lr: `lrs[k]` is the list of group lrs the k-th epoch
    (or, with `by="batch"`, mini-batch) trained with."""

    def __init__(self, by: str = "epoch"):
        if by not in ("epoch", "batch"):
            raise ValueError(f"LearningRateLogger: by must be 'epoch' or 'batch', got {by!r}")
        self.by = by
        self.lrs: list[list[float]] = []

    def _log(self) -> None:
        groups = getattr(self.optimizer, "param_groups", None)
        self.lrs.append([self.optimizer.lr] if groups is None else [g["lr"] for g in groups])

    def on_epoch_begin(self, epoch: int) -> None:
        """Log the lrs this epoch starts with."""
        if self.by == "epoch":
            self._log()

    def on_batch_end(self, iteration: int, cost: float) -> None:
        """Log the lrs of the step just taken (before a by-batch schedule moves them)."""
        if self.by == "batch":
            self._log()
