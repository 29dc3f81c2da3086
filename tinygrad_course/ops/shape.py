"""Shape ops: reshape, transpose, broadcast_to, concatenate, pad, and what builds on them
(permute, swapaxes, squeeze, unsqueeze, flatten, stack, split)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import as_scalar, as_tensor, normalize_axis, torch_axis
from .indexing import scatter_add


def expand_to(g, shape: tuple):
    """g broadcast to `shape`: a new writable array (cheaper than np.broadcast_to for small
    arrays, and safe to hand to a leaf's .grad), or a differentiable op for Tensors."""
    if isinstance(g, Tensor):
        return BroadcastTo.apply(g, tuple(shape))
    out = np.empty(shape, dtype=g.dtype)
    out[...] = g
    return out


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
    """x padded with `value` (mode "constant": the gradient is the un-padded slice), or with
    copies of x's own elements ("reflect", "edge", "wrap": numpy.pad's modes; the gradient adds
    g back to the element each output came from, found by padding x's flat indices alike)."""

    @staticmethod
    def forward(ctx, x, pad_width, value, mode):
        pw = _pad_widths(pad_width, x.ndim)
        if (pw < 0).any():
            raise ValueError(f"pad: pad widths must be non-negative, got {pad_width}")
        ctx.shape = x.shape
        if mode == "constant":
            ctx.slices = tuple(slice(int(a), int(a) + n) for (a, _), n in zip(pw, x.shape))
            return np.pad(x, pw, mode="constant", constant_values=value)
        if ctx.needs_input_grad[0]:
            ctx.source = np.pad(np.arange(x.size).reshape(x.shape), pw, mode=mode)
        return np.pad(x, pw, mode=mode)

    @staticmethod
    def backward(ctx, g):
        if hasattr(ctx, "slices"):
            return g[ctx.slices], None, None, None
        return scatter_add(g, ctx.source, (int(np.prod(ctx.shape)),)).reshape(ctx.shape), None, None, None


def _pad_widths(pad_width, ndim: int) -> np.ndarray:
    try:
        return np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor with {ndim} "
                         "dimensions; give an int, (before, after), or one (before, after) per "
                         "axis, as numpy.pad") from None


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x, *shape) -> Tensor:
    """x with a new shape (one entry may be -1)."""
    return Reshape.apply(x, _shape_arg(shape))


def transpose(x, *axes) -> Tensor:
    """Axes permuted (reversed when none are given), as in NumPy."""
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    axes = tuple(axes) if axes else None
    if axes is not None and len(axes) != x.ndim:
        raise ValueError(f"transpose: {len(axes)} axes given for a tensor with {x.ndim} dimensions")
    return Transpose.apply(x, axes)


def permute(x, *dims) -> Tensor:
    """Axes in the given order (PyTorch's name for transpose with axes)."""
    return transpose(x, _shape_arg(dims))


def swapaxes(x, a: int, b: int) -> Tensor:
    """x with axes a and b exchanged."""
    axes = list(range(x.ndim))
    a, b = normalize_axis(a, x.ndim, "swapaxes")[0], normalize_axis(b, x.ndim, "swapaxes")[0]
    axes[a], axes[b] = axes[b], axes[a]
    return Transpose.apply(x, tuple(axes))


def squeeze(x, axis=None, *, dim=None) -> Tensor:
    """x without the size-1 axes (or only those in `axis`, PyTorch's `dim`, which must have
    size 1)."""
    axis, _ = torch_axis("squeeze", axis, dim)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axis(axis, x.ndim, "squeeze")
        bad = [a for a in axes if x.shape[a] != 1]
        if bad:
            raise ValueError(f"squeeze: axis {bad[0]} of shape {x.shape} has size {x.shape[bad[0]]}, not 1")
    return Reshape.apply(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """x with a new size-1 axis at `axis` (PyTorch's `dim`; NumPy's expand_dims)."""
    axis, _ = torch_axis("unsqueeze", axis, dim)
    if axis is None:
        raise TypeError("unsqueeze: give the position of the new axis, e.g. x.unsqueeze(0)")
    nd = x.ndim + 1
    if not -nd <= axis < nd:
        raise ValueError(f"unsqueeze: axis {axis} is out of range for a result with {nd} dimensions")
    shape = list(x.shape)
    shape.insert(axis % nd, 1)
    return Reshape.apply(x, tuple(shape))


expand_dims = unsqueeze


def broadcast_to(x, shape) -> Tensor:
    """x repeated along broadcast axes to `shape` (a view); the gradient is summed back."""
    return BroadcastTo.apply(x, tuple(shape))


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Axes start_dim..end_dim merged into one (all of them by default, giving 1-D)."""
    if x.ndim == 0:
        return Reshape.apply(x, (1,))
    s, e = normalize_axis(start_dim, x.ndim, "flatten")[0], normalize_axis(end_dim, x.ndim, "flatten")[0]
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return Reshape.apply(x, x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])


def concatenate(tensors: Sequence, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Tensors joined along an existing axis (PyTorch's `dim`; axis 0 by default)."""
    axis, _ = torch_axis("concatenate", axis, dim)
    return Concatenate.apply(0 if axis is None else axis, *[as_scalar(t) for t in tensors])


def stack(tensors: Sequence, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Tensors of one shape joined along a new axis (PyTorch's `dim`; axis 0 by default)."""
    axis, _ = torch_axis("stack", axis, dim)
    axis = 0 if axis is None else axis
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([unsqueeze(t, axis) for t in tensors], axis)


def split(x, indices_or_sections, axis: int | None = None, *, dim: int | None = None) -> list:
    """x cut along `axis` into equal sections (an int) or at the given indices, as NumPy's
    split does. With PyTorch's `dim=` the second argument means what it means in torch.split:
    an int is the size of each piece (the last may be smaller), a list the pieces' sizes."""
    torch_style = dim is not None
    axis, _ = torch_axis("split", axis, dim)
    ax = normalize_axis(0 if axis is None else axis, x.ndim, "split")[0]
    n = x.shape[ax]
    if torch_style:
        bounds = _torch_split_bounds(indices_or_sections, n, ax)
    elif isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {ax} of length {n} cannot be split into {k} equal sections")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0, *[int(i) for i in indices_or_sections], n]
    pre = (slice(None),) * ax
    return [x[pre + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:])]


def _torch_split_bounds(size_or_sizes, n: int, ax: int) -> list:
    if isinstance(size_or_sizes, (int, np.integer)):
        if size_or_sizes <= 0:
            raise ValueError(f"split: the piece size must be positive, got {size_or_sizes}")
        return [*range(0, n, int(size_or_sizes)), n]
    sizes = [int(k) for k in size_or_sizes]
    if sum(sizes) != n:
        raise ValueError(f"split: piece sizes {sizes} add up to {sum(sizes)}, but axis {ax} has "
                         f"length {n}")
    return [0, *np.cumsum(sizes).tolist()]


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "edge": "edge",
              "circular": "wrap", "wrap": "wrap"}


def pad(x, pad_width, value: float | str = 0.0, mode: str = "constant", *,
        constant_values: float | None = None) -> Tensor:
    """x padded, pad_width as in numpy.pad (an int, (before, after), or one pair per axis).
    `mode`: "constant" (`value`, NumPy's constant_values), "reflect" (mirror without repeating
    the edge), "replicate"/"edge" (repeat the edge), "circular"/"wrap" (wrap around); a string
    third argument is the mode, as in numpy.pad. A negative width crops that side first, as in
    PyTorch's F.pad."""
    if isinstance(value, str):
        value, mode = 0.0, value
    if constant_values is not None:
        value = constant_values
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: unknown mode {mode!r}; use one of {sorted(_PAD_MODES)}")
    if mode != "constant" and value != 0:
        raise ValueError(f"pad: value={value} only applies to mode='constant', not {mode!r}")
    x = as_tensor(x)
    pw = _pad_widths(pad_width, x.ndim)
    if (pw < 0).any():
        sizes = x.shape + pw.sum(axis=1)
        if (sizes < 0).any():
            raise ValueError(f"pad: widths {pw.tolist()} crop more than the shape {x.shape} holds")
        x = x[tuple(slice(int(max(-a, 0)), int(n - max(-b, 0))) for (a, b), n in zip(pw, x.shape))]
        pw = np.maximum(pw, 0)
    # Widths as Python ints (a constant of the op), not an array made here: tc.jit replays it.
    return Pad.apply(x, tuple(map(tuple, pw.tolist())), value, _PAD_MODES[mode])


for _f in (reshape, transpose, permute, swapaxes, squeeze, unsqueeze, expand_dims, broadcast_to,
           flatten, split, pad):
    setattr(Tensor, _f.__name__, _f)
Tensor.expand_dims = expand_dims
Tensor.T = property(lambda self: transpose(self), doc="The transpose (axes reversed).")
Tensor.mT = property(lambda self: swapaxes(self, -1, -2), doc="Transpose of the last two axes.")
