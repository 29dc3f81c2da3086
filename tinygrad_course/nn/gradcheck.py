"""Gradient checking for whole models, the course's procedure.

Flatten every parameter into one vector theta (the course's dictionary_to_vector), compute
gradapprox[i] = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps) and compare it with
backprop's gradient by ||grad - gradapprox|| / (||grad|| + ||gradapprox||): overall, and per named
parameter so a wrong layer shows itself. All on a float64 copy: the user's model is not touched.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._display import html_table
from ..backward import graph_nodes
from ..autograd import no_grad
from ..gradcheck import relative_difference, verdict
from ..tensor import Tensor
from .dropout import Dropout
from .functional import l2_penalty
from .module import Module
from .utils import parameters_to_vector, vector_to_parameters  # noqa: F401 (nn's names)


@dataclass
class ParameterCheck:
    """One named parameter's part of the comparison."""

    name: str
    shape: tuple
    difference: float
    grad_norm: float
    numerical_norm: float
    below_noise: bool = False

    @property
    def verdict(self) -> str:
        if self.below_noise:
            return "zero gradient (autograd and numerical both below the rounding noise)"
        return verdict(self.difference)


@dataclass
class GradientCheckReport:
    """The outcome of `check_gradients`: `difference` overall (the course's number), `parameters`
    one by one, `gradient` and `numerical` (the course's grad and gradapprox vectors)."""

    model_name: str
    eps: float
    threshold: float
    difference: float
    parameters: list = field(default_factory=list)
    gradient: np.ndarray | None = None
    numerical: np.ndarray | None = None

    @property
    def suspects(self) -> list:
        """Parameters whose own difference is at or above the threshold, worst first."""
        bad = [p for p in self.parameters if not p.below_noise and p.difference >= self.threshold]
        return sorted(bad, key=lambda p: -p.difference)

    @property
    def passed(self) -> bool:
        """difference < threshold and no parameter is suspect: the model's backward agrees with
        centered differences."""
        return self.difference < self.threshold and not self.suspects

    def __bool__(self) -> bool:
        return self.passed

    @property
    def verdict(self) -> str:
        """The course's reading of `difference`: < 1e-7 fine, < 1e-5 look closer, < 1e-3
        suspicious, else a bug."""
        return verdict(self.difference)

    def __str__(self) -> str:
        n = sum(int(np.prod(p.shape)) for p in self.parameters)
        lines = [f"Gradient check of {self.model_name} (float64 copy, eps={self.eps:g}, "
                 f"{n} numbers in {len(self.parameters)} parameters)",
                 f"overall difference {self.difference:.3e}: {self.verdict}"]
        width = max([len(p.name) for p in self.parameters] + [9])
        lines.append(f"  {'parameter':<{width}}  {'shape':<12}  {'difference':<10}  verdict")
        for p in self.parameters:
            lines.append(f"  {p.name:<{width}}  {str(p.shape):<12}  {p.difference:<10.3e}  {p.verdict}")
        if self.passed:
            lines.append(f"passed: backprop agrees with the numerical gradient (threshold "
                         f"{self.threshold:g})")
        else:
            names = ", ".join(repr(p.name) for p in self.suspects) or "no single parameter"
            lines.append(f"FAILED (threshold {self.threshold:g}): look at {names}; the first "
                         "suspect is the backward of the op that uses it in its layer")
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "passed" if self.passed else "FAILED"
        return (f"GradientCheckReport({self.model_name}: {state}, difference "
                f"{self.difference:.3e}, {len(self.parameters)} parameters; print() for each)")

    def _repr_html_(self) -> str:
        rows = [[p.name, str(p.shape), f"{p.difference:.3e}", p.verdict] for p in self.parameters]
        state = "passed" if self.passed else "FAILED"
        return html_table(["parameter", "shape", "difference", "verdict"], rows,
                          caption=f"Gradient check of {self.model_name} (eps={self.eps:g}): {state}, "
                                  f"overall difference {self.difference:.3e}, {self.verdict}",
                          footer=str(self).splitlines()[-1])


def _refuse_dropout(model: Module) -> None:
    for path, m in model.named_modules():
        if isinstance(m, Dropout) and m.training and m.keep_prob < 1:
            raise RuntimeError(
                f"check_gradients: {m._describe()} at {path or 'the root'!r} is in training mode, "
                "so every evaluation draws a new mask and the numerical gradient is meaningless. "
                "Turn dropout off for the check (model.eval(), or keep_prob=1), check, then turn "
                "it back on with model.train()")


def _refuse_original_parameters(loss: Tensor, model: Module) -> None:
    """Raise if the loss reaches a parameter of the user's model rather than of the float64 copy:
    that part of the loss (say l2_penalty(model, ...) inside loss_fn) would go unchecked, and
    backward would write into the user's .grad."""
    originals = {id(p): name for name, p in model.named_parameters()}
    for node in graph_nodes([loss]):
        for inp in node.inputs:
            if isinstance(inp, Tensor) and id(inp) in originals:
                raise ValueError(
                    f"check_gradients: loss_fn uses the parameter {originals[id(inp)]!r} of the "
                    "model given (e.g. l2_penalty(model, ...) inside loss_fn), but the check runs "
                    "on a float64 copy, so that part of the cost would not be checked. Write "
                    "loss_fn(output, y) from its arguments only and pass the course's L2 term as "
                    "check_gradients(..., lambd=...)")


def _as_float64(x):
    a = x.data if isinstance(x, Tensor) else np.asarray(x)
    return Tensor._wrap(a.astype(np.float64)) if a.dtype.kind == "f" else Tensor._wrap(a)


def check_gradients(model: Module, loss_fn: Callable, X, y, eps: float = 1e-7, lambd: float = 0.0,
                    threshold: float = 1e-7) -> GradientCheckReport:
    """Check backprop through `model` with the course's procedure: J = loss_fn(model(X), y)
    (+ the course's L2 term l2_penalty(model, lambd, m) when lambd > 0, m = len(X)).

    Returns a report (print it) with the overall and per-parameter differences, read with the
    course's thresholds: < 1e-7 fine, < 1e-5 look closer, < 1e-3 suspicious, else a bug.
    `passed` means the overall difference and every parameter's are below `threshold`.
    """
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"check_gradients: eps must be a positive finite number, got {eps}")
    _refuse_dropout(model)
    net = copy.deepcopy(model).double()
    net.zero_grad()
    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("check_gradients: the model has no parameters that require grad")
    for _, p in named:
        # The perturbations below write through a flat view, which needs contiguous memory.
        p.data = np.ascontiguousarray(p.data)
    Xd, yd = _as_float64(X), _as_float64(y)
    m = Xd.shape[0]

    def J() -> Tensor:
        out = loss_fn(net(Xd), yd)
        if lambd:
            out = out + l2_penalty(net, lambd, m)
        return out

    loss = J()
    if not isinstance(loss, Tensor) or loss.size != 1:
        raise TypeError("check_gradients: loss_fn(model(X), y) must return a scalar Tensor, got "
                        f"{type(loss).__name__} {getattr(loss, 'shape', '')}")
    _refuse_original_parameters(loss, model)
    loss.backward()
    with no_grad():
        if float(J().data) != float(loss.data):
            raise RuntimeError("check_gradients: the loss changes between two evaluations at the same "
                               "parameters (random dropout or another source of noise in forward); "
                               "make the forward deterministic for the check")
        grad = np.concatenate([np.zeros(p.size) if p.grad is None else p.grad.data.ravel()
                               for _, p in named])
        numerical = np.empty_like(grad)
        k = 0
        for _, p in named:
            flat = p.data.reshape(-1)
            for i in range(flat.size):
                orig = flat[i]
                flat[i] = orig + eps
                plus = float(J().data)
                flat[i] = orig - eps
                minus = float(J().data)
                flat[i] = orig
                numerical[k] = (plus - minus) / (2 * eps)
                k += 1
    # Rounding in J is about |J| * 2^-52, so a centered difference carries ~|J| 1e-16 / eps per
    # component; a parameter whose gradients are both below that has a gradient of zero.
    noise = 100 * max(abs(float(loss.data)), 1.0) * np.finfo(np.float64).eps / eps
    report = GradientCheckReport(type(model).__name__, eps, threshold,
                                 relative_difference(grad, numerical), [], grad, numerical)
    start = 0
    for name, p in named:
        g, gn = grad[start:start + p.size], numerical[start:start + p.size]
        start += p.size
        floor = noise * np.sqrt(p.size)
        gnorm, nnorm = float(np.linalg.norm(g)), float(np.linalg.norm(gn))
        report.parameters.append(ParameterCheck(name, tuple(p.shape), relative_difference(g, gn),
                                                gnorm, nnorm, gnorm < floor and nnorm < floor))
    return report
