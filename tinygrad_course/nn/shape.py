"""Layers that only change the shape: Flatten and Unflatten (Identity lives with Module)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .module import Module


class Flatten(Module):
    """Axes start_dim..end_dim merged into one; by default every axis but the batch axis, so
    (N, C, H, W) becomes (N, C * H * W), the input a Linear layer after convolutions wants."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Axis `dim` split into `unflattened_size` (Flatten's inverse): Unflatten(1, (C, H, W))
    turns (N, C * H * W) back into (N, C, H, W)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]):
        super().__init__()
        self.dim = int(dim)
        self.unflattened_size = tuple(int(n) for n in unflattened_size)

    def forward(self, x):
        shape = tuple(x.shape)
        if not -len(shape) <= self.dim < len(shape):
            raise ValueError(f"{self._where()}: dim {self.dim} is out of range for an input of "
                             f"shape {shape}")
        d = self.dim % len(shape)
        sizes = self.unflattened_size
        known = int(np.prod([n for n in sizes if n != -1]))
        if (-1 not in sizes and known != shape[d]) or (-1 in sizes and shape[d] % max(known, 1)):
            raise ValueError(f"{self._where()}: axis {d} of the input (shape {shape}) has length "
                             f"{shape[d]}, which cannot be unflattened into {sizes}")
        return x.reshape(shape[:d] + sizes + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
