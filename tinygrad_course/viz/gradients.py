"""Gradient norms per parameter or per layer, and the fixed log10 colour scale that draws them.

A deep sigmoid network's first layers get gradients orders of magnitude smaller than its last
(vanishing); large initial weights in a linear or ReLU network do the opposite (exploding).
`gradient_norms` gives the numbers; `grad_colour` the colour a graph node gets for one.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np

from ..tensor import Tensor
from .params import module_path, named_parameters

# log10(|grad|) from 1e-8 (vanished) to 1e2 (exploded): the same scale for every picture, so
# two pictures can be compared by eye.
GRAD_RANGE = (-8.0, 2.0)

# Anchor colours of the "turbo" map: dark blue (small) -> green/yellow -> dark red (large).
_STOPS = ((0.19, 0.07, 0.23), (0.27, 0.53, 0.98), (0.10, 0.89, 0.71),
          (0.64, 0.99, 0.24), (0.98, 0.50, 0.13), (0.48, 0.02, 0.01))
ZERO_COLOUR = "#bdbdbd"  # a gradient that is exactly zero has no place on a log scale


def grad_norm(t: Tensor) -> float | None:
    """||t.grad||_2 over all elements, in float64 (None when t has no gradient)."""
    g = t.grad
    if g is None:
        return None
    data = g.data if isinstance(g, Tensor) else np.asarray(g)
    return float(np.sqrt(np.sum(np.square(data, dtype=np.float64))))


def gradient_norms(model: Any, per: str = "parameter") -> "OrderedDict[str, float]":
    """name -> ||grad||_2 after backward(), in parameter order; `per="layer"` aggregates each
    module's parameters as sqrt(sum of squared norms), keyed by module path.

    `model` is a model, a `named_parameters()` iterable or a dict name -> Tensor. Parameters
    without a gradient (frozen, or unused by the loss) are left out.
    """
    if per not in ("parameter", "layer"):
        raise ValueError(f"gradient_norms: per must be 'parameter' or 'layer', got {per!r}")
    params = named_parameters(model)
    norms: OrderedDict[str, float] = OrderedDict()
    for name, t in params.items():
        n = grad_norm(t)
        if n is not None:
            norms[name] = n
    if params and not norms:
        raise RuntimeError(f"gradient_norms: none of the {len(params)} parameters has a gradient; "
                           "call loss.backward() first")
    if per == "parameter":
        return norms
    squares: OrderedDict[str, float] = OrderedDict()
    for name, n in norms.items():
        layer = module_path(name) or name
        squares[layer] = squares.get(layer, 0.0) + n * n
    return OrderedDict((layer, math.sqrt(s)) for layer, s in squares.items())


def _check_range(grad_range: tuple[float, float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in grad_range)
    if not lo < hi:
        raise ValueError(f"grad_range: expected (low, high) exponents with low < high, got {grad_range}")
    return lo, hi


def grad_position(norm: float, grad_range: tuple[float, float] = GRAD_RANGE) -> float:
    """Where a norm sits on the scale: (log10(norm) - low) / (high - low), clipped to [0, 1]."""
    lo, hi = _check_range(grad_range)
    if not norm > 0:
        raise ValueError(f"grad_position: a gradient norm on a log scale must be > 0, got {norm}")
    if math.isinf(norm):
        return 1.0
    return min(1.0, max(0.0, (math.log10(norm) - lo) / (hi - lo)))


def _interpolate(p: float) -> tuple[float, float, float]:
    k = len(_STOPS) - 1
    i = min(int(p * k), k - 1)
    f = p * k - i
    a, b = _STOPS[i], _STOPS[i + 1]
    return tuple(x + f * (y - x) for x, y in zip(a, b))


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb)


def grad_colour(norm: float, grad_range: tuple[float, float] = GRAD_RANGE) -> str:
    """The fill colour ("#rrggbb") for a gradient norm: turbo map over log10 of it; grey for 0,
    the top colour for inf or NaN (a blown-up gradient)."""
    if norm == 0:
        return ZERO_COLOUR
    if math.isnan(norm):
        return _hex(_STOPS[-1])
    return _hex(_interpolate(grad_position(norm, grad_range)))


def font_colour(fill: str) -> str:
    """Black or white text, whichever reads better on `fill` (by its luma)."""
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"


def colour_bar(grad_range: tuple[float, float] = GRAD_RANGE) -> str:
    """An HTML-like graphviz label: one cell per power of ten on the scale, plus zero."""
    lo, hi = _check_range(grad_range)
    exps = range(math.ceil(lo), math.floor(hi) + 1)
    cells = []
    for e in exps:
        fill = grad_colour(10.0 ** e, grad_range)
        cells.append(f'<TD BGCOLOR="{fill}"><FONT COLOR="{font_colour(fill)}">1e{e}</FONT></TD>')
    cells.append(f'<TD BGCOLOR="{ZERO_COLOUR}">0</TD>')
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
            f'<TR><TD COLSPAN="{len(cells)}">|grad| (log10 scale)</TD></TR>'
            f'<TR>{"".join(cells)}</TR></TABLE>>')
