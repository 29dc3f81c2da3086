"""tinygrad_course: a small, honest deep-learning framework on NumPy, for the course
"Improving Deep Neural Networks"."""
from .autograd import Function, enable_grad, inference_mode, is_grad_enabled, no_grad
from .backward import grad
from .dtypes import get_default_dtype, set_default_dtype
from .dtypes import (SHADOWING_ALIASES as _SHADOWING_ALIASES, double, float16, float32, float64,
                     half, int8, int16, int32, int64, long, uint8)
from .random import (Generator, default_generator, get_rng_state, manual_seed, set_rng_state,
                     use_generator)
from .tensor import Tensor
from .ops import *  # noqa: F401,F403
from .ops import __all__ as _ops_all
from .creation import (arange, empty, empty_like, eye, full, full_like, linspace, logspace,
                       normal, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                       tensor, tril_indices, triu_indices, uniform, zeros, zeros_like)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .jit import JitError, jit

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "no_grad", "enable_grad", "inference_mode", "is_grad_enabled", "grad", "gradcheck",
    "gradgradcheck", "GradcheckError", "set_default_dtype", "get_default_dtype", "manual_seed",
    "Generator", "default_generator", "get_rng_state", "set_rng_state", "use_generator",
    "tensor", "zeros", "ones", "full", "arange", "eye", "randn", "rand", "zeros_like", "ones_like",
    "full_like", "empty", "empty_like", "linspace", "logspace", "randint", "normal", "uniform",
    "rand_like", "randn_like", "tril_indices", "triu_indices",
    "float16", "half", "float32", "float64", "double", "int8", "uint8", "int16", "int32", "int64",
    "long", "jit", "JitError", *_ops_all,
]

_SUBMODULES = {"nn", "optim", "data", "viz", "tuning", "diagnostics", "training", "testing",
               "ewa", "serialization", "linalg", "callbacks"}
_LAZY = {"save": "serialization", "load": "serialization", "CheckpointError": "serialization",
         "StateDictError": "serialization", "EWA": "ewa", "fit": "training"}


def __getattr__(name: str):
    # Submodules load on first use, so `import tinygrad_course` stays light and the floors
    # above the engine may import it freely.
    import importlib
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _SHADOWING_ALIASES:  # tc.float, tc.int, tc.bool (kept out of `import *`)
        return _SHADOWING_ALIASES[name]
    raise AttributeError(f"module 'tinygrad_course' has no attribute {name!r}")
