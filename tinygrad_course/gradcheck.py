"""Gradient checking: autograd against centered numerical differences, in float64.

The course's summary number for each input is the relative difference
`||g - g_num|| / (||g|| + ||g_num||)`: about 1e-7 is fine, 1e-5 deserves a look, 1e-3 is a bug.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .backward import grad as autograd_grad
from .autograd import no_grad
from .random import rng_from
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Autograd and numerical differences disagree; the message names the input and element."""


def relative_difference(g: np.ndarray, g_num: np.ndarray) -> float:
    """||g - g_num|| / (||g|| + ||g_num||), 0 when both are zero."""
    num = float(np.linalg.norm(np.ravel(g) - np.ravel(g_num)))
    den = float(np.linalg.norm(np.ravel(g)) + np.linalg.norm(np.ravel(g_num)))
    return 0.0 if den == 0 else num / den


def verdict(difference: float) -> str:
    """The course's reading of the relative difference."""
    if difference < 1e-7:
        return "fine (< 1e-7)"
    if difference < 1e-5:
        return "probably fine, look closer (< 1e-5)"
    if difference < 1e-3:
        return "suspicious, check the components (< 1e-3)"
    return "almost certainly a bug (>= 1e-3)"


@dataclass
class InputCheck:
    """The comparison for one input: relative difference and the worst element."""

    index: int
    shape: tuple
    difference: float
    passed: bool
    worst_index: tuple | None = None
    analytic: float | None = None
    numeric: float | None = None


@dataclass
class GradcheckResult:
    """All inputs' comparisons; truthy when every input passed."""

    inputs: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.inputs)

    def __bool__(self) -> bool:
        return self.passed

    def report(self) -> str:
        lines = []
        for c in self.inputs:
            status = "ok" if c.passed else "FAILED"
            line = (f"input {c.index} {c.shape}: difference {c.difference:.3e} "
                    f"[{verdict(c.difference)}] {status}")
            if not c.passed and c.worst_index is not None:
                line += (f"; worst element {c.worst_index}: autograd {c.analytic:.8g}, "
                         f"numerical {c.numeric:.8g}")
            lines.append(line)
        return "\n".join(lines)


def _prepare(inputs) -> list:
    if isinstance(inputs, Tensor) or not isinstance(inputs, (list, tuple)):
        inputs = [inputs]
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            if x.dtype.kind == "f":
                out.append(Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad))
            else:
                out.append(x)
        else:
            out.append(x)
    return out


def _check_eps(eps: float, op: str) -> None:
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"{op}: eps must be a positive finite number, got {eps}")


def gradcheck(fn: Callable, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              fast: bool = False, raise_exception: bool = True, n_directions: int = 4,
              seed: int = 0) -> GradcheckResult:
    """Compare autograd's gradient of `fn(*inputs)` with centered differences, in float64.

    Every floating input with requires_grad=True is checked element by element
    (d/dx_i of sum(v * fn(x)) for a random upstream v), or with `fast=True` along random
    directions u (v^T J u), which costs two evaluations per direction instead of per element.
    """
    _check_eps(eps, "gradcheck")
    xs = _prepare(inputs)
    wrt = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    rng = rng_from(seed)
    out = fn(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    if out.dtype != np.float64:
        raise TypeError(f"gradcheck: fn returned dtype {out.dtype} from float64 inputs; keep the "
                        "computation in float64 (a float32 constant or cast inside fn loses precision)")
    # A non-uniform upstream gradient catches rules that only work when every g is 1.
    v = rng.uniform(0.5, 1.5, size=out.shape) * rng.choice([-1.0, 1.0], size=out.shape)

    def objective() -> float:
        # Not under no_grad: fn may itself differentiate (gradgradcheck checks such an fn).
        return float(np.sum(fn(*xs).data * v))

    if out.requires_grad:
        analytic = autograd_grad([out], [xs[i] for i in wrt], [Tensor(v)], allow_unused=True)
    else:
        analytic = [None] * len(wrt)
    result = GradcheckResult()
    for i, g in zip(wrt, analytic):
        x = xs[i]
        g = np.zeros_like(x.data) if g is None else g.data
        if fast:
            check = _directional(objective, x, g, eps, atol, rtol, rng, n_directions, i)
        else:
            check = _elementwise(objective, x, g, eps, atol, rtol, i)
        result.inputs.append(check)
    if raise_exception and not result.passed:
        raise GradcheckError("gradcheck failed:\n" + result.report())
    return result


def _elementwise(objective, x: Tensor, g: np.ndarray, eps, atol, rtol, index) -> InputCheck:
    num = np.zeros_like(x.data)
    flat = x.data.reshape(-1)  # a view: x.data is a fresh contiguous float64 copy
    for k in range(flat.size):
        orig = flat[k]
        flat[k] = orig + eps
        fp = objective()
        flat[k] = orig - eps
        fm = objective()
        flat[k] = orig
        num.reshape(-1)[k] = (fp - fm) / (2 * eps)
    diff = relative_difference(g, num)
    bad = np.abs(g - num) > atol + rtol * np.abs(num)
    check = InputCheck(index, x.shape, diff, not bad.any())
    if x.data.size:
        err = np.abs(g - num) - (atol + rtol * np.abs(num))
        k = int(np.argmax(err))
        w = np.unravel_index(k, x.shape) if x.ndim else ()
        check.worst_index = tuple(int(i) for i in w)
        check.analytic, check.numeric = float(g.reshape(-1)[k]), float(num.reshape(-1)[k])
    return check


def _directional(objective, x: Tensor, g: np.ndarray, eps, atol, rtol, rng, n, index) -> InputCheck:
    worst = None
    ok = True
    diffs = []
    base = x.data.copy()
    for _ in range(n):
        u = rng.standard_normal(x.shape)
        u /= max(np.linalg.norm(u), 1e-300)
        x.data[...] = base + eps * u
        fp = objective()
        x.data[...] = base - eps * u
        fm = objective()
        x.data[...] = base
        numeric = (fp - fm) / (2 * eps)
        analytic = float(np.sum(g * u))
        diffs.append(relative_difference(np.array([analytic]), np.array([numeric])))
        if abs(analytic - numeric) > atol + rtol * abs(numeric):
            ok = False
            if worst is None or abs(analytic - numeric) > abs(worst[0] - worst[1]):
                worst = (analytic, numeric)
    check = InputCheck(index, x.shape, max(diffs) if diffs else 0.0, ok)
    if worst is not None:
        check.worst_index = ("direction",)
        check.analytic, check.numeric = worst
    return check


def gradgradcheck(fn: Callable, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, seed: int = 0) -> GradcheckResult:
    """Check second derivatives: gradcheck of x -> d/dx sum(v * fn(x)) built with create_graph=True."""
    xs = _prepare(inputs)
    wrt = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    rng = rng_from(seed + 1)
    with no_grad():
        out0 = fn(*xs)
    v = Tensor(rng.uniform(0.5, 1.5, size=out0.shape) * rng.choice([-1.0, 1.0], size=out0.shape))

    def first_grads(*args):
        out = fn(*args)
        gs = autograd_grad([out], [args[i] for i in wrt], [v], create_graph=True, allow_unused=True)
        total = None
        for g in gs:
            if g is None:
                continue
            w = Tensor(np.random.default_rng(seed + 2).uniform(0.5, 1.5, size=g.shape))
            term = (g * w).sum()
            total = term if total is None else total + term
        if total is None:
            raise GradcheckError("gradgradcheck: no input received a gradient")
        return total

    return gradcheck(first_grads, xs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, seed=seed)

