"""The course's plots with matplotlib (the optional `plot` extra, imported only when called):
cost curves, decision boundaries, confusion matrices, per-layer gradient norms.

Each returns a `matplotlib.figure.Figure` (drawn on `ax` when given) and saves it when `path` is.
Figures are made without pyplot, so they hold no global state and need no display.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np


def _new_axes(ax):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("tinygrad_course.viz plots need matplotlib: "
                          "pip install 'tinygrad-course[plot]' (or pip install matplotlib)") from None
    if ax is not None:
        return ax.figure, ax
    _show_inline_in_notebooks()
    fig = Figure(figsize=(6, 4), layout="constrained")
    return fig, fig.add_subplot()


def _show_inline_in_notebooks() -> None:
    # Our figures are made without pyplot, so a fresh Jupyter kernel has no PNG formatter for
    # them and prints <Figure size 600x400>; register one (as %matplotlib inline would).
    import sys
    shell = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return
    from IPython.core.pylabtools import select_figure_formats
    formatter = shell.display_formatter.formatters["image/png"]
    from matplotlib.figure import Figure
    if Figure not in formatter.type_printers:
        select_figure_formats(shell, {"png"})


def _finish(fig, path: str | os.PathLike | None):
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def _series(values: Any, what: str) -> np.ndarray:
    try:
        arr = np.array([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: expected a sequence of numbers, got {type(values).__name__}") from None
    if arr.size == 0:
        raise ValueError(f"{what}: the sequence is empty; record at least one value")
    return arr


def plot_costs(history: Sequence[float] | Mapping[str, Sequence[float]], ax=None,
               path: str | os.PathLike | None = None, every: int = 1, xlabel: str | None = None,
               ylabel: str = "cost", title: str | None = None, logy: bool = False):
    """The cost curve: cost against iterations, one line per series in a mapping (label -> costs).

    every: iterations between recorded costs (the course records one every 100: `every=100`).
    """
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"plot_costs: every must be an int >= 1, got {every!r}")
    series = dict(history) if isinstance(history, Mapping) else {"cost": history}
    if not series:
        raise ValueError("plot_costs: the mapping of series is empty")
    data = {str(k): _series(v, f"plot_costs[{k!r}]") for k, v in series.items()}
    fig, ax = _new_axes(ax)
    for label, ys in data.items():
        ax.plot(np.arange(ys.size) * every, ys, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel or ("iterations" if every == 1 else f"iterations (per {every})"))
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(data) > 1:
        ax.legend()
    return _finish(fig, path)


def _class_labels(z: np.ndarray, n: int) -> np.ndarray:
    # Scores per class -> argmax; probabilities of class 1 -> threshold 0.5; labels stay labels.
    if z.ndim == 2 and z.shape[1] > 1 and z.shape[0] == n:
        return z.argmax(axis=1)
    z = z.reshape(-1)
    if z.size != n:
        raise ValueError(f"plot_decision_boundary: predict returned {z.size} values for {n} grid "
                         "points; it must return one label or probability per row (or a row of "
                         "class scores)")
    if z.dtype.kind == "f" and not np.all(np.isin(z, (0.0, 1.0))):
        return (z > 0.5).astype(np.int64)
    return z


def plot_decision_boundary(predict: Callable[[np.ndarray], Any], X: Any, y: Any, ax=None,
                           path: str | os.PathLike | None = None, resolution: int = 200,
                           margin: float = 1.0, title: str | None = None):
    """The regions a classifier assigns to each class over the plane, with the data on top.

    predict: maps an (n, 2) array of points to labels, probabilities of class 1 (thresholded at
    0.5) or (n, classes) scores (argmax). X: (m, 2) points (examples in rows: the course's
    (2, m) layout is X.T); y: their m labels.
    """
    X = np.asarray(X)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: X must have shape (m, 2), got {X.shape}"
                         + ("; transpose the course's (2, m) layout with X.T"
                            if X.ndim == 2 and X.shape[0] == 2 else ""))
    if y.size != X.shape[0]:
        raise ValueError(f"plot_decision_boundary: {X.shape[0]} points but {y.size} labels")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"plot_decision_boundary: resolution must be an int >= 2, got {resolution!r}")
    dtype = X.dtype if X.dtype.kind == "f" else np.float32
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1).astype(dtype)
    z = _class_labels(np.asarray(predict(grid)), grid.shape[0]).reshape(xx.shape)
    fig, ax = _new_axes(ax)
    # One colour scale for regions and points: a model predicting one class everywhere gets
    # that class's colour, not the middle of the map.
    lo_c, hi_c = min(z.min(), y.min()), max(z.max(), y.max())
    ax.contourf(xx, yy, z, cmap="Spectral", alpha=0.8, vmin=lo_c, vmax=hi_c)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="Spectral", edgecolors="k", s=20, vmin=lo_c, vmax=hi_c)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


def plot_confusion_matrix(counts: Any, class_names: Sequence[str] | None = None, ax=None,
                          path: str | os.PathLike | None = None, title: str | None = None):
    """A confusion matrix (rows: true class, columns: predicted class, as from
    `nn.functional.confusion_matrix`) as a grid of counts, darker for more examples."""
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] < 1:
        raise ValueError(f"plot_confusion_matrix: counts must be a square (k, k) matrix, got shape "
                         f"{counts.shape}")
    k = counts.shape[0]
    names = [str(c) for c in (range(k) if class_names is None else class_names)]
    if len(names) != k:
        raise ValueError(f"plot_confusion_matrix: {len(names)} class names for {k} classes")
    fig, ax = _new_axes(ax)
    ax.imshow(counts, cmap="Blues", vmin=0)
    half = counts.max() / 2 if counts.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                    color="white" if counts[i, j] > half else "black")
    ax.set_xticks(np.arange(k), names)
    ax.set_yticks(np.arange(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


def plot_gradient_norms(norms: Mapping[str, float] | Mapping[str, Mapping[str, float]], ax=None,
                        path: str | os.PathLike | None = None, title: str | None = None):
    """Gradient norms per parameter or layer (from `gradient_norms`) on a log scale, input side
    first; a mapping label -> norms draws one line per run to compare them."""
    if not norms:
        raise ValueError("plot_gradient_norms: no norms to plot; call loss.backward() first")
    first = next(iter(norms.values()))
    runs = dict(norms) if isinstance(first, Mapping) else {"": norms}
    fig, ax = _new_axes(ax)
    names: list[str] = []
    for label, run in runs.items():
        vals = _series(run.values(), f"plot_gradient_norms[{label!r}]")
        if not np.all(vals > 0):
            raise ValueError(f"plot_gradient_norms: norms must be > 0 for a log scale; "
                             f"{label or 'the run'} has {vals.min()}")
        ax.plot(np.arange(vals.size), vals, marker="o", label=label or None)
        if len(run) > len(names):
            names = list(run)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("||grad||")
    if title:
        ax.set_title(title)
    if len(runs) > 1:
        ax.legend()
    return _finish(fig, path)
