"""The plain backward pass (ndarray gradients, no create_graph): run ready nodes' rules and hand
each input its gradient. This loop is most of what a small model's backward costs in Python, so
its per-input step is written once below and unrolled for nodes of one, two and three inputs
when the module is imported (the generated source shows in tracebacks like any other file).
"""
from __future__ import annotations

import linecache
import re

import numpy as np

# What one input `inp` of node `ctx` does with its gradient `gi` (need: whether it wants one).
# A leaf gets it in `.grad`: a fresh array of its own dtype, never a view or an array already
# given to another tensor. A node adds it to what it has so far and, once its last user has
# passed its gradient on, is ready to run.
_EDGE = """
if need:
    c = inp._ctx
    if c is None:
        if gi is not None:
            data = inp.data
            if gi.shape != data.shape:
                gi = unbroadcast(gi, data.shape, ctx)
            acc = inp.grad
            if acc is None:
                if type(gi) is ndarray and gi.dtype is data.dtype and gi.base is None:
                    key = id(gi)
                    if key in given:
                        gi = leaf_grad(gi, inp, given)
                    else:
                        given.add(key)
                else:
                    gi = leaf_grad(gi, inp, given)
                gt = new(Tensor)
                gt.data = gi
                gt.grad = None
                gt._ctx = None
                gt.requires_grad = False
                inp.grad = gt
            else:
                add_into(acc, gi, given)
    else:
        if c.epoch != epoch:
            check_edge(ctx, inp)
        if gi is not None and gi.shape != inp.data.shape:
            gi = unbroadcast(gi, inp.data.shape, ctx)
        if inp._pass is token:
            if gi is not None:
                prev = inp._g
                inp._g = gi if prev is None else prev + gi
            pending = inp._pending - 1
            inp._pending = pending
            if pending == 0:
                ready.append(inp)
                waiting -= 1
        else:
            inp._pass = token
            inp._g = gi
            pending = inp._nuse - 1
            inp._pending = pending
            if pending == 0:
                ready.append(inp)  # its only user (the usual case)
            else:
                waiting += 1
"""

_PASS = """
def plain_pass(ready, waiting, token, given, retain_graph, epoch):
    # Returns how many nodes still hold a gradient but wait for users this pass never reached.
    while ready:
        t = ready.pop()
        ctx = t._ctx
        g = t._g
        t._g = None  # _pass may stay: the next pass has a new token
        if ctx.epoch == epoch:
            ins = ctx.inputs
        else:
            ins = inputs_as_seen(ctx)
            if g is not None:
                check_versions(ctx, t)
        n = len(ins)
        if g is None:
            gin = (None,) * n  # nothing flowed here; its inputs still count this user as done
        else:
            if ctx.saved is None:
                raise freed(ctx)
            if t._retains_grad:
                accumulate_leaf(t, g, False, given)
            gin = ctx.backward(ctx, g)
            if type(gin) is not tuple:
                gin = (gin,)
            if len(gin) != n:
                raise miscounted(ctx, gin)
            if not ctx.owns_grads:
                disown(gin, given)
        if n == 2:
            inp0, inp1 = ins
            gi0, gi1 = gin
            need0, need1 = ctx.needs_input_grad
{edges2}
        elif n == 1:
            inp0, = ins
            gi0, = gin
            need0, = ctx.needs_input_grad
{edges1}
        elif n == 3:
            inp0, inp1, inp2 = ins
            gi0, gi1, gi2 = gin
            need0, need1, need2 = ctx.needs_input_grad
{edges3}
        else:
            for inp0, gi0, need0 in zip(ins, gin, ctx.needs_input_grad):
{edges_loop}
        if not retain_graph:
            ctx.saved = None
    return waiting
"""


def _edge(i: int, indent: int) -> str:
    body = re.sub(r"\b(inp|gi|need)\b", rf"\g<1>{i}", _EDGE)
    pad = " " * indent
    return "\n".join(pad + line if line else line for line in body.strip("\n").split("\n"))


def _source() -> str:
    return _PASS.format(edges1=_edge(0, 12), edges2=_edge(0, 12) + "\n" + _edge(1, 12),
                        edges3="\n".join(_edge(i, 12) for i in range(3)),
                        edges_loop=_edge(0, 16))


def make_plain_pass(env: dict):
    """Compile the pass with the engine's helpers (`env`) as its globals."""
    source = _source()
    filename = "<tinygrad_course backward pass>"
    # Tracebacks and debuggers read the generated lines from linecache, as from a file.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = {"ndarray": np.ndarray, **env}
    exec(compile(source, filename, "exec"), scope)
    return scope["plain_pass"]
