"""Module, Parameter and the containers (Sequential, ModuleList, ModuleDict, Identity).

A Module registers every `Parameter` and sub-`Module` assigned to one of its attributes, so
`parameters()`, `state_dict()`, `train()`/`eval()` and `to(dtype)` walk the whole tree. Calling a
module pushes it on the autograd scope stack, so every graph node records the module that made it
(`tinygrad_course.viz` draws one box per module).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Iterable, Iterator, NamedTuple

import numpy as np

from ..autograd import Function, bump_version, is_grad_enabled, scope_stack
from ..jit import module_changed, module_made, replayed
from ..ops.torch_compat import check_device, is_device
from ..tensor import Tensor


class RemovableHandle:
    """What register_*_hook returns: `handle.remove()` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self.hooks, self.id = hooks, RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        if self.hooks.pop(self.id, None) is not None:
            module_changed()  # a step recorded by tc.jit ran the hook: it records again


class _ModuleHooks:
    """A module's hooks: forward pre-hooks, forward hooks, full backward hooks, by handle id."""

    def __init__(self) -> None:
        self.forward_pre: dict = OrderedDict()
        self.forward: dict = OrderedDict()
        self.backward: dict = OrderedDict()


class _BackwardHookState:
    """One call's bookkeeping for full backward hooks: grad_output when it arrives, then the
    input gradients, and the hooks run once every input that requires grad has its gradient."""

    def __init__(self, module, hooks: list, n_inputs: int, pending: int) -> None:
        self.module, self.hooks, self.n_inputs, self.inputs_needing_grad = module, hooks, n_inputs, pending
        self.reset()

    def reset(self) -> None:
        """Wait for every input's gradient again (a step replayed by tc.jit reuses this state)."""
        self.pending = self.inputs_needing_grad
        self.grad_input: list = [None] * self.n_inputs
        self.grad_output: tuple = (None,)

    def run(self):
        """Call the hooks with the gradients as Tensors; a hook may return a new grad_input (a
        tuple), as in PyTorch. Returns grad_input as the engine's arrays (or graph Tensors)."""
        plain = not any(isinstance(g, Tensor) for g in (*self.grad_input, *self.grad_output))
        grad_input = tuple(self.grad_input)
        grad_output = self.grad_output
        if plain:
            grad_input = tuple(None if g is None else Tensor._wrap(g) for g in grad_input)
            grad_output = tuple(None if g is None else Tensor._wrap(g) for g in grad_output)
        for hook in self.hooks:
            result = hook(self.module, grad_input, grad_output)
            if result is not None:
                grad_input = tuple(result)
        if plain:
            return tuple(g.data if isinstance(g, Tensor) else g for g in grad_input)
        return grad_input


class BackwardHookOutput(Function):
    """Identity on a module's output; backward records grad_output for the module's backward
    hooks (and runs them when no input requires grad)."""

    name = "backward_hook"
    is_view = True

    @staticmethod
    def forward(ctx, x, state):
        ctx.state = state
        state.reset()  # the inputs' forwards ran, no backward yet: the place a replay resets it
        return x

    @staticmethod
    def backward(ctx, g):
        ctx.state.grad_output = (g,)
        if ctx.state.pending == 0:
            ctx.state.run()
        return g, None


class BackwardHookInput(Function):
    """Identity on a module's input; backward hands its gradient to the module's backward hooks,
    which run when the last input's gradient arrives (and may replace it)."""

    name = "backward_hook"
    is_view = True

    @staticmethod
    def forward(ctx, x, state, index):
        ctx.state, ctx.index = state, index
        return x

    @staticmethod
    def backward(ctx, g):
        state = ctx.state
        state.grad_input[ctx.index] = g
        state.pending -= 1
        if state.pending:
            return g, None, None
        before = tuple(state.grad_input)
        after = state.run()
        changed = [i for i, (a, b) in enumerate(zip(before, after)) if a is not b]
        # (an unchanged gradient comes back as the very array that was wrapped for the hook)
        if any(i != ctx.index for i in changed):
            raise RuntimeError(
                f"{type(state.module).__name__}: a full backward hook replaced the gradient of "
                f"input {changed[0]}, which had already been passed on; with several inputs only "
                "the last one's can be replaced (or register the hook on a one-input module)")
        return after[ctx.index], None, None


class Parameter(Tensor):
    """A Tensor that is a learnable parameter of a Module: it requires grad and is registered
    when assigned to a Module attribute."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class StateDictError(RuntimeError):
    """A checkpoint does not fit the model: missing or unexpected keys, or shapes that differ."""


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` left out: keys the model has that the checkpoint lacks,
    and keys the checkpoint has that the model does not."""

    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of every layer and model: subclass it, create parameters and sub-modules in
    `__init__` (after `super().__init__()`), and write `forward`."""

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["_made"] = module_made()  # (see jit.module_changed)
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["training"] = True

    # ---- registration ---------------------------------------------------------------
    # Registered values also live in the instance __dict__, so reading `self.weight` in a forward
    # is a plain attribute lookup (no __getattr__ detour on the hot path).
    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: cannot assign {name!r} before "
                                 "Module.__init__() ran; call super().__init__() first")
        if isinstance(value, Parameter):
            self._forget(name)
            d["_parameters"][name] = value
        elif isinstance(value, Module):
            self._forget(name)
            d["_modules"][name] = value
        elif name in d["_parameters"]:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: {name!r} is a parameter; assign a "
                                f"Parameter (or None), not {type(value).__name__}. To change its "
                                f"values, write into it under tc.no_grad(): {name}.data[...] = ...")
            d["_parameters"][name] = None
        elif name in d["_modules"]:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: {name!r} is a sub-module; assign a "
                                f"Module (or None), not {type(value).__name__}")
            d["_modules"][name] = None
        elif name in d["_buffers"]:
            value = self._as_buffer(name, value)
            d["_buffers"][name] = value
        object.__setattr__(self, name, value)  # honours properties defined by subclasses
        module_changed(self)  # a step recorded by tc.jit may hold the old value

    def __getattr__(self, name: str):
        # Only reached when normal lookup failed: the attribute really does not exist.
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        module_changed(self)
        d = self.__dict__
        for registry in ("_parameters", "_modules", "_buffers"):
            d[registry].pop(name, None)
        d["_non_persistent"].discard(name)

    def _as_buffer(self, name: str, value) -> Tensor | None:
        if value is None or (isinstance(value, Tensor) and not value.requires_grad):
            return value
        if isinstance(value, Tensor):
            raise TypeError(f"{type(self).__name__}: buffer {name!r} must not require grad; "
                            "use a Parameter for learnable values")
        if isinstance(value, (np.ndarray, np.generic, int, float, bool)):
            return Tensor(value)
        raise TypeError(f"{type(self).__name__}: buffer {name!r} must be a Tensor or an array, "
                        f"not {type(value).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` under `name` (None reserves the name: a layer without bias), as
        PyTorch."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, "
                            f"not {type(param).__name__}")
        self._forget(name)
        self.__dict__["_parameters"][name] = param
        self.__dict__[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """A non-learnable state (running averages, counters): moved by `to()`, saved in
        `state_dict()` unless `persistent=False`."""
        self._forget(name)
        value = self._as_buffer(name, tensor)
        self.__dict__["_buffers"][name] = value
        if not persistent:
            self.__dict__["_non_persistent"].add(name)
        self.__dict__[name] = value

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as a sub-module under `name` (same as assigning the attribute)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, not {type(module).__name__}")
        self._forget(name)
        self.__dict__["_modules"][name] = module
        self.__dict__[name] = module

    # ---- calling ----------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The layer's computation, y = f(x): write it in a subclass; call the module (`model(x)`),
        not forward."""
        raise NotImplementedError(f"{type(self).__name__}.forward is not written")

    _hooks = None  # a _ModuleHooks once a hook is registered (none: the fast path)

    def __call__(self, *args, **kwargs):
        if self._hooks is not None:
            return self._call_with_hooks(args, kwargs)
        scopes = scope_stack()  # ops record the innermost module, for drawing
        scopes.append(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            scopes.pop()

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        hooks = self._hooks
        for hook in list(hooks.forward_pre.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        state = None
        if hooks.backward and is_grad_enabled():
            wants = [isinstance(a, Tensor) and a.requires_grad for a in args]
            state = _BackwardHookState(self, list(hooks.backward.values()), len(args), sum(wants))
            args = tuple(BackwardHookInput.apply(a, state, i) if w else a
                         for i, (a, w) in enumerate(zip(args, wants)))
        scopes = scope_stack()
        scopes.append(self)
        try:
            out = self.forward(*args, **kwargs)
        finally:
            scopes.pop()
        for hook in list(hooks.forward.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        if state is not None:
            if not isinstance(out, Tensor):
                raise TypeError(f"{type(self).__name__}: full backward hooks need a forward that "
                                f"returns one Tensor, this one returned {type(out).__name__}")
            if out.requires_grad:
                out = BackwardHookOutput.apply(out, state)
        return out

    def _register_hook(self, kind: str, hook: Callable) -> RemovableHandle:
        if self._hooks is None:
            self.__dict__["_hooks"] = _ModuleHooks()
        registry = getattr(self._hooks, kind)
        handle = RemovableHandle(registry)
        registry[handle.id] = hook
        module_changed()  # a step recorded by tc.jit without the hook records again
        return handle

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, args) runs before each forward; returning a value (a tuple, or one input)
        replaces the inputs. Returns a handle whose remove() unregisters it."""
        return self._register_hook("forward_pre", hook)

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, args, output) runs after each forward (to record activations, say);
        returning a value replaces the output. Returns a handle whose remove() unregisters it."""
        return self._register_hook("forward", hook)

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, grad_input, grad_output) runs during backward, once the gradients of
        the module's inputs are known: grad_output = (dL/d output,), grad_input = (dL/d input
        for each positional input, None where it needs no gradient); what a picture of the
        gradient flow layer by layer needs. Returning a tuple replaces grad_input, as in
        PyTorch. The module's forward must return one Tensor."""
        return self._register_hook("backward", hook)

    def _where(self) -> str:
        """This module's repr and, when it runs inside a bigger model, its dotted path there
        (for error messages that must name the layer)."""
        here = self._describe()
        roots = [m for m in scope_stack()[1:] if m is not self]
        if roots:
            for path, m in roots[0].named_modules():
                if m is self and path:
                    return f"{here} at {path!r} in {type(roots[0]).__name__}"
        return here

    def _check_input_dtype(self, x, param: Tensor) -> None:
        """Raise if `x` would promote this layer past its parameters' dtype: NumPy computes a
        float64 (or int64) batch times float32 weights in float64, and so every later layer."""
        have, want = x.dtype, param.data.dtype
        if have is want or np.result_type(have, want) == want:
            return
        promoted = np.result_type(have, want)  # a float dtype: integer data promotes to float64
        raise TypeError(
            f"{self._where()}: got an input of dtype {have}, but its parameters are {want}, so "
            f"NumPy would compute this layer and every later one in {promoted}. "
            f"Convert the data once, e.g. X = X.astype(np.{want}) (tc.data's datasets are "
            f"float32 already), or make the whole model {promoted} with model.to(np.{promoted})")

    def _describe(self) -> str:
        extra = self.extra_repr()
        return f"{type(self).__name__}({extra})"

    # ---- walking the tree -------------------------------------------------------------
    def named_modules(self, prefix: str = "", _seen: set | None = None) -> Iterator[tuple[str, Module]]:
        """(dotted path, module) for this module ("" for the root) and every sub-module, once each."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name, seen)

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, depth first (as PyTorch's modules())."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct sub-module."""
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter), e.g. ("layers.0.weight", W[1]); a shared parameter once."""
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for path, m in mods:
            for name, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{path}.{name}" if path else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter (of sub-modules too, unless recurse=False), each once: what an optimizer
        takes."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(path, tensor) for each buffer: state that is saved but not trained (batch norm's
        running averages)."""
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for path, m in mods:
            for name, b in m._buffers.items():
                if b is not None:
                    yield (f"{path}.{name}" if path else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer (of sub-modules too, unless recurse=False)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call fn on every sub-module (children first) and on this module; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- modes, gradients, dtype --------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout drops, batch norm uses batch statistics) for this module and
        every sub-module; returns self."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout is the identity, batch norm uses its running averages."""
        return self.train(False)

    @replayed
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradients: every parameter's .grad becomes None (PyTorch's
        default), or is filled with zeros in place with set_to_none=False."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def reset_parameters(self, init: str | None = None, scale: float | None = None) -> None:
        """Re-draw this module's own parameters (layers override it; see `nn.init.initialize_`)."""

    def to(self, dtype=None, device: str | None = None) -> Module:
        """Convert every floating parameter, gradient and buffer to `dtype`, in place; returns self.
        The Parameter objects stay the same, so an optimizer holding them keeps working.
        The only device is the CPU (NumPy): `to("cpu")` or `device="cpu"` changes nothing, as in
        PyTorch's `model.to("cpu")` on a CPU model; any other device is an error."""
        if is_device(dtype):
            dtype, device = None, dtype
        check_device(device, f"{type(self).__name__}.to")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: expected a floating dtype, got {dtype}")
        for p in self.parameters():
            if p.data.dtype != dtype:
                p.data = p.data.astype(dtype)
                bump_version(p)
                if p.grad is not None:
                    p.grad = Tensor._wrap(p.grad.data.astype(dtype))
        for b in self.buffers():
            if b.data.dtype.kind == "f" and b.data.dtype != dtype:
                b.data = b.data.astype(dtype)
                bump_version(b)
        return self

    def double(self) -> Module:
        """Parameters and buffers to float64 (for gradient checking); returns self."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Parameters and buffers to float32; returns self."""
        return self.to(np.float32)

    # ---- checkpoints ------------------------------------------------------------------
    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        for path, m in self.named_modules():
            pre = f"{path}." if path else ""
            for name, p in m._parameters.items():
                if p is not None:
                    yield pre + name, p
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    yield pre + name, b

    def state_dict(self) -> OrderedDict:
        """Every parameter and persistent buffer by dotted name, as NumPy copies (a snapshot that
        later training does not change)."""
        return OrderedDict((k, t.data.copy()) for k, t in self._state_items())

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy a checkpoint's values into this model's parameters and buffers, in place.

        With `strict=True` missing and unexpected keys are errors; a shape mismatch always is.
        Nothing is changed unless every key fits.
        """
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        values = {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            v = v.data if isinstance(v, Tensor) else np.asarray(v)
            if v.shape != target.data.shape:
                problems.append(f"{k!r}: the checkpoint has shape {v.shape}, the model has "
                                f"shape {target.data.shape}")
            elif not np.can_cast(v.dtype, target.data.dtype, casting="same_kind"):
                problems.append(f"{k!r}: the checkpoint has dtype {v.dtype}, which cannot be "
                                f"stored in the model's {target.data.dtype}")
            values[k] = v
        if strict:
            if missing:
                problems.append(f"missing keys (in the model, not in the checkpoint): {missing}")
            if unexpected:
                problems.append(f"unexpected keys (in the checkpoint, not in the model): {unexpected}")
        if problems:
            raise StateDictError(f"{type(self).__name__}.load_state_dict: "
                                 + "; ".join(problems))
        for k, v in values.items():
            t = own[k]
            np.copyto(t.data, v, casting="same_kind")
            bump_version(t)
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ---------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The constructor arguments shown in repr (layers override it)."""
        return ""

    def __repr__(self) -> str:
        shapes = ", ".join(f"{n} {tuple(p.shape)}" for n, p in self._parameters.items()
                           if p is not None)
        kids = [(n, m) for n, m in self._modules.items() if m is not None]
        if not kids:
            return self._describe() + (f"  [{shapes}]" if shapes else "")
        lines = [f"{type(self).__name__}("]
        if self.extra_repr():
            lines.append(f"  {self.extra_repr()}")
        if shapes:
            lines.append(f"  [{shapes}]")
        for name, m in kids:
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


class Identity(Module):
    """f(x) = x: a placeholder layer (e.g. where an option turns batch norm off). Any constructor
    arguments are ignored, as in PyTorch."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        """x, unchanged."""
        return x


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: modules in order, appended under the next index."""

    def append(self, module: Module):
        """Add `module` at the end, registered under the next index; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.append: expected a Module, got "
                            f"{type(module).__name__}")
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(_ModuleSequence):
    """Modules applied one after the other: Sequential(Linear(2, 4), ReLU(), Linear(4, 1)).
    Also accepts one dict {name: module} to name the layers."""

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            items = list(modules[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(modules)]
        for name, m in items:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: layer {name!r} is a {type(m).__name__}, not a Module")
            self.add_module(name, m)

    def forward(self, x):
        """x through each module in order: y = f_n(...f_2(f_1(x)))."""
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[index]


class ModuleList(_ModuleSequence):
    """A list of modules, each registered (as "0", "1", ...), for models built in a loop."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self.extend(modules)

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each module of `modules`; returns self."""
        for m in modules:
            self.append(m)
        return self

    def _key(self, index: int) -> str:
        n = len(self._modules)
        if not -n <= index < n:
            raise IndexError(f"ModuleList: index {index} is out of range for {n} modules")
        return str(index % n)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[self._key(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(self._key(index), module)


class ModuleDict(Module):
    """A dict of modules, each registered under its key."""

    def __init__(self, modules: dict | None = None):
        super().__init__()
        for k, m in (modules or {}).items():
            self[k] = m

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {key!r} must be a Module, not {type(module).__name__}")
        self.add_module(key, module)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self):
        """The names of the modules, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """(name, module) pairs, in insertion order."""
        return self._modules.items()

