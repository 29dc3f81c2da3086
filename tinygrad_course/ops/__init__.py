"""Every differentiable op, once: each file holds the op's Function class, its function
(`tc.exp(x)`) and its Tensor method (`x.exp()`). Importing this package installs the methods."""
from __future__ import annotations

from ..autograd import Function
from .activations import (leaky_relu, log_softmax, logsumexp, relu, sigmoid, softmax,  # noqa: F401
                          tanh)
from .activations import (celu, elu, gelu, hardsigmoid, hardswish, hardtanh,  # noqa: F401
                          logsigmoid, mish, relu6, selu, silu, softmin, softplus, softsign)
from .scans import (argsort, cummax, cummin, cumprod, cumsum, logcumsumexp, median, norm,  # noqa: F401
                    prod, sort, std_mean, topk, var_mean)
from .compare import equal, greater, greater_equal, less, less_equal, not_equal  # noqa: F401
from .elementwise import (abs, add, astype, clip, clone, div, exp, log, maximum, minimum,  # noqa: F401
                          mul, neg, pow, sqrt, sub)
from .indexing import getitem, where  # noqa: F401
from .einsum import einsum, inner, kron, outer, tensordot  # noqa: F401
from .linalg import dot, linear, matmul  # noqa: F401
from .reductions import argmax, argmin, max, mean, min, std, sum, var  # noqa: F401
from .shape import (broadcast_to, concatenate, expand_dims, flatten, pad, permute,  # noqa: F401
                    reshape, split, squeeze, stack, swapaxes, transpose, unsqueeze)
from .gather import (gather, index_select, masked_fill, masked_select, nonzero,  # noqa: F401
                     put_along_axis, scatter, scatter_add, take_along_axis)
from .rearrange import (chunk, diag, diagonal, flip, meshgrid, repeat, repeat_interleave,  # noqa: F401
                        roll, tile, trace, tril, triu, unflatten)
from .math import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,  # noqa: F401
                   arctanh, asin, asinh, atan, atan2, atanh, ceil, copysign, cos, cosh, erf,
                   erfc, exp2, expm1, floor, floor_divide, fmod, hypot, lerp, log1p, log2, log10,
                   logaddexp, reciprocal, remainder, round, rsqrt, sign, sin, sinh, square, tan,
                   trunc)
from .logic import (all, allclose, any, bitwise_and, bitwise_not, bitwise_or,  # noqa: F401
                    bitwise_xor, invert, isclose, isfinite, isinf, isnan, logical_and,
                    logical_not, logical_or, logical_xor)
from .conv import conv1d, conv2d, conv_transpose2d, fold, unfold  # noqa: F401
from .pool import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d, avg_pool2d,  # noqa: F401
                   interpolate, max_pool1d, max_pool2d)
from .common import is_tensor  # noqa: F401
from .torch_compat import cat, from_numpy  # noqa: F401  (and Tensor.size(), .view, .to, ...)
from . import convert as _convert, ufuncs as _ufuncs  # noqa: F401,E402  (install methods)

__all__ = [
    "Function", "add", "sub", "mul", "div", "pow", "neg", "abs", "sqrt", "exp", "log", "maximum",
    "minimum", "clip", "clone", "astype", "relu", "leaky_relu", "sigmoid", "tanh", "softmax",
    "log_softmax", "logsumexp", "sum", "mean", "max", "min", "var", "std", "reshape", "transpose",
    "permute", "swapaxes", "squeeze", "unsqueeze", "expand_dims", "broadcast_to", "flatten",
    "concatenate", "stack", "split", "pad", "getitem", "where", "matmul", "dot", "linear", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal", "argmax", "argmin",
    "cat", "is_tensor", "from_numpy",
    "flip", "roll", "tile", "repeat", "repeat_interleave", "chunk", "unflatten", "tril", "triu",
    "diag", "diagonal", "trace", "meshgrid", "gather", "scatter", "scatter_add", "index_select",
    "take_along_axis", "put_along_axis", "masked_fill", "masked_select", "nonzero",
    "gelu", "silu", "elu", "selu", "celu", "softplus", "softsign", "mish", "relu6", "hardtanh",
    "hardsigmoid", "hardswish", "logsigmoid", "softmin",
    "prod", "cumsum", "cumprod", "logcumsumexp", "cummax", "cummin", "sort", "argsort", "topk",
    "median", "norm", "std_mean", "var_mean",
    "einsum", "tensordot", "outer", "inner", "kron",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "arcsinh",
    "arccosh", "arctanh", "asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "exp2",
    "expm1", "log2", "log10", "log1p", "rsqrt", "reciprocal", "square", "erf", "erfc", "sign",
    "floor", "ceil", "round", "trunc", "fmod", "remainder", "floor_divide", "copysign", "hypot",
    "logaddexp", "lerp",
    "isnan", "isinf", "isfinite", "isclose", "allclose", "logical_and", "logical_or",
    "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "invert", "any", "all",
    "conv1d", "conv2d", "conv_transpose2d", "unfold", "fold", "max_pool1d", "max_pool2d",
    "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "interpolate",
]
