"""Gather/scatter ops: forward vs plain loops or NumPy, gradients vs numerical differences,
repeated indices accumulating, and PyTorch's gradient conventions for scatter and masked_fill."""
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_course as tc
from tinygrad_course.testing import check_op, shapes, tensors

NONEMPTY = shapes(min_dims=1, max_dims=3, max_side=4)


def gather_loop(x, dim, index):
    """torch.gather written out: out[i...] = x[i... with index[i...] at dim]."""
    out = np.empty(index.shape, x.dtype)
    for pos in itertools.product(*map(range, index.shape)):
        src = list(pos)
        src[dim] = index[pos]
        out[pos] = x[tuple(src)]
    return out


@st.composite
def gather_index(draw, shape, larger_along_dim=True):
    """A dim and an index with x's ndim, no larger than x off dim; repeats and negatives drawn."""
    dim = draw(st.integers(0, len(shape) - 1))
    ishape = tuple(draw(st.integers(1, n)) if d != dim else draw(st.integers(1, 2 * n if larger_along_dim else n))
                   for d, n in enumerate(shape))
    index = draw(hnp.arrays(np.int64, ishape, elements=st.integers(-shape[dim], shape[dim] - 1)))
    return dim, index


def test_gather():
    check_op(lambda x, dim, index: tc.gather(x, dim, index),
             lambda x, dim, index: gather_loop(x, dim, index), shapes=NONEMPTY,
             params=lambda s: gather_index(s[0]).map(lambda p: {"dim": p[0], "index": p[1]}))


def test_gather_repeated_indices_accumulate():
    x = tc.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    tc.gather(x, 1, [[0, 0, 2, 0]]).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[3.0, 0.0, 1.0]])


def test_gather_second_derivative():
    x = tc.tensor(np.random.default_rng(0).normal(size=(3, 2)), requires_grad=True)
    tc.gradgradcheck(lambda x: tc.gather(x, 0, [[0, 2], [0, 0]]) ** 3, [x])


def test_gather_of_a_0d_tensor():
    x = tc.tensor(2.5)
    assert tc.gather(x, 0, np.array(0)).item() == 2.5


def take_params(shps):
    s = shps[0]

    @st.composite
    def draw(d):
        axis = d(st.integers(-len(s), len(s) - 1))
        n = s[axis]
        # indices broadcast against x off the axis: each other side is x's or 1.
        ishape = tuple(d(st.integers(0, 5)) if k == axis % len(s) else d(st.sampled_from([1, m]))
                       for k, m in enumerate(s))
        return {"indices": d(hnp.arrays(np.int64, ishape, elements=st.integers(-n, n - 1))),
                "axis": axis}
    return draw()


def test_take_along_axis():
    check_op(lambda x, indices, axis: tc.take_along_axis(x, indices, axis),
             lambda x, indices, axis: np.take_along_axis(x, indices, axis), shapes=NONEMPTY,
             params=take_params)


def test_take_along_axis_flattened_and_torch_dim():
    x = tc.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(tc.take_along_axis(x, [5, 0], None).data, [5, 0])
    np.testing.assert_array_equal(x.take_along_dim(tc.tensor([[2], [0]]), dim=1).data, [[2], [3]])
    np.testing.assert_array_equal(x.take_along_dim(tc.tensor([4])).data, [4])  # torch: flattened


def index_select_params(shps):
    s = shps[0]
    return st.integers(0, len(s) - 1).flatmap(lambda d: st.fixed_dictionaries({
        "dim": st.just(d),
        "index": hnp.arrays(np.int64, st.integers(0, 6), elements=st.integers(-s[d], s[d] - 1))}))


def test_index_select():
    check_op(lambda x, dim, index: tc.index_select(x, dim, index),
             lambda x, dim, index: np.take(x, index, axis=dim), shapes=NONEMPTY,
             params=index_select_params)


def test_index_select_repeated_indices_accumulate():
    x = tc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x.index_select(0, tc.tensor([1, 1, 1])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 0], [3, 3]])


def scatter_loop(x, dim, index, src, add):
    out = x.copy()
    for pos in itertools.product(*map(range, index.shape)):
        dst = list(pos)
        dst[dim] = index[pos]
        if add:
            out[tuple(dst)] += src[pos]
        else:
            out[tuple(dst)] = src[pos]
    return out


@st.composite
def scatter_case(draw, unique: bool):
    """x, src and an index for scatter: src at least the index's size; with `unique`, no two
    index entries write the same place (scatter with repeats keeps an arbitrary one)."""
    shape = draw(NONEMPTY)
    dim = draw(st.integers(0, len(shape) - 1))
    ishape = tuple(draw(st.integers(1, n)) for n in shape)
    n = shape[dim]
    if unique:
        cols = [draw(st.permutations(range(n))) for _ in range(int(np.prod(ishape)) // ishape[dim])]
        index = np.moveaxis(np.array([c[:ishape[dim]] for c in cols]).reshape(
            *(k for d, k in enumerate(ishape) if d != dim), ishape[dim]), -1, dim)
    else:
        index = draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, n - 1)))
    src_shape = tuple(k + draw(st.integers(0, 1)) for k in ishape)
    x = draw(tensors(shape, requires_grad=True))
    src = draw(tensors(src_shape, requires_grad=True))
    return x, dim, np.ascontiguousarray(index), src


def check_scatter(op, case, add: bool):
    x, dim, index, src = case
    np.testing.assert_allclose(op(x, dim, index, src).data,
                               scatter_loop(x.data, dim, index, src.data, add))
    tc.gradcheck(lambda x, s: op(x, dim, index, s), [x, src])


@given(scatter_case(unique=True))
def test_scatter(case):
    check_scatter(tc.scatter, case, add=False)


def test_scatter_gradient_is_zero_where_overwritten():
    # PyTorch's convention: grad_x = g with the scattered places zeroed; grad_src = g gathered
    # at the index, so each repeated write gets the gradient of its target.
    x = tc.tensor(np.zeros((2, 3)), requires_grad=True)
    src = tc.tensor(np.ones((1, 3)), requires_grad=True)
    g = np.arange(6.0).reshape(2, 3)
    tc.scatter(x, 1, [[0, 0, 2]], src).backward(g)
    np.testing.assert_array_equal(x.grad.data, [[0, 1, 0], [3, 4, 5]])
    np.testing.assert_array_equal(src.grad.data, [[0, 0, 2]])


def test_scatter_a_value():
    x = tc.tensor(np.zeros((2, 2)), requires_grad=True)
    out = x.scatter(0, [[1, 0]], value=5.0)
    np.testing.assert_array_equal(out.data, [[0, 5], [5, 0]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 0], [0, 1]])


@given(scatter_case(unique=False))
def test_scatter_add_repeated_indices_accumulate(case):
    check_scatter(tc.scatter_add, case, add=True)


def test_scatter_add_second_derivative():
    x = tc.tensor(np.ones(3), requires_grad=True)
    s = tc.tensor([0.5, -1.0, 2.0], requires_grad=True)
    tc.gradgradcheck(lambda x, s: tc.scatter_add(x, 0, [0, 0, 2], s) ** 3, [x, s])


def test_put_along_axis_changes_x_in_place_like_numpy():
    a = np.arange(6.0).reshape(2, 3)
    x = tc.tensor(a.copy())
    assert tc.put_along_axis(x, np.array([[2], [0]]), -1.0, axis=1) is None
    np.put_along_axis(a, np.array([[2], [0]]), -1.0, axis=1)
    np.testing.assert_array_equal(x.data, a)


def test_put_along_axis_records_the_change_for_backward():
    w = tc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = tc.tensor([10.0], requires_grad=True)
    h = w * 2
    tc.put_along_axis(h, np.array([1]), v, axis=0)
    (h * tc.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [2, 0, 6])
    np.testing.assert_array_equal(v.grad.data, [2])


def mask_params(shps):
    s = shps[0]
    return st.fixed_dictionaries({"mask": hnp.arrays(np.bool_, hnp.broadcastable_shapes(s, max_dims=len(s))),
                                  "value": st.sampled_from([0.0, -2.5])})


def fill_mask_params(shps):
    # masked_fill's mask broadcasts *to* x's shape: drop leading axes, set some sides to 1.
    s = shps[0]
    mask_shape = st.integers(0, len(s)).flatmap(lambda k: st.tuples(
        *(st.sampled_from([1, n]) for n in s[k:])))
    return st.fixed_dictionaries({"mask": hnp.arrays(np.bool_, mask_shape),
                                  "value": st.sampled_from([0.0, -2.5])})


def test_masked_fill():
    # The gradient is zero at the masked positions (PyTorch's masked_fill convention).
    check_op(lambda x, mask, value: tc.masked_fill(x, mask, value),
             lambda x, mask, value: np.where(mask, value, x), shapes=shapes(max_dims=3, max_side=4),
             params=fill_mask_params)


def test_masked_fill_with_inf_keeps_dtype_and_zero_gradient():
    x = tc.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    out = x.masked_fill(tc.tensor([True, False]), -np.inf)
    assert out.dtype == np.float32 and out.data[0] == -np.inf
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1])


def test_masked_fill_a_tensor_value_gets_the_masked_gradient():
    x = tc.tensor(np.ones(3), requires_grad=True)
    v = tc.tensor(2.0, dtype=np.float64, requires_grad=True)
    tc.masked_fill(x, np.array([True, False, True]), v).sum().backward()
    assert v.grad.item() == 2.0


def test_masked_select():
    check_op(lambda x, mask, value: tc.masked_select(x, mask),
             lambda x, mask, value: np.broadcast_to(x, np.broadcast_shapes(x.shape, mask.shape))[
                 np.broadcast_to(mask, np.broadcast_shapes(x.shape, mask.shape))],
             shapes=shapes(max_dims=3, max_side=4), params=mask_params)


@given(x=tensors(shapes(max_dims=3, max_side=4), dtype=np.int64))
def test_nonzero_is_pytorchs_n_by_ndim_and_as_tuple_numpys(x):
    got = tc.nonzero(x)
    assert got.dtype == np.int64 and got.shape == (np.count_nonzero(x.data), x.ndim)
    np.testing.assert_array_equal(got.data, np.argwhere(x.data))
    if x.ndim:
        for g, w in zip(x.nonzero(as_tuple=True), np.nonzero(x.data)):
            np.testing.assert_array_equal(g.data, w)


def test_nonzero_has_no_gradient():
    x = tc.tensor([0.0, 1.5], requires_grad=True)
    assert not tc.nonzero(x).requires_grad


@pytest.mark.parametrize("call, error, match", [
    (lambda: tc.gather(tc.ones(2, 3), 1, [[0, 3]]), IndexError,
     r"gather: index 3 is out of range for axis 1 of size 3"),
    (lambda: tc.gather(tc.ones(2, 3), 1, [0, 1]), ValueError, "gather: index must have as many dimensions"),
    (lambda: tc.gather(tc.ones(2, 3), 1, np.zeros((3, 1), np.int64)), ValueError,
     r"larger than the input shape \(2, 3\) along axis 0"),
    (lambda: tc.gather(tc.ones(2), 0, [0.0]), TypeError, "gather: index must hold integers"),
    (lambda: tc.masked_fill(tc.ones(2), np.array([1, 0]), 0.0), TypeError, "masked_fill: mask must be a bool"),
    (lambda: tc.masked_fill(tc.ones(2), np.ones((3, 2), bool), 0.0), ValueError,
     r"masked_fill: mask of shape \(3, 2\) does not broadcast to the input's shape \(2,\)"),
    (lambda: tc.scatter(tc.ones(2), 0, [0]), TypeError, "scatter: give src"),
])
def test_errors_name_the_op_and_the_fix(call, error, match):
    with pytest.raises(error, match=match):
        call()
