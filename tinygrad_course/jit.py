"""tc.jit: record a training step once, then replay its kernels without the engine.

The first call with a given signature runs the step eagerly while a recorder (the engine's one
hook, `_state.recorder`) writes down every kernel the step runs: each op's `forward` with where
its arguments come from (a step input, an earlier kernel's output, a parameter read when the
kernel runs, or a constant), each `backward()` as a plan (which rule runs in which order, where
each gradient goes), and the calls marked `@replayed` (optimizer steps, `zero_grad`, schedules,
clipping). Later calls with the same signature skip Python's graph building and backward
bookkeeping: they run the same forward functions on the new inputs, the same backward rules in
the same order, and call the same `@replayed` functions, so the results are bit-identical to
eager. Ops with replay kernels (lowering.py) run those instead: the same NumPy calls into
buffers the kernels keep. A record is compiled once: what stays the same between replays (the
parameters' arrays, the kernels' own buffers, where the step's inputs go) is bound into each
kernel's arguments, and checked before each replay and after each `@replayed` call. Random
draws (dropout masks) happen inside kernels, so each replay draws again.

Limits, as jax.jit and tinygrad's TinyJit state theirs: Python control flow that depends on
tensor values is traced along the path taken when recording, and the step's other Python (an
attribute set, a print) runs only then. Reading a value inside the step (`.item()`, `.numpy()`,
`float(t)`, `if t:`) is refused; so are changes in place, `tc.grad`, `create_graph`, containers
of tensors as arguments, tensors or arrays the step makes without an op, and tensors it keeps
beyond the call (`losses.append(loss)`): their first value would be replayed.
`tc.jit(fn, check=True)` re-traces every call eagerly and raises at the first step whose trace
differs from the recorded one (another op, or another constant), naming the op and its module.
"""
from __future__ import annotations

import functools
import gc
import inspect
import math
import operator
import threading
import weakref
from collections import OrderedDict
from typing import Callable, Iterator

import numpy as np

from .autograd import _state
from .backward import _accumulate, _initial_grad, _own, graph_nodes, unbroadcast
from .inplace import _clock
from .lowering import PASSED_ON, GradHome, Target, lower
from .tensor import Tensor

__all__ = ["jit", "replayed", "JitError"]


_STATE = operator.attrgetter("requires_grad", "data.shape", "data.dtype")
_TRAINING = operator.attrgetter("training")
_REQUIRES = operator.attrgetter("requires_grad")
_DATA = operator.attrgetter("data")


class JitError(RuntimeError):
    """The step cannot be recorded for replay (or, with check=True, it no longer matches its record)."""


_module_changes = [0]  # how many times an attribute of a module a record may use was set
_modules_made = [0, 0]  # modules built so far, and how many had been when a step last recorded


def module_made() -> int:
    """A number for a new module (Module.__init__): modules built after the last recording
    cannot be in any record, so setting their attributes (building them) changes nothing."""
    _modules_made[0] += 1
    return _modules_made[0]


def module_changed(module=None) -> None:
    """Note that a module's attribute was set (a layer's keep_prob, a replaced parameter or
    buffer): recorded steps may hold the old value, so each jit records again at its next call.
    (Any module built before a recording counts, called by the step or not: a step may read a
    layer's weight without calling it. A new module reaches a record only as an attribute of an
    older one, which counts.)"""
    if module is None or module.__dict__.get("_made", 0) <= _modules_made[1]:
        _module_changes[0] += 1


def replayed(fn: Callable) -> Callable:
    """Mark a function with side effects outside ops (an optimizer's step, zero_grad, a schedule's
    step) so that a step recorded by `tc.jit` calls it again, with the same arguments, on replay."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        recorder = _state.recorder
        if recorder is None:
            return fn(*args, **kwargs)
        if recorder.depth:  # inside a recorded call (a replay calls that one): its arguments
            recorder.reached.extend(args)  # are noted, for what they offer (grad_homes)
            return fn(*args, **kwargs)
        return recorder.call(fn, args, kwargs)
    return wrapper


# ---- what a replay runs ----------------------------------------------------------------------

class _Kernel:
    """One op's forward as recorded: where each argument comes from, and where the output goes."""

    __slots__ = ("ctx", "forward", "args", "from_slots", "from_tensors", "from_items", "kwargs",
                 "out", "shape", "name", "scope", "consts", "held", "lowered", "result")

    def compile(self, fixed: dict, inputs: set, feeds: list) -> Callable:
        """run(slots, args): fill the argument list from the slots, run forward; or, for a replay
        kernel with every argument bound and its own output buffer, the call alone (a
        functools.partial of no arguments, which the entry runs in a block: see _block). `fixed` maps
        the slots that are a replay kernel's own output buffer (the same array at every replay)
        to that array: bound into the arguments now, as are the parameters' arrays (the entry
        checks before each replay, and after each @replayed call, that they still are). An
        argument from a slot in `inputs` (a step input) goes into `feeds` as (slot, list,
        position): the replay puts the input there once at its start, and takes it out at its
        end."""
        ctx, kwargs, out = self.ctx, self.kwargs, self.out
        a = list(self.args)  # (a copy per compile: the entry compiles again with new arrays)
        forward = self.forward if self.lowered is None else self.lowered.forward
        from_slots = tuple((pos, s) for pos, s in self.from_slots
                           if s not in fixed and s not in inputs)
        fed = False  # (an argument is a step input, put in at each replay)
        for pos, s in self.from_slots:
            a[pos] = fixed.get(s)
            if s in inputs:
                feeds.append((s, a, pos))
                fed = True
        for pos, t in self.from_tensors:
            a[pos] = t.data
        from_items = tuple(self.from_items)
        shape = self.shape

        def output(y) -> np.ndarray:
            # As in apply, 0-d math gives NumPy scalars: the saved output must be the output array.
            if type(y) is not np.ndarray:
                array = np.asarray(y)
                ctx.saved = tuple(array if s is y else s for s in ctx.saved)
                y = array
            if y.shape != shape:
                raise JitError(f"tc.jit: {self.describe()} gives shape {y.shape} now, {shape} when "
                               "recorded: its shape depends on values (a boolean mask, nonzero), "
                               "which a replay cannot follow. Use ops that keep shapes "
                               "(tc.where(mask, x, 0)), or do not jit this step")
            return y

        if (self.lowered is not None and self.lowered.out is not None and not (
                from_slots or from_items or kwargs or fed)):
            # Everything bound, nothing fed: the call alone (the entry puts it in a block, and
            # its output buffer in the slot before the replay: the kernel returns that buffer).
            return functools.partial(forward, ctx, *a)
        if self.lowered is not None and not (from_slots or from_items or kwargs):
            def run_bound(slots: list, _args: tuple) -> None:  # (the kernel sets what it saves)
                y = forward(ctx, *a)
                slots[out] = y if type(y) is np.ndarray and y.shape == shape else output(y)
            return run_bound
        tuples = {pos: a[pos] for pos, _, _ in from_items}
        filled = tuple({pos for pos, _ in from_slots} | set(tuples))

        def run(slots: list, _args: tuple) -> None:
            for pos, s in from_slots:
                a[pos] = slots[s]
            if tuples:  # a tuple argument holding step arrays (an index, x[rows, y]), rebuilt
                items = {pos: list(seq.items) for pos, seq in tuples.items()}
                for pos, j, s in from_items:
                    items[pos][j] = slots[s]
                for pos, seq in tuples.items():
                    a[pos] = seq.kind(items[pos])
            ctx.saved = ()
            y = forward(ctx, *a, **kwargs) if kwargs else forward(ctx, *a)
            for pos in filled:  # the list does not keep this step's arrays until the next one
                a[pos] = None
            slots[out] = y if type(y) is np.ndarray and y.shape == shape else output(y)
        return run

    def describe(self) -> str:
        where = f" in {type(self.scope).__name__}" if self.scope is not None else ""
        return f"`{self.name}`{where}"


class _Items:
    """A recorded tuple or list argument: its kind and items (None where a slot goes)."""

    __slots__ = ("kind", "items")

    def __init__(self, kind: type, items: list):
        self.kind, self.items = kind, items


class _Backward:
    """One `backward()` as recorded: the roots' gradients and, in the engine's order, each node
    with the routes of its inputs' gradients (to the node that made the input, or a leaf)."""

    __slots__ = ("roots", "plan", "release", "lowered")

    def compile(self, homes: dict) -> Callable:
        """run(slots, args): the rules in the engine's order (an op's replay kernel where it has
        one), each gradient summed in arrival order at the node that made the input or
        accumulated into a leaf's .grad, as eager does. A replay kernel's gradient of a leaf
        that an optimizer gave a home (`homes`, see GradHome) is written there."""
        roots, release, n = self.roots, self.release, 1 + max(k for k, *_ in self.plan)
        # (fresh: a replay kernel that returns an array of its own per input, which a leaf
        # without a .grad takes as it is; a view only if it is the leaf's home)
        plan = [(k, ctx, self.lowered[k].backward if k in self.lowered else type(ctx).backward,
                 owns or k in self.lowered, k in self.lowered and self.lowered[k].fresh,
                 self._housed(k, routes, homes))
                for k, ctx, owns, routes in self.plan]

        def run(slots: list, args: tuple) -> None:
            grads = [None] * n  # kernel index -> the sum of the gradients sent to its output
            given: set = set()
            for k, g in roots:
                g = slots[g] if type(g) is int else g.value(slots) if type(g) is _Given else g
                given.add(id(g))
                grads[k] = g if grads[k] is None else grads[k] + g
            for k, ctx, backward, owns, fresh, routes in plan:
                g = grads[k]
                if g is None:
                    continue
                grads[k] = None
                gin = backward(ctx, g if owns or type(g) is not np.ndarray else g.copy())  # (as eager)
                gin = gin if type(gin) is tuple else (gin,)
                if not owns:
                    given.update(id(x) for x in gin if x is not None)
                for i, shape, dtype, parent, leaf, home in routes:  # as eager's, input by input
                    gi = gin[i]
                    if gi is None:
                        continue
                    if gi.shape != shape:
                        gi = unbroadcast(gi, shape, ctx)
                    # (cast before it is summed: np.add of a float64 gradient into a float32
                    # .grad would round once, where eager rounds twice)
                    if gi.dtype is not dtype and gi.dtype != dtype:
                        gi = gi.astype(dtype)
                    if parent is not None:
                        sent = grads[parent]
                        grads[parent] = gi if sent is None else sent + gi
                        continue
                    t = leaf if type(leaf) is not int else args[leaf]
                    if fresh and t.grad is None and (gi.base is None or home is not None
                                                     and gi is home.array):
                        t.grad = Tensor._wrap(gi)
                    elif t.grad is None:
                        t.grad = Tensor._wrap(_own(gi, t, given))
                    else:
                        _accumulate(t, gi, False, given)
                if release:
                    ctx.saved = None
        fixed = self._schedule(homes)
        if fixed is None:
            return run

        def run_fixed(slots: list, args: tuple) -> None:
            if not fixed(args):  # (a .grad to add to, or a kept one in an optimizer's home)
                run(slots, args)
        return run_fixed

    def _schedule(self, homes: dict) -> Callable | None:
        """The plan as a fixed schedule, or None where it cannot be one: each node's bound
        backward (Lowered.bind) reads its gradient from a buffer the nodes after it wrote (the
        first sender writes it, the others write a scratch that is added to it, in the order
        eager sums them) and writes its inputs' gradients into theirs or into the leaves'
        homes, so a replay routes nothing. A buffer is used again once the node that reads it
        has run (a chain needs two), as eager's gradients live only until then. The schedule
        runs when every leaf's .grad is None and each home of an optimizer is free (see
        GradHome); the leaves' own homes are renewed when a .grad kept from the last replay
        still holds them."""
        if len(self.roots) != 1 or type(self.roots[0][1]) is not np.ndarray:
            return None
        root, seed = self.roots[0]
        into = {root: seed}  # node -> the buffer its gradient arrives in
        steps, leaves, lent, own, ctxs = [], [], [], [], []
        unused: dict[tuple, list] = {}  # (shape, dtype) -> buffers no node reads any more

        def buffer(shape: tuple, dtype) -> np.ndarray:
            spare = unused.get((shape, dtype))
            return spare.pop() if spare else np.empty(shape, dtype)

        for k, ctx, _, routes in self.plan:
            lowered = self.lowered.get(k)
            if lowered is None or lowered.bind is None or k not in into:
                return None
            outs, sums = [None] * len(ctx.needs_input_grad), []
            for i, shape, dtype, parent, leaf in routes:
                if parent is not None:
                    target = Target(buffer(shape, dtype))
                    if parent in into:  # a later sender: its scratch is added on
                        if (parent == root or into[parent].shape != shape
                                or into[parent].dtype != dtype):
                            return None
                        sums.append((into[parent], target.array))
                    else:
                        into[parent] = target.array
                else:
                    first = next((home for other, home in leaves if other is leaf), None)
                    if first is not None:  # a leaf reached again: added to its first gradient
                        target = Target(buffer(shape, dtype))
                        sums.append((first, target.array))
                        outs[i] = target
                        continue
                    home = homes.get(id(leaf)) if type(leaf) is not int else None
                    if home is not None and home[0] is leaf:
                        target = home[1]
                        lent.append(target)
                    else:
                        target = _own_home(GradHome(), shape, dtype)
                        own.append(target)
                    leaves.append((leaf, target))
                outs[i] = target
            step = lowered.bind(into[k], outs)
            if step is None:
                return None
            steps.append(step)
            steps.extend(functools.partial(np.add, total, part, total) if type(total) is np.ndarray
                         else _adding(total, part) for total, part in sums)
            ctxs.append(ctx)
            for done in (into.pop(k), *(part for _, part in sums)):
                if done is not seed:
                    unused.setdefault((done.shape, done.dtype), []).append(done)
        release = self.release

        known = None if any(type(leaf) is int for leaf, _ in leaves) else [t for t, _ in leaves]

        def run(args: tuple) -> bool:
            ts = known or [leaf if type(leaf) is not int else args[leaf] for leaf, _ in leaves]
            if any(t.grad is not None for t in ts) or not all(map(GradHome.free, lent)):
                return False
            for home in own:
                if not home.free():
                    _own_home(home, home.array.shape, home.array.dtype)
            for step in steps:
                step()
            for t, (_, home) in zip(ts, leaves):
                t.grad = Tensor._wrap(home.array)
            if release:
                for ctx in ctxs:
                    ctx.saved = None
            return True
        return run

    def _housed(self, k: int, routes: list, homes: dict) -> list:
        """Node k's routes, each with the GradHome its leaf's gradient goes to (or None), bound
        into the replay kernel's gradient buffers (one bound by an earlier compile and gone now
        is taken out). The route keeps the home, not its view: a view held here is never free."""
        grads = self.lowered[k].grads if k in self.lowered else None
        housed = []
        for route in routes:
            i, *_, parent, leaf = route
            home = homes.get(id(leaf)) if grads is not None and parent is None else None
            home = home[1] if home is not None and home[0] is leaf else None
            if grads is not None and (home is not None or type(grads[i]) is GradHome):
                grads[i] = home
            housed.append((*route, home))
        return housed


def _adding(home: GradHome, part: np.ndarray) -> Callable:
    """A step that adds `part` to a leaf's gradient in its home (read when it runs: it moves)."""
    def add() -> None:
        np.add(home.array, part, home.array)
    return add


def _block(calls: list) -> Callable:
    """run(slots, args) of consecutive bound kernels: each call, in order."""
    def run(slots: list, args: tuple) -> None:
        for call in calls:
            call()
    return run


def _own_home(home: GradHome, shape: tuple, dtype) -> GradHome:
    """`home` pointed at a new array of its own: a view of a flat buffer of one (GradHome counts
    the holders of the view and of its `.base`), its holders counted now, before it is handed
    out (the first `free()` takes the counts)."""
    GradHome.move([home], [np.empty(math.prod(shape), dtype).reshape(shape)])
    home.free()
    return home


class _Given:
    """A gradient given to `backward(gradient=...)` in the step: a value of the step (its slot),
    or a tensor, array or number from outside it (a tensor's current .data, an array as it is
    now). A replay converts and checks it as eager's backward does at each call (the output's
    shape and dtype, no NaN or inf)."""

    __slots__ = ("slot", "source", "out")

    def __init__(self, recorder: "_Recorder", given, out: np.ndarray):
        array = given.data if isinstance(given, Tensor) else given
        self.slot = recorder.slots.get(id(array)) if isinstance(array, np.ndarray) else None
        # (held weakly until the recording ends: what only the step held, it made without an op)
        self.source = None if self.slot is not None else (
            weakref.ref(given) if isinstance(given, (Tensor, np.ndarray)) else given)
        # (_initial_grad checks and casts against an output: one of the output's shape and dtype)
        self.out = Tensor._wrap(np.broadcast_to(np.empty((), out.dtype), out.shape), True)

    def value(self, slots: list) -> np.ndarray:
        g = self.source if self.slot is None else slots[self.slot]
        return _initial_grad(self.out, g, "backward", False)


class _Call:
    """A `@replayed` function as recorded, with its arguments."""

    __slots__ = ("fn", "args", "kwargs", "out", "reached")

    def compile(self, entry: "_Entry", check: bool) -> Callable:
        """run(slots, args): call the function again with the same arguments; keep its result.
        With `check` (kernels run after it), bind the kernels again if the call replaced a
        parameter's array (an optimizer moving its parameters into one buffer)."""
        fn, args, kwargs, out = self.fn, self.args, self.kwargs, self.out

        def run(slots: list, _args: tuple) -> None:
            slots[out] = fn(*args, **kwargs)
            if check and not entry.holds_arrays():
                entry.compile()
                for s, a, pos in entry.feeds:  # (the new argument lists get this step's inputs)
                    a[pos] = slots[s]
        return run


class _Entry:
    """One recorded signature: its events, where the inputs go, what the step returns."""

    __slots__ = ("events", "runs", "n_slots", "inputs", "result", "modules", "flags", "tensors",
                 "states", "requires", "arrays", "held", "pinned", "feeds", "slots")

    def compile(self) -> None:
        """The runs of the events, with the replay kernels' output buffers, the parameters'
        arrays and the places of the step's inputs bound into the kernels' arguments."""
        kernels = [e for e in self.events if isinstance(e, _Kernel)]
        fixed = {k.out: k.lowered.out for k in kernels
                 if k.lowered is not None and k.lowered.out is not None}
        self.arrays = list(map(_DATA, self.tensors))
        inputs, feeds = {s for _, s in self.inputs}, []
        homes = {}  # id(parameter) -> (parameter, GradHome): see Optimizer.grad_homes
        for e in self.events:
            for a in e.reached if isinstance(e, _Call) else ():
                offer = getattr(a, "grad_homes", None)
                if callable(offer):
                    homes.update(offer())
        runs, block = [], None
        for i, e in enumerate(self.events):
            if isinstance(e, _Kernel):
                run = e.compile(fixed, inputs, feeds)
                if type(run) is functools.partial:  # consecutive bound kernels: one run
                    if block is None:
                        block = []
                        runs.append(_block(block))
                    block.append(run)
                    continue
                runs.append(run)
            elif isinstance(e, _Call):  # (kernels after it: see _Call.compile)
                runs.append(e.compile(self, any(isinstance(later, _Kernel)
                                                for later in self.events[i + 1:])))
            else:
                runs.append(e.compile(homes))
            block = None
        self.feeds = feeds
        self.slots = [fixed.get(s) for s in range(self.n_slots)]  # (see _Kernel.compile)
        if getattr(self, "runs", None) is None:
            self.runs = runs
        else:  # in place: a replay running these runs goes on with the new ones
            self.runs[:] = runs

    def holds_arrays(self) -> bool:
        """Whether each parameter the kernels read still has the array bound into them."""
        return all(map(operator.is_, map(_DATA, self.tensors), self.arrays))

    def replay(self, args: tuple):
        slots = self.slots.copy()
        for pos, s in self.inputs:
            a = args[pos]
            slots[s] = a.data if isinstance(a, Tensor) else a
        for s, a, pos in self.feeds:
            a[pos] = slots[s]
        try:
            for run in self.runs:
                run(slots, args)
        finally:
            for _, a, pos in self.feeds:  # the kernels do not keep this step's inputs alive
                a[pos] = None
        for ctx, held in self.held:  # let go of what forward kept (eager's backward does too)
            ctx.saved = None
            for name in held:
                ctx.__dict__[name] = None
        return _build(self.result, slots)

    def matches(self, inputs: tuple) -> bool:
        """Whether the modules' train/eval modes and the parameters' requires_grad, shapes and
        dtypes are still those the step was recorded with (a frozen layer gets no gradient; a
        model made float64 computes in float64, not in buffers recorded for float32), and each
        input that was a parameter or buffer of the model is that one again."""
        if (self.modules and list(map(_TRAINING, self.modules)) != self.flags
                or self.tensors and list(map(_REQUIRES, self.tensors)) != self.requires
                or self.pinned and not all(inputs[pos] is t or _array_of(inputs[pos]) is t.data
                                           for pos, t in self.pinned)):
            return False
        if self.tensors and not self.holds_arrays():
            # A parameter's array was replaced (p.data = ..., load into a new array): with the
            # same shapes and dtypes, the kernels are bound to the new arrays; else record again.
            if list(map(_STATE, self.tensors)) != self.states:
                return False
            self.compile()
        return True


def _captured(fn) -> list:
    """The values of the names `fn`'s own code reads from outside (its closure and the globals it
    names): a tensor there that is also passed as an argument reaches the step by both routes."""
    while isinstance(fn, functools.partial) or hasattr(fn, "__wrapped__"):
        fn = fn.func if isinstance(fn, functools.partial) else fn.__wrapped__
    try:
        names = inspect.getclosurevars(getattr(fn, "__func__", fn))
    except (TypeError, ValueError):  # not a Python function (a callable object, a builtin)
        return []
    return [*names.nonlocals.values(), *names.globals.values()]


def _array_of(value):
    return value.data if isinstance(value, Tensor) else value


def _build(spec, slots: list):
    kind, value = spec
    if kind == "slot":
        return Tensor._wrap(slots[value])
    if kind == "call":
        return slots[value]
    if kind == "seq":
        return value[0](_build(v, slots) for v in value[1])
    if kind == "dict":
        return {k: _build(v, slots) for k, v in value.items()}
    return value


def _slots_of(spec) -> list[int]:
    """The slots whose arrays a result spec returns."""
    kind, value = spec
    if kind == "slot":
        return [value]
    if kind in ("seq", "dict"):
        items = value[1] if kind == "seq" else value.values()
        return [s for v in items for s in _slots_of(v)]
    return []


# ---- recording -------------------------------------------------------------------------------

class _Scopes(list):
    """The module scope stack while recording: it also notes every module that runs, with its
    train/eval flag when it first ran (part of the signature, even for a Dropout that runs no op
    in eval; taken then, not at the end, as the step may switch modes)."""

    def __init__(self, base: list, seen: dict):
        super().__init__(base)
        self.seen = seen

    def append(self, module) -> None:
        if id(module) not in self.seen:
            self.seen[id(module)] = (module, getattr(module, "training", None))
        super().append(module)


class _Recorder:
    """Listens to the engine's hook during the eager run of a step and builds an `_Entry`."""

    def __init__(self, args: tuple, fn: Callable | None = None):
        self.fn = fn  # the step (its closure and globals may hold tensors it also gets as arguments)
        self.slots: dict[int, int] = {}  # id(array) -> slot; `keep` keeps the ids unique
        self.keep: list = []
        self.events: list = []
        self.kernel_of: dict[int, int] = {}  # id(ctx) -> index of its kernel in events
        self.kernels: list[_Kernel] = []
        self.args = args
        self.needs = [isinstance(a, Tensor) and a.requires_grad for a in args]  # (at the call)
        self.arg_tensors = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
        self.modules: dict = {}
        self.call_results: dict[int, int] = {}  # id(what a @replayed call returned) -> slot
        self.read: dict[int, tuple] = {}  # id(tensor read by reference) -> its state when first read
        self.grads_before: list = []  # (leaf, its .grad) when a backward() of the step began
        self.detached: list = []  # weak references to x.detach() of step values (see _detaching)
        self.detached_from: dict = {}  # id(p.detach()) -> (a weakref to it, p) for the others
        self.calls = 0  # @replayed calls so far
        self.reached: list = []  # the arguments of the @replayed call running and of its calls
        self.depth = 0
        self.gradient = None  # what backward(gradient=...) got, while it runs (see _noting_gradient)
        self.clock = _clock[0]
        self.inputs = []
        for i, a in enumerate(args):
            array = a.data if isinstance(a, Tensor) else a
            if isinstance(array, np.ndarray) and id(array) not in self.slots:
                self.inputs.append((i, self._slot(array)))

    def _slot(self, array: np.ndarray) -> int:
        s = self.slots[id(array)] = len(self.keep)
        self.keep.append(array)
        return s

    def _check_clock(self, where: str) -> None:
        # (this thread's last in-place change: other threads' changes to their tensors move the
        # clock too, and are none of this step's business)
        if _clock[1].get(threading.get_ident(), -1) > self.clock:
            raise JitError(
                f"tc.jit: the step changed a tensor in place ({where}), outside an op a replay "
                "can run again; write it out of place inside a jitted step (h = h + 1, not h += 1 "
                "or h[i] = v), or mark the function that does it with @tc.jit.replayed")

    def kernel(self, ctx, args: tuple, arrays: list, kwargs: dict, result: Tensor) -> None:
        if self.depth:
            return
        name = type(ctx).name
        self._check_clock(f"before `{name}`")
        k = _Kernel()
        k.ctx, k.forward, k.kwargs, k.name = ctx, type(ctx).forward, kwargs, name
        k.scope = _state.scopes[-1]
        k.args, k.from_slots, k.from_tensors, k.consts = list(arrays), [], [], []
        k.from_items = []
        for pos, (a, array) in enumerate(zip(args, arrays)):
            if isinstance(a, Tensor) and id(a) in self.detached_from:  # p.detach(): read p
                ref, source = self.detached_from[id(a)]
                a = source if ref() is a else a
            s = self.slots.get(id(array)) if isinstance(array, np.ndarray) else None
            if s is not None:
                k.from_slots.append((pos, s))
                k.args[pos] = None  # no stale array kept alive between replays
            elif isinstance(array, np.ndarray):
                self._refuse_view(k, array)
                # Held weakly until `finish` checks that something outside the step holds it too.
                k.args[pos] = weakref.ref(array)
                if isinstance(a, Tensor):
                    if id(a) not in self.read:  # its values now, to see a write the replay skips
                        self.read[id(a)] = (k, weakref.ref(a), array.copy(), a.version, self.calls)
                    a = weakref.ref(a)
                    k.from_tensors.append((pos, a))
                k.consts.append((pos, a if isinstance(a, weakref.ref) else k.args[pos]))
            elif type(array) is tuple and any(isinstance(v, np.ndarray) for v in array):
                k.args[pos] = self._sequence(k, pos, array)
                k.consts.append((pos, k.args[pos]))
            else:
                k.consts.append((pos, array))
        k.out, k.shape = self._slot(result.data), result.data.shape
        k.lowered = lower(ctx, arrays, kwargs, result.data)
        k.result = weakref.ref(result)  # (alive after the step only if something kept it)
        # what forward keeps on ctx besides `saved`, let go of at the end of each replay (noted
        # now: a releasing backward empties it before the recording ends)
        k.held = tuple(name for name, v in ctx.__dict__.items()
                       if isinstance(v, (np.ndarray, tuple, list)))
        self.kernel_of[id(ctx)] = len(self.events)
        self.kernels.append(k)
        self.events.append(k)

    def _sequence(self, k: _Kernel, pos: int, seq):
        """A tuple argument holding arrays (an index such as x[rows, y]): its arrays
        from slots are filled in at each replay (`from_items`); the others must be held outside."""
        items = list(seq)
        for j, v in enumerate(items):
            if isinstance(v, np.ndarray):
                s = self.slots.get(id(v))
                if s is not None:
                    k.from_items.append((pos, j, s))
                    items[j] = None
                else:
                    self._refuse_view(k, v)
                    items[j] = weakref.ref(v)
        return _Items(type(seq), items)

    def _refuse_view(self, k: _Kernel, array: np.ndarray) -> None:
        base = array.base
        while base is not None:
            if id(base) in self.slots:
                raise JitError(f"tc.jit: {k.describe()} got a NumPy view of a value computed in the "
                               "step, made outside an op (e.g. t.data[:, 0]); a replay would reuse "
                               "its first value: use the tensor op (t[:, 0]) instead")
            base = base.base

    def value_read(self, name: str) -> None:
        """A function that returns values read from tensors (ops.common.reads_values) ran."""
        if not self.depth:
            raise JitError(
                f"tc.jit: {name}() returns values read from tensors inside a jitted step; a replay "
                "does not call it again, so it would return its first value. Call it outside the "
                "step on the tensors the step returns (or in a function marked @tc.jit.replayed)")

    def backward(self, roots, root_grads, retain_graph: bool, create_graph: bool, inputs) -> None:
        if self.depth:
            return
        if create_graph or inputs is not None:
            raise JitError("tc.jit: tc.grad and backward(create_graph=True) cannot be replayed; run "
                           "that step without tc.jit")
        self._check_clock("before backward()")
        if any(r._ctx is None for r in roots):
            raise JitError("tc.jit: backward() of a leaf tensor (one no op of the step made) cannot be "
                           "replayed; it only adds its gradient to its .grad: do that outside the "
                           "step, or run the step without tc.jit")
        b = _Backward()
        b.release, b.roots, b.plan = not retain_graph, [], []
        given, self.gradient = self.gradient, None  # backward(gradient=...)'s, as passed
        for r, g in zip(roots, root_grads):
            g = g.data if isinstance(g, Tensor) else g
            if given is not None:  # read again at each replay, as eager reads it at each call
                g = _Given(self, given, r.data)
            b.roots.append((self._kernel_index(r._ctx), self.slots.get(id(g), g)))
        for node in graph_nodes(roots):
            routes = []
            for i, (inp, parent, need) in enumerate(zip(node.inputs, node.parents,
                                                        node.needs_input_grad)):
                if not need:
                    continue
                if parent is not None:
                    routes.append((i, inp.data.shape, inp.data.dtype, self._kernel_index(parent),
                                   None))
                else:
                    leaf = self.arg_tensors.get(id(inp), inp)
                    routes.append((i, inp.data.shape, inp.data.dtype, None, leaf))
                    self.grads_before.append((inp, inp.grad))
            if node.retained:
                raise JitError("tc.jit: retain_grad() inside a jitted step is not replayed; read "
                               "the gradient of a step input or parameter instead")
            b.plan.append((self._kernel_index(node), node, node.owns_grads, tuple(routes)))
        self.events.append(b)

    def _kernel_index(self, node) -> int:
        k = self.kernel_of.get(id(node))
        if k is None:
            raise JitError(f"tc.jit: backward() reaches `{type(node).name}`, an op run outside the "
                           "step (its input has a graph from before the call); pass inputs that are "
                           "leaves (x.detach()) to a jitted step")
        return k

    def call(self, fn: Callable, args: tuple, kwargs: dict):
        self._check_clock(f"before {fn.__qualname__}")
        # An iterator (model.parameters()) would be empty at the next call: keep its items.
        args = tuple(list(a) if isinstance(a, Iterator) else a for a in args)
        kwargs = {k: list(v) if isinstance(v, Iterator) else v for k, v in kwargs.items()}
        for a in (*args, *kwargs.values()):
            if isinstance(a, Tensor) and id(a.data) in self.slots:
                raise JitError(f"tc.jit: {fn.__qualname__} gets a tensor computed in the step; a "
                               "replay would pass it its first value. Call it outside the step "
                               "with the returned value")
        c = _Call()
        c.fn, c.args, c.kwargs = fn, args, kwargs
        c.reached = self.reached = list(args)  # and those of the @replayed calls it makes
        self.events.append(c)
        self.depth += 1
        try:
            result = fn(*args, **kwargs)
        finally:
            self.depth -= 1
            self.clock = _clock[0]
        self.calls += 1
        c.out = self.call_results[id(result)] = len(self.keep)  # a replay returns its new value
        self.keep.append(result)
        return result

    def finish(self, returned: list) -> tuple[_Entry, object]:
        """The entry, and the eager result with its tensors detached (as a replay returns them).
        `returned` holds what the step returned; it is emptied, so that only what the step
        made and something outside it still holds stays alive for the checks below."""
        self._check_clock("at the end of the step")
        for i, (a, needed) in enumerate(zip(self.args, self.needs)):
            if isinstance(a, Tensor) and a.requires_grad != needed:
                raise JitError(f"tc.jit: the step set requires_grad={a.requires_grad} on its input "
                               f"{i} (shape {a.shape}); a replay does not run that Python again, "
                               "so the next input would keep its flag while the recording "
                               "follows the changed one. Set it before the call "
                               "(x.requires_grad_(True); step(x))")
        self._check_unrecorded_writes()
        spec = self._spec(returned.pop())
        first, n_slots = _build(spec, self.keep), len(self.keep)
        # A kernel whose output leaves the step (returned, or a view of it) must not write into
        # the same buffer at the next replay: it runs the op's own functions.
        returned = [self.keep[s] for s in _slots_of(spec)]
        for k in self.kernels:
            if k.lowered is not None and k.lowered.out is not None and any(
                    np.may_share_memory(self.keep[k.out], r) for r in returned):
                k.lowered = None
        for e in self.events:
            if isinstance(e, _Backward):
                e.lowered = {i: self.events[i].lowered for i, *_ in e.plan
                             if self.events[i].lowered is not None}
                for i, _, _, routes in e.plan:  # a gradient sent to a node needs no buffer kept
                    grads = e.lowered[i].grads if i in e.lowered else None
                    for j, _, _, parent, _ in routes if grads is not None else ():
                        if parent is not None:
                            grads[j] = PASSED_ON
        self.keep = None  # the step's values: an array only they held (through a view) was made in it
        for k in self.kernels:  # the eager graph is gone: its nodes are now the kernels' contexts
            ctx = k.ctx
            ctx.inputs = ctx.parents = ()
            # What the contexts keep does not count as held outside the step: forward sets it
            # again at each replay.
            ctx.saved = None
            for name in k.held:
                ctx.__dict__[name] = None
        self._check_kept_tensors()
        for e in self.events:  # a gradient given to backward() that only the step held: refused
            for _, g in e.roots if isinstance(e, _Backward) else ():
                if type(g) is _Given and isinstance(g.source, weakref.ref):
                    g.source = g.source()
                    if g.source is None and g.slot is None:
                        raise JitError(
                            "tc.jit: backward(gradient=...) gets a tensor or array the step made "
                            "without an op; a replay would reuse its first value. Make it outside "
                            "the step and pass it in, or build it with tensor ops")
        made = {id(t.grad) for t, before in self.grads_before  # .grad tensors new in the step
                if t.grad is not None and t.grad is not before}
        for k in self.kernels:
            for pos, _, _ in k.from_items:
                seq = k.args[pos]
                seq.items = [self._alive(k, v) if isinstance(v, weakref.ref) else v for v in seq.items]
            # A tensor still held elsewhere is read by reference (its current .data at each
            # replay); one made in the step around an array held elsewhere, that array.
            tensors = [(pos, ref()) for pos, ref in k.from_tensors]
            for _, t in tensors:
                if t is not None and id(t) in made:
                    raise JitError(
                        f"tc.jit: {k.describe()} reads a .grad that backward() made in the step; "
                        "a replay would read that first gradient again. Read gradients outside "
                        "the step, or in a function marked @tc.jit.replayed (as clip_grad_norm_ "
                        "is)")
            k.from_tensors = [(pos, t) for pos, t in tensors if t is not None]
            for pos, t in k.from_tensors:
                k.args[pos] = None
            k.args = [self._alive(k, a) if isinstance(a, weakref.ref) else a for a in k.args]
            held = dict(k.from_tensors)
            k.consts = [(pos, held.get(pos, k.args[pos])) if isinstance(c, weakref.ref) else (pos, c)
                        for pos, c in k.consts]
        # An array passed as it is that is a tensor's data (W.data in a comparison), where the
        # step also read that tensor: read through the tensor, so a replaced .data is seen.
        owners = {id(t.data): t for k in self.kernels for _, t in k.from_tensors}
        for k in self.kernels:
            for pos, c in enumerate(k.args):
                if isinstance(c, np.ndarray) and id(c) in owners:
                    k.args[pos] = None
                    k.from_tensors.append((pos, owners[id(c)]))
            for pos, seq in enumerate(k.args):  # sequences without step arrays are plain again
                if isinstance(seq, _Items) and not any(p == pos for p, _, _ in k.from_items):
                    k.args[pos] = seq.kind(self._alive(k, v) if isinstance(v, weakref.ref) else v
                                           for v in seq.items)
        entry = _Entry()
        entry.events, entry.n_slots, entry.inputs = self.events, n_slots, self.inputs
        # What a replay must let go of at its end: arrays forward keeps on ctx, and the saved
        # arrays of the kernels no releasing backward plan frees (a forward-only step).
        freed = {id(ctx) for e in self.events if isinstance(e, _Backward) and e.release
                 for _, ctx, _, _ in e.plan}
        entry.held = [(k.ctx, k.held) for k in self.kernels if k.held or id(k.ctx) not in freed]
        entry.result = spec
        entry.modules = [m for m, flag in self.modules.values() if flag is not None]
        _modules_made[1] = _modules_made[0]
        entry.flags = [flag for _, flag in self.modules.values() if flag is not None]
        entry.tensors = list({id(t): t for k in self.kernels for _, t in k.from_tensors}.values())
        entry.states = list(map(_STATE, entry.tensors))
        entry.requires = list(map(_REQUIRES, entry.tensors))
        entry.compile()
        entry.pinned = self._pinned()
        return entry, first

    def _pinned(self) -> list:
        """(position, tensor) of each input that is a parameter or buffer of a module that ran,
        a parameter of an optimizer the step called, or a tensor the step's code names from its
        closure or globals (step(x, model.fc.weight), or an array it holds): the step's kernels
        found it through the argument and through the model alike (they are one array), so a
        replay given another tensor there would compute with it; such a call records again."""
        held = [t for m, _ in self.modules.values()
                for t in (*getattr(m, "parameters", tuple)(), *getattr(m, "buffers", tuple)())]
        held += [p for c in self.events if isinstance(c, _Call)
                 for a in (*c.args, *c.kwargs.values())
                 for group in getattr(a, "param_groups", ()) for p in group["params"]]
        held += [v for v in _captured(self.fn) if isinstance(v, Tensor)]
        owned = {}
        for t in held:
            owned[id(t)] = owned[id(t.data)] = t
        return [(pos, owned.get(id(a), owned.get(id(_array_of(a)))))
                for pos, a in enumerate(self.args)
                if id(a) in owned or id(_array_of(a)) in owned]

    def _check_kept_tensors(self) -> None:
        # A tensor an op made in the step that is still alive once the step returned (its result
        # is rebuilt) is kept by the step's own Python: losses.append(loss), self.out = h. A
        # replay does not run that Python, so what it keeps would stay the first call's.
        made = [(k.describe(), k.result) for k in self.kernels] + self.detached
        kept = [(what, ref) for what, ref in made if ref() is not None]
        if kept:
            gc.collect()  # (a reference cycle of the step's own is not a keeper)
            kept = [(what, ref) for what, ref in kept if ref() is not None]
        if kept:
            raise JitError(
                f"tc.jit: the step keeps a tensor it made (shape {kept[0][1]().shape}, from "
                f"{kept[0][0]}) where it outlives the call: a list (losses.append(loss)), "
                "an attribute (self.out = h) or a global. A replay does not run that Python "
                "again, so it would keep the first call's tensor. Return the tensor and keep it "
                "outside the step (losses.append(step(X, y)))")

    def _check_unrecorded_writes(self) -> None:
        # A parameter changed after the step read it, with no version bump (an optimizer bumps)
        # and no @replayed call since: a raw write such as W.data -= lr * W.grad.data, which a
        # replay would not repeat.
        for k, ref, before, version, calls in self.read.values():
            t = ref()
            if t is None or calls != self.calls or t.version != version:
                continue
            now = t.data
            same = now.shape == before.shape and np.array_equal(
                now, before, equal_nan=now.dtype.kind in "fc")
            if not same:
                name = f"`{t.name}`" if t.name else f"a tensor of shape {t.shape}"
                raise JitError(
                    f"tc.jit: the step changed {name} (read by {k.describe()}) without an op "
                    "or a @replayed call (e.g. W.data -= lr * W.grad.data), so a replay would not "
                    "change it; update it with an optimizer, or in a function marked "
                    "@tc.jit.replayed")
        self.read.clear()

    def _alive(self, k: _Kernel, ref: weakref.ref):
        t = ref()
        if t is None:  # only the step held it: made in the step, not by an op
            raise JitError(
                f"tc.jit: {k.describe()} reads a tensor or array the step made without an op "
                "(tc.tensor(...), Tensor(array), a NumPy computation or conversion); a replay "
                "would reuse its first value. Make it outside the step and pass it in, or build "
                "it from the step's inputs with tensor ops")
        return t

    def _spec(self, value):
        if id(value) in self.call_results:  # what a @replayed call returned: its value then
            return ("call", self.call_results[id(value)])
        if isinstance(value, Tensor):
            s = self.slots.get(id(value.data))
            if s is not None:
                return ("slot", s)
            if value.requires_grad and value._ctx is None or any(
                    ref() is value for k in self.kernels for _, ref in k.from_tensors):
                return ("const", value)  # a parameter or buffer: the object itself
            raise JitError(f"tc.jit: the step returns a tensor of shape {value.shape} that no op "
                           "in it made (a .grad, or a tensor made from NumPy data); a replay would "
                           "return its first value. Read it outside the step")
        if isinstance(value, (tuple, list)):
            return ("seq", (type(value) if type(value) in (tuple, list) else tuple,
                            [self._spec(v) for v in value]))
        if isinstance(value, dict):
            return ("dict", {k: self._spec(v) for k, v in value.items()})
        if value is None:
            return ("const", value)
        if isinstance(value, (str, int, float, bool)):
            raise JitError(f"tc.jit: the step returns a Python {type(value).__name__} "
                           f"({value!r}); a replay does not run the step's Python, so it would "
                           "return that first value at every call (a counter, opt.lr read in the "
                           "step). Return tensors, and read Python values outside the step")
        raise JitError(f"tc.jit: the step returns a {type(value).__name__}; a jitted step returns "
                       "tensors (or tuples, lists and dicts of them)")


# ---- reading values inside a recorded step is refused ----------------------------------------

_VALUE_READS = ("item", "numpy", "tolist", "__bool__", "__float__", "__int__", "__index__",
                "__array__")
_guard_lock = threading.Lock()
_guard_users = [0, {}]  # recordings running in any thread, the original methods


def _refusing(name: str, original: Callable) -> Callable:
    @functools.wraps(original)
    def read(self, *args, **kwargs):
        recorder = _state.recorder
        if recorder is not None and not recorder.depth:
            what = {"__bool__": "if t: / bool(t)", "__float__": "float(t)", "__int__": "int(t)",
                    "__index__": "an index", "__array__": "np.asarray(t)"}.get(name, f"t.{name}()")
            raise JitError(
                f"tc.jit: {what} reads a tensor's value (shape {self.shape}) inside a jitted step; "
                "a replay does not run that Python again, so a branch or a log that depends on it "
                "would keep its first value. Return the tensor and read it outside the step "
                "(loss = step(x, y); loss.item())")
        return original(self, *args, **kwargs)
    return read


def _detaching(original: Callable) -> Callable:
    @functools.wraps(original)
    def detach(self):
        # x.detach() of a value of the step wraps its array without an op: noted, so that one
        # kept beyond the call (losses.append(loss.detach())) is refused like the tensors ops make
        t = original(self)
        recorder = _state.recorder
        if recorder is not None and not recorder.depth:
            if id(self.data) in recorder.slots:
                recorder.detached.append(("`detach()`", weakref.ref(t)))
            else:  # a parameter's detach(): a replay reads the parameter (its array may change)
                recorder.detached_from[id(t)] = (weakref.ref(t), self)
        return t
    return detach


def _noting_gradient(original: Callable) -> Callable:
    """Tensor.backward while a step records: the recorder notes the gradient as it was given
    (the engine's hook sees it converted), for a replay to read it again (see _Given)."""
    @functools.wraps(original)
    def backward(self, gradient=None, *args, **kwargs):
        recorder = _state.recorder
        if recorder is not None and not recorder.depth:
            recorder.gradient = gradient
        return original(self, gradient, *args, **kwargs)
    return backward


def _guard(on: bool) -> None:
    with _guard_lock:
        users, originals = _guard_users
        if on and users == 0:
            for name in _VALUE_READS:
                originals[name] = Tensor.__dict__[name]
                setattr(Tensor, name, _refusing(name, originals[name]))
            originals["detach"] = Tensor.__dict__["detach"]
            Tensor.detach = _detaching(originals["detach"])
            originals["backward"] = Tensor.__dict__["backward"]
            Tensor.backward = _noting_gradient(originals["backward"])
        if not on and users == 1:
            for name, method in originals.items():
                setattr(Tensor, name, method)
        _guard_users[0] = users + (1 if on else -1)


# ---- the decorator ---------------------------------------------------------------------------

def _key_of(value):
    if isinstance(value, Tensor):
        return (value.data.shape, value.data.dtype, value.requires_grad)
    if isinstance(value, np.ndarray):
        return ("A", value.shape, value.dtype)
    if isinstance(value, (list, tuple, dict)):  # keyed by what it holds, not by id
        items = list(value.items() if isinstance(value, dict) else enumerate(value))
        if any(isinstance(v, (Tensor, np.ndarray)) for _, v in items):
            raise JitError(f"tc.jit: an argument is a {type(value).__name__} of tensors; a replay "
                           "would read the tensors it held when recorded. Pass each tensor as an "
                           "argument of its own (step(x, y), step(*xs))")
        return ("C", type(value), tuple((k, _key_of(v)) for k, v in items))
    try:
        hash(value)
    except TypeError:
        raise JitError(f"tc.jit: an argument of type {type(value).__name__} cannot be part of "
                       "the signature (it is not hashable), so a replay could not tell a changed "
                       "one; pass numbers, strings, tuples, lists, dicts or hashable objects") from None
    return ("V", type(value), value)


class jit:  # noqa: N801 (a decorator, named like jax.jit and torch.jit)
    """Record `fn` (a training step: forward, backward, optimizer step) at its first call with a
    signature (tensor shapes, dtypes, requires_grad; the other arguments' values; grad mode; the
    train/eval mode of the modules it runs) and replay the recorded kernels at later calls.

    Tensor (and ndarray) arguments, positional or keyword, are the step's inputs; a replay reads
    parameters and buffers afresh. Returns what `fn` returns, with tensors detached (tensors,
    and tuples, lists and dicts of them). `cache_size` signatures are kept (the last,
    smaller mini-batch records once more). `check=True` re-traces every call eagerly and raises
    `JitError` at the first difference from the record. See the module docstring for the limits.
    """

    replayed = staticmethod(replayed)
    JitError = JitError

    def __init__(self, fn: Callable | None = None, *, check: bool = False, cache_size: int = 8):
        self.fn, self.check, self.cache_size = fn, check, cache_size
        self.cache: OrderedDict = OrderedDict()
        self.recordings = 0  # how many times a signature was recorded (retraces)
        self._last = None  # the entries replayed last (already at the cache's recent end)
        self._modules_seen = _module_changes[0]
        self._lock = threading.RLock()  # re-entrant: a replayed call may call the same jit
        self._running = False  # a replay of this jit is under way in the thread holding the lock
        self.calls = 0
        if fn is not None:
            functools.update_wrapper(self, fn)

    def clear_cache(self) -> None:
        """Forget every recorded signature: each records again at its next call, reading the
        step's Python values anew (fit(jit=True) does this at the start of every epoch, after
        the callbacks, so a value a callback changed is read)."""
        with self._lock:
            self.cache.clear()
            self._last = None

    def __get__(self, obj, objtype=None):
        # @tc.jit on a method: the instance is an argument like any other (part of the key).
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        if self.fn is None:  # @tc.jit(check=True)
            return type(self)(args[0], check=self.check, cache_size=self.cache_size)
        self.calls += 1
        if _state.recorder is not None:
            raise JitError("tc.jit: a jitted function called while another step is being "
                           "recorded; jit the outer step only")
        with self._lock:  # one call at a time: a replay reuses the kernels' contexts
            if self._running:  # from a @replayed call inside its own replay: its buffers are
                return self.fn(*args, **kwargs)  # in use, so this call runs eagerly
            self._running = True
            try:
                return self._call(args, kwargs)
            finally:
                self._running = False

    def _call(self, args: tuple, kwargs: dict):
        if _module_changes[0] != self._modules_seen:  # a module changed since: record anew
            self.cache.clear()
            self._last = None
        key = (_state.enabled, *[(a.data.shape, a.data.dtype, a.requires_grad)
                                 if type(a) is Tensor else _key_of(a) for a in args])
        inputs = args
        if kwargs:  # keyword tensors are inputs too: after the positional ones, by name
            names = sorted(kwargs)
            key += tuple((k, _key_of(kwargs[k])) for k in names)
            inputs = args + tuple(kwargs[k] for k in names)
        if len(inputs) > 1:  # which inputs are the same array is part of the signature
            ids = [id(a.data) if isinstance(a, Tensor) else id(a) for a in inputs]
            if len(set(ids)) < len(ids):
                key += (("same", tuple(ids.index(i) for i in ids)),)
        entries = self.cache.get(key, ())
        for entry in entries:
            if entry.matches(inputs):
                break
        else:
            entry = None
        if entry is not None and not self.check:
            if entries is not self._last:  # least recently used goes first when the cache is full
                self.cache.move_to_end(key)
                self._last = entries
            return entry.replay(inputs)
        new, result = self._record(args, kwargs, inputs)
        if entry is not None:
            _compare(entry, new, self.calls)
            return result
        entries = self.cache.setdefault(key, [])
        entries.append(new)
        del entries[:-self.cache_size]  # (a step that switches modes records at every call)
        self.cache.move_to_end(key)
        self._last = entries
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return result

    def _record(self, args: tuple, kwargs: dict, inputs: tuple):
        recorder = _Recorder(inputs, self.fn)
        scopes = _state.scopes
        _state.scopes = _Scopes(scopes, recorder.modules)
        _state.recorder = recorder
        _guard(True)
        try:
            returned = [self.fn(*args, **kwargs)]  # (a list finish() empties: see there)
        finally:
            _guard(False)
            _state.recorder, _state.scopes = None, scopes
        self.recordings += 1
        self._modules_seen = _module_changes[0]  # what the step itself set is in the record
        return recorder.finish(returned)


def _compare(old: _Entry, new: _Entry, call: int) -> None:
    """check=True: the step as traced now must be the step as recorded (the same ops, wired the
    same way, with equal constants), or a replay would have computed something else."""
    def fail(i: int, event, why: str):
        what = event.describe() if isinstance(event, _Kernel) else type(event).__name__.strip("_")
        raise JitError(f"tc.jit(check=True): call {call}, event {i} ({what}): {why}; a replay of "
                       "the record would differ from eager here (Python control flow, or a value "
                       "that changes between calls). Keep the step's Python the same at every "
                       "call, or do not jit it")
    for i, (a, b) in enumerate(zip(old.events, new.events)):
        if type(a) is not type(b):
            fail(i, b, f"a {type(b).__name__.strip('_').lower()} ran where the record has a "
                       f"{type(a).__name__.strip('_').lower()}")
        if isinstance(a, _Kernel):
            if (a.name != b.name or a.from_slots != b.from_slots or a.from_items != b.from_items
                    or a.kwargs != b.kwargs):
                fail(i, b, f"`{b.name}` runs on other inputs than the recorded `{a.name}`")
            for (pa, ca), (pb, cb) in zip(a.consts, b.consts):
                if pa != pb or not _same_value(ca, cb):
                    fail(i, b, f"argument {pb} is {_show(cb)} now, {_show(ca)} when recorded")
        elif isinstance(a, _Backward):
            for (ka, ga), (kb, gb) in zip(a.roots, b.roots):
                if type(ga) is _Given and type(gb) is _Given:  # a step value's slot, or a value
                    same = ga.slot == gb.slot and _same_value(ga.source, gb.source)
                else:
                    same = type(ga) is type(gb) and _same_value(ga, gb)
                if ka != kb or not same:
                    shown = [_show(g.source) if type(g) is _Given else _show(g) for g in (gb, ga)]
                    fail(i, b, f"backward() gets the gradient {shown[0]} now, {shown[1]} when "
                               "recorded")
        elif isinstance(a, _Call):
            if a.fn is not b.fn:
                fail(i, b, f"calls {b.fn.__qualname__}, not {a.fn.__qualname__}")
            if not _same_argument((a.args, a.kwargs), (b.args, b.kwargs)):
                fail(i, b, f"{b.fn.__qualname__} gets other arguments than when recorded")
    if len(old.events) != len(new.events):
        raise JitError(f"tc.jit(check=True): call {call} ran {len(new.events)} ops and calls, the "
                       f"record {len(old.events)}: Python control flow changed the step")


def _same_argument(a, b) -> bool:
    """A @replayed call's arguments as recorded: numbers and strings equal, containers item by
    item, anything else (an optimizer, a parameter) the very same object."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_argument(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_argument(a[k], b[k]) for k in a)
    if isinstance(a, (int, float, str, bool, type(None))) and type(a) is type(b):
        return a == b
    return a is b


def _same_value(a, b) -> bool:
    if a is b or isinstance(a, list):  # a list is an op's output place (max_pool2d's indices)
        return True
    if isinstance(a, _Items):  # a tuple index: the same kind, the same items
        return (isinstance(b, _Items) and a.kind is b.kind and len(a.items) == len(b.items)
                and all(_same_value(x, y) for x, y in zip(a.items, b.items)))
    a = a.data if isinstance(a, Tensor) else a
    b = b.data if isinstance(b, Tensor) else b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 (objects without a plain ==: the same object or not)
        return False


def _show(value) -> str:
    if isinstance(value, (Tensor, np.ndarray)):
        return f"an array of shape {np.shape(value.data if isinstance(value, Tensor) else value)}"
    return repr(value)[:60]
