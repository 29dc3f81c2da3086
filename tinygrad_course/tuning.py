"""Hyperparameter search: random trials on the right scale, coarse to fine, in parallel, resumable.

A search space maps names to distributions (or constants):

    space = {"lr": log_uniform(1e-4, 1), "beta": one_minus_log_uniform(0.9, 0.999),
             "hidden": int_uniform(10, 100), "act": choice(["relu", "tanh"])}

`train_fn(params, seed)` trains one model with those hyperparameters and returns its dev metric,
or a dict of metrics holding `metric`. Each trial runs under a generator of its own seeded from
`seed` (`tc.random.fork_rng(seed)`, for its thread only), so initialization, dropout and
shuffling drawn from the default generator rerun bit-identically on any executor. Trials run in
turn, or on any `concurrent.futures.Executor`, the lecture's "caviar" strategy:
`ProcessPoolExecutor` on one machine (train_fn must then be a picklable top-level function), or
`client.get_executor()` of a `dask.distributed` Client on a cluster (`pip install
tinygrad-course[dask]`).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import tempfile
import warnings
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._display import html_table
from .random import fork_rng, get_rng


# ---- distributions -----------------------------------------------------------------------------
class Distribution:
    """A hyperparameter's range: `sample(rng)` draws a value; `zoom(values)` narrows the range to
    the region around `values` (the best trials' values), in the scale it is sampled on."""

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn with `rng` (a numpy Generator)."""
        raise NotImplementedError

    def zoom(self, values: Sequence, widen: float = 0.5) -> "Distribution":
        """This range narrowed around `values` (the best trials'), widened by `widen` times their
        span, on the sampling scale."""
        raise NotImplementedError


class _Interval(Distribution):
    """Uniform on the scale r = _to_scale(x), between low and high. zoom: the span of the values
    on that scale, widened by `widen` times itself (at least 5% of the range) on each side and kept
    inside the current range."""

    _MIN_PAD = 0.05

    def __init__(self, low: float, high: float):
        self.low, self.high = low, high
        self._r = sorted((self._to_scale(low), self._to_scale(high)))

    def _to_scale(self, x):
        return x

    def _from_scale(self, r):
        return r

    def sample(self, rng: np.random.Generator) -> float:
        """r = uniform(low, high) on the sampling scale, mapped back: x = from_scale(r)."""
        return float(self._from_scale(rng.uniform(*self._r)))

    def _zoomed_bounds(self, values: Sequence, widen: float) -> tuple[float, float]:
        r = self._to_scale(np.asarray(values, dtype=np.float64))
        lo, hi = float(r.min()), float(r.max())
        pad = max(widen * (hi - lo), self._MIN_PAD * (self._r[1] - self._r[0]))
        ends = self._from_scale(np.array([max(self._r[0], lo - pad), min(self._r[1], hi + pad)]))
        return max(self.low, float(ends.min())), min(self.high, float(ends.max()))

    def zoom(self, values: Sequence, widen: float = 0.5) -> "_Interval":
        """The span of `values` on the sampling scale, widened by `widen` times itself (at least 5%
        of the range), inside the current range."""
        return type(self)(*self._zoomed_bounds(values, widen))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.low:.6g}, {self.high:.6g})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and (other.low, other.high) == (self.low, self.high)


class Uniform(_Interval):
    """x = uniform(low, high)."""

    def __init__(self, low: float, high: float):
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"uniform: need finite low < high, got low={low!r}, high={high!r}")
        super().__init__(float(low), float(high))


class LogUniform(_Interval):
    """x = 10**r, r = uniform(log10(low), log10(high)): as many samples per decade
    (the course's r = -4 * np.random.rand(); lr = 10**r for log_uniform(1e-4, 1))."""

    def __init__(self, low: float, high: float):
        if not (0 < low < high < math.inf):
            raise ValueError(f"log_uniform: need 0 < low < high, got low={low!r}, high={high!r}")
        super().__init__(float(low), float(high))

    def _to_scale(self, x):
        return np.log10(x)

    def _from_scale(self, r):
        return 10.0 ** r


class OneMinusLogUniform(_Interval):
    """x = 1 - 10**r, r = uniform(log10(1 - high), log10(1 - low)): for betas, where 0.9 -> 0.9005
    hardly matters but 0.999 -> 0.9995 halves the averaging window 1 / (1 - beta)."""

    def __init__(self, low: float, high: float):
        if not (0 <= low < high < 1):
            raise ValueError(f"one_minus_log_uniform: need 0 <= low < high < 1, got low={low!r}, "
                             f"high={high!r}")
        super().__init__(float(low), float(high))

    def _to_scale(self, x):
        return np.log10(1.0 - x)

    def _from_scale(self, r):
        return 1.0 - 10.0 ** r


class IntUniform(_Interval):
    """x = an integer drawn uniformly from low..high, both included. zoom rounds outwards."""

    def __init__(self, low: int, high: int):
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (low, high)) \
                or low > high:
            raise ValueError(f"int_uniform: need integers low <= high, got low={low!r}, high={high!r}")
        super().__init__(int(low), int(high))

    def sample(self, rng: np.random.Generator) -> int:
        """An integer drawn uniformly from low..high, both included."""
        return int(rng.integers(self.low, self.high + 1))

    def zoom(self, values: Sequence, widen: float = 0.5) -> "IntUniform":
        """The zoomed interval, rounded outwards to integers."""
        lo, hi = self._zoomed_bounds(values, widen)
        return IntUniform(math.floor(lo), math.ceil(hi))


class Choice(Distribution):
    """x = one of `options`, each equally likely. zoom keeps the options among the values."""

    def __init__(self, options: Sequence):
        self.options = list(options)
        if not self.options:
            raise ValueError("choice: needs at least one option, got none")

    def sample(self, rng: np.random.Generator) -> Any:
        """One of the options, each with probability 1 / len(options)."""
        return self.options[int(rng.integers(len(self.options)))]

    def zoom(self, values: Sequence, widen: float = 0.5) -> "Choice":
        """The options among `values` (all of them if none is)."""
        kept = [o for o in self.options if any(o == v for v in values)]
        return Choice(kept or self.options)

    def __repr__(self) -> str:
        return f"Choice({self.options!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Choice) and other.options == self.options


def uniform(low: float, high: float) -> Uniform:
    """x ~ U(low, high): for hyperparameters that act on a linear scale (keep_prob, say)."""
    return Uniform(low, high)


def log_uniform(low: float, high: float) -> LogUniform:
    """x = 10**r, r ~ U(log10 low, log10 high): the course's scale for the learning rate."""
    return LogUniform(low, high)


def one_minus_log_uniform(low: float, high: float) -> OneMinusLogUniform:
    """x = 1 - 10**r, r ~ U(log10(1 - high), log10(1 - low)): the course's scale for betas."""
    return OneMinusLogUniform(low, high)


def int_uniform(low: int, high: int) -> IntUniform:
    """An integer uniform in low..high, both included (hidden units, layers, batch size)."""
    return IntUniform(low, high)


def choice(options: Sequence) -> Choice:
    """One of `options`, each equally likely (an activation, an optimizer)."""
    return Choice(options)


def sample_space(space: Mapping[str, Any], rng: np.random.Generator) -> dict:
    """One value per name: a draw from each Distribution; anything else is a constant."""
    return {k: v.sample(rng) if isinstance(v, Distribution) else v for k, v in space.items()}


def zoom_space(space: Mapping[str, Any], best: Sequence[Mapping], widen: float = 0.5) -> dict:
    """The space narrowed around the best trials' params (constants stay as they are)."""
    return {k: v.zoom([p[k] for p in best], widen) if isinstance(v, Distribution) else v
            for k, v in space.items()}


# ---- trials and results ------------------------------------------------------------------------
@dataclass
class Trial:
    """One finished trial: its index, hyperparameters, training seed, metrics and search round."""
    index: int
    params: dict
    seed: int
    metrics: dict
    round: int = 0

    def record(self, search_seed: int, settings: Mapping | None = None) -> dict:
        """The trial as a JSON-ready dict (tuples in params tagged, so they read back as tuples)."""
        record = {"trial": self.index, "round": self.round, "search_seed": search_seed,
                  "seed": self.seed, "params": _tag_tuples(self.params), "metrics": self.metrics}
        return record if settings is None else {**record, "settings": _tag_tuples(dict(settings))}


@dataclass(repr=False)
class Results:
    """Finished trials, best first by `metric` (NaN last). `spaces` holds each round's space."""
    trials: list
    metric: str
    mode: str
    spaces: list = field(default_factory=list)

    def __post_init__(self):
        sign = -1.0 if self.mode == "max" else 1.0

        def key(t: Trial):
            v = t.metrics[self.metric]
            return (math.isnan(v), sign * v if not math.isnan(v) else 0.0, t.index)

        self.trials = sorted(self.trials, key=key)

    @property
    def best(self) -> Trial:
        """The best trial by `metric` (the first of `trials`)."""
        if not self.trials:
            raise ValueError("Results.best: no trial has finished")
        return self.trials[0]

    def __len__(self) -> int:
        return len(self.trials)

    def __iter__(self):
        return iter(self.trials)

    def to_records(self) -> list[dict]:
        """One flat dict per trial, best first: trial, round, seed, then params, then metrics
        (a metric named like a param wins), ready for `pandas.DataFrame(records)`."""
        return [{"trial": t.index, "round": t.round, "seed": t.seed, **t.params, **t.metrics}
                for t in self.trials]

    def table(self, top: int | None = None) -> str:
        """The trials as a text table, best first: rank, trial, (round), params, metrics."""
        header, rows = self._rows(top)
        widths = [max(len(c) for c in col) for col in zip(header, *rows)]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
                         for line in [header, *rows])

    def _repr_html_(self) -> str:
        """The best 20 trials as an HTML table (a notebook shows this)."""
        header, rows = self._rows(20)
        more = len(self.trials) - len(rows)
        return html_table(header, rows, caption=repr(self),
                          footer=f"... and {more} more: print(results) shows every trial" if more > 0 else "")

    def _rows(self, top: int | None) -> tuple[list[str], list[list[str]]]:
        trials = self.trials[:top]
        params = list(dict.fromkeys(k for t in trials for k in t.params))
        metrics = [self.metric] + [k for k in dict.fromkeys(k for t in trials for k in t.metrics)
                                   if k != self.metric]
        rounds = any(t.round for t in self.trials)
        header = ["rank", "trial"] + (["round"] if rounds else []) + params + metrics
        rows = [[str(r + 1), str(t.index)] + ([str(t.round)] if rounds else [])
                + [_fmt(t.params.get(k, "")) for k in params] + [_fmt(t.metrics.get(k, "")) for k in metrics]
                for r, t in enumerate(trials)]
        return header, rows

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        best = f", best {self.metric}={_fmt(self.best.metrics[self.metric])} (trial {self.best.index})" \
            if self.trials else ""
        return f"Results({len(self.trials)} trials{best})"


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class TrialFailed(RuntimeError):
    """A trial's train_fn raised: the finished trials are in the log, ready to resume."""


# ---- the log -----------------------------------------------------------------------------------
_TUPLE = "__tuple__"


def _plain(value: Any, name: str, what: str = "hyperparameter") -> Any:
    """`value` as the JSON log gives it back: NumPy scalars become Python numbers, lists and tuples
    keep their kind; anything JSON cannot hold exactly is refused, naming `name`."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if type(value) in (list, tuple):
        return type(value)(_plain(v, name, what) for v in value)
    if type(value) is dict and all(isinstance(k, str) for k in value) and set(value) != {_TUPLE}:
        return {k: _plain(v, name, what) for k, v in value.items()}
    raise TypeError(f"tuning: {what} {name!r} = {value!r} is a {type(value).__name__}, which the "
                    "JSON trial log cannot hold exactly; use numbers, strings, None, and lists, "
                    "tuples or str-keyed dicts of them")


def _tag_tuples(value: Any) -> Any:
    """JSON has no tuples: a tuple is written as {"__tuple__": [...]} (read back by _untag_tuple)."""
    if isinstance(value, tuple):
        return {_TUPLE: [_tag_tuples(v) for v in value]}
    if isinstance(value, list):
        return [_tag_tuples(v) for v in value]
    if isinstance(value, dict):
        return {k: _tag_tuples(v) for k, v in value.items()}
    return value


def _untag_tuple(obj: dict) -> Any:
    return tuple(obj[_TUPLE]) if set(obj) == {_TUPLE} and isinstance(obj[_TUPLE], list) else obj


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _record_problem(r: Any) -> str | None:
    """Why `r` (a parsed JSON line) is not a trial record, or None if it is one."""
    if not isinstance(r, dict):
        return f"a JSON {type(r).__name__}, not an object"
    missing = [k for k in ("trial", "search_seed", "seed", "params", "metrics") if k not in r]
    if missing:
        return f"it has no {', '.join(missing)}"
    bad = [k for k in ("trial", "round", "search_seed", "seed") if k in r and not _is_count(r[k])]
    bad += [k for k in ("params", "metrics", "settings") if k in r and not isinstance(r[k], dict)]
    if not bad:
        bad = [f"metrics.{k}" for k, v in r["metrics"].items()
               if isinstance(v, bool) or not isinstance(v, (int, float))]
    return f"bad {', '.join(bad)}" if bad else None


class TrialLog:
    """Finished trials as JSON lines, each appended, flushed and fsynced as soon as it finishes.

    Reading tolerates a torn last line (a crash in the middle of a write): it is cut off with a
    warning, so the next append starts on a line of its own, and that trial simply runs again.
    Any other line that is not a trial record is an error naming the file and line (as NumPy's
    loadtxt names the row it cannot read).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def read(self) -> list[dict]:
        """The finished trials' records; a torn last line (a crash mid-write) is cut off, any other
        bad line raises naming the line."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        lines = data.split(b"\n")  # the last item is what follows the last newline: b"" if whole
        records = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"line {number} of the log {self.path}"
            try:
                record = json.loads(line, object_hook=_untag_tuple)
            except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
                if number < len(lines):
                    raise ValueError(f"tuning: {where} is not JSON ({exc}); only a torn last line "
                                     "is expected after a crash") from None
                warnings.warn(f"tuning: {where} is cut short (a crash while it was written); "
                              "skipping it, so that trial runs again", RuntimeWarning, stacklevel=4)
                with open(self.path, "r+b") as f:
                    f.truncate(len(data) - len(line))
                break
            problem = _record_problem(record)
            if problem is not None:
                raise ValueError(f"tuning: {where} is JSON but not a trial record ({problem}); "
                                 "a trial log holds only the lines a search appends")
            records.append(record)
            if number == len(lines):  # whole, but its newline was lost: add it before appending
                with open(self.path, "ab") as f:
                    f.write(b"\n")
        return records

    def append(self, record: dict) -> None:
        """Append one record as a JSON line, flushed and fsynced before returning."""
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())


# ---- running trials ----------------------------------------------------------------------------
def _plan(space: Mapping, search_seed: int, index: int) -> tuple[dict, int]:
    """Trial `index`'s params and training seed: a function of (search_seed, index) alone, so a
    resumed search samples exactly what the crashed one did."""
    rng = np.random.default_rng(np.random.SeedSequence(search_seed, spawn_key=(index,)))
    seed = int(rng.integers(2 ** 31))
    return {k: _plain(v, k) for k, v in sample_space(space, rng).items()}, seed


def _run_trial(train_fn: Callable, params: dict, seed: int) -> Any:
    """train_fn(params, seed) with this thread's default generator seeded from the trial's seed,
    so the trial draws the same numbers whichever thread, process or order runs it."""
    with fork_rng(seed):
        return train_fn(params, seed)


def _metrics(result, metric: str) -> dict:
    if isinstance(result, Mapping):
        metrics = {}
        for k, v in result.items():
            if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool):
                raise TypeError(f"tuning: train_fn returned {k}={v!r}; metrics must be numbers")
            metrics[str(k)] = float(v)
        if metric not in metrics:
            raise ValueError(f"tuning: train_fn returned metrics {sorted(metrics)}, but the search "
                           f"ranks by metric={metric!r}")
        return metrics
    if isinstance(result, (int, float, np.integer, np.floating)) and not isinstance(result, bool):
        return {metric: float(result)}
    raise TypeError(f"tuning: train_fn must return a number or a dict of numbers, got {result!r}")


class _Search:
    """What a search call shares across its rounds: train_fn, executor, metric, the log and the
    trials already finished (from the log)."""

    def __init__(self, train_fn, seed, executor, log, metric, mode, where, settings=None):
        if mode not in ("max", "min"):
            raise ValueError(f"{where}: mode must be 'max' or 'min', got {mode!r}")
        if executor is not None and not isinstance(executor, Executor):
            raise TypeError(f"{where}: executor must be a concurrent.futures.Executor (e.g. "
                            f"ProcessPoolExecutor, or a dask Client's get_executor()), got "
                            f"{type(executor).__name__}")
        self.train_fn, self.executor, self.metric, self.mode, self.where = (
            train_fn, executor, metric, mode, where)
        self.log = TrialLog(log) if log is not None else None
        logged = self.log.read() if self.log is not None else []
        if seed is None:
            seed = logged[0]["search_seed"] if logged else int(get_rng().integers(2 ** 31))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"{where}: seed must be an int >= 0 or None, got {seed!r}")
        self.seed = int(seed)
        self.settings = None if settings is None else \
            {str(k): _plain(v, str(k), "setting") for k, v in settings.items()}
        self.done: dict[int, Trial] = {}
        for r in logged:
            self._check_settings(r.get("settings") or {})
            self.done.setdefault(r["trial"], Trial(r["trial"], r["params"], r["seed"], r["metrics"],
                                                   r.get("round", 0)))

    def _check_settings(self, logged: dict) -> None:
        ours = self.settings or {}
        for k in sorted(set(logged) | set(ours)):
            if logged.get(k, "(not recorded)") != ours.get(k, "(not given)"):
                raise ValueError(
                    f"{self.where}: the log {self.log.path} was written with the setting {k}="
                    f"{logged.get(k, '(not recorded)')!r}, but this search has {k}="
                    f"{ours.get(k, '(not given)')!r}: its trials would be ranked with trials "
                    f"trained otherwise; resume with the same settings, or use a new log")

    def run(self, space: Mapping, indices: range, round_: int = 0) -> list[Trial]:
        """Trials `indices` on `space`: those in the log are checked and reused, the rest run."""
        pending = []
        for i in indices:
            params, seed = _plan(space, self.seed, i)
            if i in self.done:
                if self.done[i].params != params:
                    raise ValueError(
                        f"{self.where}: the log {self.log.path} has trial {i} with params "
                        f"{self.done[i].params}, but this search (seed {self.seed}) samples {params}: "
                        f"another search wrote it; use a new log, or the same seed and space")
            else:
                pending.append((i, params, seed))
        self._execute(pending, round_)
        return [self.done[i] for i in indices]

    def _finish(self, index: int, params: dict, seed: int, metrics: dict, round_: int) -> None:
        trial = Trial(index, params, seed, metrics, round_)
        if self.log is not None:
            self.log.append(trial.record(self.seed, self.settings))
        self.done[index] = trial

    def _failed(self, index: int, params: dict, exc: BaseException) -> TrialFailed:
        saved = f"; the finished trials are in {self.log.path}: call again with it to resume" \
            if self.log is not None else ""
        if isinstance(exc, BrokenProcessPool):
            saved += ("; its worker process died while running it (killed, e.g. by the system "
                      "running out of memory, or crashed in native code)")
        if self.executor is not None and "pickle" in str(exc).lower():
            saved += ("; an executor sends train_fn to other processes, so it must be a function "
                      "defined at the top level of a module, not a lambda or a nested function")
        return TrialFailed(f"{self.where}: trial {index} with params {params} raised "
                           f"{type(exc).__name__}: {exc}{saved}")

    def _execute(self, pending: list, round_: int) -> None:
        if self.executor is None:
            for index, params, seed in pending:
                try:
                    metrics = _metrics(_run_trial(self.train_fn, params, seed), self.metric)
                except Exception as exc:
                    raise self._failed(index, params, exc) from exc
                self._finish(index, params, seed, metrics, round_)
            return
        marks = tempfile.mkdtemp(prefix="tuning-running-") \
            if isinstance(self.executor, ProcessPoolExecutor) else None
        try:
            self._execute_on(pending, round_, marks)
        finally:
            if marks is not None:
                shutil.rmtree(marks, ignore_errors=True)

    def _execute_on(self, pending: list, round_: int, marks: str | None) -> None:
        """_execute on the executor; on a process pool each trial is marked in the folder `marks`
        while it runs, so a worker's death is charged to the trial it was running."""
        def submit(index, params, seed):
            if marks is None:
                return self.executor.submit(_run_trial, self.train_fn, params, seed)
            return self.executor.submit(_run_marked, self.train_fn, params, seed,
                                        os.path.join(marks, str(index)))

        futures = {submit(index, params, seed): (index, params, seed)
                   for index, params, seed in pending}
        failure = None
        for future in as_completed(futures):
            if future.cancelled():
                continue
            index, params, seed = futures[future]
            try:
                metrics = _metrics(future.result(), self.metric)
            except Exception as exc:
                # Stop what has not started, but keep what is still running: it is logged below.
                if failure is None:
                    failure = (index, params, exc)
                    for f in futures:
                        f.cancel()
                continue
            self._finish(index, params, seed, metrics, round_)
        if failure is not None and isinstance(failure[2], BrokenProcessPool):
            failure = _dead_workers_trial(self.executor, marks, pending, failure)
        if failure is not None:
            raise self._failed(*failure) from failure[2]


def _run_marked(train_fn, params: dict, seed: int, mark: str):
    """train_fn(params, seed) in a process-pool worker, with the file `mark` there while it runs.
    A broken pool stops its surviving workers with SIGTERM: this worker then renames its mark to
    `<mark>.stopped` before dying, so a bare mark left behind is the trial whose worker died."""
    def stopped(signum, frame):
        with contextlib.suppress(OSError):
            os.replace(mark, mark + ".stopped")
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    previous = signal.signal(signal.SIGTERM, stopped)
    try:
        open(mark, "w").close()
        return _run_trial(train_fn, params, seed)
    finally:
        with contextlib.suppress(OSError):
            os.remove(mark)
        signal.signal(signal.SIGTERM, previous)


def _dead_workers_trial(executor, marks: str, pending: list, failure: tuple) -> tuple:
    """(index, params, exc) of the trial whose worker died: every future of a broken pool fails
    at once, in submission order, so the first failure names whichever trial came first."""
    executor.shutdown(wait=True)  # broken for good; this waits until its workers are gone
    left = set(os.listdir(marks))
    for index, params, _ in pending:
        if str(index) in left:
            return index, params, failure[2]
    return failure


def _check_count(n, name: str, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{where}: {name} must be an int >= 1, got {n!r}")
    return int(n)


def random_search(train_fn: Callable[[dict, int], Any], space: Mapping[str, Any], n_trials: int,
                  seed: int | None = None, executor: Executor | None = None,
                  log: str | os.PathLike | None = None, metric: str = "dev_accuracy",
                  mode: str = "max", settings: Mapping[str, Any] | None = None) -> Results:
    """Run `n_trials` trials with hyperparameters drawn at random from `space`; best first.

    Random, not a grid (the lecture's advice): with a 5 x 5 grid over two hyperparameters of which
    only one matters (say lr and Adam's eps), you try just 5 values of the one that matters; 25
    random trials try 25 values of each. And you rarely know beforehand which ones matter.

    Trial i's hyperparameters and training seed derive from (seed, i) alone. With `log`, every
    finished trial is appended to that JSON-lines file at once (flushed and fsynced); calling again
    with the same log (and seed, or seed=None to take the log's) resumes: logged trials are
    reused, not rerun, and only the missing ones of the `n_trials` (the total) run. seed=None with
    no log draws the seed from the global generator. A trial that raises stops the search with
    `TrialFailed` after the trials still running have finished and been logged (on a process
    pool whose worker died, it names the trial that worker was running).

    Hyperparameter values reach train_fn as the log gives them back (NumPy scalars as Python
    numbers, tuples as tuples). `settings` (say {"dataset": ..., "epochs": ...}: what train_fn
    depends on besides params) is recorded with every trial; resuming a log written with other
    settings is refused, naming the setting that differs.
    """
    n_trials = _check_count(n_trials, "n_trials", "random_search")
    search = _Search(train_fn, seed, executor, log, metric, mode, "random_search", settings)
    return Results(search.run(space, range(n_trials)), metric, mode, [dict(space)])


def coarse_to_fine(train_fn: Callable[[dict, int], Any], space: Mapping[str, Any],
                   n_trials: int | Sequence[int] = 20, rounds: int = 3, top: int = 3,
                   widen: float = 0.5, seed: int | None = None, executor: Executor | None = None,
                   log: str | os.PathLike | None = None, metric: str = "dev_accuracy",
                   mode: str = "max", settings: Mapping[str, Any] | None = None) -> Results:
    """Random search in rounds, each zoomed in on the region of the `top` best trials so far.

    Round 1 samples `space`; each next round samples the previous space narrowed to the span of
    the best trials' values on each hyperparameter's own scale (log space for `log_uniform`, the
    log of 1 - beta for `one_minus_log_uniform`), widened by `widen` times that span on each side.
    `n_trials` is the number of trials per round, or a list with one count per round (which then
    sets the number of rounds). Trial indices run on across rounds, so one log resumes the whole
    search (see `random_search`, also for `settings`). Results hold every round's trials, best first, and each round's
    space in `spaces`.
    """
    counts = [n_trials] * _check_count(rounds, "rounds", "coarse_to_fine") \
        if isinstance(n_trials, (int, np.integer)) else list(n_trials)
    counts = [_check_count(n, "n_trials", "coarse_to_fine") for n in counts]
    top = _check_count(top, "top", "coarse_to_fine")
    search = _Search(train_fn, seed, executor, log, metric, mode, "coarse_to_fine", settings)
    trials, spaces, start = [], [dict(space)], 0
    for round_, count in enumerate(counts):
        if round_:
            best = Results(trials, metric, mode).trials[:top]
            spaces.append(zoom_space(spaces[-1], [t.params for t in best], widen))
        trials += search.run(spaces[-1], range(start, start + count), round_)
        start += count
    return Results(trials, metric, mode, spaces)
