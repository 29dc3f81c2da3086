"""The one backward pass: reverse-mode differentiation over the recorded nodes, without recursion.

`backward_pass` serves `t.backward()`, `backward(create_graph=True)`, `retain_graph` and
`tc.grad`. It sorts the nodes the roots depend on (users before the nodes that made their
inputs), then runs each node's rule once with the sum of the gradients its users sent, undoes
broadcasting, and hands each input its part: a node's input adds to the gradient of the node
that made it, a leaf adds to its `.grad` (or, for `tc.grad`, to what is returned).
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Sequence

import numpy as np

from .autograd import Function, enable_grad
from .inplace import BackwardError, _clock, check_input, check_saved
from .tensor import Tensor


def graph_nodes(roots: Sequence[Tensor]) -> list:
    """The nodes `roots` depend on, each after every node that used its output (deterministic)."""
    order, seen = [], set()
    stack = [(r._ctx, False) for r in reversed(roots) if r._ctx is not None]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node.parents) if p is not None and p not in seen)
    order.reverse()
    return order


def unbroadcast(g, shape: tuple, node: Function | None = None):
    """Sum a gradient over the axes broadcasting added or stretched, back to `shape`."""
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if extra >= 0 and n == 1 and g.shape[i + extra] != 1)
    reduced = g.sum(axis=axes, keepdims=True) if axes and extra >= 0 else g
    if extra > 0 and reduced.shape[extra:] == shape:
        reduced = reduced.reshape(shape)
    if reduced.shape != shape:
        raise BackwardError(f"{type(node).__name__ if node else 'backward'}: backward returned a "
                            f"gradient of shape {g.shape} for an input of shape {shape}")
    return reduced


def backward_pass(roots: Sequence[Tensor], root_grads: Sequence, retain_graph: bool = False,
                  create_graph: bool = False, inputs: Sequence[Tensor] | None = None,
                  allow_unused: bool = False):
    """Backpropagate `root_grads` from `roots`. Without `inputs`, add into leaves' `.grad`; with
    them, return their gradients instead. Under `create_graph` the rules run on Tensors."""
    grads: dict = {}  # node -> the sum of what its users sent so far
    given: set[int] = set()  # arrays handed out in this pass: never a second leaf's .grad
    wanted = None if inputs is None else {(t._ctx or id(t)): None for t in inputs}

    def send(node, inp, g) -> None:
        if node is not None:
            prev = grads.get(node)
            grads[node] = g if prev is None else prev + g
        elif wanted is None:
            _accumulate(inp, g, create_graph, given)
        elif id(inp) in wanted:
            prev = wanted[id(inp)]
            wanted[id(inp)] = g if prev is None else prev + g

    for r, g in zip(roots, root_grads):
        given.add(id(g.data if isinstance(g, Tensor) else g))
        send(r._ctx, r, g)
    memo: dict = {}
    with enable_grad() if create_graph else nullcontext():
        for node in graph_nodes(roots):
            g = grads.pop(node, None)
            if g is None:  # a branch no root's gradient reaches
                continue
            if wanted is not None and node in wanted:
                wanted[node] = g
            for t in node.retained:
                if wanted is None:
                    _accumulate(t, g, create_graph, given)
            for inp, parent, need, gi in zip(node.inputs, node.parents, node.needs_input_grad,
                                             _run_rule(node, g, create_graph, given)):
                if need and gi is not None:
                    if gi.shape != inp.shape:
                        gi = unbroadcast(gi, inp.shape, node)
                    if parent is not None:
                        check_input(node, inp, parent)
                    send(parent, inp, gi)
            if not retain_graph:
                _release(node, memo)
    if wanted is None:
        return None
    return [_returned(wanted[t._ctx or id(t)], t, allow_unused, given) for t in inputs]


def _run_rule(node, g, create_graph: bool, given: set) -> tuple:
    if node.saved is None:
        raise BackwardError(
            f"{type(node).__name__}: trying to backward through the graph a second time; its "
            "saved values were freed by the first backward(). Pass retain_graph=True to the "
            "first call if you need to backpropagate twice")
    if node.epoch != _clock[0]:
        check_saved(node)
    if create_graph:
        plain = node.saved
        node.saved = tuple(_as_graph_tensor(node, s) for s in plain)
        try:
            gin = node.backward(node, g if isinstance(g, Tensor) else Tensor._wrap(g))
        finally:
            node.saved = plain
    else:
        gin = node.backward(node, g)
    if type(gin) is not tuple:
        gin = (gin,)
    if len(gin) != len(node.inputs):
        raise BackwardError(f"{type(node).__name__}.backward returned {len(gin)} gradients for "
                            f"{len(node.inputs)} inputs; return one per positional input of "
                            "forward (None for those that need none)")
    if not node.owns_grads:  # a user's rule may still hold what it returned
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
    out = Tensor._wrap(s)
    if id(s) == node.out_id:
        out.requires_grad, out._ctx = True, node
    return out


def _own(g, t: Tensor, given: set) -> np.ndarray:
    """g as an array a leaf may keep as `.grad`: its own (not a view, not handed out before in
    this pass, writable), of the leaf's dtype."""
    if type(g) is not np.ndarray:  # NumPy math on 0-d arrays returns scalars
        g = np.array(g, dtype=t.data.dtype)
    elif g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    elif g.base is not None or id(g) in given or not g.flags.writeable:
        g = g.copy()
    given.add(id(g))
    return g


def _accumulate(t: Tensor, g, create_graph: bool, given: set) -> None:
    """t.grad += g. The sum is in place, unless t.grad was handed out in this pass (another node
    may still hold it) or the graph of the sum is wanted (create_graph)."""
    if create_graph:
        g = g if isinstance(g, Tensor) else Tensor._wrap(g)
        t.grad = g if t.grad is None else t.grad + g
    elif t.grad is None:
        t.grad = Tensor._wrap(_own(g.data if isinstance(g, Tensor) else g, t, given))
    else:
        if id(t.grad.data) in given or t.grad._ctx is not None:
            t.grad = Tensor._wrap(t.grad.data.copy())  # a copy, not np.add's result: 0-d stays an array
        np.add(t.grad.data, g.data if isinstance(g, Tensor) else g, out=t.grad.data,
               casting="unsafe")


def _returned(g, t: Tensor, allow_unused: bool, given: set):
    if g is None:
        if not allow_unused:
            raise BackwardError(f"grad: an input of shape {t.shape} was not used to compute the "
                                "outputs (pass allow_unused=True to get None for it)")
        return None
    return g if isinstance(g, Tensor) else Tensor._wrap(_own(g, t, given))


_EMPTY: dict = {}  # (shape, dtype) -> a read-only array of that shape with one element of memory


def _placeholder(a: np.ndarray) -> np.ndarray:
    key = (a.shape, a.dtype)
    p = _EMPTY.get(key)
    if p is None:
        if len(_EMPTY) > 512:
            _EMPTY.clear()
        p = _EMPTY[key] = np.lib.stride_tricks.as_strided(np.zeros((), a.dtype), a.shape,
                                                          (0,) * a.ndim, writeable=False)
    return p


def _release(node, memo: dict) -> None:
    """Let go of what backward no longer needs: the saved arrays, and every input's data except
    parameters' (a loss kept for plotting must not keep a step's activations alive). The graph's
    shape stays, for drawing it and for the "backward twice" error."""
    node.saved = None
    freed = []
    for inp, parent in zip(node.inputs, node.parents):
        if isinstance(inp, Tensor):
            kept = inp.requires_grad and (inp._ctx is None or (
                parent is not None and any(t is inp for t in parent.retained)))
            if not kept:  # parameters, and tensors that asked for their .grad, stay
                stub = memo.get(id(inp))
                if stub is None:
                    stub = memo[id(inp)] = Tensor._wrap(_placeholder(inp.data), inp.requires_grad)
                    stub._ctx = parent
                    if inp.name is not None:
                        stub.name = inp.name
                inp = stub
        elif isinstance(inp, np.ndarray):
            inp = _placeholder(inp)
        freed.append(inp)
    node.inputs = tuple(freed)


def _initial_grad(out, g, op: str, create_graph: bool):
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: expected a Tensor output, got {type(out).__name__}")
    if not out.requires_grad:
        raise BackwardError(f"{op}: the output does not require grad (no input had "
                            "requires_grad=True, or it was computed under no_grad)")
    if g is None:
        if out.data.size != 1:
            raise BackwardError(f"{op}: the output has shape {out.shape}, so a gradient must be "
                                "given (backward() without arguments only works for a scalar, "
                                "e.g. loss.sum())")
        g = np.ones(out.data.shape, out.data.dtype)
        return Tensor._wrap(g) if create_graph else g
    gd = g.data if isinstance(g, Tensor) else np.asarray(g, dtype=out.data.dtype)
    if gd.shape != out.data.shape:
        raise ValueError(f"{op}: gradient has shape {gd.shape} but the output has shape {out.shape}")
    if not np.all(np.isfinite(gd)):
        raise ValueError(f"{op}: the upstream gradient contains NaN or inf")
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor._wrap(gd)
    return gd


def backward(self: Tensor, gradient=None, retain_graph: bool = False,
             create_graph: bool = False) -> None:
    """Backpropagate from this tensor: every leaf it depends on gets d(self)/d(leaf) added to
    `.grad` (`gradient` is d(loss)/d(self), needed unless self has one element)."""
    g = _initial_grad(self, gradient, "backward", create_graph)
    backward_pass((self,), (g,), retain_graph or create_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> list:
    """Gradients of `outputs` with respect to `inputs`, returned (not accumulated into `.grad`)."""
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise BackwardError("grad: every input must be a Tensor with requires_grad=True")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    gs = [_initial_grad(o, g, "grad", create_graph) for o, g in zip(outputs, grad_outputs)]
    retain = create_graph if retain_graph is None else retain_graph
    return backward_pass(outputs, gs, retain, create_graph, inputs, allow_unused)


Tensor.backward = backward
