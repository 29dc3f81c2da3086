"""The backward engine: backpropagation without recursion, gradients into leaves' `.grad`,
and the functional `grad`."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .autograd import (BackwardError, Function, _check_edge, _check_versions, _epoch,
                       _inputs_as_seen, _new)
from .backward_pass import make_plain_pass
from .grad_mode import enable_grad, no_grad

Tensor: Any = None  # set by tensor.py, like autograd.Tensor


def unbroadcast(g, shape: tuple, ctx: Function | None = None):
    """Sum a gradient over the axes broadcasting added or stretched, back to `shape`."""
    extra = g.ndim - len(shape)
    returned = g.shape
    if extra < 0:
        raise BackwardError(f"{_opname(ctx)}: backward returned a gradient of shape {g.shape} "
                            f"for an input of shape {shape}")
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if extra and g.shape[extra:] == shape:
        g = g.reshape(shape)
    if g.shape != shape:
        raise BackwardError(f"{_opname(ctx)}: backward returned a gradient of shape {returned} "
                            f"for an input of shape {shape}")
    return g


def _opname(ctx) -> str:
    return type(ctx).__name__ if ctx is not None else "backward"


def toposort(roots: Sequence) -> list:
    """Tensors with a grad_fn that `roots` depend on, inputs before users, without recursion."""
    order: list = []
    seen: set[int] = set()
    stack = [(r, False) for r in reversed(roots) if r._ctx is not None]
    push, pop, add, append = stack.append, stack.pop, seen.add, order.append
    while stack:
        t, expanded = pop()
        if expanded:
            append(t)
            continue
        if id(t) in seen:
            continue
        add(id(t))
        push((t, True))
        c = t._ctx
        for inp in reversed(c.inputs if c.epoch == _epoch[0] else _inputs_as_seen(c)):
            if isinstance(inp, Tensor) and inp._ctx is not None and id(inp) not in seen:
                push((inp, False))
    return order


def _leaf_grad(g, t, given: set):
    # A leaf's .grad must be its own array of its own dtype: never a broadcast view, never the
    # same array as another tensor's .grad or the caller's upstream gradient.
    if type(g) is not np.ndarray:  # NumPy math on 0-d arrays returns scalars
        g = np.array(g, dtype=t.data.dtype)
    elif g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    elif g.base is not None or id(g) in given or not g.flags.writeable:
        g = g.copy()
    given.add(id(g))
    return g


def _disown(gin: tuple, given: set) -> None:
    # Arrays from a rule that may still hold them count as given: never kept as a leaf's .grad.
    for g in gin:
        if g is not None:
            given.add(id(g.data if isinstance(g, Tensor) else g))


def _miscounted(ctx, gin) -> BackwardError:
    return BackwardError(f"{type(ctx).__name__}.backward returned {len(gin)} gradients for "
                         f"{len(ctx.inputs)} inputs; return one per positional input of forward "
                         "(None for those that need none)")


def _freed(ctx) -> BackwardError:
    return BackwardError(
        f"{type(ctx).__name__}: trying to backward through the graph a second time; its saved "
        "values were freed by the first backward(). Pass retain_graph=True to the first call if "
        "you need to backpropagate twice")


def run_backward(roots: Sequence, grad_roots: Sequence, retain_graph: bool = False,
                 create_graph: bool = False, inputs: Sequence | None = None,
                 allow_unused: bool = False):
    """Backpropagate from `roots`; accumulate into leaves' `.grad`, or return grads of `inputs`."""
    if create_graph or inputs is not None:
        with (enable_grad() if create_graph else no_grad()):
            return _run_general(roots, grad_roots, retain_graph, create_graph, inputs, allow_unused)
    # The plain path: gradients are ndarrays and rules run on them directly, so no grad-mode
    # switch and no Tensor wrappers are needed until a leaf receives its .grad. Nodes are taken
    # in Kahn's order: a node runs once every op that used its output has passed its gradient
    # on. Forward counted those users (`_nuse`), so there is no counting pass; a user this pass
    # never reaches (another loss, a discarded result) leaves its input waiting, and `_recount`
    # then counts the users that remain. The bookkeeping (pending count, gradient so far) lives
    # on each node's output tensor, stamped with this pass's token so a stale value is never
    # read.
    token = object()
    given: set[int] = set()
    ready = []
    waiting = 0  # nodes that hold a gradient but still wait for users
    for r, g in zip(roots, grad_roots):
        given.add(id(g))
        if r._ctx is None:
            _accumulate_leaf(r, g, False, given)
        elif r._pass is token:
            r._g = r._g + g
        else:
            r._pass, r._g, r._pending = token, g, r._nuse
            if r._nuse:
                waiting += 1
            else:
                ready.append(r)
    epoch = _epoch[0]
    if _plain_pass(ready, waiting, token, given, retain_graph, epoch):
        _settle(roots, token, given, retain_graph, epoch)
    return None


def backward_from(root, g, retain_graph: bool = False) -> None:
    """`run_backward((root,), (g,), retain_graph)` for the usual case, a loss that no recorded op
    used: seeded directly (this is the fixed cost of every loss.backward())."""
    if root._ctx is None or root._nuse:
        return run_backward((root,), (g,), retain_graph)
    token = object()
    root._pass, root._g, root._pending = token, g, 0
    epoch = _epoch[0]
    given = {id(g)}
    if _plain_pass([root], 0, token, given, retain_graph, epoch):
        _settle((root,), token, given, retain_graph, epoch)
    return None


def _settle(roots: Sequence, token, given: set, retain_graph: bool, epoch: int) -> None:
    # A pass left nodes waiting for users it never reached: count again and finish.
    token, ready, waiting = _recount(roots, token, epoch)
    if _plain_pass(ready, waiting, token, given, retain_graph, epoch):
        raise BackwardError("backward: nodes still wait after counting their users again "
                            "(an engine bug; please report it)")


def _recount(roots: Sequence, token, epoch: int):
    """Nodes still waiting after a pass wait for users the pass never reached. Count, for each
    node from the waiting ones down, only the users among those nodes, and start a new pass."""
    # Every waiting node got its gradient from a node that ran, and every node that ran is
    # reachable from a root through nodes that ran: walk those to find the waiting ones.
    stuck, seen = [], set()
    stack = [r for r in roots if r._ctx is not None]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._pass is not token:
            continue
        if t._pending:
            stuck.append(t)
            continue
        c = t._ctx
        for inp in (c.inputs if c.epoch == epoch else _inputs_as_seen(c)):
            if isinstance(inp, Tensor) and inp._ctx is not None:
                stack.append(inp)
    new = object()
    for t in stuck:
        t._pass, t._pending = new, 0
    stack = list(stuck)
    waiting = 0
    while stack:
        ctx = stack.pop()._ctx
        for inp, need in zip(ctx.inputs if ctx.epoch == epoch else _inputs_as_seen(ctx),
                             ctx.needs_input_grad):
            if not need or inp._ctx is None:
                continue
            if inp._pass is new:
                inp._pending += 1
            else:
                inp._pass, inp._pending, inp._g = new, 1, None
                waiting += 1
                stack.append(inp)
    # Exact counts now: every node below reaches zero (a graph has no cycles), and `waiting`
    # counts those that start above it.
    ready = []
    for t in stuck:
        if t._pending:
            waiting += 1
        else:
            ready.append(t)
    return new, ready, waiting


def _run_general(roots, grad_roots, retain_graph, create_graph, inputs, allow_unused):
    grads: dict[int, Any] = {}
    given: set[int] = set()
    capture = None if inputs is None else {id(t): None for t in inputs}
    for r, g in zip(roots, grad_roots):
        given.add(id(g.data if isinstance(g, Tensor) else g))
        if r._ctx is None and capture is None:
            _accumulate_leaf(r, g, create_graph, given)
        elif r._ctx is None:
            if id(r) in capture:
                prev = capture[id(r)]
                capture[id(r)] = g if prev is None else prev + g
        else:
            grads[id(r)] = g if id(r) not in grads else grads[id(r)] + g
    epoch = _epoch[0]
    for t in reversed(toposort(roots)):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        if capture is not None and id(t) in capture:
            capture[id(t)] = g
        if t._retains_grad and capture is None:
            _accumulate_leaf(t, g, create_graph, given)
        ctx = t._ctx
        if ctx.saved is None:
            raise _freed(ctx)
        if ctx.epoch != epoch:
            _check_versions(ctx, t)
        if create_graph:
            # The rule sees its saved inputs and output as graph Tensors, for the whole call.
            plain = ctx.saved
            ctx.saved = ctx._saved_in_graph(t)
            g = g if isinstance(g, Tensor) else Tensor._wrap(g)
            try:
                gin = ctx.backward(ctx, g)
            finally:
                ctx.saved = plain
        else:
            gin = ctx.backward(ctx, g)
        if not isinstance(gin, tuple):
            gin = (gin,)
        if len(gin) != len(ctx.inputs):
            raise _miscounted(ctx, gin)
        if not ctx.owns_grads:
            _disown(gin, given)
        ins = ctx.inputs if ctx.epoch == epoch else _inputs_as_seen(ctx)
        for inp, gi, need in zip(ins, gin, ctx.needs_input_grad):
            if not need or gi is None:
                continue
            if inp._ctx is not None and inp._ctx.epoch != epoch:
                _check_edge(ctx, inp)
            if gi.shape != inp.data.shape:
                gi = unbroadcast(gi, inp.data.shape, ctx)
            if inp._ctx is None:
                if capture is None:
                    _accumulate_leaf(inp, gi, create_graph, given)
                elif id(inp) in capture:
                    prev = capture[id(inp)]
                    capture[id(inp)] = gi if prev is None else prev + gi
            else:
                k = id(inp)
                prev = grads.get(k)
                grads[k] = gi if prev is None else prev + gi
        if not retain_graph:
            ctx.saved = None
    if capture is None:
        return None
    result = []
    for t in inputs:
        g = capture[id(t)]
        if g is None:
            if not allow_unused:
                raise BackwardError(
                    f"grad: an input of shape {t.shape} was not used to compute the outputs "
                    "(pass allow_unused=True to get None for it)")
            result.append(None)
        elif isinstance(g, Tensor):
            result.append(g)
        else:
            result.append(Tensor._wrap(_leaf_grad(g, t, given)))
    return result


def _accumulate_leaf(t, g, create_graph: bool, given: set) -> None:
    if create_graph:
        g = g if isinstance(g, Tensor) else Tensor._wrap(g)
        t.grad = g if t.grad is None else t.grad + g
        return
    if isinstance(g, Tensor):
        g = g.data
    if t.grad is None:
        t.grad = Tensor._wrap(_leaf_grad(g, t, given))
    else:
        _add_into(t.grad, g, given)


def _add_into(acc, g, given: set) -> None:
    """acc (a leaf's .grad) += g, in place unless acc's array was set in this pass: then it may
    still be pending at another node, so the sum goes into a copy instead."""
    if id(acc.data) in given:
        total = acc.data.copy()  # a copy, not np.add's result: 0-d stays an array
        np.add(total, g, out=total, casting="unsafe")
        acc.data = total
    else:
        np.add(acc.data, g, out=acc.data, casting="unsafe")


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> list:
    """Gradients of `outputs` with respect to `inputs`, returned (not accumulated into `.grad`)."""
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise BackwardError("grad: every input must be a Tensor with requires_grad=True")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    grad_outputs = _as_list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    gs = [_initial_grad(o, g, "grad", create_graph) for o, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    return run_backward(outputs, gs, retain_graph, create_graph, inputs, allow_unused)


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _initial_grad(out, g, op: str, create_graph: bool):
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: expected a Tensor output, got {type(out).__name__}")
    if not out.requires_grad:
        raise BackwardError(f"{op}: the output does not require grad (no input had requires_grad=True, "
                            "or it was computed under no_grad)")
    if g is None:
        if out.data.size != 1:
            raise BackwardError(f"{op}: the output has shape {out.shape}, so a gradient must be given "
                                "(backward() without arguments only works for a scalar, e.g. loss.sum())")
        one = np.ones(out.data.shape, out.data.dtype)
        return Tensor._wrap(one) if create_graph else one
    if isinstance(g, Tensor):
        gd = g.data
    else:
        gd = np.asarray(g, dtype=out.data.dtype)
    if gd.shape != out.data.shape:
        raise ValueError(f"{op}: gradient has shape {gd.shape} but the output has shape {out.shape}")
    if not np.all(np.isfinite(gd)):
        raise ValueError(f"{op}: the upstream gradient contains NaN or inf")
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor(gd)
    return gd


_plain_pass = make_plain_pass({
    "Tensor": None, "new": _new, "unbroadcast": unbroadcast, "leaf_grad": _leaf_grad,
    "add_into": _add_into, "accumulate_leaf": _accumulate_leaf, "check_edge": _check_edge,
    "check_versions": _check_versions, "inputs_as_seen": _inputs_as_seen, "freed": _freed,
    "miscounted": _miscounted, "disown": _disown})


def bind_tensor(cls) -> None:
    """Called by tensor.py once Tensor exists (the engine sits below it in the import order)."""
    global Tensor
    Tensor = cls
    _plain_pass.__globals__["Tensor"] = cls
