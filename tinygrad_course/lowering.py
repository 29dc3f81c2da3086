"""Replay kernels: an op's forward and backward as the same NumPy calls, written into buffers the
kernel keeps (`out=`), for `tc.jit` to replay instead of the op's own functions.

A replayed step then allocates no activations and no gradient that outlives its node: every
replay writes the same arrays. That keeps the step off the allocator, whose heap trimming
otherwise makes a step of many mid-sized arrays fault its pages in again at every call (glibc
gives memory back when a step frees it all at its end; benchmarks/allocator.py). A rule is
registered next to its op (`@lowering(Linear)` in ops/linalg.py); it gets the recorded node,
the arguments its forward had and its output, and returns a `Lowered`, or None where it does
not apply (another rank, an option it does not cover): then tc.jit replays the op's own
functions. The results are the op's bit for bit: the
same ufuncs on the same operands, only the destination differs (tests/test_lowering.py).

Buffers come in two kinds. An output read only inside the step (an activation, a scratch array)
is made with the rule and written again at every replay. A gradient may leave the step as a
leaf's `.grad`: `grad_buffer` hands its array out again only when nothing else holds it (the
test of `ndarray.resize(refcheck=True)`), else a new one, so a gradient a user kept from an
earlier step never changes under them. A rule's backward must return new arrays or
`grad_buffer` arrays (tc.jit hands them to leaves without a copy). Rules whose buffers have the
output's dtype run the op's own backward for a gradient of another dtype (their forward saves
what it needs); a parameter that changes dtype or shape makes tc.jit record the step again.
"""
from __future__ import annotations

import sys
from typing import Callable

import numpy as np

_RULES: dict[type, Callable] = {}


class Lowered:
    """An op's replay kernels, with the signatures of `Function.forward` and `Function.backward`.
    `out`: the buffer forward writes and returns at every call, which tc.jit binds into the
    kernels that read it; None where forward returns a new array (a loss, which may leave the
    step). `fresh`: backward returns an array of its own for each input (never `g` itself, never
    one array twice), so a leaf takes it as its `.grad` without the engine's checks; leave it
    False unless that holds (a leaf given an array that is also elsewhere would share it).
    `bind(g, outs)`: backward bound to its buffers, for tc.jit's fixed schedule (see Target): a
    function of no arguments that reads the gradient from array `g` (of the output's dtype and
    shape) and writes input i's into `outs[i].array` (None: not needed), the same NumPy calls as
    `backward`; or None where it cannot (a broadcast), and tc.jit routes gradients as eager
    does. Leave `bind` None where the op's inputs are of another dtype than its output."""

    __slots__ = ("forward", "backward", "grads", "out", "fresh", "bind")

    def __init__(self, forward: Callable, backward: Callable, grads: list | None = None,
                 out: np.ndarray | None = None, fresh: bool = False, bind: Callable | None = None):
        # grads[i]: the buffer of input i's gradient (see grad_buffer), which tc.jit marks
        # PASSED_ON when the gradient goes to the node before, not to a leaf's .grad
        self.forward, self.backward, self.grads, self.out, self.fresh = (forward, backward, grads,
                                                                         out, fresh)
        self.bind = bind


class Target:
    """Where a bound backward writes one input's gradient: `.array`, read at each call (a
    GradHome is a Target too, whose array may move). This one holds a gradient that only the
    next kernels read: never handed out, so always free to write."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array


def same_dtype(dtype, *args) -> bool:
    """Whether every array among `args` has `dtype` (a bind's check: its buffers have it)."""
    return all(a.dtype == dtype for a in args if isinstance(a, np.ndarray))


def output_shaped(args: list, out: np.ndarray) -> list[bool]:
    """For each argument, whether it is an array of the output's shape (its gradient needs no
    sum over broadcast axes). Taken when the rule runs: a rule's closures keep no argument."""
    return [isinstance(a, np.ndarray) and a.shape == out.shape for a in args]


def writes_whole(shaped: list[bool], outs: list) -> bool:
    """Whether every gradient a bind must write (`outs[i]` not None) is of the output's shape,
    so the bind can write it with `out=` (`shaped` from `output_shaped`)."""
    return all(whole or target is None for whole, target in zip(shaped, outs))


def lowering(op: type) -> Callable:
    """Register `rule(ctx, args, out) -> Lowered | None` as the replay kernels of `op`."""
    def register(rule: Callable) -> Callable:
        _RULES[op] = rule
        return rule
    return register


def lower(ctx, args: list, kwargs: dict, out) -> Lowered | None:
    """The replay kernels of node `ctx` (its forward ran on `args` and gave `out`), or None if its
    op has no rule or the rule does not cover this call."""
    rule = _RULES.get(type(ctx))
    if rule is None or kwargs or type(out) is not np.ndarray:
        return None
    return rule(ctx, args, out)


def _calibrate() -> int:
    buffers = [np.empty(0)]
    b = buffers[0]
    return sys.getrefcount(b)


# What getrefcount says in grad_buffer of an array nothing but its list holds (calibrated the
# same way, not assumed). Without reference counts (not CPython) every gradient is a new array.
_ALONE = _calibrate() if hasattr(sys, "getrefcount") else -1
_refs = sys.getrefcount if _ALONE > 0 else (lambda b: _ALONE + 1)


# A gradient only passed on to the node before lives for a moment: it gets a new array at each
# call, so a jitted step keeps no buffer for it (memory of the order of one step's activations).
PASSED_ON = "passed on"


class GradHome:
    """Where an optimizer wants a parameter's gradient: its view of the optimizer's flat gradient
    buffer (`Optimizer.grad_homes`), so that its fused step gathers nothing. tc.jit puts it in
    the gradient buffers of the kernels that compute that gradient. A kernel writes there only
    while the view and its buffer are held by their owners alone: a `.grad` kept from the last
    step, or a slice of one (which holds the flat buffer), gets a new array instead."""

    __slots__ = ("array", "alone", "flat")

    def __init__(self):
        # alone: the view's count of holders with its owners only; flat: a cell shared by the
        # homes of one buffer, with its count (taken once for all: a view handed out may be
        # sliced before another home first counts)
        self.array = self.alone = self.flat = None

    @staticmethod
    def move(homes: list["GradHome"], views: list) -> None:
        """Point the homes at the views of one new flat buffer, none of them handed out yet
        (a home outlives the buffer: the kernels it is bound into follow it)."""
        flat = [None]
        for home, view in zip(homes, views):
            home.array, home.alone, home.flat = view, None, flat

    def retire(self) -> None:
        """No buffer for now (its parameter left the fused step): kernels write new arrays."""
        self.array = None

    def free(self) -> bool:
        """Whether nothing but its owners holds the view or its flat buffer (its caller must
        not hold the view either: the count is the same wherever it is made)."""
        if _ALONE < 0 or self.array is None:  # (without reference counts, never)
            return False
        counts = _refs(self.array), _refs(self.array.base)
        if self.alone is None:  # (counted before the view is first handed out)
            self.alone = counts[0]
        if self.flat[0] is None:  # (before any view of the buffer is)
            self.flat[0] = counts[1]
        return counts[0] == self.alone and counts[1] == self.flat[0]


def grad_buffer(buffers: list, i: int, shape: tuple, dtype) -> np.ndarray:
    """buffers[i] to write a gradient into, unless something else still holds it (a `.grad`
    kept from the last step): then a new array, kept there for the next replay (a GradHome
    stays: its view is used again once it is free)."""
    b = buffers[i]
    if b is PASSED_ON:
        return np.empty(shape, dtype)
    if type(b) is GradHome:  # (free() first: no one may hold the view when it counts)
        if b.free() and b.array.shape == shape and (b.array.dtype is dtype
                                                    or b.array.dtype == dtype):
            return b.array
        return np.empty(shape, dtype)
    # (dtype by identity first: NumPy's builtin dtypes are singletons, and != is a slow compare)
    if (b is None or _refs(b) > _ALONE or b.shape != shape
            or b.dtype is not dtype and b.dtype != dtype):
        b = buffers[i] = np.empty(shape, dtype)
    return b
