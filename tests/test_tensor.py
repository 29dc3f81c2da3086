"""Tensor: construction, properties, dtype rules, factories, seeding, repr, NumPy interop."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import shapes, tensors


# ---- construction and properties --------------------------------------------------------
@given(tensors(contiguous=False))
def test_properties_mirror_the_ndarray(t):
    assert t.shape == t.data.shape and t.ndim == t.data.ndim and t.size == t.data.size
    assert t.dtype == t.data.dtype
    assert t.numpy() is t.data
    np.testing.assert_array_equal(t.T.data, t.data.T)


@given(tensors())
def test_np_asarray_gives_the_data_without_a_copy(t):
    a = np.asarray(t)
    assert a is t.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


def test_constructor_copies_an_ndarray():
    a = np.array([1.0, 2.0])
    t = tc.Tensor(a)
    a[0] = 5.0
    assert t.data[0] == 1.0


@pytest.mark.parametrize("dtype", [None, np.float32])
def test_constructor_copies_a_strided_or_fortran_array_into_c_order(dtype):
    # (gradcheck and in-place ops write through .data.reshape(-1), which must be a view)
    a = np.arange(12.0).reshape(3, 4)
    for source in (np.asfortranarray(a), a.T, a[:, ::2]):
        t = tc.Tensor(source, dtype=dtype)
        assert t.data.flags.c_contiguous and not np.shares_memory(t.data, source)
        np.testing.assert_array_equal(t.data, source)
        assert t.dtype == (source.dtype if dtype is None else dtype)


def test_len_item_and_detach():
    t = tc.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert len(t) == 1
    assert tc.tensor([[4.5]]).item() == 4.5 and isinstance(tc.tensor(2.0).item(), float)
    d = (t * 2).detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf


def test_detach_shares_memory_with_the_original():
    t = tc.tensor([1.0, 2.0])
    assert np.shares_memory(t.detach().data, t.data)


def test_requires_grad_underscore_turns_a_leaf_on_and_returns_it():
    t = tc.tensor([1.0])
    assert t.requires_grad_() is t and t.requires_grad
    assert not t.requires_grad_(False).requires_grad


def test_repr_looks_like_numpy_and_shows_requires_grad_and_grad_fn():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<Mul>)"
    assert repr(tc.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tc.tensor(np.array([1.0]))) == "tensor([1.], dtype=float64)"


# ---- dtype rules ------------------------------------------------------------------------
def test_python_floats_become_float32_by_default():
    assert tc.tensor(1.5).dtype == np.float32
    assert tc.tensor([[1.0, 2.0]]).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_numpy_float_arrays_keep_their_dtype(dtype):
    assert tc.tensor(np.zeros(3, dtype)).dtype == dtype
    assert tc.tensor(dtype(1.5)).dtype == dtype


def test_ints_and_bools_make_int_and_bool_tensors():
    assert tc.tensor([1, 2]).dtype == np.int64
    assert tc.tensor([True]).dtype == np.bool_


def test_dtype_argument_wins():
    assert tc.tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_set_default_dtype_changes_floats_and_factories():
    tc.set_default_dtype(np.float64)
    assert tc.get_default_dtype() == np.float64
    assert tc.tensor(1.0).dtype == np.float64
    for t in (tc.zeros(2), tc.ones(2), tc.full((2,), 1.0), tc.eye(2), tc.randn(2), tc.rand(2),
              tc.arange(0.0, 1.0, 0.5)):
        assert t.dtype == np.float64


@given(tensors(dtype=np.float32), st.floats(-1e3, 1e3))
def test_python_scalars_never_upcast_a_float32_tensor(t, s):
    for y in (t + s, s - t, t * s, t / (abs(s) + 1), t ** 2, tc.maximum(t, s), tc.where(t > 0, t, s)):
        assert y.dtype == np.float32


# ---- factories --------------------------------------------------------------------------
@given(shapes())
def test_shape_factories_match_numpy(shape):
    np.testing.assert_array_equal(tc.zeros(*shape).data, np.zeros(shape, np.float32))
    np.testing.assert_array_equal(tc.ones(shape).data, np.ones(shape, np.float32))
    np.testing.assert_array_equal(tc.full(shape, 2.5).data, np.full(shape, 2.5, np.float32))
    assert tc.randn(*shape).shape == tc.rand(shape).shape == shape


def test_full_with_an_int_keeps_int_and_like_factories_follow_their_argument():
    assert tc.full(3, 7).dtype == np.int64
    x = tc.tensor(np.zeros((2, 3), np.float64))
    assert tc.zeros_like(x).dtype == np.float64 and tc.ones_like(x).shape == (2, 3)
    np.testing.assert_array_equal(tc.ones_like(x).data, np.ones((2, 3)))


def test_arange_and_eye_match_numpy():
    np.testing.assert_array_equal(tc.arange(5).data, np.arange(5))
    np.testing.assert_array_equal(tc.arange(1, 7, 2).data, np.arange(1, 7, 2))
    np.testing.assert_array_equal(tc.eye(3, 2).data, np.eye(3, 2))


def test_factories_can_require_grad():
    for t in (tc.zeros(2, requires_grad=True), tc.randn(2, requires_grad=True),
              tc.full((2,), 1.0, requires_grad=True)):
        assert t.requires_grad and t.is_leaf


def test_rand_is_uniform_in_zero_one():
    r = tc.rand(1000).data
    assert r.min() >= 0 and r.max() < 1 and 0.4 < r.mean() < 0.6


def test_manual_seed_makes_random_factories_reproducible():
    tc.manual_seed(123)
    a = (tc.randn(3, 2).data.copy(), tc.rand(4).data.copy())
    tc.manual_seed(123)
    b = (tc.randn(3, 2).data, tc.rand(4).data)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    tc.manual_seed(124)
    assert not np.array_equal(tc.randn(3, 2).data, a[0])


# ---- comparisons and argmax -------------------------------------------------------------
@given(tensors(shape=(3,), requires_grad=True), tensors(shape=(2, 1), requires_grad=True))
def test_comparisons_are_bool_tensors_without_grad_and_match_numpy(a, b):
    for op in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        r = getattr(a, op)(b)
        assert isinstance(r, tc.Tensor) and r.dtype == np.bool_
        assert not r.requires_grad and r.grad_fn is None
        np.testing.assert_array_equal(r.data, getattr(a.data, op)(b.data))


def test_comparison_with_a_scalar_on_either_side():
    x = tc.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal((x >= 2).data, [False, True, True])
    np.testing.assert_array_equal((2 < x).data, [False, False, True])


def test_argmax_argmin_match_numpy_and_carry_no_grad():
    x = tc.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    np.testing.assert_array_equal(x.argmax(axis=1).data, [1, 0])
    np.testing.assert_array_equal(tc.argmin(x, axis=0).data, [0, 1, 0])
    assert not x.argmax().requires_grad and x.argmax().item() == 3
