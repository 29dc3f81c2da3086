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
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ._display import html_table
from .autograd import no_grad
from .callbacks import (Callback, EarlyStopping, GradientClipping,  # noqa: F401 (also here)
                        LearningRateLogger, ModelCheckpoint, TerminateOnNaN, _EpochEndFunction,
                        has_state)
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

    def __repr__(self) -> str:
        parts = [f"{self.epochs} epochs", f"{len(self.costs)} steps"]
        if self.epoch_costs:
            parts.append(f"last epoch's cost {self.epoch_costs[-1]:.4g}")
        for where, values in (("train", self.train), ("dev", self.dev)):
            last = ", ".join(f"{k} {v[-1]:.4g}" for k, v in values.items() if v)
            if last:
                parts.append(f"{where}: {last}")
        if self.stopped_early:
            parts.append("stopped early")
        return f"History({'; '.join(parts)})"

    def _repr_html_(self) -> str:
        """One row per epoch (the first and last five when there are more than 12)."""
        columns = {"lr": self.lrs, "cost": self.epoch_costs,
                   **{f"train {k}": v for k, v in self.train.items()},
                   **{f"dev {k}": v for k, v in self.dev.items()}}
        shown = list(range(self.epochs))
        if len(shown) > 12:
            shown = shown[:5] + [None] + shown[-5:]
        rows = [["..."] * (len(columns) + 1) if e is None else
                [e + 1] + [f"{v[e]:.4g}" if e < len(v) else "" for v in columns.values()]
                for e in shown]
        return html_table(["epoch", *columns], rows, caption=repr(self))


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


FIT_CALL = "fit(model, loss_fn, optimizer, (X, y), epochs)"


def _check_fit_arguments(loss_fn, optimizer, data) -> None:
    """Name fit's argument order when loss_fn, optimizer or data is of the wrong kind, instead
    of failing later on an attribute or an unpacking."""
    def kind(x) -> str:
        return " ".join(filter(None, (type(x).__name__, getattr(x, "__name__", None))))
    if not all(callable(getattr(optimizer, m, None)) for m in ("step", "zero_grad")):
        raise TypeError(f"fit: optimizer must have step() and zero_grad() (an optim.Optimizer), "
                        f"got {kind(optimizer)}; the order is {FIT_CALL}")
    if not callable(loss_fn):
        raise TypeError(f"fit: loss_fn must be callable, as loss_fn(model(X), y), got "
                        f"{kind(loss_fn)}; the order is {FIT_CALL}")
    if isinstance(data, (np.ndarray, Tensor)):
        raise TypeError(f"fit: data must be an (X, y) pair, got one array of shape {data.shape}; "
                        f"pass X and y as one pair: {FIT_CALL}")


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


def _interactive() -> bool:
    """Whether someone is watching: stderr is a terminal, or we run in a Jupyter kernel."""
    isatty = getattr(sys.stderr, "isatty", None)
    if isatty is not None and isatty():
        return True
    return _jupyter_kernel()


def _jupyter_kernel() -> bool:
    """Whether we run in a Jupyter kernel (IPython with a kernel, not a terminal IPython)."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _progress_bar(progress: bool | None, epochs: int, initial: int = 0):
    if progress is False or (progress is None and not _interactive()):
        return None
    try:
        tqdm = _tqdm_class()
    except ImportError:
        if progress:
            raise ImportError("fit: progress=True needs tqdm; install the extra: "
                              "pip install 'tinygrad-course[progress]'") from None
        return None
    return tqdm(total=epochs, initial=initial, unit="epoch", file=sys.stderr)


def _tqdm_class():
    """tqdm.auto's bar (a widget in Jupyter), except in a Jupyter kernel without ipywidgets,
    where tqdm.auto would put a TqdmWarning in the cell before falling back to the text bar:
    the text bar directly (Jupyter draws its carriage returns as one updating line)."""
    if _jupyter_kernel():
        import importlib.util
        if importlib.util.find_spec("ipywidgets") is None:
            from tqdm.std import tqdm
            return tqdm
    from tqdm.auto import tqdm
    return tqdm


def _run_state(model, optimizer, schedule, rng: Generator, data, callbacks, history: History,
               next_epoch: int) -> dict:
    """Everything a resumed fit needs to continue bit for bit after `next_epoch - 1`."""
    return {
        "epoch": next_epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "schedule": None if schedule is None else schedule.state_dict(),
        "generator": rng.get_state(),
        "loader": data.state_dict() if has_state(data) else None,
        "callbacks": [c.state_dict() if has_state(c) else None for c in callbacks],
        "history": {"costs": np.array(history.costs, dtype=np.float64),
                    "epoch_costs": np.array(history.epoch_costs, dtype=np.float64),
                    "lrs": np.array(history.lrs, dtype=np.float64),
                    "train": {k: np.array(v, dtype=np.float64) for k, v in history.train.items()},
                    "dev": {k: np.array(v, dtype=np.float64) for k, v in history.dev.items()},
                    "stopped_early": history.stopped_early},
    }


def _restore(state: dict, model, optimizer, schedule, rng: Generator, data, callbacks,
             history: History) -> int:
    """Load a `_run_state` back; the epoch to continue from."""
    from .serialization import check_state_keys
    check_state_keys("fit", state, ("epoch", "model", "optimizer", "schedule", "generator",
                                    "loader", "callbacks", "history"), "the checkpoint")
    if (state["schedule"] is None) != (schedule is None):
        raise ValueError("fit: the checkpoint was saved " + ("without" if schedule else "with")
                         + " a schedule; resume with the same arguments as the saved run")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if schedule is not None:
        schedule.load_state_dict(state["schedule"])
    rng.set_state(state["generator"])
    if state["loader"] is not None and has_state(data):
        data.load_state_dict(state["loader"])
    for c, saved in zip(callbacks, state["callbacks"]):
        if saved is not None and has_state(c):
            c.load_state_dict(saved)
    saved = state["history"]
    history.costs = saved["costs"].tolist()
    history.epoch_costs = saved["epoch_costs"].tolist()
    history.lrs = saved["lrs"].tolist()
    history.train = {k: v.tolist() for k, v in saved["train"].items()}
    history.dev = {k: v.tolist() for k, v in saved["dev"].items()}
    history.stopped_early = bool(saved["stopped_early"])
    return int(state["epoch"])


def _plateau_metric(schedule, history: History) -> float:
    """ReduceLROnPlateau's metric for this epoch: its `monitor`, else the dev cost, else the
    epoch's training cost."""
    from .callbacks import _monitored
    monitor = schedule.monitor or ("dev_cost" if history.dev else "cost")
    return _monitored(monitor, history, "fit (ReduceLROnPlateau)")


def fit(model, loss_fn: Callable, optimizer, data, epochs: int, schedule=None, dev=None,
        metrics: Mapping[str, Metric] | None = None, callbacks: Sequence = (),
        progress: bool | None = None, batch_size: int = 64, shuffle: bool = True,
        seed: int | np.random.Generator | Generator | None = None, *,
        generator: Generator | None = None, checkpoint: str | os.PathLike | None = None,
        resume: bool = False, jit: bool = False) -> History:
    """Train `model` for `epochs` epochs of mini-batch steps: zero_grad, cost = loss_fn(model(X), y),
    backward, optimizer.step(); returns the `History` of costs, lrs and metrics.

    `data` (and `dev`) is an (X, y) pair of arrays, cut by `tc.data.minibatches` with `batch_size`,
    `shuffle` and `seed` (a fresh permutation each epoch; dev is evaluated whole), or a function
    returning an epoch's (X_batch, y_batch) pairs, or a re-iterable of them (a list, a DataLoader).
    `metrics` maps names to fn(model_output, y) -> float, evaluated after each epoch on the
    training data (in eval mode, whole) and on `dev`, whose cost is recorded too.
    `schedule.step()` runs after each epoch (after each mini-batch if `schedule.by == "batch"`).
    A ReduceLROnPlateau schedule is stepped with its metric (see its `monitor`).
    `callbacks` are `Callback`s (`tc.callbacks`) or functions fn(epoch, history) -> stop?.
    `progress`: a tqdm bar (`tqdm.auto`: a widget in Jupyter); None: on when tqdm is installed
    and someone watches (stderr is a terminal, or a Jupyter kernel). The steps run in training mode
    (dropout on, batch statistics) even when the model was in eval mode, which it is again after.
    A non-finite cost before a step, or a non-finite parameter after an epoch's last step, raises
    FloatingPointError naming the epoch, the step and (for a parameter) its name in the model.
    Every draw of the run (shuffling, dropout masks) comes from `generator`, or one made from
    `seed`, else from the thread's default generator (`tc.manual_seed`, `tc.use_generator`).
    With `checkpoint=path`, the model, optimizer, schedule, generator, loader, callbacks and
    history are saved there atomically after every epoch; with `resume=True` a run whose
    checkpoint exists continues from it, and ends with weights bit-identical to a run never
    interrupted (give the same arguments; the model and optimizer may be fresh).
    `jit=True` records each batch shape's zero_grad, forward and backward with `tc.jit` at the
    start of every epoch (after the callbacks, so a Python value a callback changed is read) and
    replays them: the same numbers, faster on small models (the cost is then checked after
    backward, still before the step).
    """
    if resume and checkpoint is None:
        raise ValueError("fit: resume=True needs checkpoint=path (the file each epoch is saved "
                         "to and resumed from)")
    rng = rng_from(seed, "fit", generator=generator)
    with use_generator(rng):
        return _train(model, loss_fn, optimizer, data, epochs, schedule, dev, metrics, callbacks,
                      progress, batch_size, shuffle, rng, checkpoint, resume, jit)


def _jitted_forward_backward(model, loss_fn, optimizer) -> Callable:
    """fit's step up to the update as a `tc.jit`: zero_grad, cost = loss_fn(model(X), y),
    backward; returns the cost (the update stays eager, after the callbacks)."""
    from .jit import jit

    @jit
    def forward_backward(X, y):
        optimizer.zero_grad()
        cost = loss_fn(model(X), y)
        cost.backward()
        return cost
    return forward_backward


def _jitted_cost(step, X, y) -> float:
    """The cost of one jitted batch; a step tc.jit refuses names fit and its fix."""
    from .jit import JitError
    try:
        return step(_as_tensor(X), _as_tensor(y)).item()
    except JitError as e:
        raise JitError(f"fit(jit=True): {e}. The step here is fit's own (zero_grad, "
                       "loss_fn(model(X), y), backward): take the read or the change out of "
                       "loss_fn and the model's forward, or pass jit=False") from None


def _train(model, loss_fn, optimizer, data, epochs, schedule, dev, metrics, callbacks, progress,
           batch_size, shuffle, seed, checkpoint=None, resume=False, use_jit=False) -> History:
    """`fit`'s loop, run under its generator."""
    _check_fit_arguments(loss_fn, optimizer, data)
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
    start = 0
    if resume and os.path.exists(checkpoint):
        from .serialization import load
        start = _restore(load(checkpoint), model, optimizer, schedule, seed, data, callbacks,
                         history)
        if history.stopped_early:
            start = epochs
    from .optim.lr_scheduler import ReduceLROnPlateau
    plateau = isinstance(schedule, ReduceLROnPlateau)
    stop_on_nonfinite = any(getattr(c, "stops_on_nonfinite", False) for c in callbacks)
    bar = _progress_bar(progress, epochs, min(start, epochs))
    iteration = len(history.costs)
    # A model left in eval mode (after evaluating it) would silently train without dropout and
    # with batch norm's running averages; evaluate() puts back the mode it found.
    was_training = getattr(model, "training", None) if hasattr(model, "train") else None
    if was_training is False:
        model.train()
    step = _jitted_forward_backward(model, loss_fn, optimizer) if use_jit else None
    try:
        for epoch in range(start, epochs):
            for c in callbacks:
                c.on_epoch_begin(epoch)
            if use_jit:  # (records again: a Python value a callback changed is read anew)
                step.clear_cache()
            history.lrs.append(optimizer.lr)
            total, m = 0.0, 0
            for X, y in train_batches():
                if use_jit:
                    value = _jitted_cost(step, X, y)
                else:
                    optimizer.zero_grad()
                    cost = loss_fn(model(_as_tensor(X)), _as_tensor(y))
                    value = cost.item()
                if not math.isfinite(value) and stop_on_nonfinite:
                    warnings.warn(f"fit: TerminateOnNaN stopped training, the cost became "
                                  f"{value} at epoch {epoch}, iteration {iteration}",
                                  RuntimeWarning, stacklevel=3)
                    history.stopped_early = True
                    break
                if not math.isfinite(value):  # stop before the step spreads nan to the weights
                    raise FloatingPointError(
                        f"fit: the cost became {value} at epoch {epoch}, iteration {iteration}; "
                        f"lower the learning rate (now {optimizer.lr:g}) or check the data")
                if not use_jit:
                    cost.backward()
                for c in callbacks:
                    c.on_before_optimizer_step(iteration)
                optimizer.step()
                history.costs.append(value)
                total, m = total + value * len(X), m + len(X)
                for c in callbacks:
                    c.on_batch_end(iteration, value)
                iteration += 1
                if schedule is not None and schedule.by == "batch":
                    schedule.step()
            if history.stopped_early:  # TerminateOnNaN
                break
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
            if plateau:
                schedule.step(_plateau_metric(schedule, history))
            elif schedule is not None and schedule.by == "epoch":
                schedule.step()
            if bar is not None:
                bar.set_postfix(cost=f"{history.epoch_costs[-1]:.4g}", refresh=False)
                bar.update(1)
            # Every callback sees the epoch end, even after one has asked to stop.
            if any([bool(c.on_epoch_end(epoch, history)) for c in callbacks]):
                history.stopped_early = True
            if checkpoint is not None:
                from .serialization import save
                save(_run_state(model, optimizer, schedule, seed, data, callbacks, history,
                                epoch + 1), checkpoint)
            if history.stopped_early:
                break
    finally:
        if bar is not None:
            bar.close()
        if was_training is False:
            model.train(False)
    for c in callbacks:
        c.on_train_end(history)
    return history
