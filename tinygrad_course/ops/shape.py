"""Shape ops: reshape, transpose, broadcast_to, concatenate, pad (squeeze, stack, ... build on them)."""
from __future__ import annotations

import numpy as np

from ..autograd import Function


class Reshape(Function):
    """x viewed with a new shape; the gradient is reshaped back."""

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class Transpose(Function):
    """x with its axes permuted; the gradient is permuted by the inverse permutation."""

    is_view = True

    @staticmethod
    def forward(ctx, x, axes):
        if axes is not None and sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of the "
                             f"{x.ndim} axes of a tensor of shape {x.shape}")
        ctx.inverse = None if axes is None else tuple(np.argsort([a % x.ndim for a in axes]))
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse), None


class BroadcastTo(Function):
    """x broadcast to a shape; the engine sums the gradient back over the broadcast axes."""

    name = "broadcast_to"
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, g):
        return g, None


class Concatenate(Function):
    """Tensors joined along an axis; the gradient is split back along it."""

    @staticmethod
    def forward(ctx, axis, *xs):
        if not xs:
            raise ValueError("concatenate: needs at least one tensor")
        try:
            out = np.concatenate(xs, axis=axis)
        except (ValueError, np.exceptions.AxisError) as e:
            shapes = ", ".join(str(np.shape(x)) for x in xs)
            raise ValueError(f"concatenate: cannot join shapes {shapes} along axis {axis}: {e}") from None
        ax = axis % out.ndim
        ctx.axis = ax
        ctx.bounds = np.cumsum([np.shape(x)[ax] for x in xs])[:-1]
        return out

    @staticmethod
    def backward(ctx, g):
        ax = ctx.axis
        starts = [0, *ctx.bounds]
        ends = [*ctx.bounds, g.shape[ax]]
        parts = []
        for s, e in zip(starts, ends):
            idx = (slice(None),) * ax + (slice(int(s), int(e)),)
            parts.append(g[idx])
        return (None, *parts)


class Pad(Function):
    """x padded with a constant; the gradient is the un-padded slice."""

    @staticmethod
    def forward(ctx, x, pad_width, value):
        pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)) if x.ndim else ()
        if x.ndim and (pw < 0).any():
            raise ValueError(f"pad: pad widths must be non-negative, got {pad_width}")
        ctx.slices = tuple(slice(int(a), int(a) + n) for (a, _), n in zip(pw, x.shape))
        return np.pad(x, pw, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.slices], None, None
