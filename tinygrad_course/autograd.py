"""Function (one op: forward and backward side by side), its `apply`, and grad mode.

`apply` runs an op's forward on plain arrays and, when an input requires grad, records the op
as a node of the graph: its inputs, the node that made each of them (`parents`), and what
forward saved. `backward.py` walks those nodes. Grad mode (`no_grad`, `enable_grad`,
`inference_mode`) and the module scope used for drawing are per thread.
"""
from __future__ import annotations

import functools
import inspect
import itertools
import sys
import threading
from typing import Callable

import numpy as np

from .inplace import BackwardError, _clock, bump_version, note_changed_input, share_version  # noqa: F401
from .tensor import Tensor


class _ThreadState(threading.local):
    """Per-thread recording state: grad mode, and the stack of modules whose forward is running."""

    enabled = True
    recorder = None  # tc.jit's recorder while it records a step in this thread (jit.py)

    def __init__(self) -> None:
        self.scopes = [None]


_state = _ThreadState()
_made = itertools.count()


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread."""
    return _state.enabled


def scope_stack() -> list:
    """This thread's stack of running modules (innermost last, `None` at the bottom); ops record
    the innermost, so a graph can be drawn with one box per module."""
    return _state.scopes


class _GradMode:
    """A context manager and decorator (bare or called; generators too) that sets grad mode."""

    _enabled = True

    def __new__(cls, fn: Callable | None = None):
        self = super().__new__(cls)
        return self(fn) if callable(fn) else self

    def __enter__(self) -> None:
        self._prev, _state.enabled = _state.enabled, self._enabled

    def __exit__(self, *exc) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        mode = type(self)
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def generator(*args, **kwargs):
                # Every resume of the generator runs under the mode, not only its creation.
                gen = fn(*args, **kwargs)
                send, value = gen.send, None
                while True:
                    try:
                        with mode():
                            item = send(value)
                    except StopIteration as stop:
                        return stop.value
                    try:
                        value, send = (yield item), gen.send
                    except BaseException:  # (close() too: its GeneratorExit is thrown in under the mode)
                        value, send = sys.exc_info()[1], gen.throw
            return generator

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with mode():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Context manager and decorator: ops inside record no graph (evaluation, optimizer steps)."""

    _enabled = False


class enable_grad(_GradMode):
    """Context manager and decorator: turn graph recording back on inside `no_grad`."""

    _enabled = True


class inference_mode(no_grad):
    """PyTorch's name for `no_grad` (here it is the same thing: no graph is recorded);
    `inference_mode(False)` turns grad mode on, as PyTorch's does."""

    def __new__(cls, mode: bool | Callable = True):
        return _GradMode.__new__(cls, mode) if mode or callable(mode) else enable_grad()


class Function:
    """One differentiable op: `forward` and `backward`, side by side, both static.

    `forward(ctx, *args)` gets ndarrays (Tensor arguments unwrapped, others as given), returns
    the output array and keeps what backward needs with `ctx.save_for_backward(...)`.
    `backward(ctx, grad)` returns one gradient per positional input (None where none is needed;
    `ctx.needs_input_grad` says which). Broadcasting is undone by the engine. Under
    `create_graph=True` saved inputs and the output come back as graph Tensors, so write the
    rule with arithmetic and NumPy ufuncs, which work on both; recompute any other saved
    intermediate from them if you need second derivatives. Draw random numbers inside forward
    (as dropout does): a step replayed by `tc.jit` runs forward again. A complete custom op::

        class Cube(tc.Function):
            '''cube(x) = x ** 3; d/dx = 3 x ** 2.'''
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x ** 2

        x = tc.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
        Cube.apply(x).sum().backward()          # x.grad == [3, 12]
        tc.gradcheck(Cube.apply, [x])           # autograd vs centered differences
        tc.gradgradcheck(Cube.apply, [x])       # and the second derivative
    """

    # A recorded node's engine fields (slots: no per-node dict): its inputs, the node that made
    # each, what forward saved, the in-place clock and the creation count when it was made, the
    # module whose forward ran it, and the output's array id and version counter (see inplace.py);
    # out_shape/out_dtype are noted when backward lets go of the output (see backward._release).
    __slots__ = ("inputs", "parents", "needs_input_grad", "saved", "epoch", "seq", "scope",
                 "out_id", "out_vc", "out_shape", "out_dtype", "__dict__", "__weakref__")
    name = "function"
    is_view = False  # True when the output may share the first input's memory
    retained = ()  # non-leaf outputs that asked for their .grad (retain_grad)
    # Whether backward returns arrays of its own (this package's ops do); a user's rule may
    # return an array it still holds, so the engine copies those before a leaf keeps one.
    owns_grads = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__.lower()
        if "owns_grads" not in cls.__dict__:
            cls.owns_grads = cls.__module__.startswith(__package__ + ".")

    @staticmethod
    def forward(ctx: "Function", *args, **kwargs):
        """The op on ndarrays: forward(ctx, *arrays) -> array; save what backward needs on ctx."""
        raise NotImplementedError(f"{type(ctx).__name__}.forward is not written")

    @staticmethod
    def backward(ctx: "Function", grad):
        """d(loss)/d(input) for each positional input of forward, given d(loss)/d(output) (None
        where an input needs no gradient: see ctx.needs_input_grad)."""
        raise NotImplementedError(f"{type(ctx).__name__}.backward is not written")

    def save_for_backward(self, *values) -> None:
        """Keep arrays for backward; saved inputs and output are checked for in-place changes."""
        self.saved = values

    saved_tensors = property(lambda self: self.saved, doc="What forward saved: ndarrays in plain "
                             "backward, Tensors under `create_graph=True` (None once freed).")

    @classmethod
    def apply(cls, *args, **kwargs) -> Tensor:
        """Run forward on the unwrapped arguments and, if an input requires grad, record the node."""
        ctx = object.__new__(cls)
        ctx.saved = ()
        recording = _state.enabled
        arrays, needs, parents = [], [], []  # parents: the node that made each input
        for a in args:  # (a NumPy float scalar counts as a Python scalar: it never upcasts float32)
            tensor = isinstance(a, Tensor)
            arrays.append(a.data if tensor else float(a) if isinstance(a, np.floating) else a)
            needs.append(tensor and recording and a.requires_grad)
            parents.append(a._ctx if tensor else None)
            if tensor and a._ctx is not None and a._ctx.epoch != _clock[0]:
                note_changed_input(ctx, a)  # (something changed in place since a was made)
        ctx.needs_input_grad = needs = tuple(needs)
        try:
            out = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
        except ValueError as e:
            raise _named(cls, args, e) from None
        if type(out) is not np.ndarray:
            # NumPy returns scalars from 0-d math: the saved output must be the output's array.
            array = np.asarray(out)
            ctx.saved = tuple(array if s is out else s for s in ctx.saved)
            out = array
        result = Tensor._wrap(out)
        if True in needs:
            if out.dtype.kind != "f":
                raise TypeError(f"{cls.name}: produced dtype {out.dtype}, which cannot carry a gradient")
            result.requires_grad, result._ctx = True, ctx
            ctx.inputs, ctx.parents, ctx.scope = args, parents, _state.scopes[-1]
            ctx.epoch, ctx.seq, ctx.out_id, ctx.out_vc = _clock[0], next(_made), id(out), None
            if ctx.saved:  # the output's memory gets a version counter, to check at backward
                result._vc = ctx.out_vc = [0]
                for a in args:  # a plain ndarray (or a view of one) has no version counter: a copy
                    if type(a) is np.ndarray and (a.flags.writeable or a.base is not None):
                        ctx.saved = tuple(s.copy() if s is a else s for s in ctx.saved)
        if cls.is_view:
            share_version(result, args[0])
        if _state.recorder is not None:  # the one hook where kernels run: tc.jit records them
            _state.recorder.kernel(ctx, args, arrays, kwargs, result)
        return result


def _named(cls, args: tuple, e: ValueError) -> ValueError:
    # NumPy's broadcasting error does not say which op failed; every other one already does.
    if type(e) is not ValueError or str(e).startswith(f"{cls.name}:"):
        return e
    shapes = ", ".join(str(np.shape(a.data if isinstance(a, Tensor) else a)) for a in args)
    return ValueError(f"{cls.name}: inputs of shapes {shapes}: {e}")
