"""`fit`: the mini-batch training loop you would write by hand, plus the course's cost curves.

Writing the loop yourself stays the primary way, and is all `fit` does:

    for epoch in range(epochs):
        for X_batch, y_batch in tc.data.minibatches(X, y, batch_size=64, seed=rng):
            optimizer.zero_grad()
            cost = loss_fn(model(tc.Tensor(X_batch)), tc.Tensor(y_batch))
            cost.backward()
            optimizer.step()
        schedule.step()
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from .autograd import bump_version
from .autograd import no_grad
from .random import Generator, rng_from, use_generator
from .tensor import Tensor

Metric = Callable[[Tensor, Tensor], float]


@dataclass
class History:
    """What `fit` recorded. `costs`: one per mini-batch (iteration); `epoch_costs`: each epoch's
    mean mini-batch cost weighted by batch size; `lrs`: the lr each epoch started with;
    `train` / `dev`: name -> one value per epoch after it, in eval mode, for "cost" and each
    metric (`train` only when metrics are given)."""

    costs: list[float] = field(default_factory=list)
    epoch_costs: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    train: dict[str, list[float]] = field(default_factory=dict)
    dev: dict[str, list[float]] = field(default_factory=dict)
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        """How many epochs ran."""
        return len(self.epoch_costs)


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

    def _value(self, history: History) -> float:
        if self.monitor == "cost":
            series = history.epoch_costs
        else:
            split, _, name = self.monitor.partition("_")
            series = {"dev": history.dev, "train": history.train}.get(split, {}).get(name)
        if series is None:
            raise ValueError(f"EarlyStopping: nothing recorded under {self.monitor!r}; give fit "
                             "dev= data or the metric, or monitor 'cost'")
        return series[-1]

    def on_epoch_end(self, epoch: int, history: History) -> bool:
        """Record the monitored value; True (stop) after `patience` epochs without an improvement
        of more than `min_delta`."""
        value = self.sign * self._value(history)
        if value < self.best - self.min_delta:
            self.best, self.best_epoch = value, epoch
            if self.restore_best:
                self._best_state = (self.model.state_dict() if _has_state(self.model)
                                    else [p.data.copy() for p in self.model.parameters()])
            return False
        return epoch - self.best_epoch >= self.patience

    def on_train_end(self, history: History) -> None:
        """With `restore_best`, load the best epoch's weights (and buffers) back into the model."""
        if not self.restore_best or self._best_state is None:
            return
        if _has_state(self.model):
            self.model.load_state_dict(self._best_state)
            return
        for p, best in zip(self.model.parameters(), self._best_state):
            np.copyto(p.data, best)
            bump_version(p)


def _has_state(model) -> bool:
    return callable(getattr(model, "state_dict", None)) and callable(
        getattr(model, "load_state_dict", None))


def _as_tensor(a) -> Tensor:
    return a if isinstance(a, Tensor) else Tensor(a)


def _is_arrays(data) -> bool:
    return (isinstance(data, tuple) and len(data) == 2
            and all(isinstance(a, (np.ndarray, Tensor)) for a in data))


def _as_pair(data):
    """An (X, y) pair with Python lists in it, as arrays converted the way `tc.tensor` converts
    lists (floats become the default float dtype); anything else unchanged."""
    if (isinstance(data, tuple) and len(data) == 2 and any(isinstance(a, list) for a in data)
            and all(isinstance(a, (list, np.ndarray, Tensor)) for a in data)):
        return tuple(Tensor(a).data if isinstance(a, list) else a for a in data)
    return data


def _check_parameters_finite(model, optimizer, epoch: int, iteration: int) -> None:
    """Raise if a step left a parameter inf or NaN: the cost check before each step sees what
    every step but the epoch's last did; this runs after the last."""
    if callable(getattr(model, "named_parameters", None)):
        named = model.named_parameters()
    else:
        params = getattr(model, "parameters", lambda: getattr(optimizer, "params", ()))()
        named = ((f"params[{i}]", p) for i, p in enumerate(params))
    for name, p in named:
        if not np.isfinite(p.data).all():
            bad = "nan" if np.isnan(p.data).any() else "inf"
            raise FloatingPointError(
                f"fit: parameter {name} became {bad} at epoch {epoch}, step {iteration} (the "
                f"epoch's last); lower the learning rate (now {optimizer.lr:g}) or check the data")


def _batch_source(data, what: str, batch_size: int, shuffle: bool, seed) -> Callable[[], Iterable]:
    """A function giving one epoch's batches, from (X, y) arrays, a function or a re-iterable."""
    if _is_arrays(data):
        from .data import minibatches
        X, y = data
        rng = rng_from(seed)  # one generator for the run: a fresh permutation every epoch
        return lambda: minibatches(X, y, batch_size, shuffle, seed=rng)
    if callable(data):
        return data
    if not isinstance(data, Iterable):
        raise TypeError(f"fit: {what} must be (X, y) arrays, a function returning batches or a "
                        f"re-iterable of batches, got {type(data).__name__}")
    if iter(data) is data:
        raise TypeError(f"fit: {what} is a one-shot iterator (it would be empty after the first "
                        "epoch); pass a list, a DataLoader or a function returning the batches")
    return lambda: data


def evaluate(model, loss_fn, batches: Iterable, metrics: Mapping[str, Metric]) -> dict[str, float]:
    """Mean cost and metrics over `batches` in eval mode without a graph, each batch weighted by
    its size (exact for accuracy and mean losses)."""
    was_training = getattr(model, "training", None) if hasattr(model, "eval") else None
    if was_training is not None:
        model.eval()
    totals, m = dict.fromkeys(["cost", *metrics], 0.0), 0
    try:
        with no_grad():
            for X, y in batches:
                out, y = model(_as_tensor(X)), _as_tensor(y)
                n = len(y)
                totals["cost"] += float(loss_fn(out, y)) * n
                for name, metric in metrics.items():
                    totals[name] += float(metric(out, y)) * n
                m += n
    finally:
        if was_training is not None:
            model.train(was_training)
    if m == 0:
        raise ValueError("evaluate: the data gave no batches")
    return {name: total / m for name, total in totals.items()}


def _progress_bar(progress: bool | None, epochs: int):
    if progress is False or (progress is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise ImportError("fit: progress=True needs tqdm; install the extra: "
                              "pip install 'tinygrad-course[progress]'") from None
        return None
    return tqdm(total=epochs, unit="epoch", file=sys.stderr)


def fit(model, loss_fn: Callable, optimizer, data, epochs: int, schedule=None, dev=None,
        metrics: Mapping[str, Metric] | None = None, callbacks: Sequence = (),
        progress: bool | None = None, batch_size: int = 64, shuffle: bool = True,
        seed: int | np.random.Generator | Generator | None = None, *,
        generator: Generator | None = None) -> History:
    """Train `model` for `epochs` epochs of mini-batch steps: zero_grad, cost = loss_fn(model(X), y),
    backward, optimizer.step(); returns the `History` of costs, lrs and metrics.

    `data` (and `dev`) is an (X, y) pair of arrays, cut by `tc.data.minibatches` with `batch_size`,
    `shuffle` and `seed` (a fresh permutation each epoch; dev is evaluated whole), or a function
    returning an epoch's (X_batch, y_batch) pairs, or a re-iterable of them (a list, a DataLoader).
    `metrics` maps names to fn(model_output, y) -> float, evaluated after each epoch on the
    training data (in eval mode, whole) and on `dev`, whose cost is recorded too.
    `schedule.step()` runs after each epoch (after each mini-batch if `schedule.by == "batch"`).
    `callbacks` are `Callback`s or functions fn(epoch, history) -> stop?. `progress`: a tqdm bar
    (None: only when tqdm is installed and stderr is a terminal). The steps run in training mode
    (dropout on, batch statistics) even when the model was in eval mode, which it is again after.
    A non-finite cost before a step, or a non-finite parameter after an epoch's last step, raises
    FloatingPointError naming the epoch, the step and (for a parameter) its name in the model.
    Every draw of the run (shuffling, dropout masks) comes from `generator`, or one made from
    `seed`, else from the thread's default generator (`tc.manual_seed`, `tc.use_generator`).
    """
    rng = rng_from(seed, "fit", generator=generator)
    with use_generator(rng):
        return _train(model, loss_fn, optimizer, data, epochs, schedule, dev, metrics, callbacks,
                      progress, batch_size, shuffle, rng)


def _train(model, loss_fn, optimizer, data, epochs, schedule, dev, metrics, callbacks, progress,
           batch_size, shuffle, seed) -> History:
    """`fit`'s loop, run under its generator."""
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    if schedule is not None and getattr(schedule, "optimizer", optimizer) is not optimizer:
        raise ValueError(f"fit: the schedule {type(schedule).__name__} sets the lr of another "
                         f"optimizer than the one given; build it on this one: "
                         f"{type(schedule).__name__}(optimizer, ...)")
    metrics = dict(metrics or {})
    data, dev = _as_pair(data), _as_pair(dev)
    train_batches = _batch_source(data, "data", batch_size, shuffle, seed)
    train_eval = (lambda: [data]) if _is_arrays(data) else train_batches
    dev_batches = None if dev is None else (
        (lambda: [dev]) if _is_arrays(dev) else _batch_source(dev, "dev", batch_size, False, None))
    callbacks = [c if isinstance(c, Callback) else _EpochEndFunction(c) for c in callbacks]
    history = History()
    for c in callbacks:
        c.model, c.optimizer = model, optimizer
        c.on_train_begin(history)
    bar = _progress_bar(progress, epochs)
    iteration = 0
    # A model left in eval mode (after evaluating it) would silently train without dropout and
    # with batch norm's running averages; evaluate() puts back the mode it found.
    was_training = getattr(model, "training", None) if hasattr(model, "train") else None
    if was_training is False:
        model.train()
    try:
        for epoch in range(epochs):
            for c in callbacks:
                c.on_epoch_begin(epoch)
            history.lrs.append(optimizer.lr)
            total, m = 0.0, 0
            for X, y in train_batches():
                optimizer.zero_grad()
                cost = loss_fn(model(_as_tensor(X)), _as_tensor(y))
                value = cost.item()
                if not math.isfinite(value):  # stop before the step spreads nan to the weights
                    raise FloatingPointError(
                        f"fit: the cost became {value} at epoch {epoch}, iteration {iteration}; "
                        f"lower the learning rate (now {optimizer.lr:g}) or check the data")
                cost.backward()
                optimizer.step()
                history.costs.append(value)
                total, m = total + value * len(X), m + len(X)
                for c in callbacks:
                    c.on_batch_end(iteration, value)
                iteration += 1
                if schedule is not None and schedule.by == "batch":
                    schedule.step()
            if m == 0:
                raise ValueError(f"fit: data gave no batches in epoch {epoch}")
            _check_parameters_finite(model, optimizer, epoch, iteration - 1)
            history.epoch_costs.append(total / m)
            if metrics:
                for name, v in evaluate(model, loss_fn, train_eval(), metrics).items():
                    history.train.setdefault(name, []).append(v)
            if dev_batches is not None:
                for name, v in evaluate(model, loss_fn, dev_batches(), metrics).items():
                    history.dev.setdefault(name, []).append(v)
            if schedule is not None and schedule.by == "epoch":
                schedule.step()
            if bar is not None:
                bar.set_postfix(cost=f"{history.epoch_costs[-1]:.4g}", refresh=False)
                bar.update(1)
            # Every callback sees the epoch end, even after one has asked to stop.
            if any([bool(c.on_epoch_end(epoch, history)) for c in callbacks]):
                history.stopped_early = True
                break
    finally:
        if bar is not None:
            bar.close()
        if was_training is False:
            model.train(False)
    for c in callbacks:
        c.on_train_end(history)
    return history
