"""Function (one op: forward + backward) and what the engine needs to know about each node:
version stamps for in-place safety, the module scope for drawing, the errors it raises.

Backward rules are written once and run on two kinds of values: plain ndarrays when
`create_graph=False` (no wrappers, NumPy speed) and Tensors when `create_graph=True`
(so the gradient is itself a graph that can be differentiated again). A rule only uses
what both kinds share: arithmetic, `@`, `.sum/.mean/.reshape/.transpose/.swapaxes`,
NumPy ufuncs (Tensor implements `__array_ufunc__`) and the helpers in `ops.common`.
The engine that runs the rules is in `engine.py`; grad mode is in `grad_mode.py`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .grad_mode import _mode

Tensor: Any = None  # set by tensor.py; autograd sits below tensor in the import order


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
    inplace = False  # True for the node an in-place op (h += 1, h[i] = v) rebased a tensor onto
    _pass = None  # backward bookkeeping, see run_backward
    _pending = 0
    _g = None
    _nuse = 0  # how many recorded ops took this node's output as a tracked input

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
        # Unrolled for the common arities: this is the per-op overhead every model pays. Each
        # tracked input's node counts one more user (`_nuse`), so backward needs no counting pass.
        if n == 2:
            a, b = args
            if type(a) is Tensor or isinstance(a, Tensor):
                da = a.data
                if track and a.requires_grad:
                    ra = True
                    c = a._ctx
                    if c is not None:
                        c._nuse += 1
                else:
                    ra = False
            else:
                # A NumPy float scalar counts as a Python scalar: it never upcasts a float32 tensor.
                da, ra = (float(a) if isinstance(a, np.floating) else a), False
            if type(b) is Tensor or isinstance(b, Tensor):
                db = b.data
                if track and b.requires_grad:
                    rb = True
                    c = b._ctx
                    if c is not None:
                        c._nuse += 1
                else:
                    rb = False
            else:
                db, rb = (float(b) if isinstance(b, np.floating) else b), False
            ctx.needs_input_grad = needs = (ra, rb)
            try:
                out_data = cls.forward(ctx, da, db, **kwargs) if kwargs else cls.forward(ctx, da, db)
            except ValueError as e:
                raise _named(cls, args, e) from None
        elif n == 1:
            a = args[0]
            if type(a) is Tensor or isinstance(a, Tensor):
                da = a.data
                if track and a.requires_grad:
                    ra = True
                    c = a._ctx
                    if c is not None:
                        c._nuse += 1
                else:
                    ra = False
            else:
                da, ra = a, False
            ctx.needs_input_grad = needs = (ra,)
            out_data = cls.forward(ctx, da, **kwargs) if kwargs else cls.forward(ctx, da)
        elif n == 3:
            # Linear (x, W, b) and the reductions (x, axis, keepdims).
            a, b, c3 = args
            if type(a) is Tensor or isinstance(a, Tensor):
                da = a.data
                if track and a.requires_grad:
                    ra = True
                    c = a._ctx
                    if c is not None:
                        c._nuse += 1
                else:
                    ra = False
            else:
                da, ra = a, False
            if isinstance(b, Tensor):
                db = b.data
                if track and b.requires_grad:
                    rb = True
                    c = b._ctx
                    if c is not None:
                        c._nuse += 1
                else:
                    rb = False
            else:
                db, rb = b, False
            if isinstance(c3, Tensor):
                dc = c3.data
                if track and c3.requires_grad:
                    rc = True
                    c = c3._ctx
                    if c is not None:
                        c._nuse += 1
                else:
                    rc = False
            else:
                dc, rc = c3, False
            ctx.needs_input_grad = needs = (ra, rb, rc)
            try:
                out_data = (cls.forward(ctx, da, db, dc, **kwargs) if kwargs
                            else cls.forward(ctx, da, db, dc))
            except ValueError as e:
                raise _named(cls, args, e) from None
        else:
            needs = _count_uses(args) if track else (False,) * n
            ctx.needs_input_grad = needs
            try:
                out_data = cls.forward(ctx, *[a.data if isinstance(a, Tensor) else a for a in args],
                                       **kwargs)
            except ValueError as e:
                raise _named(cls, args, e) from None
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
            scope = _scope_stack[-1]
            if scope is not None:
                ctx.scope = scope
        else:
            out.requires_grad = False
            out._ctx = None
        if cls.is_view and isinstance(args[0], Tensor) and np.may_share_memory(out_data, args[0].data):
            base = args[0]
            if base._vc is None:
                base._vc = [0]
            out._vc = base._vc  # a view shares its base's version counter, as in PyTorch
        return out


def _count_uses(args: tuple) -> tuple:
    # needs_input_grad for any number of inputs, counting one more user of each tracked node.
    needs = []
    for a in args:
        r = isinstance(a, Tensor) and a.requires_grad
        if r and a._ctx is not None:
            a._ctx._nuse += 1
        needs.append(r)
    return tuple(needs)


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
            and not t._ctx.inplace):
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
            while c is not None and c.inplace and c.epoch >= ctx.epoch:
                inp = c.inputs[0]
                c = inp._ctx
        out.append(inp)
    return tuple(out)
