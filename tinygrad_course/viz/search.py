"""The lecture's picture of a random search: the dev metric against each hyperparameter, on the
scale it was sampled on (a log axis for the learning rate, a log axis of 1 - beta for beta)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..tuning import Choice, Distribution, LogUniform, OneMinusLogUniform, Results
from .curves import _finish, _new_axes


def plot_search(results: Results, space: Mapping[str, Any] | None = None,
                metric: str | None = None, path: str | os.PathLike | None = None,
                title: str | None = None):
    """One panel per hyperparameter: each trial's `metric` (default the search's) against its
    value, coloured by round, the best trial starred. The x axis is the sampling scale of the
    hyperparameter's distribution in `space` (default: the first round's): log10 for
    `log_uniform`, log10 of 1 - x for `one_minus_log_uniform` (drawn as 1 - x), linear for
    `uniform`/`int_uniform`, one column per option for `choice`. Returns the Figure."""
    if not results.trials:
        raise ValueError("plot_search: no trial has finished; run the search first")
    space = space if space is not None else (results.spaces[0] if results.spaces else {})
    metric = metric or results.metric
    names = list(dict.fromkeys(k for t in results.trials for k in t.params
                               if not space or k in space and isinstance(space[k], Distribution)))
    if not names:
        raise ValueError("plot_search: no hyperparameter was sampled (the space holds constants only)")
    fig, first = _new_axes(None)
    fig.set_size_inches(4.2 * len(names), 3.6)
    fig.delaxes(first)
    axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
    rounds = sorted({t.round for t in results.trials})
    best = results.best
    for ax, name in zip(axes, names):
        dist = space.get(name)
        trials = [t for t in results.trials if name in t.params]
        x_of, label = _axis(ax, dist, name, [t.params[name] for t in trials])
        for r in rounds:
            ts = [t for t in trials if t.round == r]
            ax.scatter([x_of(t.params[name]) for t in ts], [t.metrics[metric] for t in ts], s=28,
                       alpha=0.8, label=f"round {r + 1}" if len(rounds) > 1 else "trial")
        if name in best.params:
            ax.scatter([x_of(best.params[name])], [best.metrics[metric]], marker="*", s=220,
                       c="gold", edgecolors="k", zorder=3, label="best")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(metric)
    axes[0].legend(fontsize=8)
    fig.suptitle(title or f"Random search: {metric} against each hyperparameter "
                          f"({len(results.trials)} trials)")
    return _finish(fig, path)


def _axis(ax, dist: Any, name: str, values: list):
    """How values map to the x axis, and its label; sets the axis scale."""
    if isinstance(dist, LogUniform):
        ax.set_xscale("log")
        ax.set_xlim(dist.low / 1.25, dist.high * 1.25)  # the whole range searched
        return float, f"{name} (log scale: sampled as 10**r)"
    if isinstance(dist, OneMinusLogUniform):
        ax.set_xscale("log")
        ax.set_xlim((1 - dist.high) / 1.25, (1 - dist.low) * 1.25)
        return (lambda v: 1.0 - float(v)), f"1 - {name} (log scale: sampled as 1 - 10**r)"
    if isinstance(dist, Choice) or not all(isinstance(v, (int, float, np.number)) for v in values):
        options = list(dist.options) if isinstance(dist, Choice) else list(dict.fromkeys(map(str, values)))
        keys = [str(o) for o in options]
        ax.set_xticks(range(len(keys)), keys)
        return (lambda v: keys.index(str(v))), f"{name} (choice)"
    if dist is not None:
        pad = 0.04 * (dist.high - dist.low) or 0.5
        ax.set_xlim(dist.low - pad, dist.high + pad)
    return float, f"{name} (linear scale)"
