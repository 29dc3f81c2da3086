"""The public API, found from the package itself: which modules are public, which names each
exports, and every public callable (functions, classes, and the public methods of classes).

One walker serves both the API reference (tools/docs_hooks.py writes a page per public module)
and tests/test_docstrings.py (every public callable has a docstring of its own), so a new op,
layer or module appears in both without a hand edit.

Public modules: `tinygrad_course`, the submodules it loads lazily (`_SUBMODULES`), the modules
named in a public module's `__all__` (as `nn.functional`, `nn.init`), and `EXTRA_MODULES`.
A module's public names are its `__all__`; a module without one exports the functions and
classes it defines whose names do not start with `_`.
"""
from __future__ import annotations

import importlib
import inspect
import types
from collections.abc import Iterator

PACKAGE = "tinygrad_course"
# Public modules that no __all__ or _SUBMODULES names (they are reached as attributes).
EXTRA_MODULES = ("tinygrad_course.random", "tinygrad_course.jit", "tinygrad_course.lowering",
                 "tinygrad_course.optim.schedules", "tinygrad_course.optim.lr_scheduler",
                 "tinygrad_course.nn.init", "tinygrad_course.nn.functional")


def public_modules() -> list[str]:
    """Names of the public modules, the package first, then sorted."""
    root = importlib.import_module(PACKAGE)
    found = {PACKAGE}
    found.update(f"{PACKAGE}.{name}" for name in getattr(root, "_SUBMODULES", ()))
    found.update(EXTRA_MODULES)
    todo = sorted(found)
    while todo:
        module = importlib.import_module(todo.pop())
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if isinstance(obj, types.ModuleType) and obj.__name__.startswith(PACKAGE) \
                    and obj.__name__ not in found:
                found.add(obj.__name__)
                todo.append(obj.__name__)
    return [PACKAGE] + sorted(found - {PACKAGE})


def public_names(module_name: str) -> list[str]:
    """The names a public module exports: its `__all__`, else the functions and classes it
    defines whose names do not start with an underscore."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", None) == module_name]


def defined_here(obj) -> bool:
    """Whether `obj` is a function or class of this package (not NumPy's, not a constant)."""
    return ((inspect.isfunction(obj) or inspect.isclass(obj))
            and (getattr(obj, "__module__", "") or "").startswith(PACKAGE))


def public_methods(cls: type) -> Iterator[tuple[str, object]]:
    """(name, function or property) for each public method, property and classmethod of `cls` that this
    package defines (on `cls` or a base class of the package; object's own are left out)."""
    seen = set()
    for klass in cls.__mro__:
        if not (klass.__module__ or "").startswith(PACKAGE):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            if isinstance(attr, property) or inspect.isfunction(attr) or inspect.isbuiltin(attr):
                yield name, attr


def public_callables() -> Iterator[tuple[str, object]]:
    """(dotted name, object) for every public function, class and class method, each once."""
    seen: set[int] = set()
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in public_names(module_name):
            obj = getattr(module, name, None)
            if not defined_here(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{module_name}.{name}", obj
            if inspect.isclass(obj):
                for mname, method in public_methods(obj):
                    key = (id(obj), mname)
                    if key in seen:
                        continue
                    seen.add(key)
                    yield f"{module_name}.{name}.{mname}", method


def own_docstring(obj) -> str | None:
    """The docstring written on `obj` itself (None when it has none or only inherits one)."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return doc.strip() if isinstance(doc, str) and doc.strip() else None
