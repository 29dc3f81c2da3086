"""Convolution: conv2d, conv1d, conv_transpose2d, unfold/fold against plain loops written here,
gradients against centered differences, second derivatives, PyTorch's output-size formulas."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.testing import check_op


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _padded(x, ph, pw):
    out = np.zeros(x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), x.dtype)
    out[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
    return out


def loop_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Plain loops over output pixels; output size floor((H + 2p - d (k - 1) - 1) / s) + 1."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xp, og = _padded(x, ph, pw), o // groups
    out = np.zeros((n, o, oh, ow), x.dtype)
    for i in range(n):
        for oc in range(o):
            g = oc // og
            for r in range(oh):
                for q in range(ow):
                    patch = xp[i, g * cg:(g + 1) * cg, r * sh:r * sh + dh * (kh - 1) + 1:dh,
                               q * sw:q * sw + dw * (kw - 1) + 1:dw]
                    out[i, oc, r, q] = (patch * w[oc]).sum() + (0 if b is None else b[oc])
    return out


def loop_conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each input pixel scatters itself times the kernel; output (H-1)s - 2p + d(k-1) + op + 1."""
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(_pair, (stride, padding, output_padding, dilation))
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    full = np.zeros((n, og * groups, oh + 2 * ph, ow + 2 * pw), x.dtype)
    cg = c // groups
    for i in range(n):
        for ic in range(c):
            g = ic // cg
            for r in range(h):
                for q in range(wd):
                    for p in range(kh):
                        for s in range(kw):
                            full[i, g * og:(g + 1) * og, r * sh + p * dh, q * sw + s * dw] += x[i, ic, r, q] * w[ic, :, p, s]
    out = full[:, :, ph:ph + oh, pw:pw + ow]
    return out + (0 if b is None else b.reshape(-1, 1, 1))


@st.composite
def conv_shapes(draw, transpose=False):
    groups, cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(kh, 5)), draw(st.integers(kw, 5))
    n = draw(st.integers(1, 2))
    if transpose:
        return (n, groups * cg, h, w), (groups * cg, og, kh, kw), (groups * og,)
    return (n, groups * cg, h, w), (groups * og, cg, kh, kw), (groups * og,)


@st.composite
def conv_params(draw, shps, transpose=False):
    (x, w, _) = shps
    groups = x[1] // w[1] if not transpose else shps[2][0] // w[1]
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if transpose:
        out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        # the output must not be empty: (H-1)s - 2p + d(k-1) + op + 1 >= 1
        padding = tuple(p if (n - 1) * s + d * (k - 1) + op - 2 * p >= 0 else 0
                        for p, n, s, d, k, op in zip(padding, x[2:], stride, dilation, w[2:], out_pad))
        return dict(stride=stride, padding=padding, output_padding=out_pad, groups=groups,
                    dilation=dilation)
    # the dilated kernel must fit in the padded input
    dilation = tuple(d if n + 2 * p >= d * (k - 1) + 1 else 1
                     for d, n, p, k in zip(dilation, x[2:], padding, w[2:]))
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


def test_conv2d_matches_a_loop_and_gradcheck_over_strides_paddings_dilations_groups():
    check_op(lambda x, w, b, **kw: tc.conv2d(x, w, b, **kw), loop_conv2d, n_inputs=3,
             shapes=conv_shapes(), params=conv_params, max_examples=25)


def test_conv_transpose2d_matches_a_scatter_loop_and_gradcheck():
    check_op(lambda x, w, b, **kw: tc.conv_transpose2d(x, w, b, **kw), loop_conv_transpose2d,
             n_inputs=3, shapes=conv_shapes(transpose=True),
             params=lambda s: conv_params(s, transpose=True), max_examples=25)


def test_conv_with_groups_and_dilation_matches_the_loop():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 6, 7, 8)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    out = tc.conv2d(tc.tensor(x), tc.tensor(w), tc.tensor(b), stride=(2, 1), padding=(2, 1),
                    dilation=(2, 3), groups=2)
    np.testing.assert_allclose(out.data, loop_conv2d(x, w, b, (2, 1), (2, 1), (2, 3), 2), rtol=1e-12)
    # depthwise: one group per channel
    wd = rng.standard_normal((6, 1, 3, 3))
    out = tc.conv2d(tc.tensor(x), tc.tensor(wd), padding=1, dilation=2, groups=6)
    np.testing.assert_allclose(out.data, loop_conv2d(x, wd, None, 1, 1, 2, 6), rtol=1e-12)


def test_conv2d_second_derivatives_gradgradcheck():
    rng = np.random.default_rng(1)
    x = tc.tensor(rng.standard_normal((2, 4, 5, 6)), requires_grad=True)
    w = tc.tensor(rng.standard_normal((4, 2, 3, 2)), requires_grad=True)
    b = tc.tensor(rng.standard_normal(4), requires_grad=True)
    tc.gradgradcheck(lambda x, w, b: tc.conv2d(x, w, b, stride=2, padding=1, dilation=(1, 2),
                                               groups=2), [x, w, b])


def test_conv_transpose2d_second_derivatives_gradgradcheck():
    rng = np.random.default_rng(2)
    x = tc.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    w = tc.tensor(rng.standard_normal((2, 3, 3, 2)), requires_grad=True)
    tc.gradgradcheck(lambda x, w: tc.conv_transpose2d(x, w, stride=2, padding=1,
                                                      output_padding=1), [x, w])


def test_conv2d_same_padding_keeps_the_size_and_puts_an_even_kernels_extra_pixel_last():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 4, 3))
    out = tc.conv2d(tc.tensor(x), tc.tensor(w), padding="same", dilation=(1, 2))
    assert out.shape == (1, 3, 5, 6)
    # total padding d(k-1) = (3, 4): top 1, bottom 2, left 2, right 2 (PyTorch's split)
    xp = np.zeros((1, 2, 8, 10))
    xp[:, :, 1:6, 2:8] = x
    np.testing.assert_allclose(out.data, loop_conv2d(xp, w, dilation=(1, 2)), rtol=1e-12)
    assert tc.conv2d(tc.tensor(x), tc.tensor(w), padding="valid").shape == (1, 3, 2, 4)


def test_conv2d_float32_stays_float32_and_takes_an_unbatched_image():
    x = tc.randn(3, 5, 5)
    w = tc.randn(4, 3, 3, 3)
    out = tc.conv2d(x, w, padding=1)
    assert out.shape == (4, 5, 5) and out.dtype == np.float32


def test_conv1d_matches_a_loop_on_a_height_one_image():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 4, 9)), rng.standard_normal((6, 2, 3)), rng.standard_normal(6)
    out = tc.conv1d(tc.tensor(x), tc.tensor(w), tc.tensor(b), stride=2, padding=1, dilation=2, groups=2)
    ref = loop_conv2d(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), (1, 2), 2)[:, :, 0]
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    assert tc.conv1d(tc.tensor(x), tc.tensor(w), padding="same", groups=2).shape == (2, 6, 9)
    tc.gradcheck(lambda x, w: tc.conv1d(x, w, stride=2, groups=2),
                 [tc.tensor(x, requires_grad=True), tc.tensor(w, requires_grad=True)])


@settings(max_examples=15, deadline=None)
@given(k=st.tuples(st.integers(1, 3), st.integers(1, 3)), s=st.integers(1, 2),
       p=st.integers(0, 1), d=st.integers(1, 2), h=st.integers(3, 5), w=st.integers(3, 5))
def test_unfold_matches_a_loop_and_fold_is_its_adjoint(k, s, p, d, h, w):
    if min(h, w) + 2 * p < d * (max(k) - 1) + 1:
        d = 1  # the dilated kernel must fit
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, h, w))
    cols = tc.unfold(tc.tensor(x), k, dilation=d, padding=p, stride=s)
    oh, ow = (h + 2 * p - d * (k[0] - 1) - 1) // s + 1, (w + 2 * p - d * (k[1] - 1) - 1) // s + 1
    xp = _padded(x, p, p)
    ref = np.stack([xp[:, :, i * s:i * s + d * (k[0] - 1) + 1:d, j * s:j * s + d * (k[1] - 1) + 1:d]
                    .reshape(2, -1) for i in range(oh) for j in range(ow)], axis=-1)
    np.testing.assert_allclose(cols.data, ref)
    y = rng.standard_normal(cols.shape)
    back = tc.fold(tc.tensor(y), (h, w), k, dilation=d, padding=p, stride=s)
    np.testing.assert_allclose((cols.data * y).sum(), (x * back.data).sum(), rtol=1e-10)


def test_unfold_and_fold_gradcheck_and_gradgradcheck():
    x = tc.tensor(np.random.default_rng(6).standard_normal((1, 2, 4, 5)), requires_grad=True)

    def f(x):
        cols = tc.unfold(x, (2, 3), padding=1, stride=(1, 2))
        return tc.fold(cols * cols, (4, 5), (2, 3), padding=1, stride=(1, 2))

    tc.gradcheck(f, [x])
    tc.gradgradcheck(f, [x])


def test_conv_ops_are_in_nn_functional():
    for name in ("conv1d", "conv2d", "conv_transpose2d", "unfold", "fold"):
        assert getattr(nn.F, name) is getattr(tc, name)


def test_conv2d_channel_mismatch_names_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"conv2d: the input has 3 channels.*\(4, 2, 3, 3\)"):
        tc.conv2d(tc.randn(1, 3, 5, 5), tc.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="conv2d: .*divisible by groups=2"):
        tc.conv2d(tc.randn(1, 3, 5, 5), tc.randn(4, 1, 3, 3), groups=2)
    with pytest.raises(ValueError, match="conv2d: an input of spatial size"):
        tc.conv2d(tc.randn(1, 1, 2, 2), tc.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        tc.conv2d(tc.randn(1, 1, 5, 5), tc.randn(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="output_padding"):
        tc.conv_transpose2d(tc.randn(1, 1, 3, 3), tc.randn(1, 1, 3, 3), stride=2, output_padding=2)
