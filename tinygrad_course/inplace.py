"""In-place changes, in one room: version counters, and what `h += 1` or `h[i] = v` does to the graph.

A clock counts in-place changes. A tensor's memory has a version counter (shared with its views
and detached copies) holding the clock's time of its last change, and every node remembers the
time it was made. Backward compares them, so a change after the fact raises instead of giving a
silently wrong gradient: a node whose saved array changed after it was saved, or whose input
changed between being computed and being used.
"""
from __future__ import annotations

from threading import get_ident
from typing import Callable

import numpy as np

from .tensor import Tensor

_clock = [0, {}]  # the time (in-place changes so far), and each thread's time of its last change


class BackwardError(RuntimeError):
    """Backpropagation cannot go on: a freed graph, a changed saved tensor, a bad gradient."""


def bump_version(*ts: Tensor) -> None:
    """Record that the tensors' memory changed in place (optimizers call it after p.data -= ...)."""
    _clock[0] += 1
    _clock[1][get_ident()] = _clock[0]  # (tc.jit tells a change the step made from another thread's)
    for t in ts:
        t._vc = t._vc or [0]
        t._vc[0] = _clock[0]


def share_version(view: Tensor, base) -> None:
    """A view shares its base's version counter, as in PyTorch."""
    if isinstance(base, Tensor) and np.may_share_memory(view.data, base.data):
        view._vc = base._vc = base._vc or [0]


def check_saved(node) -> None:
    """Raise if an array `node` saved for backward (an input's or its output's) changed since."""
    for t in node.inputs:
        if isinstance(t, Tensor) and t.version > node.epoch and any(s is t.data for s in node.saved):
            _raise_modified(node, f"a tensor of shape {t.shape}")
    if node.out_vc is not None and node.out_vc[0] > node.epoch and any(id(s) == node.out_id for s in node.saved):
        _raise_modified(node, "its output")


def note_changed_input(node, t: Tensor) -> None:
    """At `node`'s creation: note input `t` if it changed in place (through a view, its base, or
    under no_grad) after the node that made it ran; `check_input` raises for it at backward. (Noted
    now: a later change would hide this one from the version counter.)"""
    if t._vc is not None and t._vc[0] > t._ctx.epoch:
        node.changed_inputs = (*getattr(node, "changed_inputs", ()), t._ctx)


def check_input(node, t: Tensor, parent) -> None:
    """Raise if `t` changed in place after `parent` computed it and before `node` used it (noted
    by `note_changed_input`): the gradient would follow the values before the change."""
    if parent in getattr(node, "changed_inputs", ()):
        raise BackwardError(f"{type(node).__name__}: its input of shape {t.shape} was changed in place "
                            "(through a view or its base, or under no_grad) after it was computed and before "
                            "it was used here, so its gradient would follow the values before the change; "
                            "recompute it after the change instead (e.g. take the view v = h[1:] again after h *= 3)")


def _raise_modified(node, what: str) -> None:
    raise BackwardError(f"{type(node).__name__}: {what}, which it saved for backward, was changed in place "
                        "after it was saved; use an out-of-place op (x = x + y) instead of x += y, or "
                        "clone the tensor before changing it")


def change(t: Tensor, symbol: str, recording: bool, needs_graph: bool,
           compute: Callable[[], Tensor], write: Callable[[], None]) -> Tensor:
    """Change `t` in place. While recording, with a tensor that needs grad involved, `compute()`
    gives the result out of place and `t` becomes it (`rebase`); otherwise `write()` changes the
    memory directly and the version counter records it."""
    if t.requires_grad and t._ctx is None and recording:
        raise RuntimeError(
            f"{symbol}: a leaf tensor that requires grad (shape {t.shape}) cannot be changed in place "
            "while grad is recorded; do it under `with tc.no_grad():` (as optimizers do) or use an "
            "out-of-place op")
    if recording and needs_graph:
        if t.data.base is not None and (t._ctx is None or type(t._ctx).is_view):
            raise RuntimeError(
                f"{symbol}: this tensor of shape {t.shape} is a view of another tensor's memory, and "
                "changing it in place with a tensor that requires grad would not reach that tensor's "
                "gradient; assign through the base instead (h[1:] = h[1:] * 3) or use out-of-place ops")
        rebase(t, compute())
    else:
        write()
        bump_version(t)
    return t


def rebase(t: Tensor, result: Tensor) -> None:
    """Write `result` into `t`'s own memory (so its views see it) and make `t` the output of
    `result`'s node. The node keeps what it read as it was: every input sharing t's memory becomes
    a snapshot (its node, its version then) and every saved array sharing it a copy."""
    node, old = result._ctx, t._ctx
    copies = {id(s): s.copy() for s in node.saved
              if isinstance(s, np.ndarray) and np.may_share_memory(s, t.data)}
    node.saved = tuple(copies.get(id(s), s) for s in node.saved)
    node.inputs = tuple(_snapshot(i, copies) if isinstance(i, Tensor) and np.may_share_memory(
        i.data, t.data) else i for i in node.inputs)
    np.copyto(t.data, result.data, casting="same_kind")
    bump_version(t)
    if old is not None and any(r is t for r in old.retained):  # retain_grad follows the tensor
        old.retained, node.retained = tuple(r for r in old.retained if r is not t), (t,)
    t._ctx, t.requires_grad = node, True
    node.epoch = t._vc[0]  # the node's own write is not a change after the fact


def _snapshot(i: Tensor, copies: dict) -> Tensor:
    s = Tensor._wrap(copies.get(id(i.data), i.data), i.requires_grad)
    s._ctx, s._vc = i._ctx, (None if i._vc is None else [i._vc[0]])
    return s
