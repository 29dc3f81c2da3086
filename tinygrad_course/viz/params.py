"""Names for a graph's parameters and modules, from a model, a `named_parameters()` iterable or a dict."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..tensor import Tensor


def is_model(obj: Any) -> bool:
    """A Module-like object: it names its parameters and its submodules."""
    return callable(getattr(obj, "named_parameters", None)) and callable(
        getattr(obj, "named_modules", None))


def named_parameters(params: Any) -> dict[str, Tensor]:
    """name -> Tensor from a model, a `named_parameters()` iterable of pairs or a dict (None: empty)."""
    if params is None:
        return {}
    if callable(getattr(params, "named_parameters", None)):
        params = params.named_parameters()
    items = params.items() if isinstance(params, Mapping) else params
    out: dict[str, Tensor] = {}
    try:
        pairs = list(items)
    except TypeError:
        raise TypeError(f"params: expected a model, a dict name -> Tensor or an iterable of "
                        f"(name, Tensor) pairs, got {type(params).__name__}") from None
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"params: expected (name, Tensor) pairs, got {type(pair).__name__} "
                            f"{pair!r:.60}; pass model.named_parameters() or a dict, not parameters()")
        name, t = pair
        if not isinstance(t, Tensor):
            raise TypeError(f"params: {name!r} is a {type(t).__name__}, not a Tensor")
        out[str(name)] = t
    return out


def named_modules(model: Any) -> list[tuple[str, Any]]:
    """(dotted path, module) pairs of a model in its own order, "" the root (empty for no model)."""
    if model is None:
        return []
    if not callable(getattr(model, "named_modules", None)):
        raise TypeError(f"model: {type(model).__name__} has no named_modules(); pass an "
                        "nn.Module, or give its parameters with params= instead")
    mods = model.named_modules()
    return list(mods.items() if isinstance(mods, Mapping) else mods)


def named_buffers(model: Any) -> list[tuple[str, Tensor]]:
    """(dotted name, buffer) pairs of a model (running averages...); empty when it has none."""
    if model is None or not callable(getattr(model, "named_buffers", None)):
        return []
    return [(str(n), b) for n, b in model.named_buffers() if isinstance(b, Tensor)]


def module_path(param_name: str) -> str:
    """The path of the module that owns a dotted parameter name: 'layers.0.weight' -> 'layers.0'."""
    return param_name.rpartition(".")[0]
