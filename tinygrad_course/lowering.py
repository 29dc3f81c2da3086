"""Replay kernels: an op's forward and backward as the same NumPy calls, written into buffers the
kernel keeps (`out=`), for `tc.jit` to replay instead of the op's own functions.

A replayed step then allocates no activations and no gradient that outlives its node: every
replay writes the same arrays. That keeps the step off the allocator, whose heap trimming
otherwise makes a step of many mid-sized arrays fault its pages in again at every call (glibc
gives memory back when a step frees it all at its end; benchmarks/allocator.py). A rule is registered next to its op (`@lowering(Linear)` in
ops/linalg.py); it gets the recorded node, the arguments its forward had and its output, and
returns a `Lowered`, or None where it does not apply (another rank, an option it does not
cover): then tc.jit replays the op's own functions. The results are the op's bit for bit: the
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
    `new_output`: forward returns a new array at every call (a loss), which may leave the step."""

    __slots__ = ("forward", "backward", "grads", "new_output")

    def __init__(self, forward: Callable, backward: Callable, grads: list | None = None,
                 new_output: bool = False):
        # grads[i]: the buffer of input i's gradient (see grad_buffer), which tc.jit marks
        # PASSED_ON when the gradient goes to the node before, not to a leaf's .grad
        self.forward, self.backward, self.grads, self.new_output = (forward, backward, grads,
                                                                    new_output)


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


def _refs(buffers: list, i: int) -> int:
    return sys.getrefcount(buffers[i])


# What _refs says of an array nothing but its list holds (calibrated, not assumed). Without
# reference counts (not CPython) every gradient goes into a new array.
_ALONE = _refs([np.empty(0)], 0) if hasattr(sys, "getrefcount") else -1


# A gradient only passed on to the node before lives for a moment: it gets a new array at each
# call, so a jitted step keeps no buffer for it (memory of the order of one step's activations).
PASSED_ON = "passed on"


def grad_buffer(buffers: list, i: int, shape: tuple, dtype) -> np.ndarray:
    """buffers[i] to write a gradient into, unless something else still holds it (a `.grad`
    kept from the last step): then a new array, kept there for the next replay."""
    if buffers[i] is PASSED_ON:
        return np.empty(shape, dtype)
    if (buffers[i] is None or _ALONE < 0 or _refs(buffers, i) > _ALONE
            or buffers[i].shape != shape or buffers[i].dtype != dtype):
        buffers[i] = np.empty(shape, dtype)
    return buffers[i]
