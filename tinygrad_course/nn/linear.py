"""Linear (fully connected) layer: Z = X @ W^T + b."""
from __future__ import annotations

import numpy as np

from ..dtypes import get_default_dtype
from ..ops.linalg import Linear as LinearFunction
from ..random import Generator
from . import init as nn_init
from .module import Module, Parameter


class Linear(Module):
    """Z = X @ W^T + b, one fused graph node; W has shape (out_features, in_features), the
    course's W[l] of shape (n[l], n[l-1]), and b has shape (out_features,).

    The course stores examples as COLUMNS: Z[l] = W[l] A[l-1] + b[l] with A of shape (n, m).
    Here examples are ROWS (X of shape (m, n), as NumPy and PyTorch batches are), and transposing
    the course's formula gives Z^T = A^T W^T + b^T, i.e. exactly X @ W.T + b: the same W, the same
    numbers, only the batch transposed. So a course W[1] can be loaded into `layer.weight` as is.

    `init` names the weight initialization ("he", "xavier", "lecun", "random" with `scale`,
    "zeros", see `nn.init`); biases start at zero, as in the course. Before a BatchNorm1d, pass
    `bias=False`: batch norm subtracts the mean, which cancels any bias, and its beta takes over.
    W is drawn from `generator`, else from the thread's default generator (`tc.manual_seed`).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init: str = "he",
                 scale: float = 0.01, *, generator: Generator | None = None):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"Linear: {name} must be a positive int, got {n!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init = nn_init.check_scheme(init, "Linear")
        self.scale = float(scale)
        dtype = get_default_dtype()
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype)) if bias else None
        self.reset_parameters(generator=generator)

    def reset_parameters(self, init: str | None = None, scale: float | None = None, *,
                         generator: Generator | None = None) -> None:
        """Draw W by `init` (default: the one given at construction) from `generator`; set b = 0."""
        nn_init.init_weight_(self.weight, init or self.init,
                             self.scale if scale is None else scale, generator=generator)
        if self.bias is not None:
            nn_init.zeros_(self.bias)

    def forward(self, x):
        """y = x @ W.T + b for x of shape (..., in_features) (the course's Z = W A + b with
        examples as rows)."""
        shape = x.shape
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"{self._where()}: got an input of shape {tuple(shape)} with "
                f"{shape[-1] if shape else 0} features in its last axis, but the layer expects "
                f"{self.in_features} features (examples are rows: shape (m, {self.in_features}))")
        if x.dtype is not self.weight.data.dtype:
            self._check_input_dtype(x, self.weight)
        return LinearFunction.apply(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
