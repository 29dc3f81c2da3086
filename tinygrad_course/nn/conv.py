"""Convolution layers: Conv1d, Conv2d, ConvTranspose2d, wrapping the ops in `ops/conv.py`.

PyTorch's constructor arguments and weight layouts; the course's initialization: W is drawn by
`init` ("he" by default, with n_in = in_channels / groups * kernel area, as for Linear), and the
bias starts at zero (PyTorch draws both from a small uniform instead).
"""
from __future__ import annotations

import numpy as np

from ..dtypes import get_default_dtype
from ..ops.conv import conv1d, conv2d, conv_transpose2d
from ..random import Generator
from . import init as nn_init
from .linear import Linear
from .module import Module, Parameter


def _tuple(v, n: int, name: str, op: str) -> tuple:
    t = tuple(v) if isinstance(v, (tuple, list)) else (v,) * n
    if len(t) != n or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) for k in t):
        raise ValueError(f"{op}: {name} must be an int or {n} ints, got {v!r}")
    return tuple(int(k) for k in t)


class _ConvNd(Module):
    """What the convolution layers share: checked arguments, the weight and bias, initialization."""

    dims = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 init: str = "he", scale: float = 0.01, *, generator: Generator | None = None,
                 output_padding=0):
        super().__init__()
        op = type(self).__name__
        for name, n in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"{op}: {name} must be a positive int, got {n!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{op}: in_channels={in_channels} and out_channels={out_channels} "
                             f"must both be divisible by groups={groups}")
        if padding_mode != "zeros":
            raise ValueError(f"{op}: only padding_mode='zeros' is supported, got {padding_mode!r}; "
                             "pad the input yourself with tc.pad for other modes")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = _tuple(kernel_size, self.dims, "kernel_size", op)
        self.stride = _tuple(stride, self.dims, "stride", op)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, self.dims, "padding", op)
        self.dilation = _tuple(dilation, self.dims, "dilation", op)
        self.output_padding = _tuple(output_padding, self.dims, "output_padding", op)
        self.init = nn_init.check_scheme(init, op)
        self.scale = float(scale)
        shape = ((self.in_channels, self.out_channels // self.groups) if self.transposed
                 else (self.out_channels, self.in_channels // self.groups)) + self.kernel_size
        dtype = get_default_dtype()
        self.weight = Parameter(np.empty(shape, dtype))
        self.bias = Parameter(np.zeros(self.out_channels, dtype)) if bias else None
        self.reset_parameters(generator=generator)

    # Draw W by `init` from `generator`, b = 0: the same attributes and rule as Linear's.
    reset_parameters = Linear.reset_parameters

    def _check(self, x) -> None:
        shape = tuple(x.shape)
        if len(shape) not in (self.dims + 1, self.dims + 2) or shape[-self.dims - 1] != self.in_channels:
            spatial = ("L",) if self.dims == 1 else ("H", "W")
            raise ValueError(f"{self._where()}: expected an input of shape (N, {self.in_channels}, "
                             f"{', '.join(spatial)}), got shape {shape}")
        if x.dtype is not self.weight.data.dtype:
            self._check_input_dtype(x, self.weight)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self.dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L): weight (C_out, C_in / groups, K), bias (C_out,)."""

    dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 init: str = "he", scale: float = 0.01, *, generator: Generator | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, init, scale, generator=generator)

    def forward(self, x):
        self._check(x)
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0],
                      self.groups)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation, as PyTorch) over (N, C_in, H, W): weight
    (C_out, C_in / groups, KH, KW), bias (C_out,); padding an int, a pair, 'same' or 'valid'."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 init: str = "he", scale: float = 0.01, *, generator: Generator | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, init, scale, generator=generator)

    def forward(self, x):
        self._check(x)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the input-gradient of Conv2d, used to upsample) over
    (N, C_in, H, W): weight (C_in, C_out / groups, KH, KW) as PyTorch's; output size
    (H - 1) s - 2 pad + d (KH - 1) + output_padding + 1. He init uses PyTorch's fan convention
    for this layout (n_in = C_out / groups * kernel area)."""

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", init: str = "he", scale: float = 0.01, *,
                 generator: Generator | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, init, scale, generator=generator,
                         output_padding=output_padding)

    def forward(self, x):
        self._check(x)
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding, self.groups, self.dilation)
