"""PyTorch's learning-rate schedulers (torch.optim.lr_scheduler's names and formulas): each
step reads and sets every parameter group's "lr". The course's decay formulas are in schedules.py,
whose StepLR, ExponentialLR and LambdaLR (PyTorch's names for them) are importable from here too."""
from __future__ import annotations

import bisect
import math
from typing import ClassVar, Sequence

import numpy as np

from ..jit import replayed
from ..serialization import check_state_keys
from .optimizer import check_hyperparameter
from .schedules import _check_schedule_state
from .schedules import ExponentialLR, LambdaLR, StepLR  # noqa: F401 (PyTorch's names, here too)


def _check_int(owner: str, name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{owner}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def _groups(owner: str, optimizer) -> list[dict]:
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list):
        raise TypeError(f"{owner}: the first argument is the optimizer whose param_groups' lr it "
                        f"sets (e.g. optim.AdamW(model.parameters(), lr=0.01)), got "
                        f"{type(optimizer).__name__}")
    return groups


class LRScheduler:
    """PyTorch's scheduler protocol: construction sets epoch 0's lr in every parameter group,
    each `step()` the next epoch's (after each mini-batch with `by="batch"`, as `fit` does);
    `get_last_lr()` lists the groups' lrs. `base_lrs` are the groups' "initial_lr" (set on first
    use, as PyTorch does, so schedules built on one optimizer share them).

    `get_lr()` is PyTorch's chainable form: it moves each group's current lr one step, so a
    ChainedScheduler composes schedules exactly as PyTorch's does.
    """

    #: what state_dict saves besides last_epoch, base_lrs, by and the last lrs.
    state_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, optimizer, by: str = "epoch"):
        name = type(self).__name__
        if by not in ("epoch", "batch"):
            raise ValueError(f"{name}: by must be 'epoch' or 'batch', got {by!r}")
        self.optimizer, self.by = optimizer, by
        groups = _groups(name, optimizer)
        for group in groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in groups]
        self.last_epoch = -1
        self.step()

    def get_lr(self) -> list[float]:
        """Each group's lr at `last_epoch` (already advanced), from its current lr."""
        raise NotImplementedError

    def _closed_form_lr(self) -> list[float]:
        """Each group's lr at `last_epoch` from `base_lrs` alone (SequentialLR's restart)."""
        return self.get_lr()

    def _set(self, lrs: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    @replayed
    def step(self) -> float:
        """Move to the next epoch (or iteration); set each group's lr; the first group's."""
        self.last_epoch += 1
        self._set(self.get_lr())
        return self._last_lr[0]

    def _restart(self) -> None:
        # PyTorch's scheduler.step(0), which SequentialLR calls at a milestone.
        self.last_epoch = 0
        self._set(self._closed_form_lr())

    def get_last_lr(self) -> list[float]:
        """Each group's lr as this scheduler last set it."""
        return list(self._last_lr)

    @property
    def lr(self) -> float:
        """The first group's lr as last set."""
        return self._last_lr[0]

    def state_dict(self) -> dict:
        """last_epoch, base_lrs, by, the last lrs and the schedule's own settings and counters."""
        return {"schedule": type(self).__name__, "last_epoch": self.last_epoch,
                "base_lrs": list(self.base_lrs), "by": self.by, "last_lr": list(self._last_lr),
                **{k: getattr(self, k) for k in self.state_names}}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict()` returned and set the groups' lrs to match."""
        name = type(self).__name__
        _check_schedule_state(name, state, ("last_epoch", "base_lrs", "by", "last_lr",
                                       *self.state_names))
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(state['base_lrs'])} "
                             f"parameter groups, the optimizer has "
                             f"{len(self.optimizer.param_groups)}")
        for k in self.state_names:
            setattr(self, k, state[k])
        self.last_epoch, self.by = int(state["last_epoch"]), state["by"]
        self.base_lrs = [float(lr) for lr in state["base_lrs"]]
        self._set([float(lr) for lr in state["last_lr"]])

    def __repr__(self) -> str:
        names = "".join(f", {k}={getattr(self, k)!r}" for k in self.state_names)
        return f"{type(self).__name__}(last_epoch={self.last_epoch}{names})"


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2: half a cosine from
    the base lr down to eta_min over T_max epochs (PyTorch's CosineAnnealingLR, stepped in its
    recursive form; past T_max the cosine rises again, as PyTorch's does)."""

    state_names = ("T_max", "eta_min")

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, by: str = "epoch"):
        name = type(self).__name__
        self.T_max = _check_int(name, "T_max", T_max, 1)
        self.eta_min = check_hyperparameter(name, "eta_min", eta_min)
        super().__init__(optimizer, by)

    def get_lr(self) -> list[float]:
        groups, t, T, eta = self.optimizer.param_groups, self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return [group["lr"] for group in groups]
        if (t - 1 - T) % (2 * T) == 0:  # the trough, where the recursion would divide by 0
            return [group["lr"] + (base - eta) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (group["lr"] - eta) + eta for group in groups]

    def _closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2, where T_cur
    counts the epochs since the last restart and the i-th period lasts T_i = T_0 * T_mult**i
    epochs (PyTorch's CosineAnnealingWarmRestarts; `step(epoch)` with a fractional epoch, e.g.
    epoch + batch / batches, is accepted as there)."""

    state_names = ("T_0", "T_mult", "eta_min", "T_i", "T_cur")

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 by: str = "epoch"):
        name = type(self).__name__
        self.T_0 = _check_int(name, "T_0", T_0, 1)
        self.T_mult = _check_int(name, "T_mult", T_mult, 1)
        self.eta_min = check_hyperparameter(name, "eta_min", eta_min)
        self.T_i, self.T_cur = self.T_0, -1
        super().__init__(optimizer, by)

    def get_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur
                                                                       / self.T_i)) / 2
                for base in self.base_lrs]

    @replayed
    def step(self, epoch: float | None = None) -> float:
        """The next epoch, or `epoch` itself (a float for within-epoch steps)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts.step: epoch must be >= 0, "
                                 f"got {epoch!r}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i, self.T_cur = self.T_0, epoch
        self.last_epoch = math.floor(epoch)
        self._set(self.get_lr())
        return self._last_lr[0]

    def _restart(self) -> None:
        self.step(0)


class LinearLR(LRScheduler):
    """Linear warm-up (or decay): the lr is base_lr * factor, the factor going linearly from
    start_factor at epoch 0 to end_factor at epoch total_iters and staying there
    (PyTorch's LinearLR, in its chainable form)."""

    state_names = ("start_factor", "end_factor", "total_iters")

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, by: str = "epoch"):
        name = type(self).__name__
        self.start_factor = check_hyperparameter(name, "start_factor", start_factor, "fraction")
        self.end_factor = check_hyperparameter(name, "end_factor", end_factor)
        if self.end_factor > 1:
            raise ValueError(f"{name}: end_factor must be in [0, 1], got {end_factor!r}")
        self.total_iters = _check_int(name, "total_iters", total_iters, 1)
        super().__init__(optimizer, by)

    def get_lr(self) -> list[float]:
        groups, t = self.optimizer.param_groups, self.last_epoch
        if t == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if t > self.total_iters:
            return [group["lr"] for group in groups]
        step = self.end_factor - self.start_factor
        return [group["lr"] * (1.0 + step / (self.total_iters * self.start_factor
                                             + (t - 1) * step)) for group in groups]

    def _closed_form_lr(self) -> list[float]:
        t = min(self.total_iters, self.last_epoch)
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * t
                        / self.total_iters) for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin), PyTorch's OneCycleLR, stepped after every mini-batch:
    the lr rises from max_lr / div_factor to max_lr over the first pct_start of total_steps, then
    anneals to max_lr / (div_factor * final_div_factor) (cosine, or linear); with three_phase it
    comes back down to the start before the final anneal. With cycle_momentum the optimizer's
    momentum (Momentum's beta, Adam's beta1) moves the opposite way, max_momentum to
    base_momentum and back; an optimizer without one needs cycle_momentum=False."""

    state_names = ("total_steps", "anneal_strategy", "cycle_momentum", "phases")

    def __init__(self, optimizer, max_lr: float | Sequence[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, by: str = "batch"):
        name = type(self).__name__
        groups = _groups(name, optimizer)
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError(f"{name}: give total_steps, or epochs and steps_per_epoch")
            total_steps = _check_int(name, "epochs", epochs, 1) * _check_int(
                name, "steps_per_epoch", steps_per_epoch, 1)
        self.total_steps = _check_int(name, "total_steps", total_steps, 1)
        pct = float(pct_start)
        if not 0.0 <= pct <= 1.0:
            raise ValueError(f"{name}: pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', "
                             f"got {anneal_strategy!r}")
        self.anneal_strategy, self.cycle_momentum = anneal_strategy, bool(cycle_momentum)
        n = self.total_steps
        if three_phase:
            self.phases = [
                {"end_step": float(pct * n) - 1, "lr": ["initial_lr", "max_lr"],
                 "momentum": ["max_momentum", "base_momentum"]},
                {"end_step": float(2 * pct * n) - 2, "lr": ["max_lr", "initial_lr"],
                 "momentum": ["base_momentum", "max_momentum"]},
                {"end_step": n - 1, "lr": ["initial_lr", "min_lr"],
                 "momentum": ["max_momentum", "max_momentum"]}]
        else:
            self.phases = [
                {"end_step": float(pct * n) - 1, "lr": ["initial_lr", "max_lr"],
                 "momentum": ["max_momentum", "base_momentum"]},
                {"end_step": n - 1, "lr": ["max_lr", "min_lr"],
                 "momentum": ["base_momentum", "max_momentum"]}]
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        if len(max_lrs) != len(groups):
            raise ValueError(f"{name}: max_lr has {len(max_lrs)} values for "
                             f"{len(groups)} parameter groups")
        div = check_hyperparameter(name, "div_factor", div_factor, "positive")
        final_div = check_hyperparameter(name, "final_div_factor", final_div_factor, "positive")
        key = getattr(optimizer, "momentum_key", None)
        if self.cycle_momentum and key is None:
            raise ValueError(f"{name}: {type(optimizer).__name__} has no momentum to cycle; pass "
                             "cycle_momentum=False (or use Momentum, Adam or AdamW)")
        self.momentum_key = key
        for group, top in zip(groups, max_lrs):
            top = check_hyperparameter(name, "max_lr", top)
            group["initial_lr"] = top / div
            group["max_lr"], group["min_lr"] = top, top / div / final_div
            if self.cycle_momentum:
                group["max_momentum"] = check_hyperparameter(name, "max_momentum",
                                                             max_momentum, "beta")
                group["base_momentum"] = check_hyperparameter(name, "base_momentum",
                                                              base_momentum, "beta")
                group[key] = group["max_momentum"]
        super().__init__(optimizer, by)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, past total_steps="
                             f"{self.total_steps}; build it with more total_steps (or epochs)")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self.phases):
                end = phase["end_step"]
                if step <= end or i == len(self.phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[phase["lr"][0]], group[phase["lr"][1]], pct))
                    if self.cycle_momentum:
                        group[self.momentum_key] = self._anneal(
                            group[phase["momentum"][0]], group[phase["momentum"][1]], pct)
                    break
                start = end
        return lrs


class ReduceLROnPlateau:
    """Cut every group's lr by `factor` when a metric has stopped improving for more than
    `patience` epochs: `step(metric)` once per epoch (PyTorch's ReduceLROnPlateau).

    Better means below best * (1 - threshold) in mode "min" with threshold_mode "rel" (above
    best * (1 + threshold) in "max"; best -/+ threshold with "abs"). After a cut, `cooldown`
    epochs pass before bad epochs count again; no lr goes below `min_lr` (one per group or one
    for all), and a cut smaller than `eps` is skipped. In `fit`, the metric is `monitor`
    ("dev_cost", "train_<metric>", "cost" ...; None: the dev cost when there is dev data, else
    the epoch's training cost).
    """

    by = "epoch"
    state_names = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                   "min_lrs", "eps", "best", "num_bad_epochs", "cooldown_counter", "last_epoch",
                   "monitor")

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | Sequence[float] = 0.0, eps: float = 1e-8,
                 monitor: str | None = None):
        name = type(self).__name__
        groups = _groups(name, optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', "
                             f"got {threshold_mode!r}")
        self.factor = check_hyperparameter(name, "factor", factor)
        if self.factor >= 1.0:
            raise ValueError(f"{name}: factor must be < 1 (the lr is multiplied by it), "
                             f"got {factor!r}")
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * len(groups)
        if len(min_lrs) != len(groups):
            raise ValueError(f"{name}: min_lr has {len(min_lrs)} values for "
                             f"{len(groups)} parameter groups")
        self.optimizer, self.mode, self.threshold_mode, self.monitor = (
            optimizer, mode, threshold_mode, monitor)
        self.patience = _check_int(name, "patience", patience, 0)
        self.cooldown = _check_int(name, "cooldown", cooldown, 0)
        self.threshold = check_hyperparameter(name, "threshold", threshold)
        self.eps = check_hyperparameter(name, "eps", eps)
        self.min_lrs = [check_hyperparameter(name, "min_lr", v) for v in min_lrs]
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = [group["lr"] for group in groups]

    def is_better(self, value: float, best: float) -> bool:
        """Whether `value` improves on `best` by more than the threshold."""
        if self.mode == "min":
            return value < (best * (1 - self.threshold) if self.threshold_mode == "rel"
                            else best - self.threshold)
        return value > (best * (1 + self.threshold) if self.threshold_mode == "rel"
                        else best + self.threshold)

    @replayed
    def step(self, metric: float) -> float:
        """Fold in this epoch's metric; cut the lrs after too many bad epochs; the first lr."""
        current = float(metric)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, floor)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
        return self._last_lr[0]

    def get_last_lr(self) -> list[float]:
        """Each group's lr after the last step."""
        return list(self._last_lr)

    @property
    def lr(self) -> float:
        """The first group's lr after the last step."""
        return self._last_lr[0]

    def state_dict(self) -> dict:
        """The settings and counters (best, bad epochs, cooldown) and the last lrs."""
        return {"schedule": type(self).__name__, "last_lr": list(self._last_lr),
                **{k: getattr(self, k) for k in self.state_names}}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict()` returned and set the groups' lrs to match."""
        name = type(self).__name__
        _check_schedule_state(name, state, ("last_lr", *self.state_names))
        for k in self.state_names:
            setattr(self, k, state[k])
        for group, lr in zip(self.optimizer.param_groups, state["last_lr"]):
            group["lr"] = float(lr)
        self._last_lr = [float(lr) for lr in state["last_lr"]]


class _Composite:
    """What ChainedScheduler and SequentialLR share: sub-schedules saved and loaded together."""

    def __init__(self, schedulers: Sequence, optimizer=None):
        name = type(self).__name__
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(f"{name}: needs at least one schedule")
        self.optimizer = schedulers[0].optimizer if optimizer is None else optimizer
        for i, s in enumerate(schedulers):
            if getattr(s, "optimizer", None) is not self.optimizer:
                raise ValueError(f"{name}: schedulers[{i}] ({type(s).__name__}) sets the lr of "
                                 "another optimizer; build every schedule on the same one")
            if isinstance(s, ReduceLROnPlateau):
                raise TypeError(f"{name}: ReduceLROnPlateau steps on a metric and cannot be "
                                "combined; step it yourself beside the others")
        self._schedulers = schedulers
        self.by = schedulers[0].by

    def get_last_lr(self) -> list[float]:
        """Each group's lr as last set."""
        return list(self._last_lr)

    @property
    def lr(self) -> float:
        """The first group's lr as last set."""
        return self._last_lr[0]

    def _group_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Each sub-schedule's state_dict, in order, and this one's counters."""
        return {"schedule": type(self).__name__, "last_lr": list(self._last_lr),
                "last_epoch": getattr(self, "last_epoch", 0),
                "schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict()` returned (the sub-schedules first)."""
        name = type(self).__name__
        check_state_keys(name, state, ("schedule", "last_lr", "last_epoch", "schedulers"))
        if state["schedule"] != name or len(state["schedulers"]) != len(self._schedulers):
            raise ValueError(f"{name}.load_state_dict: the state is from {state['schedule']!r} "
                             f"with {len(state['schedulers'])} schedules, not {name} with "
                             f"{len(self._schedulers)}")
        for s, sub in zip(self._schedulers, state["schedulers"]):
            s.load_state_dict(sub)
        self.last_epoch = int(state["last_epoch"])
        for group, lr in zip(self.optimizer.param_groups, state["last_lr"]):
            group["lr"] = float(lr)
        self._last_lr = [float(lr) for lr in state["last_lr"]]


class ChainedScheduler(_Composite):
    """Steps every schedule in turn on each `step()`, each moving the lr its chainable way from
    where the previous left it (PyTorch's ChainedScheduler): e.g. LinearLR warm-up times
    CosineAnnealingLR at once. Takes PyTorch-style schedulers (LRScheduler subclasses)."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer=None):
        super().__init__(schedulers, optimizer)
        for i, s in enumerate(self._schedulers):
            if not isinstance(s, LRScheduler):
                raise TypeError(f"ChainedScheduler: schedulers[{i}] ({type(s).__name__}) sets "
                                "the lr outright rather than moving it a step; run it after "
                                "another with SequentialLR")
        self._last_lr = self._group_lrs()

    @replayed
    def step(self) -> float:
        """Step each schedule once, in order; the first group's lr."""
        for s in self._schedulers:
            s.step()
        self._last_lr = self._group_lrs()
        return self._last_lr[0]


class SequentialLR(_Composite):
    """One schedule after another: schedulers[i] runs from milestones[i-1] (restarted there from
    its base lrs) until milestones[i] (PyTorch's SequentialLR), e.g.
    SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, T_max=45)],
    milestones=[5]) for warm-up then cosine."""

    def __init__(self, optimizer, schedulers: Sequence, milestones: Sequence[int]):
        super().__init__(schedulers, optimizer)
        milestones = [int(m) for m in milestones]
        if len(milestones) != len(self._schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(self._schedulers)} schedules need "
                             f"{len(self._schedulers) - 1} milestones, got {len(milestones)}")
        if milestones != sorted(milestones) or any(m < 1 for m in milestones):
            raise ValueError(f"SequentialLR: milestones must be increasing epochs >= 1, "
                             f"got {milestones}")
        self._milestones, self.last_epoch = milestones, 0
        first = self._schedulers[0]
        for group, base in zip(self.optimizer.param_groups, first.base_lrs):
            group["lr"] = group.get("initial_lr", base)
        first._restart()  # undo the later schedules' construction: epoch 0 is the first's
        self._last_lr = first.get_last_lr()

    @replayed
    def step(self) -> float:
        """The next epoch of the schedule whose turn it is; the first group's lr."""
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        current = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            current._restart()
        else:
            current.step()
        self._last_lr = current.get_last_lr()
        return self._last_lr[0]
