"""Pooling and resizing, NCHW as in PyTorch: max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d,
adaptive_max_pool2d, interpolate (nearest, bilinear).

The pools read kernel-sized patches through `windows` (a strided view, no loop over pixels).
A max pool's gradient goes to one element per window, the first maximum in row-major order (as
PyTorch on CPU), through the flat index of that element in its input plane (what
`return_indices=True` returns); under create_graph it is a scatter (IndexAdd), differentiable
in g. An average pool's gradient spreads g / divisor over each window (Col2Im, differentiable).
adaptive_avg_pool2d and bilinear interpolation are linear maps A_h x A_w^T built from matmul,
nearest interpolation is an index: their derivatives of every order come from those ops.
"""
from __future__ import annotations


import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import as_tensor, is_tensor, no_grad_op, shape_constant
from .conv import Geometry, data, fold_patches, out_size, pad_image, pair, windows
from .indexing import IndexAdd, getitem
from .linalg import matmul
from .shape import broadcast_to


# ---- geometry ----------------------------------------------------------------------------
def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode: bool, op: str):
    """(batched x, whether a batch axis was added, kernel, Geometry, output size), PyTorch's
    rules: stride defaults to the kernel, padding at most half the kernel, and with ceil_mode
    the last window must start inside the input or its left padding."""
    if data(x).ndim == 3:
        x = as_tensor(x).unsqueeze(0)
        unbatched = True
    else:
        unbatched = False
    if data(x).ndim != 4:
        raise ValueError(f"{op}: input must have shape (N, C, H, W) or (C, H, W), got {data(x).shape}")
    kernel = pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None or stride == () else pair(stride, "stride", op)
    pad, dil = pair(padding, "padding", op, 0), pair(dilation, "dilation", op)
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {pad} must be at most half the kernel {kernel}, as in "
                         "PyTorch (a window of padding alone has no input to pool)")
    hw = data(x).shape[2:]
    out, extra = [], []
    for n, k, s, p, d in zip(hw, kernel, stride, pad, dil):
        o = out_size(n, k, s, 2 * p, d, ceil_mode)
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        if o < 1:
            raise ValueError(f"{op}: an input of spatial size {tuple(hw)} is smaller than the "
                             f"kernel {kernel} (dilation {dil}, padding {pad}); the output would be empty")
        out.append(o)
        extra.append(max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p)))  # ceil_mode's overhang
    geo = Geometry(stride, (pad[0], pad[0] + extra[0], pad[1], pad[1] + extra[1]), dil)
    return x, unbatched, kernel, geo, tuple(out)


def _one_d(v, name: str, op: str, fill: int):
    """A 1-D pool's argument as the (fill, v) pair of a height-1 image (None stays None)."""
    if v is None:
        return None
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    return (fill, pair(v, name, op, 0)[1])


# ---- max pooling -------------------------------------------------------------------------
class _ArgmaxPool(Function):
    """Shared backward of the max pools: g goes to the element each window took (its flat index
    in the input plane), added where windows overlap."""

    @staticmethod
    def backward(ctx, g):
        n, c, h, w = ctx.shape
        planes = np.arange(n * c, dtype=np.intp).reshape(n, c, 1, 1) * (h * w)
        flat = (ctx.indices + planes).reshape(-1)  # indices into x.reshape(-1)
        if is_tensor(g):
            gx = IndexAdd.apply(g.reshape(-1), flat, (n * c * h * w,))
        elif ctx.disjoint:  # windows do not overlap: each element is taken at most once
            gx = np.zeros(n * c * h * w, g.dtype)
            gx[flat] = g.reshape(-1)
        else:
            gx = np.bincount(flat, g.reshape(-1), n * c * h * w).astype(g.dtype, copy=False)
        return (gx.reshape(ctx.shape),) + (None,) * (len(ctx.needs_input_grad) - 1)



class MaxPool2d(_ArgmaxPool):
    """out[n,c,i,j] = max over the window at (i s - pad, j s - pad) of x padded with -inf; the
    gradient goes to the first maximum of each window (row-major), as PyTorch on CPU."""

    name = "max_pool2d"

    @staticmethod
    def forward(ctx, x, kernel, geo, out_hw, sink):
        n, c, h, w = x.shape
        tiled = geo.stride == kernel and geo.dil == (1, 1) and not any(geo.pads)
        if tiled and (found := _tiled_max(x, kernel, out_hw)) is not None:
            out, row, col = found  # each max's row and column within its window
        else:
            win = windows(pad_image(x, geo.pads, -np.inf), kernel, geo.stride, geo.dil, out_hw)
            flat = win.reshape(n, c, *out_hw, kernel[0] * kernel[1])  # the one copy
            arg = flat.argmax(axis=-1)
            out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
            row, col = np.divmod(arg, kernel[1])
        (sh, sw), (dh, dw), (pt, _, pl, _) = geo.stride, geo.dil, geo.pads
        rows = np.arange(out_hw[0]).reshape(-1, 1) * sh - pt + row.astype(np.intp) * dh
        cols = np.arange(out_hw[1]) * sw - pl + col.astype(np.intp) * dw
        indices = rows * w + cols
        sink[:] = [indices]  # (overwritten, not appended: a tc.jit replay reuses the list)
        ctx.disjoint = sh >= (kernel[0] - 1) * dh + 1 and sw >= (kernel[1] - 1) * dw + 1
        ctx.shape, ctx.indices = x.shape, indices
        return out


def _tiled_max(x: np.ndarray, kernel: tuple, out_hw: tuple) -> tuple:
    """Max and first argmax (row-major within the window) of non-overlapping windows, kernel ==
    stride and no padding, without copying the windows: the max over each window's columns
    first, along the flattened array (long loops, not loops of length kw), then over its rows.
    A tie keeps the earlier element; a NaN anywhere takes the general path (NaN wins there)."""
    (kh, kw), (oh, ow) = kernel, out_hw
    n, c, h, w = x.shape
    if h != oh * kh or w != ow * kw or not x.flags.c_contiguous:
        x = np.ascontiguousarray(x[:, :, :oh * kh, :ow * kw])
    flat = x.reshape(-1)
    # Masked writes (np.where, copyto(where=)) branch on every element and run ~10x slower than
    # arithmetic here: the max is np.maximum, the argmax moves by better * (j - arg).
    offset = np.int8 if max(kh, kw) < 128 else np.intp  # small offsets: cheaper arithmetic
    colmax, colarg = flat[0::kw].copy(), np.zeros(flat.size // kw, offset)
    for j in range(1, kw):
        better = flat[j::kw] > colmax
        colarg += better * (j - colarg)
        colmax = np.maximum(colmax, flat[j::kw])
    colmax, colarg = colmax.reshape(n * c * oh, kh, ow), colarg.reshape(n * c * oh, kh, ow)
    out, row, col = colmax[:, 0], np.zeros((n * c * oh, ow), offset), colarg[:, 0].copy()
    for r in range(1, kh):
        better = colmax[:, r] > out
        row += better * (r - row)
        col += better * (colarg[:, r] - col)
        out = np.maximum(out, colmax[:, r])
    if out.dtype.kind == "f" and np.isnan(out).any():
        return None
    shape = (n, c, oh, ow)
    return out.reshape(shape), row.reshape(shape), col.reshape(shape)


def _adaptive_bounds(n: int, o: int) -> tuple:
    """PyTorch's adaptive windows along one axis: [floor(i n / o), ceil((i + 1) n / o))."""
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _adaptive_index(n: int, o: int) -> np.ndarray:
    """(o, kmax) input positions of each adaptive window, the last repeated to pad shorter ones
    (a repeat never changes the max, and the first maximum stays first)."""
    start, end = _adaptive_bounds(n, o)
    k = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(k), end[:, None] - 1)


class AdaptiveMaxPool2d(_ArgmaxPool):
    """out[n,c,i,j] = max of x over rows [floor(i H/OH), ceil((i+1) H/OH)) and the same for
    columns; the gradient goes to the first maximum of each window."""

    name = "adaptive_max_pool2d"

    @staticmethod
    def forward(ctx, x, out_hw, sink):
        n, c, h, w = x.shape
        r, q = _adaptive_index(h, out_hw[0]), _adaptive_index(w, out_hw[1])
        win = x[:, :, r[:, None, :, None], q[None, :, None, :]]  # (N, C, OH, OW, KH, KW)
        flat = win.reshape(n, c, *out_hw, -1)
        arg = flat.argmax(axis=-1)
        out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        kw = q.shape[1]
        rows = r[np.arange(out_hw[0])[:, None], arg // kw]
        cols = q[np.arange(out_hw[1]), arg % kw]
        indices = rows * w + cols
        sink[:] = [indices]  # (overwritten, not appended: a tc.jit replay reuses the list)
        ctx.disjoint = False
        ctx.shape, ctx.indices = x.shape, indices
        return out


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-D max pooling of x (N, C, H, W): the max of each kernel window (padding counts as -inf);
    output size floor((H + 2 pad - d (k - 1) - 1) / s) + 1 (ceil with ceil_mode); stride
    defaults to the kernel. return_indices also gives each max's flat index in its input plane
    (h * W + w), as PyTorch. Ties: the gradient goes to the first maximum (row-major)."""
    return _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     "max_pool2d")


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, op):
    x, unbatched, kernel, geo, out_hw = _pool_geometry(x, kernel_size, stride, padding, dilation,
                                                       ceil_mode, op)
    sink: list = []  # forward puts the indices here, so they are computed once
    out = MaxPool2d.apply(x, kernel, geo, out_hw, sink)
    return _pooled(out, sink, unbatched, return_indices)


def _pooled(out: Tensor, sink: list, unbatched: bool, return_indices: bool):
    # An op reading the list forward filled, so a step replayed by tc.jit reads this call's.
    indices = no_grad_op(_indices_in, sink, unbatched) if return_indices else None
    sink.clear()  # the node keeps the list as an argument: a loss kept after backward must not hold them
    if not return_indices:
        return out[0] if unbatched else out
    return (out[0], indices) if unbatched else (out, indices)


def _indices_in(sink: list, unbatched: bool) -> np.ndarray:
    indices = sink[0].astype(np.int64)  # a copy: backward reads forward's, which the user may change
    return indices[0] if unbatched else indices


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-D max pooling of x (N, C, L); as max_pool2d on a height-1 image (indices along L)."""
    op = "max_pool1d"
    if data(x).ndim not in (2, 3):
        raise ValueError(f"{op}: input must have shape (N, C, L) or (C, L), got {data(x).shape}")
    x = as_tensor(x).unsqueeze(-2)
    res = _max_pool(x, _one_d(kernel_size, "kernel_size", op, 1),
                    _one_d(stride, "stride", op, 1), _one_d(padding, "padding", op, 0),
                    _one_d(dilation, "dilation", op, 1), ceil_mode, return_indices, op)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res.squeeze(-2)


# ---- average pooling ---------------------------------------------------------------------
@shape_constant
def _divisor(hw: tuple, kernel: tuple, stride: tuple, pads: tuple, out_hw: tuple,
             include_pad: bool, dtype) -> np.ndarray:
    dh = _window_counts(hw[0], kernel[0], stride[0], pads[0], out_hw[0], include_pad)
    dw = _window_counts(hw[1], kernel[1], stride[1], pads[1], out_hw[1], include_pad)
    return np.outer(dh, dw).astype(dtype)


def _window_counts(n: int, k: int, s: int, p: int, o: int, include_pad: bool) -> np.ndarray:
    """How many elements PyTorch divides by along one axis: the window clipped to the padded
    input (include_pad) or to the input itself; ceil_mode's overhang never counts."""
    start = np.arange(o) * s - p
    end = np.minimum(start + k, n + p)
    if include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


class AvgPool2d(Function):
    """out[n,c,i,j] = sum of the window of zero-padded x / divisor[i,j]; the gradient spreads
    g / divisor over each window (added where windows overlap)."""

    name = "avg_pool2d"

    @staticmethod
    def forward(ctx, x, kernel, geo, out_hw, divisor):
        win = windows(pad_image(x, geo.pads), kernel, geo.stride, geo.dil, out_hw)
        ctx.kernel, ctx.geo, ctx.hw, ctx.divisor = kernel, geo, x.shape[2:], divisor
        out = win.sum(axis=(-2, -1))
        out /= divisor
        return out

    @staticmethod
    def backward(ctx, g):
        per = (g / ctx.divisor).reshape(*g.shape, 1, 1)
        shape = (*g.shape, *ctx.kernel)
        spread = broadcast_to(per, shape) if is_tensor(per) else np.broadcast_to(per, shape)
        return fold_patches(spread, ctx.geo, ctx.hw), None, None, None, None


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """2-D average pooling of x (N, C, H, W): each window's sum / its size (zero padding counted
    when count_include_pad, as PyTorch's default); sizes as max_pool2d, stride defaults to the
    kernel."""
    op = "avg_pool2d"
    x, unbatched, kernel, geo, out_hw = _pool_geometry(x, kernel_size, stride, padding, 1,
                                                       ceil_mode, op)
    (pt, _, pl, _), d = geo.pads, data(x)
    divisor = _divisor(d.shape[2:], kernel, geo.stride, (pt, pl), out_hw, count_include_pad,
                       d.dtype)
    out = AvgPool2d.apply(x, kernel, geo, out_hw, divisor)
    return out[0] if unbatched else out


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling of x (N, C, L); as avg_pool2d on a height-1 image."""
    op = "avg_pool1d"
    if data(x).ndim not in (2, 3):
        raise ValueError(f"{op}: input must have shape (N, C, L) or (C, L), got {data(x).shape}")
    out = avg_pool2d(as_tensor(x).unsqueeze(-2), _one_d(kernel_size, "kernel_size", op, 1),
                     _one_d(stride, "stride", op, 1), _one_d(padding, "padding", op, 0),
                     ceil_mode, count_include_pad)
    return out.squeeze(-2)


# ---- adaptive pooling --------------------------------------------------------------------
def _adaptive_size(x, output_size, op: str) -> tuple:
    """(batched x, unbatched?, (OH, OW)); a None entry keeps the input's size, as PyTorch."""
    if data(x).ndim == 3:
        x, unbatched = as_tensor(x).unsqueeze(0), True
    else:
        unbatched = False
    if data(x).ndim != 4:
        raise ValueError(f"{op}: input must have shape (N, C, H, W) or (C, H, W), got {data(x).shape}")
    hw = data(x).shape[2:]
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    sizes = tuple(n if o is None else o for o, n in zip(sizes, hw)) if len(sizes) == 2 else sizes
    return x, unbatched, pair(sizes, "output_size", op)


@shape_constant
def _averaging_matrix(n: int, o: int, dtype) -> np.ndarray:
    """(o, n): row i averages PyTorch's adaptive window i, [floor(i n/o), ceil((i+1) n/o))."""
    start, end = _adaptive_bounds(n, o)
    j = np.arange(n)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


@shape_constant
def _averaging_matrix_t(n: int, o: int, dtype) -> np.ndarray:
    """The transpose of _averaging_matrix(n, o, dtype)."""
    return _averaging_matrix(n, o, dtype).T


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """Average pooling to a given output size (OH, OW): output (i, j) averages rows
    [floor(i H/OH), ceil((i+1) H/OH)) and the same columns, as PyTorch; computed as
    A_h @ x @ A_w^T."""
    x, unbatched, (oh, ow) = _adaptive_size(x, output_size, "adaptive_avg_pool2d")
    x = as_tensor(x)
    h, w = x.shape[2:]
    out = matmul(matmul(Tensor._wrap(_averaging_matrix(h, oh, x.dtype)), x),
                 Tensor._wrap(_averaging_matrix_t(w, ow, x.dtype)))
    return out[0] if unbatched else out


def adaptive_max_pool2d(x, output_size, return_indices: bool = False):
    """Max pooling to a given output size over PyTorch's adaptive windows (see
    adaptive_avg_pool2d); return_indices gives flat indices in each input plane."""
    x, unbatched, out_hw = _adaptive_size(x, output_size, "adaptive_max_pool2d")
    sink: list = []
    out = AdaptiveMaxPool2d.apply(x, out_hw, sink)
    return _pooled(out, sink, unbatched, return_indices)


# ---- interpolation -----------------------------------------------------------------------
def _source_scale(n_in: int, n_out: int, scale_factor, align_corners: bool) -> float:
    # PyTorch: (in - 1) / (out - 1) with align_corners, else 1 / scale_factor when given, else in / out.
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale_factor if scale_factor is not None else n_in / n_out


@shape_constant
def _linear_matrix(n_in: int, n_out: int, scale_factor, align_corners: bool, dtype) -> np.ndarray:
    """(n_out, n_in) weights of linear interpolation along one axis, PyTorch's source index:
    dst * scale with align_corners, else (dst + 0.5) * scale - 0.5 clamped at 0."""
    scale = _source_scale(n_in, n_out, scale_factor, align_corners)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * scale if align_corners else np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.intp), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    a = np.zeros((n_out, n_in))
    np.add.at(a, (np.arange(n_out), i0), 1 - lam)
    np.add.at(a, (np.arange(n_out), i1), lam)
    return a.astype(dtype)


@shape_constant
def _linear_matrix_t(n_in: int, n_out: int, scale_factor, align_corners: bool, dtype) -> np.ndarray:
    """The transpose of _linear_matrix(n_in, n_out, scale_factor, align_corners, dtype)."""
    return _linear_matrix(n_in, n_out, scale_factor, align_corners, dtype).T


@shape_constant
def _nearest_index(spatial: tuple, sizes: tuple, factors: tuple) -> tuple:
    """The source row (and column) of each output pixel for nearest interpolation, as PyTorch."""
    idx = [np.minimum(np.floor(np.arange(o) * _source_scale(n, o, f, False)).astype(np.intp), n - 1)
           for n, o, f in zip(spatial, sizes, factors)]
    return (idx[0],) if len(idx) == 1 else (idx[0][:, None], idx[1][None, :])


_MODES = {"nearest": (3, 4), "linear": (3,), "bilinear": (4,)}


def interpolate(x, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None) -> Tensor:
    """Resize x (N, C, L) or (N, C, H, W) to `size` or by `scale_factor` (output floor(n *
    scale)), as torch.nn.functional.interpolate: 'nearest' takes x[floor(dst * in/out)] (in/out
    is 1/scale_factor when that is given), 'linear' (3-D) / 'bilinear' (4-D) weight the two
    nearest inputs (align_corners as PyTorch; default False)."""
    op = "interpolate"
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {sorted(_MODES)}, got {mode!r}")
    nd = data(x).ndim
    if nd not in _MODES[mode]:
        raise ValueError(f"{op}: mode {mode!r} takes inputs with {' or '.join(map(str, _MODES[mode]))} "
                         f"dimensions (N, C, ...), got shape {data(x).shape}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError(f"{op}: align_corners only applies to 'linear' and 'bilinear', not 'nearest'")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    spatial = data(x).shape[2:]
    k = len(spatial)
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * k
        factors = (None,) * k
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * k
        if any(f is None or not f > 0 for f in factors):
            raise ValueError(f"{op}: scale_factor must be positive, got {scale_factor!r}")
        sizes = tuple(int(np.floor(n * float(f))) for n, f in zip(spatial, factors))
    if len(sizes) != k or any(not isinstance(o, (int, np.integer)) or o < 1 for o in sizes):
        raise ValueError(f"{op}: size must be {k} positive ints for a {nd}-D input, got {sizes!r}")
    x = as_tensor(x)
    if mode == "nearest":
        return getitem(x, (slice(None), slice(None),
                           *_nearest_index(tuple(spatial), tuple(sizes), tuple(factors))))
    mats = [(n, o, f, bool(align_corners), x.dtype) for n, o, f in zip(spatial, sizes, factors)]
    last = Tensor._wrap(_linear_matrix_t(*mats[-1]))
    if k == 1:
        return matmul(x, last)
    return matmul(matmul(Tensor._wrap(_linear_matrix(*mats[0])), x), last)
