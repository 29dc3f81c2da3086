"""Pooling and resizing against plain loops written here (PyTorch's documented window rules),
gradients against centered differences, ties, indices and second derivatives."""
import math

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.testing import check_op


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _out(n, k, s, p, d, ceil):
    """PyTorch's pooling output size; with ceil_mode the last window starts inside input or left pad."""
    span = n + 2 * p - d * (k - 1) - 1
    o = (math.ceil(span / s) if ceil else span // s) + 1
    return o - 1 if ceil and (o - 1) * s >= n + p else o


def loop_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                    with_indices=False):
    (kh, kw), (ph, pw), (dh, dw) = _pair(kernel_size), _pair(padding), _pair(dilation)
    sh, sw = _pair(stride) if stride is not None else (kh, kw)
    n, c, h, w = x.shape
    oh, ow = _out(h, kh, sh, ph, dh, ceil_mode), _out(w, kw, sw, pw, dw, ceil_mode)
    out, idx = np.zeros((n, c, oh, ow), x.dtype), np.zeros((n, c, oh, ow), np.int64)
    for a in range(n):
        for b in range(c):
            for i in range(oh):
                for j in range(ow):
                    best = -np.inf
                    for p in range(kh):
                        for q in range(kw):  # row-major: the first maximum wins
                            r, col = i * sh - ph + p * dh, j * sw - pw + q * dw
                            if 0 <= r < h and 0 <= col < w and x[a, b, r, col] > best:
                                best, idx[a, b, i, j] = x[a, b, r, col], r * w + col
                    out[a, b, i, j] = best
    return (out, idx) if with_indices else out


def loop_avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    (kh, kw), (ph, pw) = _pair(kernel_size), _pair(padding)
    sh, sw = _pair(stride) if stride is not None else (kh, kw)
    n, c, h, w = x.shape
    oh, ow = _out(h, kh, sh, ph, 1, ceil_mode), _out(w, kw, sw, pw, 1, ceil_mode)
    out = np.zeros((n, c, oh, ow), x.dtype)
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - ph, j * sw - pw
            r1, c1 = min(r0 + kh, h + ph), min(c0 + kw, w + pw)  # the window inside the padding
            size = (r1 - r0) * (c1 - c0)
            r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, h), min(c1, w)
            if not count_include_pad:
                size = (r1 - r0) * (c1 - c0)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].sum(axis=(2, 3)) / size
    return out


@st.composite
def pool_params(draw, shps, dilation=True):
    h, w = shps[0][2:]
    k = (draw(st.integers(1, min(3, h))), draw(st.integers(1, min(3, w))))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    kw = dict(kernel_size=k, stride=s, padding=p, ceil_mode=draw(st.booleans()))
    if dilation:
        kw["dilation"] = tuple(d if n + 2 * pp >= d * (kk - 1) + 1 else 1 for d, n, pp, kk in
                               zip((draw(st.integers(1, 2)), draw(st.integers(1, 2))), (h, w), p, k))
    return kw


IMAGES = st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 5), st.integers(1, 5))


def test_max_pool2d_matches_a_loop_and_gradcheck_without_ties():
    check_op(tc.max_pool2d, loop_max_pool2d, shapes=IMAGES, params=pool_params, domain="max_pool2d")


def test_max_pool2d_indices_are_flat_positions_in_each_input_plane():
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    for kw in (dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=(2, 3), stride=1,
                                                              dilation=(2, 1), ceil_mode=True)):
        out, idx = tc.max_pool2d(tc.tensor(x), **kw, return_indices=True)
        ref, ref_idx = loop_max_pool2d(x, **kw, with_indices=True)
        np.testing.assert_array_equal(out.data, ref)
        np.testing.assert_array_equal(idx.data, ref_idx)
        assert idx.dtype == np.int64
        planes = x.reshape(2, 3, -1)
        np.testing.assert_array_equal(np.take_along_axis(planes, idx.data.reshape(2, 3, -1), -1)
                                      .reshape(out.shape), out.data)


def test_max_pool_with_ties_sends_the_gradient_to_the_first_maximum_of_each_window():
    # PyTorch on CPU: one element per window gets the gradient, the first maximum in row-major order.
    x = tc.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    out, idx = tc.max_pool2d(x, 2, return_indices=True)
    out.sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)
    np.testing.assert_array_equal(idx.data[0, 0], [[0, 2], [8, 10]])
    # overlapping windows that share a tied maximum add their gradients there
    y = tc.tensor(np.array([[[[1.0, 3.0, 3.0, 0.0]]]]), requires_grad=True)
    tc.max_pool2d(y, (1, 2), stride=1).sum().backward()
    np.testing.assert_array_equal(y.grad.data[0, 0, 0], [0, 2, 1, 0])


def test_max_pool2d_second_derivative_is_a_scatter_of_g():
    x = tc.tensor(np.random.default_rng(1).standard_normal((1, 2, 5, 5)), requires_grad=True)
    tc.gradgradcheck(lambda x: tc.max_pool2d(x, 3, stride=2, padding=1) ** 2, [x])


def test_max_pool1d_matches_the_2d_loop_on_a_height_one_image():
    x = np.random.default_rng(2).standard_normal((2, 3, 9))
    out, idx = tc.max_pool1d(tc.tensor(x), 3, stride=2, padding=1, return_indices=True)
    ref, ref_idx = loop_max_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1), with_indices=True)
    np.testing.assert_array_equal(out.data, ref[:, :, 0])
    np.testing.assert_array_equal(idx.data, ref_idx[:, :, 0])


def test_avg_pool2d_matches_a_loop_and_gradcheck_over_padding_ceil_mode_count_include_pad():
    def params(shps):
        return st.tuples(pool_params(shps, dilation=False), st.booleans()).map(
            lambda t: {**t[0], "count_include_pad": t[1]})
    check_op(tc.avg_pool2d, loop_avg_pool2d, shapes=IMAGES, params=params)


def test_avg_pool2d_second_derivatives_gradgradcheck():
    x = tc.tensor(np.random.default_rng(3).standard_normal((1, 2, 5, 4)), requires_grad=True)
    tc.gradgradcheck(lambda x: tc.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
                                             count_include_pad=False) ** 2, [x])


def test_avg_pool1d_matches_the_2d_loop():
    x = np.random.default_rng(4).standard_normal((2, 3, 8))
    out = tc.avg_pool1d(tc.tensor(x), 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(out.data, loop_avg_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1),
                                                         True, False)[:, :, 0])


def _adaptive_windows(n, o):
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]  # [floor(i n/o), ceil((i+1) n/o))


def loop_adaptive(x, output_size, reduce):
    oh, ow = _pair(output_size)
    n, c, h, w = x.shape
    out = np.zeros((n, c, oh, ow), x.dtype)
    for i, (r0, r1) in enumerate(_adaptive_windows(h, oh)):
        for j, (c0, c1) in enumerate(_adaptive_windows(w, ow)):
            out[:, :, i, j] = reduce(x[:, :, r0:r1, c0:c1], axis=(2, 3))
    return out


def adaptive_params(shps):
    return st.tuples(st.integers(1, 4), st.integers(1, 4)).map(lambda o: {"output_size": o})


def test_adaptive_avg_pool2d_matches_a_loop_and_gradcheck():
    check_op(tc.adaptive_avg_pool2d, lambda x, output_size: loop_adaptive(x, output_size, np.mean),
             shapes=IMAGES, params=adaptive_params)


def test_adaptive_max_pool2d_matches_a_loop_and_gradcheck():
    check_op(tc.adaptive_max_pool2d, lambda x, output_size: loop_adaptive(x, output_size, np.max),
             shapes=IMAGES, params=adaptive_params, domain="adaptive_max_pool2d")


def test_adaptive_max_pool2d_indices_and_none_keeps_a_size():
    x = np.random.default_rng(5).standard_normal((1, 2, 7, 5))
    out, idx = tc.adaptive_max_pool2d(tc.tensor(x), (3, None), return_indices=True)
    assert out.shape == (1, 2, 3, 5)
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(1, 2, -1), idx.data.reshape(1, 2, -1), -1)
                                  .reshape(out.shape), out.data)
    tc.gradgradcheck(lambda x: tc.adaptive_avg_pool2d(x, 3) ** 2,
                     [tc.tensor(x, requires_grad=True)])


def loop_interpolate(x, size, scale_factor=None, mode="nearest", align_corners=False):
    """PyTorch's source index: nearest floor(dst * scale); linear dst * (in-1)/(out-1) with
    align_corners, else max((dst + 0.5) * scale - 0.5, 0); scale = 1/scale_factor or in/out."""
    def src(n, o, f):
        scale = 1 / f if f is not None else n / o
        if mode == "nearest":
            return [(min(int(math.floor(d * scale)), n - 1), min(int(math.floor(d * scale)), n - 1), 0.0)
                    for d in range(o)]
        res = []
        for d in range(o):
            s = d * ((n - 1) / (o - 1) if o > 1 else 0) if align_corners else max((d + 0.5) * scale - 0.5, 0)
            i0 = min(int(math.floor(s)), n - 1)
            res.append((i0, min(i0 + 1, n - 1), s - i0))
        return res
    h, w = x.shape[2:]
    f = _pair(scale_factor) if scale_factor is not None else (None, None)
    rows, cols = src(h, size[0], f[0]), src(w, size[1], f[1])
    out = np.zeros(x.shape[:2] + tuple(size))
    for i, (r0, r1, a) in enumerate(rows):
        for j, (c0, c1, b) in enumerate(cols):
            out[:, :, i, j] = ((1 - a) * (1 - b) * x[:, :, r0, c0] + (1 - a) * b * x[:, :, r0, c1]
                               + a * (1 - b) * x[:, :, r1, c0] + a * b * x[:, :, r1, c1])
    return out


@pytest.mark.parametrize("mode,align_corners", [("nearest", None), ("bilinear", False),
                                                ("bilinear", True)])
def test_interpolate_matches_pytorchs_source_index_rule(mode, align_corners):
    x = np.random.default_rng(6).standard_normal((2, 3, 5, 4))
    for kw in (dict(size=(8, 3)), dict(size=(1, 7)), dict(scale_factor=1.7), dict(scale_factor=(2, 0.5))):
        out = tc.interpolate(tc.tensor(x), mode=mode, align_corners=align_corners, **kw)
        size = kw.get("size") or tuple(int(n * f) for n, f in zip((5, 4), _pair(kw["scale_factor"])))
        np.testing.assert_allclose(out.data, loop_interpolate(x, size, kw.get("scale_factor"), mode,
                                                              align_corners), atol=1e-12)
    xt = tc.tensor(x[:1, :1], requires_grad=True)
    tc.gradgradcheck(lambda x: tc.interpolate(x, size=(7, 6), mode=mode, align_corners=align_corners) ** 2, [xt])


def test_interpolate_1d_nearest_and_linear():
    x = np.random.default_rng(7).standard_normal((2, 3, 5))
    out = tc.interpolate(tc.tensor(x), scale_factor=2.5, mode="linear")
    np.testing.assert_allclose(out.data, loop_interpolate(x[:, :, None], (1, 12), (1, 2.5), "bilinear")[:, :, 0])
    out = tc.interpolate(tc.tensor(x), size=3)
    np.testing.assert_array_equal(out.data, x[:, :, [0, 1, 3]])


def test_pool_ops_are_in_nn_functional():
    for name in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d",
                 "adaptive_max_pool2d", "interpolate"):
        assert getattr(nn.F, name) is getattr(tc, name)


def test_pool_errors_name_the_op_and_the_fix():
    with pytest.raises(ValueError, match="max_pool2d: padding .* at most half the kernel"):
        tc.max_pool2d(tc.randn(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="avg_pool2d: input must have shape"):
        tc.avg_pool2d(tc.randn(4, 4), 2)
    with pytest.raises(ValueError, match="interpolate: give exactly one of size and scale_factor"):
        tc.interpolate(tc.randn(1, 1, 4, 4))
    with pytest.raises(ValueError, match="interpolate: mode must be one of"):
        tc.interpolate(tc.randn(1, 1, 4, 4), size=2, mode="bicubic")


@pytest.mark.parametrize("shape,k", [((2, 3, 8, 8), 2), ((2, 3, 7, 9), 2), ((1, 2, 9, 9), 3)])
def test_tiled_max_pool_matches_the_window_argmax_with_ties_nan_and_a_cropped_edge(shape, k):
    # kernel == stride takes the strided fast path; it must agree with argmax over the windows:
    # the first maximum in row-major order, NaN winning, the rows and columns past n*k dropped.
    x = np.random.default_rng(0).integers(0, 3, shape).astype(np.float64)
    x[0, 0, 0, 1] = np.nan
    out, idx = tc.max_pool2d(tc.tensor(x), k, return_indices=True)
    n, c, h, w = shape
    oh, ow = h // k, w // k
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::k, ::k]
    win = win[:, :, :oh, :ow].reshape(n, c, oh, ow, k * k)
    arg = win.argmax(-1)
    np.testing.assert_array_equal(out.data, np.take_along_axis(win, arg[..., None], -1)[..., 0])
    rows = np.arange(oh)[:, None] * k + arg // k
    cols = np.arange(ow) * k + arg % k
    np.testing.assert_array_equal(idx.data, rows * w + cols)
