"""The autograd engine: grad mode, `Function` (one op: forward + backward), and backpropagation.

Backward rules are written once and run on two kinds of values: plain ndarrays when
`create_graph=False` (no wrappers, NumPy speed) and Tensors when `create_graph=True`
(so the gradient is itself a graph that can be differentiated again). A rule only uses
what both kinds share: arithmetic, `@`, `.sum/.mean/.reshape/.transpose/.swapaxes`,
NumPy ufuncs (Tensor implements `__array_ufunc__`) and the helpers in `ops.common`.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Sequence

import numpy as np

Tensor: Any = None  # set by tensor.py; autograd sits below tensor in the import order


class _GradMode(threading.local):
    enabled = True


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread."""
    return _mode.enabled


class _SetGradMode:
    _target = True

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_mode.enabled)
        _mode.enabled = self._target

    def __exit__(self, *exc) -> None:
        _mode.enabled = self._prev.pop()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_SetGradMode):
    """Context manager and decorator: ops inside record no graph (evaluation, optimizer steps)."""

    _target = False


class enable_grad(_SetGradMode):
    """Context manager and decorator: turn graph recording back on inside `no_grad`."""

    _target = True


# The module whose forward is running (innermost last); ops record it so a graph can be
# drawn with one box per module. The base entry None means "no module".
_scope_stack: list = [None]


def push_scope(module) -> None:
    _scope_stack.append(module)


def pop_scope() -> None:
    if len(_scope_stack) > 1:
        _scope_stack.pop()


class BackwardError(RuntimeError):
    """Backpropagation cannot go on: a freed graph, a changed saved tensor, a bad gradient."""


# A global count of in-place changes. A tensor's version counter holds the count at its last
# change, and a node remembers the count when it was made: if nothing changed anywhere since,
# backward skips the in-place check entirely (the common case), else it compares stamps.
_epoch = [0]


def bump_version(t) -> None:
    """Record that `t`'s memory was changed in place (optimizers call this after `p.data -= ...`)."""
    _epoch[0] += 1
    if t._vc is None:
        t._vc = [0]
    t._vc[0] = _epoch[0]


_NO_NEEDS = [(False,) * n for n in range(33)]
_new = object.__new__


class Function:
    """One differentiable op. Subclass it with `forward(ctx, *arrays, **kw) -> array` and
    `backward(ctx, grad) -> grad per positional input`, both static, then call `apply`.

    `forward` gets ndarrays (Tensor arguments unwrapped, other arguments as given) and keeps
    what backward needs with `ctx.save_for_backward(...)`; `backward` reads it back from
    `ctx.saved_tensors` and returns one gradient (or None) per positional input.
    Under `create_graph=True` a saved input or output comes back as its graph Tensor, but any
    other saved array (an intermediate such as sigmoid(x)) is a constant there: for second
    derivatives, recompute it in backward from the inputs (`tc.gradgradcheck` tells).
    """

    name = "function"
    is_view = False
    # Defaults read when apply did not set them (fewer attribute writes per op).
    saved: tuple | None = ()
    scope = None
    _create_graph = False
    _out = None
    _pass = None  # backward bookkeeping, see run_backward
    _pending = 0
    _g = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()

    @staticmethod
    def forward(ctx: "Function", *args, **kwargs):
        raise NotImplementedError(f"{type(ctx).__name__}.forward is not written")

    @staticmethod
    def backward(ctx: "Function", grad):
        raise NotImplementedError(f"{type(ctx).__name__}.backward is not written")

    def save_for_backward(self, *values) -> None:
        """Keep arrays for backward; inputs and the output saved here are checked for in-place changes."""
        self.saved = values

    @property
    def saved_tensors(self) -> tuple:
        """What forward saved: ndarrays in plain backward, Tensors under `create_graph=True`."""
        saved = self.saved
        if saved is None:
            raise BackwardError(
                f"{type(self).__name__}: its saved values were freed by an earlier backward(); "
                "call backward(retain_graph=True) the first time to backpropagate twice")
        if not self._create_graph:
            return saved
        return tuple(self._as_tensor(a) if isinstance(a, np.ndarray) else a for a in saved)

    def _as_tensor(self, a: np.ndarray):
        # A saved input or output becomes its graph Tensor, so second derivatives flow through it.
        for t in self.inputs:
            if isinstance(t, Tensor) and t.data is a:
                return t
        if self._out is not None and self._out.data is a:
            return self._out
        return Tensor._wrap(a)

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward on the unwrapped arguments and, if any input requires grad, record the node."""
        ctx = _new(cls)
        track = _mode.enabled
        n = len(args)
        # Unrolled for the common arities: this is the per-op overhead every model pays.
        if n == 2:
            a, b = args
            if isinstance(a, Tensor):
                da, ra = a.data, track and a.requires_grad
            else:
                da, ra = (float(a) if isinstance(a, np.floating) else a), False
            if isinstance(b, Tensor):
                db, rb = b.data, track and b.requires_grad
            else:
                # A NumPy float scalar counts as a Python scalar: it never upcasts a float32 tensor.
                db, rb = (float(b) if isinstance(b, np.floating) else b), False
            ctx.needs_input_grad = needs = (ra, rb)
            try:
                out_data = cls.forward(ctx, da, db, **kwargs)
            except ValueError as e:
                raise _named(cls, args, e) from None
        elif n == 1:
            a = args[0]
            if isinstance(a, Tensor):
                da, ra = a.data, track and a.requires_grad
            else:
                da, ra = a, False
            ctx.needs_input_grad = needs = (ra,)
            out_data = cls.forward(ctx, da, **kwargs)
        elif n == 3:
            a, b, c = args
            if isinstance(a, Tensor):
                da, ra = a.data, track and a.requires_grad
            else:
                da, ra = a, False
            if isinstance(b, Tensor):
                db, rb = b.data, track and b.requires_grad
            else:
                db, rb = b, False
            if isinstance(c, Tensor):
                dc, rc = c.data, track and c.requires_grad
            else:
                dc, rc = c, False
            ctx.needs_input_grad = needs = (ra, rb, rc)
            try:
                out_data = cls.forward(ctx, da, db, dc, **kwargs)
            except ValueError as e:
                raise _named(cls, args, e) from None
        else:
            if track:
                needs = [a.requires_grad if isinstance(a, Tensor) else False for a in args]
            else:
                needs = [False] * n
            ctx.needs_input_grad = needs
            out_data = cls.forward(ctx, *[a.data if isinstance(a, Tensor) else a for a in args],
                                   **kwargs)
        if type(out_data) is not np.ndarray:
            out_data = np.asarray(out_data)
        out = _new(Tensor)
        out.data = out_data
        out.grad = None
        if True in needs:
            if out_data.dtype.kind != "f":
                raise TypeError(f"{cls.name}: produced dtype {out_data.dtype}, which cannot carry a gradient")
            out.requires_grad = True
            out._ctx = ctx
            ctx.inputs = args
            ctx.epoch = _epoch[0]
            ctx.scope = _scope_stack[-1]
        else:
            out.requires_grad = False
            out._ctx = None
        if cls.is_view and isinstance(args[0], Tensor) and np.may_share_memory(out_data, args[0].data):
            base = args[0]
            if base._vc is None:
                base._vc = [0]
            out._vc = base._vc  # a view shares its base's version counter, as in PyTorch
        return out


def _named(cls, args: tuple, e: ValueError) -> ValueError:
    # NumPy's broadcasting error does not say which op failed; every other one already does.
    if type(e) is not ValueError or str(e).startswith(f"{cls.name}:"):
        return e
    shapes = ", ".join(str(np.shape(a.data if isinstance(a, Tensor) else a)) for a in args)
    return ValueError(f"{cls.name}: inputs of shapes {shapes}: {e}")


def _check_versions(ctx: Function, out) -> None:
    """Raise if memory this node's backward depends on changed in place after the node ran."""
    saved = ctx.saved
    if not saved:
        return
    for t in ctx.inputs:
        if isinstance(t, Tensor) and t.version > ctx.epoch and any(s is t.data for s in saved):
            _raise_modified(ctx, t)
    if out.version > ctx.epoch and any(s is out.data for s in saved):
        _raise_modified(ctx, out)


def _check_edge(consumer: Function, t) -> None:
    """Raise if `t` was changed in place (through a view, its base, or under no_grad) after its
    node ran and before `consumer` used it: the gradient would follow the values before the change."""
    v = t._vc
    if (v is not None and t._ctx.epoch < v[0] <= consumer.epoch and not t._rebased
            and not getattr(t._ctx, "inplace", False)):
        raise BackwardError(
            f"{type(consumer).__name__}: its input of shape {t.shape} was changed in place (through "
            "a view or its base, or under no_grad) after it was computed and before it was used "
            "here, so its gradient would follow the values before the change; recompute it after "
            "the change instead (e.g. take the view v = h[1:] again after h *= 3)")


def _raise_modified(ctx: Function, t) -> None:
    raise BackwardError(
        f"{type(ctx).__name__}: a tensor of shape {t.shape} that it saved for backward was changed "
        "in place after it was saved; use an out-of-place op (x = x + y) instead of x += y, "
        "or clone the tensor before changing it")


def _inputs_as_seen(ctx: Function) -> tuple:
    """`ctx.inputs` as they were when ctx ran: a tensor rebased by an in-place op made since
    (`h += 1`, `h[i] = v`) stands for its earlier self, that op's first input."""
    out = []
    for inp in ctx.inputs:
        if isinstance(inp, Tensor):
            c = inp._ctx
            while c is not None and getattr(c, "inplace", False) and c.epoch >= ctx.epoch:
                inp = c.inputs[0]
                c = inp._ctx
        out.append(inp)
    return tuple(out)


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
    # in Kahn's order: a node runs once every node that consumed it has passed its gradient on.
    # The bookkeeping (pending count, gradient so far) lives on the nodes, stamped with this
    # pass's token so a stale value from an interrupted pass is never read.
    token = object()
    given: set[int] = set()
    ready = []
    for r, g in zip(roots, grad_roots):
        given.add(id(g))
        c = r._ctx
        if c is None:
            _accumulate_leaf(r, g, False, given)
        elif c._pass is token:
            c._g = c._g + g
        else:
            c._pass, c._pending, c._g = token, 0, g
            ready.append(r)
    stack = list(ready)
    epoch = _epoch[0]
    while stack:
        user = stack.pop()._ctx
        for inp in (user.inputs if user.epoch == epoch else _inputs_as_seen(user)):
            if isinstance(inp, Tensor):
                c = inp._ctx
                if c is not None:
                    if c.epoch != epoch:
                        _check_edge(user, inp)
                    if c._pass is token:
                        c._pending += 1
                    else:
                        c._pass, c._pending, c._g = token, 1, None
                        stack.append(inp)
    ready = [r for r in ready if r._ctx._pending == 0]
    while ready:
        t = ready.pop()
        ctx = t._ctx
        g = ctx._g
        ctx._g = ctx._pass = None
        if g is None:
            gin = (None,) * len(ctx.inputs)  # nothing flowed here; still release its inputs
        else:
            if ctx.saved is None:
                raise _freed(ctx)
            if t._retains_grad:
                _accumulate_leaf(t, g, False, given)
            if ctx.epoch != epoch:
                _check_versions(ctx, t)
            gin = type(ctx).backward(ctx, g)
            if type(gin) is not tuple:
                gin = (gin,)
            if len(gin) != len(ctx.inputs):
                raise _miscounted(ctx, gin)
        ins = ctx.inputs if ctx.epoch == epoch else _inputs_as_seen(ctx)
        for inp, gi, need in zip(ins, gin, ctx.needs_input_grad):
            if not need:
                continue
            c = inp._ctx
            if c is None:
                if gi is None:
                    continue
                data = inp.data
                if gi.shape != data.shape:
                    gi = unbroadcast(gi, data.shape, ctx)
                acc = inp.grad
                if acc is None:
                    if (type(gi) is not np.ndarray or gi.dtype is not data.dtype
                            or gi.base is not None or id(gi) in given):
                        gi = _leaf_grad(gi, inp, given)
                    else:
                        given.add(id(gi))
                    gt = _new(Tensor)
                    gt.data, gt.grad, gt._ctx, gt.requires_grad = gi, None, None, False
                    inp.grad = gt
                elif id(acc.data) in given:
                    # Set in this pass, so the array may still be pending at another node:
                    # add out of place rather than change it under that node.
                    total = acc.data.copy()  # a copy, not np.add's result: 0-d stays an array
                    np.add(total, gi, out=total, casting="unsafe")
                    acc.data = total
                else:
                    acc = acc.data
                    np.add(acc, gi, out=acc, casting="unsafe")
                continue
            if gi is not None:
                if gi.shape != inp.data.shape:
                    gi = unbroadcast(gi, inp.data.shape, ctx)
                prev = c._g
                c._g = gi if prev is None else prev + gi
            c._pending -= 1
            if c._pending == 0:
                ready.append(inp)
        if not retain_graph:
            ctx.saved = None
    return None


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
            ctx._create_graph = True
            ctx._out = t
            g = g if isinstance(g, Tensor) else Tensor._wrap(g)
        try:
            gin = type(ctx).backward(ctx, g)
        finally:
            ctx._create_graph = False
            ctx._out = None
        if not isinstance(gin, tuple):
            gin = (gin,)
        if len(gin) != len(ctx.inputs):
            raise _miscounted(ctx, gin)
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
    elif id(t.grad.data) in given:
        total = t.grad.data.copy()
        np.add(total, g, out=total, casting="unsafe")
        t.grad.data = total
    else:
        acc = t.grad.data
        np.add(acc, g, out=acc, casting="unsafe")


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
