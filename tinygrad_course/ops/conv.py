"""Convolution, NCHW as in PyTorch: conv1d, conv2d, conv_transpose2d, and im2col's unfold/fold.

Everything rests on two array kernels: `windows` (every kernel-sized patch of a padded image as
a strided view: numpy's sliding_window_view, no copy) and `col2im`, its adjoint (patches added
back into an image, one strided add per kernel offset, k*k adds in all). A convolution is one
matrix multiply of the patches with the weight.

conv2d is bilinear, y = B(x, w). Its transpose in x is conv_transpose2d, T(g, w), and its
transpose in w is the weight gradient W(x, g). Each of the three is one Function whose backward
is made of the other two (dB = T(g, w) dx-wise and W(x, g) dw-wise; dT = B(g, w) and W(g, u);
dW = T(g, gW) and B(x, gW)), so under create_graph the rules recurse as differentiable ops and
derivatives of every order are exact. Im2Col/Col2Im (unfold/fold, and the pools' backward) are
the same kind of adjoint pair.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..autograd import Function
from ..tensor import Tensor
from .common import as_tensor, is_tensor


class Geometry(NamedTuple):
    """Where a kernel goes: stride (sh, sw), pads (top, bottom, left, right), dilation (dh, dw),
    groups."""

    stride: tuple
    pads: tuple
    dil: tuple
    groups: int = 1


# ---- argument checking -------------------------------------------------------------------
def pair(v, name: str, op: str, low: int = 1) -> tuple:
    """An int or a pair of ints as (h, w), each at least `low`; errors name the op."""
    vals = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(vals) != 2 or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in vals):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")
    if any(a < low for a in vals):
        raise ValueError(f"{op}: {name} must be >= {low}, got {v!r}")
    return int(vals[0]), int(vals[1])


def out_size(n: int, k: int, s: int, pad_total: int, d: int, ceil: bool = False) -> int:
    """PyTorch's output length: floor((n + pads - d (k - 1) - 1) / s) + 1 (ceil with `ceil`)."""
    span = n + pad_total - d * (k - 1) - 1
    return (-(-span // s) if ceil else span // s) + 1


def data(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


# ---- the array kernels -------------------------------------------------------------------
def pad_image(x: np.ndarray, pads: tuple, value: float = 0.0) -> np.ndarray:
    """x (..., H, W) padded by (top, bottom, left, right) with a constant (no copy when 0)."""
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return x
    out = np.full(x.shape[:-2] + (x.shape[-2] + pt + pb, x.shape[-1] + pl + pr), value, x.dtype)
    out[..., pt:pt + x.shape[-2], pl:pl + x.shape[-1]] = x
    return out


def windows(xp: np.ndarray, kernel: tuple, stride: tuple, dil: tuple, out_hw: tuple) -> np.ndarray:
    """The patches of xp (..., Hp, Wp) as a read-only view (..., OH, OW, KH, KW)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dil
    v = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(-2, -1))
    return v[..., :(out_hw[0] - 1) * sh + 1:sh, :(out_hw[1] - 1) * sw + 1:sw, ::dh, ::dw]


def col2im(cols: np.ndarray, hp: int, wp: int, stride: tuple, dil: tuple) -> np.ndarray:
    """The adjoint of `windows`: an image (..., hp, wp) with each patch of cols
    (..., OH, OW, KH, KW) added where it came from (one strided add per kernel offset)."""
    *lead, oh, ow, kh, kw = cols.shape
    (sh, sw), (dh, dw) = stride, dil
    out = np.zeros((*lead, hp, wp), cols.dtype)
    for p in range(kh):
        rows = slice(p * dh, p * dh + sh * (oh - 1) + 1, sh)
        for q in range(kw):
            out[..., rows, q * dw:q * dw + sw * (ow - 1) + 1:sw] += cols[..., p, q]
    return out


def _cols(x: np.ndarray, kernel: tuple, geo: Geometry, out_hw: tuple) -> np.ndarray:
    """im2col with the batch last: x's patches as (G, C/G*KH*KW, OH*OW*N). x is first copied
    batch-last, so the patch copy (the one big copy a convolution makes) runs over contiguous
    rows of the batch instead of runs of KW elements."""
    n, c = x.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, geo.stride, geo.dil, out_hw
    xt = np.ascontiguousarray(pad_image(x, geo.pads).transpose(1, 2, 3, 0))  # (C, Hp, Wp, N)
    v = sliding_window_view(xt, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    v = v[:, :(oh - 1) * sh + 1:sh, :(ow - 1) * sw + 1:sw, :, ::dh, ::dw]  # (C, OH, OW, N, KH, KW)
    return v.transpose(0, 4, 5, 1, 2, 3).reshape(geo.groups, (c // geo.groups) * kh * kw, -1)


def _conv_from_cols(cols: np.ndarray, w: np.ndarray, g: int, n: int, out_hw: tuple) -> np.ndarray:
    o = w.shape[0]
    y = w.reshape(g, o // g, -1) @ cols  # (G, O/G, OH*OW*N)
    return np.ascontiguousarray(y.reshape(o, *out_hw, n).transpose(3, 0, 1, 2))


def _g_rows(g: np.ndarray, grp: int) -> np.ndarray:
    """The upstream gradient (N, O, OH, OW) as (G, O/G, OH*OW*N), the batch last as in _cols."""
    n, o, oh, ow = g.shape
    return g.transpose(1, 2, 3, 0).reshape(grp, o // grp, oh * ow * n)


def conv_kernel(x: np.ndarray, w: np.ndarray, geo: Geometry, out_hw: tuple) -> np.ndarray:
    """B(x, w): the convolution (cross-correlation, as PyTorch) on arrays."""
    return _conv_from_cols(_cols(x, w.shape[2:], geo, out_hw), w, geo.groups, x.shape[0], out_hw)


def conv_t_kernel(g: np.ndarray, w: np.ndarray, geo: Geometry, in_hw: tuple) -> np.ndarray:
    """T(g, w), the transpose of B in x: g (N, O, OH, OW) -> (N, C, H, W) with H, W = in_hw."""
    n, o, oh, ow = g.shape
    grp, cg, kh, kw = geo.groups, w.shape[1], w.shape[2], w.shape[3]
    # The batch goes last: col2im's strided adds below then run over long contiguous rows
    # (N-last), where with small images and N first each add looped over runs of OW elements.
    cols = w.reshape(grp, o // grp, -1).transpose(0, 2, 1) @ _g_rows(g, grp)
    cols = cols.reshape(grp * cg, kh, kw, oh, ow, n)
    pt, pb, pl, pr = geo.pads
    h, wd = in_hw
    (sh, sw), (dh, dw) = geo.stride, geo.dil
    img = np.zeros((grp * cg, h + pt + pb, wd + pl + pr, n), cols.dtype)
    for p in range(kh):
        rows = slice(p * dh, p * dh + sh * (oh - 1) + 1, sh)
        for q in range(kw):
            img[:, rows, q * dw:q * dw + sw * (ow - 1) + 1:sw] += cols[:, p, q]
    return img[:, pt:pt + h, pl:pl + wd].transpose(3, 0, 1, 2)


def _conv_w_from_cols(cols: np.ndarray, g: np.ndarray, grp: int, w_shape: tuple) -> np.ndarray:
    return (_g_rows(g, grp) @ cols.transpose(0, 2, 1)).reshape(w_shape)


def conv_w_kernel(x: np.ndarray, g: np.ndarray, geo: Geometry, k_hw: tuple) -> np.ndarray:
    """W(x, g), the transpose of B in w: the weight gradient sum over n, i, j of patch * g."""
    w_shape = (g.shape[1], x.shape[1] // geo.groups, *k_hw)
    return _conv_w_from_cols(_cols(x, k_hw, geo, g.shape[2:]), g, geo.groups, w_shape)


# ---- the three bilinear ops, each the others' backward -----------------------------------
def _conv(x, w, geo: Geometry, out_hw: tuple):
    if is_tensor(x) or is_tensor(w):
        return Conv2d.apply(x, w, None, geo, out_hw)
    return conv_kernel(x, w, geo, out_hw)


def _conv_t(g, w, geo: Geometry, in_hw: tuple):
    if is_tensor(g) or is_tensor(w):
        return ConvTranspose2d.apply(g, w, None, geo, in_hw)
    return conv_t_kernel(g, w, geo, in_hw)


def _conv_w(x, g, geo: Geometry, k_hw: tuple):
    if is_tensor(x) or is_tensor(g):
        return ConvWeight.apply(x, g, geo, k_hw)
    return conv_w_kernel(x, g, geo, k_hw)


def _bias_grad(g):
    return g.sum(axis=(0, 2, 3))


class Conv2d(Function):
    """y[n,o,i,j] = b[o] + sum_{c,p,q} xpad[n, c + C/G grp(o), i s + p d, j s + q d] w[o,c,p,q];
    dx = conv_transpose2d(g, w), dw = sum_{n,i,j} patch(x) g (one matmul), db = sum_{n,i,j} g."""

    name = "conv2d"

    @staticmethod
    def forward(ctx, x, w, b, geo, out_hw):
        nx, nw = ctx.needs_input_grad[:2]
        cols = _cols(x, w.shape[2:], geo, out_hw)
        y = _conv_from_cols(cols, w, geo.groups, x.shape[0], out_hw)
        if b is not None:
            y += b.reshape(-1, 1, 1)
        ctx.geo, ctx.x_hw, ctx.k_hw = geo, x.shape[2:], w.shape[2:]
        ctx.save_for_backward(x if nw else None, w if nx else None, cols if nw else None)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, cols = ctx.saved
        nx, nw, nb = ctx.needs_input_grad[:3]
        gx = _conv_t(g, w, ctx.geo, ctx.x_hw) if nx else None
        gw = None
        if nw:
            if is_tensor(g):
                gw = _conv_w(x, g, ctx.geo, ctx.k_hw)
            else:  # the patches forward made
                w_shape = (g.shape[1], x.shape[1] // ctx.geo.groups, *ctx.k_hw)
                gw = _conv_w_from_cols(cols, g, ctx.geo.groups, w_shape)
        return gx, gw, (_bias_grad(g) if nb else None), None, None


class ConvTranspose2d(Function):
    """z = T(u, w) + b, the transpose of conv2d in its input (scatter each input pixel times the
    kernel); du = conv2d(g, w), dw = W(g, u) (conv2d's weight gradient with g as the image),
    db = sum_{n,i,j} g."""

    name = "conv_transpose2d"

    @staticmethod
    def forward(ctx, u, w, b, geo, out_hw):
        nu, nw = ctx.needs_input_grad[:2]
        z = conv_t_kernel(u, w, geo, out_hw)
        if b is not None:
            z = z + b.reshape(-1, 1, 1)
        ctx.geo, ctx.u_hw, ctx.k_hw = geo, u.shape[2:], w.shape[2:]
        ctx.save_for_backward(u if nw else None, w if nu else None)
        return z

    @staticmethod
    def backward(ctx, g):
        u, w = ctx.saved
        nu, nw, nb = ctx.needs_input_grad[:3]
        gu = _conv(g, w, ctx.geo, ctx.u_hw) if nu else None
        gw = _conv_w(g, u, ctx.geo, ctx.k_hw) if nw else None
        return gu, gw, (_bias_grad(g) if nb else None), None, None


class ConvWeight(Function):
    """W(x, g) = sum_{n,i,j} patch(x)[n,i,j] g[n,:,i,j], conv2d's weight gradient as an op (so
    second derivatives exist); with upstream gW: dx = conv_transpose2d(g, gW), dg = conv2d(x, gW)."""

    name = "conv2d_weight_grad"

    @staticmethod
    def forward(ctx, x, g, geo, k_hw):
        nx, ng = ctx.needs_input_grad[:2]
        ctx.geo, ctx.x_hw, ctx.g_hw = geo, x.shape[2:], g.shape[2:]
        ctx.save_for_backward(x if ng else None, g if nx else None)
        return conv_w_kernel(x, g, geo, k_hw)

    @staticmethod
    def backward(ctx, gw):
        x, g = ctx.saved
        nx, ng = ctx.needs_input_grad[:2]
        gx = _conv_t(g, gw, ctx.geo, ctx.x_hw) if nx else None
        gg = _conv(x, gw, ctx.geo, ctx.g_hw) if ng else None
        return gx, gg, None, None


# ---- im2col as an op: unfold / fold ------------------------------------------------------
def _im2col(x, kernel, geo: Geometry, out_hw: tuple):
    if is_tensor(x):
        return Im2Col.apply(x, kernel, geo, out_hw)
    return np.ascontiguousarray(windows(pad_image(x, geo.pads), kernel, geo.stride, geo.dil, out_hw))


def fold_patches(cols, geo: Geometry, hw: tuple):
    """Patches (N, C, OH, OW, KH, KW) added back into an (N, C, H, W) image (padding cropped):
    the adjoint of Im2Col, on arrays or (differentiably) on Tensors."""
    if is_tensor(cols):
        return Col2Im.apply(cols, geo, hw)
    pt, pb, pl, pr = geo.pads
    img = col2im(cols, hw[0] + pt + pb, hw[1] + pl + pr, geo.stride, geo.dil)
    return img[..., pt:pt + hw[0], pl:pl + hw[1]]


class Im2Col(Function):
    """The patches of zero-padded x (N, C, H, W) as (N, C, OH, OW, KH, KW); its gradient adds
    each patch's gradient back where the patch came from (Col2Im)."""

    name = "im2col"

    @staticmethod
    def forward(ctx, x, kernel, geo, out_hw):
        ctx.geo, ctx.hw = geo, x.shape[2:]
        return _im2col(x, kernel, geo, out_hw)

    @staticmethod
    def backward(ctx, g):
        return fold_patches(g, ctx.geo, ctx.hw), None, None, None


class Col2Im(Function):
    """Patches (N, C, OH, OW, KH, KW) summed into an (N, C, H, W) image where they overlap (the
    adjoint of Im2Col); its gradient is Im2Col of g."""

    name = "col2im"

    @staticmethod
    def forward(ctx, cols, geo, hw):
        ctx.geo, ctx.kernel, ctx.out_hw = geo, cols.shape[-2:], cols.shape[2:4]
        return fold_patches(cols, geo, hw)

    @staticmethod
    def backward(ctx, g):
        return _im2col(g, ctx.kernel, ctx.geo, ctx.out_hw), None, None


# ---- the public functions ----------------------------------------------------------------
def _check_image(x, op: str, what: str = "input") -> None:
    if data(x).ndim != 4:
        raise ValueError(f"{op}: {what} must have shape (N, C, H, W) (or (C, H, W) unbatched), "
                         f"got shape {data(x).shape}")


def _unbatched(x, ndim: int):
    """(x with a batch axis, whether it was added): PyTorch also takes one unbatched image."""
    if data(x).ndim == ndim - 1:
        return (x.unsqueeze(0) if is_tensor(x) else Tensor(data(x)[None])), True
    return x, False


def _conv_padding(padding, kernel: tuple, dil: tuple, stride: tuple, op: str) -> tuple:
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' needs stride 1 (got stride {stride}), as in "
                             "PyTorch; pad explicitly for a strided convolution")
        # The extra pixel of an even kernel goes at the bottom/right, as in PyTorch.
        th, tw = dil[0] * (kernel[0] - 1), dil[1] * (kernel[1] - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    ph, pw = pair(padding, "padding", op, low=0)
    return (ph, ph, pw, pw)


def _geometry_out(x_hw: tuple, kernel: tuple, geo: Geometry, op: str) -> tuple:
    pt, pb, pl, pr = geo.pads
    oh = out_size(x_hw[0], kernel[0], geo.stride[0], pt + pb, geo.dil[0])
    ow = out_size(x_hw[1], kernel[1], geo.stride[1], pl + pr, geo.dil[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: an input of spatial size {tuple(x_hw)} with padding {geo.pads} is "
                         f"smaller than the dilated kernel {tuple(kernel)} (dilation {geo.dil}), so "
                         "the output would be empty; pad more or use a smaller kernel")
    return oh, ow


def _check_groups(c: int, o: int, groups: int, op: str, c_name: str, o_name: str) -> None:
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if c % groups or o % groups:
        raise ValueError(f"{op}: {c} {c_name} and {o} {o_name} must both be divisible by "
                         f"groups={groups}")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch): x (N, C, H, W), weight (O, C/groups, KH, KW),
    bias (O,); y[n,o,i,j] = b[o] + sum_{c,p,q} xpad[n, c, i*s + p*d, j*s + q*d] w[o,c,p,q], with
    output size floor((H + 2 pad - d (KH - 1) - 1) / s) + 1. padding: int, pair, 'same' (stride
    1; an even kernel's extra pixel goes bottom/right) or 'valid'."""
    op = "conv2d"
    x, unbatched = _unbatched(x, 4)
    _check_image(x, op)
    w = data(weight)
    if w.ndim != 4:
        raise ValueError(f"{op}: weight must have shape (O, C/groups, KH, KW), got shape {w.shape}")
    n, c, h, wd = data(x).shape
    _check_groups(c, w.shape[0], groups, op, "input channels", "output channels")
    if w.shape[1] * groups != c:
        raise ValueError(f"{op}: the input has {c} channels but the weight of shape {w.shape} with "
                         f"groups={groups} expects {w.shape[1] * groups} (weight.shape[1] * groups)")
    if bias is not None and data(bias).shape != (w.shape[0],):
        raise ValueError(f"{op}: bias must have shape ({w.shape[0]},), got {data(bias).shape}")
    stride, dil = pair(stride, "stride", op), pair(dilation, "dilation", op)
    geo = Geometry(stride, _conv_padding(padding, w.shape[2:], dil, stride, op), dil, int(groups))
    y = Conv2d.apply(x, weight, bias, geo, _geometry_out((h, wd), w.shape[2:], geo, op))
    return y[0] if unbatched else y


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution: x (N, C, L), weight (O, C/groups, K); conv2d on a height-1 image
    (padding int, 'same' or 'valid')."""
    op = "conv1d"
    x, unbatched = _unbatched(x, 3)
    if data(x).ndim != 3 or data(weight).ndim != 3:
        raise ValueError(f"{op}: input must have shape (N, C, L) and weight (O, C/groups, K), got "
                         f"{data(x).shape} and {data(weight).shape}")
    pad = padding if isinstance(padding, str) else _line(padding, "padding", op, 0)
    y = conv2d(as_tensor(x).unsqueeze(2), as_tensor(weight).unsqueeze(2), bias,
               _line(stride, "stride", op), pad, _line(dilation, "dilation", op), groups)
    y = y.squeeze(2)
    return y[0] if unbatched else y


def _line(v, name: str, op: str, low: int = 1) -> tuple:
    """A 1-D argument (an int or a 1-tuple) as the (1, v) pair of a height-1 image."""
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    return (low, pair(v, name, op, low)[1])


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:
    """Transposed convolution (the gradient of conv2d in its input; PyTorch's argument order):
    x (N, C_in, H, W), weight (C_in, C_out/groups, KH, KW); output size
    (H - 1) s - 2 pad + d (KH - 1) + output_padding + 1."""
    op = "conv_transpose2d"
    x, unbatched = _unbatched(x, 4)
    _check_image(x, op)
    w = data(weight)
    if w.ndim != 4:
        raise ValueError(f"{op}: weight must have shape (C_in, C_out/groups, KH, KW), got {w.shape}")
    n, c, h, wd = data(x).shape
    _check_groups(c, w.shape[0], groups, op, "input channels", "weight rows (weight.shape[0])")
    if w.shape[0] != c:
        raise ValueError(f"{op}: the input has {c} channels but the weight of shape {w.shape} "
                         f"expects {w.shape[0]} (weight.shape[0])")
    c_out = w.shape[1] * groups
    if bias is not None and data(bias).shape != (c_out,):
        raise ValueError(f"{op}: bias must have shape ({c_out},), got {data(bias).shape}")
    stride, dil = pair(stride, "stride", op), pair(dilation, "dilation", op)
    (ph, pw), (oph, opw) = pair(padding, "padding", op, 0), pair(output_padding, "output_padding", op, 0)
    if oph >= max(stride[0], dil[0]) or opw >= max(stride[1], dil[1]):
        raise ValueError(f"{op}: output_padding {(oph, opw)} must be smaller than stride {stride} "
                         f"or dilation {dil} (it only picks among the output sizes they allow)")
    kh, kw = w.shape[2:]
    out_hw = ((h - 1) * stride[0] - 2 * ph + dil[0] * (kh - 1) + oph + 1,
              (wd - 1) * stride[1] - 2 * pw + dil[1] * (kw - 1) + opw + 1)
    if min(out_hw) < 1:
        raise ValueError(f"{op}: padding {(ph, pw)} leaves an empty output (size {out_hw})")
    y = ConvTranspose2d.apply(x, weight, bias, Geometry(stride, (ph, ph, pw, pw), dil, int(groups)),
                              out_hw)
    return y[0] if unbatched else y


def unfold(x, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """im2col as torch.nn.functional.unfold: x (N, C, H, W) -> (N, C*KH*KW, L), column l the
    flattened patch at output position l (row-major over the OH x OW positions)."""
    op = "unfold"
    _check_image(x, op)
    kernel, dil = pair(kernel_size, "kernel_size", op), pair(dilation, "dilation", op)
    stride, (ph, pw) = pair(stride, "stride", op), pair(padding, "padding", op, 0)
    geo = Geometry(stride, (ph, ph, pw, pw), dil)
    n, c, h, wd = data(x).shape
    out_hw = _geometry_out((h, wd), kernel, geo, op)
    x = as_tensor(x)
    patches = Im2Col.apply(x, kernel, geo, out_hw)  # (N, C, OH, OW, KH, KW)
    return patches.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kernel[0] * kernel[1], -1)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im as torch.nn.functional.fold, the adjoint of `unfold`: columns (N, C*KH*KW, L) summed
    into an (N, C, H, W) image where patches overlap."""
    op = "fold"
    kernel, dil = pair(kernel_size, "kernel_size", op), pair(dilation, "dilation", op)
    stride, (ph, pw) = pair(stride, "stride", op), pair(padding, "padding", op, 0)
    hw = pair(output_size, "output_size", op)
    geo = Geometry(stride, (ph, ph, pw, pw), dil)
    out_hw = _geometry_out(hw, kernel, geo, op)
    shape = data(x).shape
    kk = kernel[0] * kernel[1]
    if len(shape) != 3 or shape[1] % kk or shape[2] != out_hw[0] * out_hw[1]:
        raise ValueError(f"{op}: input must have shape (N, C*{kk}, {out_hw[0] * out_hw[1]}) for "
                         f"kernel {kernel} and output size {hw} (L = {out_hw[0]} x {out_hw[1]} "
                         f"positions), got {shape}")
    x = as_tensor(x)
    c = shape[1] // kk
    patches = x.reshape(shape[0], c, *kernel, *out_hw).transpose(0, 1, 4, 5, 2, 3)
    return Col2Im.apply(patches, geo, hw)

