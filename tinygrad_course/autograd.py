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

import linecache
from typing import Any

import numpy as np

from .grad_mode import _mode, _threads_off, enable_grad, is_grad_enabled, no_grad  # noqa: F401 (grad mode moves here)

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
    # The attributes the engine uses on every node are slots: their access never depends on
    # the layout of the instance dict (which holds an op's own attributes, e.g. ctx.shape).
    __slots__ = ("needs_input_grad", "inputs", "epoch", "saved", "__dict__", "__weakref__")
    # Class defaults for what most nodes never set (fewer attribute writes per op).
    scope = None
    inplace = False  # True for the node an in-place op (h += 1, h[i] = v) rebased a tensor onto
    written = 0  # for such a node, the tensor's version stamp right after the op wrote it
    # Whether backward returns arrays of its own (new ones, or its incoming gradient passed
    # on): true for this package's ops. A user's rule may return an array it still holds (a
    # saved input, a cached constant), so the engine treats those as not its own and copies
    # them before a leaf keeps one as `.grad` (which later backward calls add into in place).
    owns_grads = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        if "owns_grads" not in cls.__dict__:
            cls.owns_grads = cls.__module__.startswith(__package__ + ".")
        # The unrolled apply for one, two and three arguments (operators call these directly).
        cls._apply1, cls._apply2, cls._apply3 = (_make_apply(n, cls) for n in (1, 2, 3))

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
        """What forward saved: ndarrays in plain backward, Tensors under `create_graph=True`
        (built-in rules read `ctx.saved`, the same tuple, without the property call)."""
        saved = self.saved
        if saved is None:
            raise BackwardError(
                f"{type(self).__name__}: its saved values were freed by an earlier backward(); "
                "call backward(retain_graph=True) the first time to backpropagate twice")
        return saved

    def _saved_in_graph(self, out) -> tuple:
        # A saved input or output becomes its graph Tensor, so second derivatives flow through
        # it; any other saved array becomes a constant.
        def as_tensor(a):
            for t in (*self.inputs, out):
                if isinstance(t, Tensor) and t.data is a:
                    return t
            return Tensor._wrap(a)
        return tuple(as_tensor(a) if isinstance(a, np.ndarray) else a for a in self.saved)

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward on the unwrapped arguments and, if any input requires grad, record the node."""
        if not kwargs:
            n = len(args)
            if n == 2:
                return cls._apply2(*args)
            if n == 1:
                return cls._apply1(*args)
            if n == 3:
                return cls._apply3(*args)
        return _apply_general(cls, args, kwargs)


def _unwrap_source(i: int, scalars: bool) -> str:
    # Unwrap argument a{i} to its array d{i}; r{i}: whether it is a tracked input. A tracked
    # input's node counts one more user (`_nuse`), so backward needs no counting pass.
    other = f"(float(a{i}) if isinstance(a{i}, np.floating) else a{i})" if scalars else f"a{i}"
    return f"""
        if isinstance(a{i}, Tensor):
            d{i} = a{i}.data
            if track and a{i}.requires_grad:
                r{i} = True
                if a{i}._ctx is not None:
                    a{i}._nuse += 1
            else:
                r{i} = False
        else:
            d{i}, r{i} = {other}, False"""


def _apply_source(n: int) -> str:
    """Function.apply for exactly n positional arguments, unrolled: this is the per-op overhead
    every model pays, so it is generated once per arity instead of looping over *args."""
    a = ", ".join(f"a{i}" for i in range(n))
    d = ", ".join(f"d{i}" for i in range(n))
    r = ", ".join(f"r{i}" for i in range(n))
    # A NumPy float scalar in arithmetic counts as a Python scalar: it never upcasts float32.
    unwrap = "".join(_unwrap_source(i, scalars=n == 2) for i in range(n))
    return f"""
def make(cls):
    is_view = cls.is_view

    def apply{n}({a}):
        ctx = _new(cls)
        ctx.saved = ()
        track = not _threads_off[0] or _mode.enabled{unwrap}
        ctx.needs_input_grad = ({r},)
        try:
            out_data = cls.forward(ctx, {d})
        except ValueError as e:
            raise _named(cls, ({a},), e) from None
        if type(out_data) is not np.ndarray:
            out_data = np.asarray(out_data)
        out = _new(Tensor)
        out.data = out_data
        out.grad = None
        if {" or ".join(f"r{i}" for i in range(n))}:
            if out_data.dtype.kind != "f":
                raise _not_float(cls, out_data)
            out.requires_grad = True
            out._ctx = ctx
            out._pass = None  # backward's bookkeeping: see engine.run_backward
            out._nuse = 0  # how many recorded ops took this output as a tracked input
            ctx.inputs = ({a},)
            ctx.epoch = _epoch[0]
            scope = _scope_stack[-1]
            if scope is not None:
                ctx.scope = scope
        else:
            out.requires_grad = False
            out._ctx = None
        if is_view:
            _share_version(out, a0)
        return out
    return apply{n}
"""


def _compile_makers() -> dict:
    makers = {}
    for n in (1, 2, 3):
        made: dict = {}
        source, filename = _apply_source(n), f"<tinygrad_course apply{n}>"
        # Tracebacks and debuggers read the generated lines from linecache, as from a file.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        # The module's globals, so the generated code sees Tensor once tensor.py has set it.
        exec(compile(source, filename, "exec"), globals(), made)
        makers[n] = made["make"]
    return makers


def _make_apply(n: int, cls):
    apply = _MAKERS[n](cls)
    # Its own copy of the code: CPython specializes attribute access per code object and per
    # type, so sharing one code object between op classes would keep it unspecialized.
    apply.__code__ = apply.__code__.replace()
    return apply


def _apply_general(cls, args: tuple, kwargs: dict):
    """Function.apply for any arguments (keyword arguments, or more than three inputs)."""
    ctx = _new(cls)
    ctx.saved = ()
    needs = []
    track = not _threads_off[0] or _mode.enabled
    for a in args:
        r = track and isinstance(a, Tensor) and a.requires_grad
        if r and a._ctx is not None:
            a._nuse += 1
        needs.append(r)
    ctx.needs_input_grad = needs = tuple(needs)
    try:
        out_data = cls.forward(ctx, *[a.data if isinstance(a, Tensor) else a for a in args], **kwargs)
    except ValueError as e:
        raise _named(cls, args, e) from None
    if type(out_data) is not np.ndarray:
        out_data = np.asarray(out_data)
    if True in needs:
        if out_data.dtype.kind != "f":
            raise _not_float(cls, out_data)
        out = Tensor._wrap(out_data, True)
        out._ctx, out._pass, out._nuse = ctx, None, 0
        ctx.inputs = args
        ctx.epoch = _epoch[0]
        ctx.scope = _scope_stack[-1]
    else:
        out = Tensor._wrap(out_data)
    if cls.is_view and args:
        _share_version(out, args[0])
    return out


def _share_version(out, base) -> None:
    # A view shares its base's version counter, as in PyTorch.
    if isinstance(base, Tensor) and np.may_share_memory(out.data, base.data):
        if base._vc is None:
            base._vc = [0]
        out._vc = base._vc


def _not_float(cls, out_data) -> TypeError:
    return TypeError(f"{cls.name}: produced dtype {out_data.dtype}, which cannot carry a gradient")


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
    if v is None or t._rebased:
        return
    c = t._ctx
    # An in-place node's own write comes after the node was stamped: only later changes count.
    since = c.written if c.inplace else c.epoch
    if since < v[0] <= consumer.epoch:
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


_MAKERS = _compile_makers()
