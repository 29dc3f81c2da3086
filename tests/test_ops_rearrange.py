"""Rearranging ops and pad's modes: forward vs NumPy, gradients vs numerical differences."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import check_op, shapes, tensors

SMALL = shapes(max_dims=3, max_side=4)
NONEMPTY = shapes(min_dims=1, max_dims=3, max_side=4)
MATRICES = shapes(min_dims=2, max_dims=3, max_side=4)


def axes_subset(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({"axis": st.none() | st.lists(
        st.integers(-nd, nd - 1), unique_by=lambda a: a % nd, max_size=nd).map(tuple)})


def test_flip():
    check_op(tc.flip, lambda x, axis: np.flip(x, axis), shapes=NONEMPTY, params=axes_subset)


def test_flip_takes_pytorch_dims():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tc.flip(tc.tensor(x), dims=(1,)).data, x[:, ::-1])


def roll_params(shps):
    nd = len(shps[0])
    return st.one_of(
        st.fixed_dictionaries({"shift": st.integers(-5, 5), "axis": st.none() | st.integers(-nd, nd - 1)}),
        st.fixed_dictionaries({"shift": st.tuples(st.integers(-5, 5), st.integers(-5, 5)),
                               "axis": st.just((0, nd - 1))}))


def test_roll():
    check_op(lambda x, shift, axis: tc.roll(x, shift, axis), np.roll, shapes=NONEMPTY,
             params=roll_params)


def test_tile():
    check_op(tc.tile, np.tile, shapes=SMALL, params=lambda s: st.fixed_dictionaries(
        {"reps": st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple) | st.integers(1, 3)}))


def test_repeat_is_pytorchs_tiling_with_a_size_per_dim():
    x = tc.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.repeat(2, 1, 2).data, np.tile(x.data, (2, 1, 2)))
    np.testing.assert_array_equal(tc.repeat(x, (1, 2)).data, np.tile(x.data, (1, 2)))


def test_repeat_with_fewer_sizes_than_dims_points_to_tile_and_repeat_interleave():
    with pytest.raises(ValueError, match="repeat: 1 sizes for a tensor with 2 dimensions.*repeat_interleave"):
        tc.ones(2, 3).repeat(2)
    with pytest.raises(TypeError, match="repeat_interleave"):
        tc.ones(2, 3).repeat(2, axis=0)


def test_repeat_gradient_sums_the_copies():
    x = tc.tensor(np.arange(3.0), requires_grad=True)
    x.repeat(2, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0, 4.0])


def interleave_params(shps):
    s = shps[0]
    nd = len(s)
    return st.one_of(
        st.fixed_dictionaries({"repeats": st.integers(0, 3), "axis": st.none() | st.integers(-nd, nd - 1)}),
        st.integers(0, nd - 1).flatmap(lambda ax: st.fixed_dictionaries({
            "axis": st.just(ax),
            "repeats": st.lists(st.integers(0, 3), min_size=s[ax], max_size=s[ax]).map(np.array)})))


def test_repeat_interleave():
    check_op(lambda x, repeats, axis: tc.repeat_interleave(x, repeats, axis),
             lambda x, repeats, axis: np.repeat(x, repeats, axis), shapes=NONEMPTY,
             params=interleave_params)


def test_repeat_interleave_repeated_elements_accumulate_gradient():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    tc.repeat_interleave(x, tc.tensor([3, 1]), dim=0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 1.0])


@given(x=tensors(NONEMPTY), chunks=st.integers(1, 5), data=st.data())
def test_chunk_matches_torch_chunk_sizes_and_joins_back(x, chunks, data):
    axis = data.draw(st.integers(0, x.ndim - 1))
    n = x.shape[axis]
    size = -(-n // chunks)
    parts = tc.chunk(x, chunks, dim=axis)
    assert [p.shape[axis] for p in parts] == [min(size, n - i) for i in range(0, n, size)]
    np.testing.assert_array_equal(np.concatenate([p.data for p in parts], axis), x.data)


def test_chunk_gradient_flows_to_every_piece():
    x = tc.tensor(np.arange(5.0), requires_grad=True)
    a, b, c = tc.chunk(x, 3)
    (a.sum() + 2 * b.sum() + 3 * c.sum()).backward()
    np.testing.assert_array_equal(x.grad.data, [1, 1, 2, 2, 3])


def test_unflatten():
    check_op(lambda x: tc.unflatten(x, 1, (2, -1)), lambda x: x.reshape(x.shape[0], 2, -1, *x.shape[2:]),
             shapes=st.tuples(st.integers(1, 3), st.sampled_from([2, 4, 6]), st.integers(1, 2)))


def test_unflatten_refuses_sizes_that_do_not_multiply_to_the_axis():
    with pytest.raises(ValueError, match=r"unflatten: sizes \(4, 2\) do not multiply to 6"):
        tc.unflatten(tc.ones(6), 0, (4, 2))


@pytest.mark.parametrize("op", ["tril", "triu"])
def test_triangles(op):
    check_op(getattr(tc, op), getattr(np, op), shapes=MATRICES,
             params=lambda s: st.fixed_dictionaries({"k": st.integers(-3, 3)}))


def test_tril_is_zero_above_the_diagonal_even_where_x_is_inf():
    # PyTorch's tril writes zeros (no inf * 0 = NaN), and the gradient there is zero.
    x = tc.tensor(np.full((2, 2), np.inf), requires_grad=True)
    out = tc.tril(x, diagonal=0)
    assert out.data[0, 1] == 0
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 0], [1, 1]])


def diagonal_params(shps):
    nd = len(shps[0])
    return st.tuples(st.integers(-nd, nd - 1), st.integers(-nd, nd - 1)).filter(
        lambda p: p[0] % nd != p[1] % nd).flatmap(lambda p: st.fixed_dictionaries(
            {"offset": st.integers(-3, 3), "axis1": st.just(p[0]), "axis2": st.just(p[1])}))


def test_diagonal():
    check_op(tc.diagonal, np.diagonal, shapes=MATRICES, params=diagonal_params)


def test_trace():
    check_op(tc.trace, np.trace, shapes=MATRICES, params=diagonal_params)


def test_diag_of_a_vector_and_of_a_matrix():
    k = {"k": st.integers(-2, 2)}
    check_op(tc.diag, np.diag, shapes=shapes(1, 2, max_side=4), params=lambda s: st.fixed_dictionaries(k))


def test_diagonal_second_derivative():
    x = tc.tensor(np.random.default_rng(0).normal(size=(3, 3)), requires_grad=True)
    tc.gradgradcheck(lambda x: tc.diagonal(x, 1) ** 2, [x])
    v = tc.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    tc.gradgradcheck(lambda v: tc.diag(v, -1) ** 3, [v])


def test_meshgrid_matches_numpy_for_both_indexings():
    a, b, c = (tc.tensor(np.arange(n, dtype=np.float64)) for n in (2, 3, 4))
    for indexing in ("xy", "ij"):
        got = tc.meshgrid(a, b, c, indexing=indexing)
        want = np.meshgrid(a.data, b.data, c.data, indexing=indexing)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.data, w)


def test_meshgrid_gradient_sums_over_the_broadcast_axes():
    a = tc.tensor([1.0, 2.0], requires_grad=True)
    b = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x, y = tc.meshgrid(a, b)  # shapes (3, 2)
    (x * y).sum().backward()
    np.testing.assert_allclose(a.grad.data, [6.0, 6.0])
    np.testing.assert_allclose(b.grad.data, [3.0, 3.0, 3.0])


def test_flip_roll_tile_second_derivatives():
    x = tc.tensor(np.random.default_rng(1).normal(size=(2, 3)), requires_grad=True)
    tc.gradgradcheck(lambda x: tc.flip(x, 1) ** 3, [x])
    tc.gradgradcheck(lambda x: tc.roll(x, 2, 1) ** 3, [x])
    tc.gradgradcheck(lambda x: tc.tile(x, (2, 1)) ** 3, [x])


# ---- pad -----------------------------------------------------------------------------
NUMPY_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "edge": "edge",
              "circular": "wrap"}


def pad_params(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({
        "pad_width": st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)),
                              min_size=nd, max_size=nd).map(tuple),
        "mode": st.sampled_from(sorted(NUMPY_MODE))})


def test_pad_modes():
    # reflect, edge and wrap copy elements: the gradient adds g back to each source element.
    check_op(lambda x, pad_width, mode: tc.pad(x, pad_width, mode=mode),
             lambda x, pad_width, mode: np.pad(x, pad_width, mode=NUMPY_MODE[mode]),
             shapes=NONEMPTY, params=pad_params)


def reference_crop_pad(x, pad_width, mode):
    # PyTorch's F.pad with negative widths: crop that side first, then pad the rest.
    pw = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
    crop = tuple(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in zip(pw, x.shape))
    return np.pad(x[crop], np.maximum(pw, 0), mode=NUMPY_MODE[mode])


def crop_params(shps):
    return st.fixed_dictionaries({
        "pad_width": st.tuples(*(st.tuples(st.integers(-(n // 2), 2), st.integers(-(n // 2), 2))
                                 for n in shps[0])),
        "mode": st.sampled_from(sorted(NUMPY_MODE))})


def test_pad_crop():
    check_op(lambda x, pad_width, mode: tc.pad(x, pad_width, mode=mode), reference_crop_pad,
             shapes=NONEMPTY, params=crop_params)


def test_pad_crop_example():
    x = tc.tensor(np.arange(5.0))
    np.testing.assert_array_equal(tc.pad(x, (-2, 1)).data, [2, 3, 4, 0])
    np.testing.assert_array_equal(tc.pad(x, (-1, 2), mode="circular").data, [1, 2, 3, 4, 1, 2])


def test_pad_keeps_the_numpy_signature():
    x = tc.tensor(np.arange(3.0))
    np.testing.assert_array_equal(tc.pad(x, 1, 7.0).data, [7, 0, 1, 2, 7])
    np.testing.assert_array_equal(tc.pad(x, 1, constant_values=7.0).data, [7, 0, 1, 2, 7])
    np.testing.assert_array_equal(tc.pad(x, 2, "reflect").data, np.pad(x.data, 2, "reflect"))


def test_pad_reflect_second_derivative():
    x = tc.tensor(np.random.default_rng(2).normal(size=(3, 3)), requires_grad=True)
    tc.gradgradcheck(lambda x: tc.pad(x, ((1, 2), (2, 0)), mode="reflect") ** 3, [x])


def test_pad_refuses_an_unknown_mode_and_a_value_outside_constant_mode():
    with pytest.raises(ValueError, match="pad: unknown mode 'mirror'"):
        tc.pad(tc.ones(3), 1, mode="mirror")
    with pytest.raises(ValueError, match="only applies to mode='constant'"):
        tc.pad(tc.ones(3), 1, 2.0, mode="reflect")


def test_functional_pad_takes_pytorchs_flat_last_dim_first_widths():
    x = np.arange(24.0).reshape(2, 3, 4)
    got = tc.nn.F.pad(tc.tensor(x), (1, 2, -1, 0), mode="replicate")
    np.testing.assert_array_equal(got.data, np.pad(x[:, 1:], ((0, 0), (0, 0), (1, 2)), mode="edge"))
    assert tc.nn.F.pad(tc.tensor(x), (1, 1), value=3.0).data[0, 0, 0] == 3.0


@settings(max_examples=10)
@given(x=tensors(NONEMPTY, dtype=np.float32))
def test_rearranging_keeps_float32(x):
    for out in (tc.flip(x), tc.roll(x, 1), tc.tile(x, 2), tc.pad(x, 1, mode="reflect"),
                tc.repeat_interleave(x, 2)):
        assert out.dtype == np.float32
