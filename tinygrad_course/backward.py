"""The one backward pass: reverse-mode differentiation over the recorded nodes, without recursion.

`backward_pass` serves `t.backward()`, `backward(create_graph=True)`, `retain_graph` and
`tc.grad`. It runs each node that holds a gradient once, the newest first (a node is made after
the nodes that made its inputs, so by then every user has sent its part), with the sum of what its
users sent; it undoes broadcasting and hands each input its part: a node's input adds to the
gradient of the node that made it, a leaf adds to its `.grad` (or, for `tc.grad`, to what is
returned).
"""
from __future__ import annotations

import heapq
from contextlib import nullcontext
from typing import Sequence

import numpy as np

from .autograd import Function, _state, enable_grad
from .inplace import BackwardError, _clock, check_input, check_saved
from .tensor import Tensor


def graph_nodes(roots: Sequence[Tensor]) -> list:
    """The nodes `roots` depend on, in the order backward runs them: the newest first, so each
    comes before the nodes that made its inputs (tc.jit plans a step's backward with it)."""
    seen, stack = set(), [r._ctx for r in roots if r._ctx is not None]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(p for p in node.parents if p is not None)
    return sorted(seen, key=lambda node: node.seq, reverse=True)


def unbroadcast(g, shape: tuple, node: Function | None = None):
    """Sum a gradient over the axes broadcasting added or stretched, back to `shape`."""
    extra, returned = g.ndim - len(shape), g.shape
    if extra >= 0 and g.shape != shape:
        stretched = tuple(i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
        g = g.sum(axis=tuple(range(extra)) + stretched, keepdims=True)
        g = g.reshape(shape) if g.shape[extra:] == shape else g
    if g.shape != shape:
        raise BackwardError(f"{type(node).__name__ if node else 'backward'}: backward returned a "
                            f"gradient of shape {returned} for an input of shape {shape}")
    return g


def backward_pass(roots: Sequence[Tensor], root_grads: Sequence, retain_graph: bool = False,
                  create_graph: bool = False, inputs: Sequence[Tensor] | None = None,
                  allow_unused: bool = False):
    """Backpropagate `root_grads` from `roots`. Without `inputs`, add into leaves' `.grad`; with
    them, return their gradients instead. Under `create_graph` the rules run on Tensors."""
    grads: dict = {}  # node (or a wanted leaf's id) -> the sum of what its users sent so far
    ready: list = []  # a heap of (-seq, node): the newest node holding a gradient comes first
    given: set[int] = set()  # arrays handed out in this pass: never a second leaf's .grad
    cut = False  # whether a rule returned None for an input an op made (the nodes below may not run)
    wanted = None if inputs is None else {t._ctx or id(t) for t in inputs}
    # (tc.grad of intermediates only: a node as old as the oldest of them, or older, never runs:
    # nothing wanted is below it)
    oldest = min((-1 if t._ctx is None else t._ctx.seq for t in inputs), default=-1) if inputs else -1
    if _state.recorder is not None:  # tc.jit records which backward the step runs
        _state.recorder.backward(roots, root_grads, retain_graph, create_graph, inputs)

    def send(node, inp, g) -> None:  # g adds to the gradient of inp's node, or to a leaf's
        if node is not None:
            if node not in grads and node.seq > oldest:  # its first gradient: it joins the heap
                heapq.heappush(ready, (-node.seq, node))
            grads[node] = g if node not in grads else grads[node] + g
        elif wanted is None:
            _accumulate(inp, g, create_graph, given)
        elif id(inp) in wanted:
            grads[id(inp)] = g if id(inp) not in grads else grads[id(inp)] + g

    for r, g in zip(roots, root_grads):
        given.add(id(g.data if isinstance(g, Tensor) else g))
        send(r._ctx, r, g)
    with enable_grad() if create_graph else nullcontext():  # plain rules run on arrays
        while ready:
            # Every user of a node was made after it, so once the node is the newest one
            # holding a gradient, all its users have run: its gradient is complete.
            node = heapq.heappop(ready)[1]
            g = grads.pop(node) if wanted is None else grads[node]
            for t in node.retained if wanted is None else ():
                _accumulate(t, g, create_graph, given)
            for inp, parent, need, gi in zip(node.inputs, node.parents, node.needs_input_grad,
                                             _run_rule(node, g, create_graph, given)):
                if need and gi is not None:
                    if gi.shape != inp.data.shape:
                        gi = unbroadcast(gi, inp.data.shape, node)
                    if gi.dtype is not inp.data.dtype and gi.dtype != inp.data.dtype:
                        gi = gi.astype(inp.data.dtype)  # a gradient has its input's dtype (as in PyTorch)
                    if parent is not None and parent.epoch != node.epoch:  # a change in between?
                        check_input(node, inp, parent)
                    send(parent, inp, gi)
                cut = cut or gi is None and parent is not None and wanted is None
            if not retain_graph:
                _release(node)
    # Nodes a None gradient cut off never ran: they let go of their arrays too, as PyTorch's do
    # (backward only: tc.grad leaves the nodes it had no need to run as they are).
    for node in [n for n in graph_nodes(roots) if n.saved is not None] if cut and not retain_graph else ():
        _release(node)
    result = []
    for t in inputs if wanted is not None else ():  # (tc.grad: what it returns)
        g = grads.get(t._ctx or id(t))
        if g is None and not allow_unused:
            raise BackwardError(f"grad: an input of shape {t.shape} was not used to compute the "
                                "outputs (pass allow_unused=True to get None for it)")
        result.append(g if g is None or isinstance(g, Tensor) else Tensor._wrap(_own(g, t, given)))
    return None if wanted is None else result


def _run_rule(node, g, create_graph: bool, given: set) -> tuple:
    if node.saved is None:
        raise BackwardError(f"{type(node).__name__}: trying to backward through the graph a second time; its saved "
                            "values were freed by the first backward(). Pass retain_graph=True to the first "
                            "call if you need to backpropagate twice")
    if node.epoch != _clock[0]:
        check_saved(node)
    plain = node.saved
    if create_graph:  # the rule runs on graph Tensors, so its result can be differentiated again
        node.saved, g = tuple(_as_graph_tensor(node, s) for s in plain), g if isinstance(g, Tensor) else Tensor._wrap(g)
    try:  # (a user's rule gets a copy of g: it may change it in place, and g goes elsewhere too)
        gin = node.backward(node, g.copy() if not node.owns_grads and type(g) is np.ndarray else g)
    finally:
        node.saved = plain
    gin = gin if type(gin) is tuple else (gin,)
    if len(gin) != len(node.inputs):
        raise BackwardError(f"{type(node).__name__}.backward returned {len(gin)} gradients for {len(node.inputs)} "
                            "inputs; return one per positional input of forward (None where none is needed)")
    if not node.owns_grads:  # a user's rule may return numbers, or still hold what it returned
        gin = tuple(x if x is None or isinstance(x, (np.ndarray, Tensor)) else np.asarray(x) for x in gin)
        given.update(id(x.data if isinstance(x, Tensor) else x) for x in gin if x is not None)
    return gin


def _as_graph_tensor(node, s):
    # Under create_graph a saved input or the output is its graph Tensor, so the gradient can
    # be differentiated through it; any other saved array is a constant.
    if not isinstance(s, np.ndarray):
        return s
    for t in node.inputs:
        if isinstance(t, Tensor) and t.data is s:
            return t
    out = Tensor._wrap(s, id(s) == node.out_id)
    out._ctx = node if out.requires_grad else None
    return out


def _own(g, t: Tensor, given: set) -> np.ndarray:
    """g as an array a leaf may keep as `.grad`: its own (not a view, not handed out before in
    this pass, writable), of the leaf's dtype."""
    if type(g) is not np.ndarray or g.dtype != t.data.dtype:  # 0-d NumPy math gives scalars
        g = np.array(g, dtype=t.data.dtype)
    elif g.base is not None or id(g) in given or not g.flags.writeable:
        g = g.copy()
    given.add(id(g))
    return g


def _accumulate(t: Tensor, g, create_graph: bool, given: set) -> None:
    """t.grad += g. The sum is in place, unless t.grad was handed out in this pass (another node
    may still hold it) or the graph of the sum is wanted (create_graph)."""
    if create_graph:
        g = g if isinstance(g, Tensor) else Tensor._wrap(g)
        if t.grad is None and (t._ctx is not None or id(g.data) in given or g.data.base is not None):
            g = g + 0.0  # a .grad of its own, never what the caller, another leaf or a rule holds
        t.grad = g if t.grad is None else t.grad + g
        given.add(id(t.grad.data))
    elif t.grad is None:
        t.grad = Tensor._wrap(_own(g.data if isinstance(g, Tensor) else g, t, given))
    else:
        if id(t.grad.data) in given or t.grad._ctx is not None or not t.grad.data.flags.writeable:
            t.grad = Tensor._wrap(t.grad.data.copy())  # a copy, not np.add's result: 0-d stays an array
        np.add(t.grad.data, g.data if isinstance(g, Tensor) else g, out=t.grad.data)


class FreedInput:
    """What a node keeps of a data input whose array backward let go of: its shape, dtype and
    name (enough to draw the graph after backward; an op's output is stood in for by its node)."""

    __slots__ = ("shape", "dtype", "name", "grad_fn")
    grad = data = None
    requires_grad = property(lambda self: self.grad_fn is not None)

    def __init__(self, shape: tuple, dtype, name=None, grad_fn=None) -> None:
        self.shape, self.dtype, self.name, self.grad_fn = shape, dtype, name, grad_fn


def _release(node) -> None:
    """Let go of what backward no longer needs, so a loss kept for plotting does not keep a step's
    activations alive: the saved arrays, arrays kept on ctx, and the data of every input but
    parameters, tensors that asked for their .grad and small constants. An op's output is then
    stood in for by the node that made it (its shape and dtype noted there), data by a
    FreedInput: the graph's shape stays, for drawing and the "backward twice" error."""
    node.saved = None
    attrs = node.__dict__
    for k, v in attrs.items():
        if type(v) is np.ndarray or type(v) is tuple and any(type(i) is np.ndarray for i in v):
            attrs[k] = None  # (an array, or an index tuple holding arrays)
    freed = []
    for inp, parent in zip(node.inputs, node.parents):
        if parent is not None:  # an op's output
            if not parent.retained or all(t is not inp for t in parent.retained):
                parent.out_shape, parent.out_dtype = inp.data.shape, inp.data.dtype
                inp = parent
        elif isinstance(inp, Tensor) and not inp.requires_grad:  # data, not a parameter
            inp = FreedInput(inp.shape, inp.dtype, inp.name)
        elif isinstance(inp, np.ndarray) and inp.nbytes > 4096:  # small ones (running averages) stay
            inp = FreedInput(inp.shape, inp.dtype)
        elif type(inp) is tuple and any(type(i) is np.ndarray for i in inp):  # an index (sort's)
            inp = tuple(None if type(i) is np.ndarray else i for i in inp)
        freed.append(inp)
    node.inputs = tuple(freed)


def _initial_grad(out, g, op: str, create_graph: bool):
    """d(root)/d(out) to start from: `g` checked against `out`, or 1 for a one-element output."""
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise BackwardError(f"{op}: the output is not a tensor or does not require grad (no input had "
                            "requires_grad=True, or it was computed under no_grad)")
    if g is None and out.data.size != 1:
        raise BackwardError(f"{op}: the output has shape {out.shape}, so a gradient must be given "
                            "(backward() without arguments only works for a scalar, e.g. loss.sum())")
    raw = None if g is None else np.asarray(g.data if isinstance(g, Tensor) else g)
    # (cast to the output's dtype, as PyTorch's; a finite value may overflow float16 to inf there)
    gd = np.array(1, out.data.dtype).reshape(out.data.shape) if g is None else (  # np.ones is slower
        raw.astype(out.data.dtype, copy=False))
    if gd.shape != out.data.shape:
        raise ValueError(f"{op}: gradient has shape {gd.shape} but the output has shape {out.shape}")
    if g is not None and not np.all(np.isfinite(raw if raw.dtype.kind == "f" else gd)):
        raise ValueError(f"{op}: the upstream gradient contains NaN or inf")
    # Under create_graph a gradient of another dtype is cast by an op, which keeps its graph.
    return (g if isinstance(g, Tensor) else Tensor._wrap(gd)).astype(out.data.dtype) if create_graph else gd


def backward(self: Tensor, gradient=None, retain_graph: bool = False,
             create_graph: bool = False) -> None:
    """Backpropagate from this tensor: every leaf it depends on gets d(self)/d(leaf) added to
    `.grad` (`gradient` is d(loss)/d(self), needed unless self has one element)."""
    g = _initial_grad(self, gradient, "backward", create_graph)
    backward_pass((self,), (g,), retain_graph or create_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> list:
    """Gradients of `outputs` with respect to `inputs`, returned (not accumulated into `.grad`)."""
    def as_list(x) -> list:
        return list(x) if isinstance(x, (list, tuple)) else [x]
    outputs, inputs = as_list(outputs), as_list(inputs)
    if not all(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise BackwardError("grad: every input must be a Tensor with requires_grad=True")
    grad_outputs = [None] * len(outputs) if grad_outputs is None else as_list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    gs = [_initial_grad(o, g, "grad", create_graph) for o, g in zip(outputs, grad_outputs)]
    retain_graph = create_graph if retain_graph is None else retain_graph
    return backward_pass(outputs, gs, retain_graph, create_graph, inputs, allow_unused)


Tensor.backward = backward
