"""Normalization layers beyond BatchNorm1d: BatchNorm2d (per channel), LayerNorm (per example,
over the last axes) and GroupNorm (per example, over groups of channels).

LayerNorm and GroupNorm are written with Tensor ops (mean, var, sqrt), so their gradients and
second derivatives come from the ops; BatchNorm2d reuses BatchNorm1d's fused node on the
(batch * height * width, channels) view of its input.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..dtypes import get_default_dtype
from .batchnorm import BatchNorm1d, _check_eps
from . import init as nn_init
from .module import Module, Parameter


def _positive_int(n, name: str, op: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"{op}: {name} must be a positive int, got {n!r}")
    return int(n)


class BatchNorm2d(BatchNorm1d):
    """Batch norm for images (N, C, H, W): each channel is normalized over the batch and both
    spatial axes (N * H * W values), with one gamma and beta per channel. Everything else as
    BatchNorm1d: `momentum` is the course's beta (PyTorch's momentum=0.1 is our 0.9), the running
    variance is the biased one, `weight`/`bias` are PyTorch's names for gamma/beta."""

    def forward(self, x):
        shape = tuple(x.shape)
        if len(shape) != 4 or shape[1] != self.num_features:
            raise ValueError(f"{self._where()}: expected an input of shape (N, {self.num_features}"
                             f", H, W), got shape {shape}")
        n, c, h, w = shape
        rows = x.transpose(0, 2, 3, 1).reshape(n * h * w, c)
        return self.normalize_rows(rows).reshape(n, h, w, c).transpose(0, 3, 1, 2)


def layer_norm(x, normalized_shape: Sequence[int], weight=None, bias=None, eps: float = 1e-5):
    """(x - mean) / sqrt(var + eps) over the last len(normalized_shape) axes (biased variance),
    then * weight + bias when given (PyTorch's F.layer_norm)."""
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    if tuple(x.shape[x.ndim - len(normalized_shape):]) != tuple(normalized_shape):
        raise ValueError(f"layer_norm: the last axes of the input (shape {tuple(x.shape)}) must be "
                         f"normalized_shape {tuple(normalized_shape)}")
    xc = x - x.mean(axis=axes, keepdims=True)
    out = xc / ((xc * xc).mean(axis=axes, keepdims=True) + eps) ** 0.5
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


class LayerNorm(Module):
    """Layer norm (Ba et al., 2016): each example is normalized over its last axes
    (`normalized_shape`, an int or a tuple), z_hat = (z - mean) / sqrt(var + eps), then scaled by
    `weight` (starts at 1) and shifted by `bias` (starts at 0) element by element when
    `elementwise_affine`. Unlike batch norm it needs no running averages: train and eval agree."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else tuple(normalized_shape)
        self.normalized_shape = tuple(_positive_int(n, "normalized_shape", "LayerNorm")
                                      for n in shape)
        self.eps = _check_eps(eps, "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        dtype = get_default_dtype()
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine else None
        self.bias = (Parameter(np.zeros(self.normalized_shape, dtype))
                     if elementwise_affine and bias else None)

    def reset_parameters(self, init: str | None = None, scale: float | None = None) -> None:
        """weight = 1, bias = 0 (any weight scheme is ignored here)."""
        for p, fill_ in ((self.weight, nn_init.ones_), (self.bias, nn_init.zeros_)):
            if p is not None:
                fill_(p)

    def forward(self, x):
        k = len(self.normalized_shape)
        if tuple(x.shape[len(x.shape) - k:]) != self.normalized_shape or len(x.shape) < k:
            raise ValueError(f"{self._where()}: the input's last axes must have shape "
                             f"{self.normalized_shape}, got an input of shape {tuple(x.shape)}")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


def group_norm(x, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """x (N, C, *) normalized per example over each group of C / num_groups channels and all
    remaining axes, then * weight + bias per channel when given (PyTorch's F.group_norm)."""
    n, c = x.shape[0], x.shape[1]
    rest = tuple(x.shape[2:])
    g = x.reshape(n, num_groups, -1)
    gc = g - g.mean(axis=2, keepdims=True)
    out = (gc / ((gc * gc).mean(axis=2, keepdims=True) + eps) ** 0.5).reshape(x.shape)
    per_channel = (c,) + (1,) * len(rest)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


class GroupNorm(Module):
    """Group norm (Wu & He, 2018): the C channels of (N, C, *) are cut into `num_groups` groups
    and each example's group is normalized over its channels and spatial positions; then a
    per-channel `weight` (1) and `bias` (0) when `affine`. num_groups=1 is layer norm over
    (C, H, W); num_groups=C is instance norm."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        self.num_groups = _positive_int(num_groups, "num_groups", "GroupNorm")
        self.num_channels = _positive_int(num_channels, "num_channels", "GroupNorm")
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} is not divisible by "
                             f"num_groups={num_groups}")
        self.eps = _check_eps(eps, "GroupNorm")
        self.affine = bool(affine)
        dtype = get_default_dtype()
        self.weight = Parameter(np.ones(self.num_channels, dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.num_channels, dtype)) if affine else None

    reset_parameters = LayerNorm.reset_parameters

    def forward(self, x):
        if len(x.shape) < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"{self._where()}: expected an input of shape (N, "
                             f"{self.num_channels}, ...), got shape {tuple(x.shape)}")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"

