"""Layers of issue 14: Flatten/Unflatten, LayerNorm, GroupNorm, BatchNorm2d, Embedding, Dropout2d,
MultiheadAttention, the convolution and pooling layers: forward against NumPy written here,
gradients (input and every parameter) against centered differences in float64."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.testing import shapes


def module_gradcheck(module, x):
    """gradcheck of module(x) in x and in every parameter (the parameters are swapped for the
    checker's float64 copies during each call, then put back)."""
    module.double()
    slots = [(m, name) for _, m in module.named_modules()
             for name, p in m._parameters.items() if p is not None]
    originals = [m.__dict__[name] for m, name in slots]

    def fn(x, *params):
        for (m, name), p in zip(slots, params):
            m.__dict__[name] = p
        return module(x)

    try:
        assert tc.gradcheck(fn, [tc.tensor(np.asarray(x, np.float64), requires_grad=True),
                                 *[tc.tensor(p.data, requires_grad=True) for p in originals]])
    finally:
        for (m, name), p in zip(slots, originals):
            m.__dict__[name] = p


def _randomize(module, seed=0):
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p.data[...] = rng.uniform(0.5, 1.5, p.shape) * rng.choice([-1, 1], p.shape)
    return module


# ---- Flatten, Unflatten, Identity --------------------------------------------------------
def test_flatten_keeps_the_batch_axis_by_default():
    x = tc.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)


def test_unflatten_inverts_flatten():
    x = tc.randn(2, 3, 4)
    y = nn.Unflatten(1, (3, 4))(nn.Flatten()(x))
    np.testing.assert_array_equal(y.data, x.data)
    assert nn.Unflatten(-1, (2, -1))(tc.randn(5, 6)).shape == (5, 2, 3)


def test_unflatten_refuses_a_size_that_does_not_fit():
    with pytest.raises(ValueError, match=r"length 6, which cannot be unflattened into \(4, 2\)"):
        nn.Unflatten(1, (4, 2))(tc.randn(5, 6))


def test_identity_takes_and_ignores_constructor_arguments_as_pytorch():
    x = tc.randn(3)
    assert nn.Identity(54, unused="argument")(x) is x


# ---- LayerNorm ----------------------------------------------------------------------------
def _layer_norm_ref(x, k, w, b, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    mu, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


@given(shapes(min_dims=1, max_dims=3, min_side=2, max_side=4), st.integers(1, 3))
def test_layer_norm_matches_numpy_over_the_last_axes(shape, k):
    k = min(k, len(shape))
    ln = _randomize(nn.LayerNorm(shape[len(shape) - k:])).double()
    x = np.random.default_rng(1).standard_normal((2,) + shape)
    np.testing.assert_allclose(ln(tc.tensor(x)).data,
                               _layer_norm_ref(x, k, ln.weight.data, ln.bias.data), rtol=1e-10)


def test_layer_norm_gradients_in_input_weight_and_bias():
    module_gradcheck(_randomize(nn.LayerNorm((3, 2))), np.random.default_rng(2).standard_normal((2, 3, 2)))


def test_layer_norm_second_derivative():
    x = tc.tensor(np.random.default_rng(3).standard_normal((2, 4)), requires_grad=True)
    assert tc.gradgradcheck(lambda x: nn.norm.layer_norm(x, (4,)), [x])


def test_layer_norm_without_affine_has_no_parameters():
    ln = nn.LayerNorm(4, elementwise_affine=False)
    assert list(ln.parameters()) == []
    out = ln(tc.randn(3, 4)).data
    np.testing.assert_allclose(out.mean(-1), 0, atol=1e-6)


def test_layer_norm_refuses_a_wrong_trailing_shape():
    with pytest.raises(ValueError, match=r"last axes must have shape \(4,\), got an input of shape \(3, 5\)"):
        nn.LayerNorm(4)(tc.randn(3, 5))


# ---- GroupNorm ----------------------------------------------------------------------------
def _group_norm_ref(x, g, w, b, eps=1e-5):
    n, c = x.shape[:2]
    xg = x.reshape(n, g, -1)
    out = ((xg - xg.mean(-1, keepdims=True)) / np.sqrt(xg.var(-1, keepdims=True) + eps)).reshape(x.shape)
    shape = (c,) + (1,) * (x.ndim - 2)
    return out * w.reshape(shape) + b.reshape(shape)


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_group_norm_matches_numpy(groups):
    gn = _randomize(nn.GroupNorm(groups, 4)).double()
    x = np.random.default_rng(4).standard_normal((3, 4, 2, 3))
    np.testing.assert_allclose(gn(tc.tensor(x)).data,
                               _group_norm_ref(x, groups, gn.weight.data, gn.bias.data), rtol=1e-10)


def test_group_norm_gradients_in_input_weight_and_bias():
    module_gradcheck(_randomize(nn.GroupNorm(2, 4)), np.random.default_rng(5).standard_normal((2, 4, 3)))


def test_group_norm_refuses_channels_not_divisible_by_groups():
    with pytest.raises(ValueError, match="num_channels=5 is not divisible by num_groups=2"):
        nn.GroupNorm(2, 5)


# ---- BatchNorm2d --------------------------------------------------------------------------
def test_batch_norm_2d_normalizes_each_channel_over_batch_and_space():
    bn = _randomize(nn.BatchNorm2d(3)).double()
    x = np.random.default_rng(6).standard_normal((4, 3, 2, 5)) * 3 + 1
    mu, var = x.mean((0, 2, 3), keepdims=True), x.var((0, 2, 3), keepdims=True)
    g, b = bn.gamma.data.reshape(1, 3, 1, 1), bn.beta.data.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(bn(tc.tensor(x)).data, g * (x - mu) / np.sqrt(var + 1e-5) + b,
                               rtol=1e-10)
    # The course's EWA with momentum as beta: running = 0.9 * running + 0.1 * batch.
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * mu.reshape(3), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * var.reshape(3), rtol=1e-12)


def test_batch_norm_2d_eval_uses_the_running_averages():
    bn = nn.BatchNorm2d(2).double()
    bn.running_mean.data[...] = [1.0, -1.0]
    bn.running_var.data[...] = [4.0, 0.25]
    x = np.random.default_rng(7).standard_normal((1, 2, 3, 3))
    out = bn.eval()(tc.tensor(x)).data
    expect = (x - np.array([1, -1]).reshape(1, 2, 1, 1)) / np.sqrt(np.array([4, 0.25]).reshape(1, 2, 1, 1) + 1e-5)
    np.testing.assert_allclose(out, expect, rtol=1e-10)


def test_batch_norm_2d_gradients_in_input_gamma_and_beta():
    module_gradcheck(_randomize(nn.BatchNorm2d(2)), np.random.default_rng(8).standard_normal((2, 2, 2, 3)))


def test_batch_norm_weight_and_bias_are_gamma_and_beta():
    bn = nn.BatchNorm2d(3)
    assert bn.weight is bn.gamma and bn.bias is bn.beta


def test_pytorch_batch_norm_momentum_warns_with_a_conversion_that_works():
    import warnings
    with pytest.warns(UserWarning, match=r"PyTorch's momentum=0.1 is momentum=0.9 here"):
        nn.BatchNorm2d(3, momentum=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.BatchNorm2d(3, momentum=0.9)


# ---- Embedding ----------------------------------------------------------------------------
def test_embedding_gives_the_rows_of_its_table():
    emb = nn.Embedding(5, 3)
    ids = np.array([[4, 0], [2, 2]])
    np.testing.assert_array_equal(emb(ids).data, emb.weight.data[ids])


def test_embedding_gradients_of_repeated_ids_add_up():
    emb = nn.Embedding(4, 2).double()
    g = np.arange(10.0).reshape(5, 2)
    emb(np.array([1, 3, 1, 1, 0])).backward(tc.tensor(g))
    expect = np.zeros((4, 2))
    for i, row in zip([1, 3, 1, 1, 0], g):
        expect[i] += row
    np.testing.assert_array_equal(emb.weight.grad.data, expect)


def test_embedding_gradient_matches_numerical_differences():
    w = tc.tensor(np.random.default_rng(9).standard_normal((4, 3)), requires_grad=True)
    assert tc.gradcheck(lambda w: nn.embedding.embedding(np.array([0, 2, 2, 3]), w), [w])
    assert tc.gradgradcheck(lambda w: nn.embedding.embedding(np.array([0, 2, 2]), w) ** 2, [w])


def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(4, 2, padding_idx=1)
    np.testing.assert_array_equal(emb.weight.data[1], 0)
    emb(np.array([1, 2, 1])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data, [[0, 0], [0, 0], [1, 1], [0, 0]])


def test_embedding_refuses_float_ids_and_out_of_range_ids():
    emb = nn.Embedding(4, 2)
    with pytest.raises(TypeError, match=r"astype\(np.int64\)"):
        emb(np.array([0.0, 1.0]))
    assert emb(np.array([0.0, 1.0]).astype(np.int64)).shape == (2, 2)
    with pytest.raises(IndexError, match="id 4 is out of range for an embedding table of 4 rows"):
        emb(np.array([4]))


# ---- Dropout2d ----------------------------------------------------------------------------
def test_dropout2d_keeps_or_drops_whole_channels_scaled_by_one_over_keep_prob():
    out = nn.Dropout2d(keep_prob=0.5, generator=tc.Generator(0))(tc.ones(8, 6, 3, 3)).data
    per_channel = out.reshape(8, 6, 9)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # one value per channel
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert 0 < (out == 0).mean() < 1


def test_dropout2d_is_the_identity_in_eval():
    x = tc.randn(2, 3, 4, 4)
    assert nn.Dropout2d(0.8).eval()(x) is x


def test_dropout2d_gradient_uses_the_same_mask():
    x = tc.ones(4, 5, 2, 2, requires_grad=True)
    out = nn.Dropout2d(0.5, generator=tc.Generator(1))(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, out.data)


@pytest.mark.parametrize("layer", [nn.Dropout, nn.Dropout2d])
def test_pytorch_p_is_refused_with_a_keep_prob_that_works(layer):
    with pytest.raises(TypeError, match=r"write \w+\(keep_prob=0.8\)") as info:
        layer(p=0.2)
    fix = str(info.value).split("write ")[1]
    assert eval("nn." + fix).keep_prob == 0.8


def test_functional_dropout_refuses_p_too():
    with pytest.raises(TypeError, match=r"keep_prob=0.7"):
        nn.F.dropout(tc.ones(3), p=0.3)


# ---- MultiheadAttention -------------------------------------------------------------------
def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _mha_ref(mha, q, k, v, mask=None):
    """Plain NumPy multi-head attention, batch first, head by head."""
    e, h = mha.embed_dim, mha.num_heads
    d = e // h
    W, B = mha.in_proj_weight.data, mha.in_proj_bias.data
    Q, K, V = q @ W[:e].T + B[:e], k @ W[e:2 * e].T + B[e:2 * e], v @ W[2 * e:].T + B[2 * e:]
    outs, weights = [], []
    for i in range(h):
        sl = slice(i * d, (i + 1) * d)
        s = Q[..., sl] @ K[..., sl].swapaxes(-1, -2) / math.sqrt(d)
        if mask is not None:
            s = np.where(mask, -np.inf, s)
        a = _softmax(s)
        outs.append(a @ V[..., sl])
        weights.append(a)
    out = np.concatenate(outs, -1) @ mha.out_proj.weight.data.T + mha.out_proj.bias.data
    return out, np.mean(weights, 0)


def _mha(batch_first=True):
    m = nn.MultiheadAttention(4, 2, batch_first=batch_first, generator=tc.Generator(0)).double()
    with tc.no_grad():
        m.in_proj_bias.data[...] = np.linspace(-1, 1, 12)
        m.out_proj.bias.data[...] = [0.1, -0.2, 0.3, 0.0]
    return m


def test_multihead_attention_matches_a_numpy_reference():
    m = _mha()
    rng = np.random.default_rng(10)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 4))
    out, w = m(tc.tensor(q), tc.tensor(k), tc.tensor(v))
    ref_out, ref_w = _mha_ref(m, q, k, v)
    np.testing.assert_allclose(out.data, ref_out, rtol=1e-10)
    np.testing.assert_allclose(w.data, ref_w, rtol=1e-10)


def test_multihead_attention_with_a_causal_mask_matches_the_reference():
    m = _mha()
    x = np.random.default_rng(11).standard_normal((2, 4, 4))
    causal = np.triu(np.ones((4, 4), bool), 1)
    out, w = m(tc.tensor(x), tc.tensor(x), tc.tensor(x), attn_mask=causal)
    ref_out, ref_w = _mha_ref(m, x, x, x, causal)
    np.testing.assert_allclose(out.data, ref_out, rtol=1e-10)
    np.testing.assert_allclose(w.data, ref_w, rtol=1e-10)
    assert np.all(w.data[:, causal] == 0)


def test_multihead_attention_sequence_first_is_the_transposed_batch_first():
    a, b = _mha(True), _mha(False)
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(12).standard_normal((2, 3, 4))
    out_a, _ = a(*[tc.tensor(x)] * 3)
    out_b, _ = b(*[tc.tensor(x.swapaxes(0, 1))] * 3)
    np.testing.assert_allclose(out_b.data.swapaxes(0, 1), out_a.data, rtol=1e-12)


def test_multihead_attention_key_padding_mask_ignores_padded_keys():
    m = _mha()
    x = np.random.default_rng(13).standard_normal((2, 3, 4))
    pad = np.array([[False, False, True], [False, False, False]])
    _, w = m(*[tc.tensor(x)] * 3, key_padding_mask=pad)
    assert np.all(w.data[0, :, 2] == 0) and np.all(w.data[1, :, 2] > 0)


def test_multihead_attention_gradients():
    m = _mha()

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = m

        def forward(self, x):
            return self.mha(x, x, x, attn_mask=np.triu(np.ones((3, 3), bool), 1))[0]

    module_gradcheck(SelfAttention(), np.random.default_rng(14).standard_normal((2, 3, 4)))


# ---- convolution and pooling layers -------------------------------------------------------
def test_conv2d_layer_is_conv2d_with_its_weight_and_bias():
    layer = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    x = tc.randn(2, 3, 7, 7)
    np.testing.assert_array_equal(layer(x).data, nn.F.conv2d(x, layer.weight, layer.bias, 2, 1).data)
    assert layer.weight.shape == (4, 3, 3, 3) and layer.bias.shape == (4,)


def test_conv_layers_draw_he_weights_and_zero_biases():
    layer = nn.Conv2d(8, 64, 3, generator=tc.Generator(0))
    assert abs(layer.weight.data.std() / math.sqrt(2 / (8 * 9)) - 1) < 0.05
    np.testing.assert_array_equal(layer.bias.data, 0)


def test_conv2d_layer_gradients():
    module_gradcheck(nn.Conv2d(2, 3, 2, padding=1, generator=tc.Generator(0)),
                     np.random.default_rng(15).standard_normal((1, 2, 3, 3)))


def test_conv1d_layer_gradients_and_shape():
    layer = nn.Conv1d(2, 3, 3, padding=1, generator=tc.Generator(0))
    assert layer(tc.randn(2, 2, 5)).shape == (2, 3, 5)
    module_gradcheck(layer, np.random.default_rng(16).standard_normal((1, 2, 4)))


def test_conv_transpose2d_layer_upsamples_and_has_pytorchs_weight_layout():
    layer = nn.ConvTranspose2d(3, 2, 2, stride=2, generator=tc.Generator(0))
    assert layer.weight.shape == (3, 2, 2, 2)
    assert layer(tc.randn(1, 3, 4, 5)).shape == (1, 2, 8, 10)
    module_gradcheck(layer, np.random.default_rng(17).standard_normal((1, 3, 2, 2)))


def test_conv_layer_refuses_a_wrong_channel_count_naming_the_layout():
    with pytest.raises(ValueError, match=r"expected an input of shape \(N, 3, H, W\), got shape \(2, 4, 5, 5\)"):
        nn.Conv2d(3, 4, 3)(tc.randn(2, 4, 5, 5))


def test_pooling_layers_match_numpy():
    x = np.random.default_rng(18).standard_normal((2, 3, 4, 6))
    blocks = x.reshape(2, 3, 2, 2, 3, 2)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(tc.tensor(x)).data, blocks.max((3, 5)))
    np.testing.assert_allclose(nn.AvgPool2d(2)(tc.tensor(x)).data, blocks.mean((3, 5)), rtol=1e-12)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(tc.tensor(x)).data,
                               x.mean((2, 3), keepdims=True), rtol=1e-12)


def test_a_small_cnn_trains_end_to_end():
    tc.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    x = tc.randn(8, 1, 8, 8)
    y = np.array([0, 1] * 4)
    opt = tc.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(15):
        loss = nn.F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
