"""NumPy on Tensors. A ufunc (`np.exp(t)`, `ndarray * t`, `np.add.reduce(t)`) goes to the
differentiable op of the same name in `tinygrad_course.ops` (NumPy's own name, or the alias
below); a NumPy function (`np.mean(t, axis=0)`, `np.where(c, a, b)`, `np.concatenate([t, u])`)
goes, by NEP 18's `__array_function__`, to the op listed in `_FUNCTIONS` with its arguments
translated, and returns a Tensor.

A NumPy function with no op here (`np.shape`, `np.linalg.eigh`, `np.histogram`, ...) runs on the
arrays and returns what NumPy returns, ndarrays outside the graph, as it did before Tensors
implemented the protocol: that keeps every NumPy utility working on Tensors. A ufunc with no op
raises a TypeError instead, since a silent ndarray from math on a Tensor would drop its gradient.
`out=` is refused everywhere: a Tensor's result is a new Tensor, not written into an array.
"""
from __future__ import annotations

import functools
import inspect
import sys

import numpy as np

from ..tensor import Tensor

# NumPy ufunc names whose op is spelled otherwise here.
_ALIASES = {"subtract": "sub", "multiply": "mul", "divide": "div", "true_divide": "div",
            "power": "pow", "negative": "neg", "absolute": "abs", "mod": "remainder",
            "bitwise_invert": "invert"}
# ufunc.reduce / ufunc.accumulate as reductions and scans (ufunc name -> op name).
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
           "logical_and": "all", "logical_or": "any"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}

# NumPy functions whose op takes NumPy's meaning of every argument: numpy name -> (op name,
# NumPy arguments passed by position, {NumPy argument: the op's keyword} where they differ).
# Left out on purpose: np.repeat (tc.repeat is PyTorch's, NumPy's tile), np.nonzero (tc's
# gives PyTorch's index matrix), np.sort and np.median (tc's give PyTorch's (values, indices);
# tc.median is the lower median), np.put_along_axis (NumPy's writes in place).
_DATA = ("a",)
_FUNCTIONS = {
    **{name: (name, _DATA, {}) for name in (
        "sum", "mean", "max", "min", "var", "std", "argmax", "argmin", "any", "all", "prod",
        "cumsum", "cumprod", "argsort", "squeeze", "expand_dims", "round",
        "diagonal", "trace")},
    "amax": ("max", _DATA, {}), "amin": ("min", _DATA, {}), "around": ("round", _DATA, {}),
    "where": ("where", ("condition", "x", "y"), {}),
    "concatenate": ("concatenate", ("arrays",), {}), "stack": ("stack", ("arrays",), {}),
    "clip": ("clip", _DATA, {"a_min": "min", "a_max": "max"}),
    "reshape": ("reshape", ("a", "shape"), {}), "transpose": ("transpose", ("a", "axes"), {}),
    "swapaxes": ("swapaxes", ("a", "axis1", "axis2"), {}),
    "broadcast_to": ("broadcast_to", ("array", "shape"), {}),
    "isclose": ("isclose", ("a", "b"), {}), "allclose": ("allclose", ("a", "b"), {}),
    **{name: (name, ("a", "b"), {}) for name in ("dot", "outer", "inner", "kron", "tensordot")},
    "einsum": ("einsum", ("operands",), {}),
    "split": ("split", ("ary", "indices_or_sections"), {}),
    "flip": ("flip", ("m",), {}), "roll": ("roll", ("a", "shift"), {}),
    "tile": ("tile", ("A", "reps"), {}), "tril": ("tril", ("m",), {}), "triu": ("triu", ("m",), {}),
    "diag": ("diag", ("v",), {}), "take_along_axis": ("take_along_axis", ("arr", "indices"), {}),
    "meshgrid": ("meshgrid", ("xi",), {}), "pad": ("pad", ("array", "pad_width"), {}),
}


def _refuse_out(name: str, kwargs: dict) -> None:
    if kwargs.get("out") is not None:
        raise TypeError(f"np.{name}: out= cannot be used with a Tensor (its result is a new "
                        f"Tensor in the graph); write y = np.{name}(...) instead, or call "
                        f"np.{name} on t.numpy() for an ndarray outside the graph")


def _op(name: str, what: str):
    fn = getattr(sys.modules[__package__], name, None)  # the ops package imports this module
    if fn is None:
        raise TypeError(f"{what}: tinygrad_course has no differentiable op for it; call it on "
                        "t.numpy() for an ndarray outside the graph, or write a tc.Function")
    return fn


def _array_ufunc(self, ufunc, method: str, *inputs, **kwargs):
    name = ufunc.__name__
    _refuse_out(name, kwargs)
    kwargs.pop("out", None)
    if method == "__call__":
        dtype = kwargs.pop("dtype", None)
        _refuse_rest(f"np.{name}", kwargs)
        if dtype is not None:  # NumPy computes in dtype: convert the inputs, as it does
            inputs = [x.astype(dtype) if isinstance(x, Tensor) else x for x in inputs]
        if ufunc is np.positive:
            return inputs[0]
        return _op(_ALIASES.get(name, name), f"np.{name}")(*inputs)
    table = {"reduce": _REDUCE, "accumulate": _ACCUMULATE}.get(method, {})
    if name not in table or len(inputs) != 1:
        raise TypeError(f"np.{name}.{method} on a Tensor: not supported (Tensors take the "
                        f"reduce of {', '.join(_REDUCE)} and the accumulate of "
                        f"{', '.join(_ACCUMULATE)}); call it on t.numpy() for an ndarray")
    axis = kwargs.pop("axis", 0)  # ufunc.reduce and ufunc.accumulate default to axis 0
    if kwargs.get("dtype") is None:
        kwargs.pop("dtype", None)
    _refuse_rest(f"np.{name}.{method}", {k: v for k, v in kwargs.items() if k != "keepdims"})
    fn = _op(table[name], f"np.{name}.{method}")
    if method == "reduce":
        return fn(inputs[0], axis=axis, keepdims=kwargs.get("keepdims", False))
    return fn(inputs[0], axis=axis)


def _refuse_rest(what: str, kwargs: dict) -> None:
    if kwargs:
        raise TypeError(f"{what}: argument(s) {', '.join(sorted(kwargs))} are not supported on "
                        "Tensors; call it on t.numpy() for an ndarray outside the graph")


def _unwrap(v):
    """v with every Tensor (also inside lists and tuples) replaced by its array."""
    if isinstance(v, Tensor):
        return v.data
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(x) for x in v)
    return v


@functools.lru_cache(maxsize=None)
def _signature(fn) -> inspect.Signature:
    return inspect.signature(fn)


def _array_function(self, func, types, args, kwargs):
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented  # another library's array: let it (or NumPy) decide
    entry = _FUNCTIONS.get(func.__name__) if func.__module__ == "numpy" else None
    fn = entry and getattr(sys.modules[__package__], entry[0], None)
    if fn is None or (func is np.where and len(args) + len(kwargs) == 1):
        # No op of that meaning: NumPy's result on the arrays (np.where(c) is np.nonzero).
        return func(*_unwrap(args), **_unwrap(kwargs))
    _, positional, renames = entry
    sig = _signature(func)
    bound = sig.bind(*args, **kwargs).arguments
    _refuse_out(func.__name__, bound)
    call_args, call_kwargs = [], {}
    for name, value in bound.items():
        param = sig.parameters[name]
        if name in positional:
            if param.kind is param.VAR_POSITIONAL:
                call_args.extend(value)
            else:
                call_args.append(value)
        elif name == "out" or value is np._NoValue or _is_default(value, param.default):
            continue
        else:
            call_kwargs[renames.get(name, name)] = value
    accepted = _signature(fn).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(k for k in call_kwargs if k not in accepted)
        if unknown:
            raise TypeError(f"np.{func.__name__} on a Tensor: tc.{entry[0]} takes no "
                            f"{', '.join(unknown)}; call np.{func.__name__} on t.numpy() for "
                            "an ndarray outside the graph")
    return fn(*call_args, **call_kwargs)


def _is_default(value, default) -> bool:
    if default is inspect.Parameter.empty or isinstance(value, (np.ndarray, Tensor)):
        return False
    try:
        return bool(value is default or (type(value) is type(default) and value == default))
    except (TypeError, ValueError):
        return False


Tensor.__array_ufunc__ = _array_ufunc
Tensor.__array_function__ = _array_function
