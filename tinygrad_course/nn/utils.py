"""Utilities on a model's parameters: gradient clipping (the course's remedy for exploding
gradients), parameters as one vector and back (the course's dictionary_to_vector and
vector_to_dictionary), and counting parameters. PyTorch's names and behaviour (torch.nn.utils)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..autograd import bump_version
from ..jit import replayed
from ..ops.common import reads_values
from ..ops.shape import concatenate
from ..tensor import Tensor


def _params(parameters) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _grads(parameters) -> list:
    return [p.grad for p in _params(parameters) if p.grad is not None]


@reads_values
def total_grad_norm(parameters, norm_type: float = 2.0) -> float:
    """||(g_1, ..., g_n)||_p of every gradient taken together as one vector (max |g| for inf)."""
    p = float(norm_type)
    grads = [g.data for g in _grads(parameters)]
    if not grads:
        return 0.0
    if p == float("inf"):
        return float(max(np.abs(g).max(initial=0.0) for g in grads))
    if not p > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type!r}")
    total = sum(float(np.sum(np.abs(g.astype(np.float64)) ** p)) for g in grads)
    return total ** (1.0 / p)


@replayed
def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Gradient clipping by norm, in place: with N the norm of all gradients together
    (`norm_type` p, inf for max |g|), every gradient is scaled by min(1, max_norm / (N + 1e-6)),
    so the step keeps its direction but cannot explode. Returns N (before clipping) as a 0-d
    tensor, as PyTorch. A NaN or inf norm raises with error_if_nonfinite=True (else the
    gradients become NaN, as in PyTorch)."""
    max_norm = float(max_norm)
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be positive, got {max_norm!r}")
    parameters = _params(parameters)  # a generator (model.parameters()) is read twice
    grads = _grads(parameters)
    total = total_grad_norm(parameters, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}, so clipping cannot fix them; find the NaN or "
                           "inf (a too-large learning rate, log(0), a division by zero), or pass "
                           "error_if_nonfinite=False to clip anyway")
    coef = min(1.0, max_norm / (total + 1e-6)) if np.isfinite(total) else max_norm / total
    if coef != 1.0:
        for g in grads:
            g.data *= g.data.dtype.type(coef)
            bump_version(g)
    dtype = grads[0].dtype if grads else np.float32
    return Tensor._wrap(np.asarray(total, dtype=dtype))


@replayed
def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Gradient clipping by value, in place: every gradient element is clipped to
    [-clip_value, clip_value] (this can change the step's direction, unlike clip_grad_norm_)."""
    clip_value = float(clip_value)
    if not clip_value > 0:
        raise ValueError(f"clip_grad_value_: clip_value must be positive, got {clip_value!r}")
    for g in _grads(parameters):
        np.clip(g.data, -clip_value, clip_value, out=g.data)
        bump_version(g)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters raveled and concatenated in order into one vector theta: the course's
    dictionary_to_vector (used by gradient checking). Differentiable, as PyTorch's."""
    params = _params(parameters)
    if not params:
        return Tensor._wrap(np.zeros(0))
    return concatenate([p.reshape(-1) for p in params])


def vector_to_parameters(vector, parameters: Iterable[Tensor]) -> None:
    """Write a flat vector back into the parameters, in place, in order: the course's
    vector_to_dictionary (the inverse of parameters_to_vector)."""
    params = _params(parameters)
    need = sum(p.data.size for p in params)
    vector = vector.data if isinstance(vector, Tensor) else np.asarray(vector)
    if vector.shape != (need,):
        raise ValueError(f"vector_to_parameters: the parameters hold {need} numbers, the vector "
                         f"has shape {vector.shape}")
    start = 0
    for p in params:
        n = p.data.size
        np.copyto(p.data, vector[start:start + n].reshape(p.shape), casting="same_kind")
        bump_version(p)
        start += n


def count_parameters(model_or_params, trainable_only: bool = False) -> int:
    """The number of learnable numbers (a shared parameter counts once); with trainable_only,
    only those that require grad (PyTorch's idiom sum(p.numel() for p in model.parameters()))."""
    params = (model_or_params.parameters() if hasattr(model_or_params, "parameters")
              else _params(model_or_params))
    seen, total = set(), 0
    for p in params:
        if id(p) not in seen and (p.requires_grad or not trainable_only):
            seen.add(id(p))
            total += p.data.size
    return total
