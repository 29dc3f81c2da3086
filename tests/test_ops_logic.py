"""Tests and logic (ops/logic.py): isnan/isinf/isfinite, isclose/allclose, logical ops, the
operators & | ^ ~ (logical on bool, bitwise on integers), any/all over axes, all against NumPy
over drawn shapes; and where's gradient when the unused branch holds NaN or inf."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_course as tc
from tinygrad_course.testing import broadcastable_shapes, shapes, tensors, valid_axes

# Floats with NaN, +-inf, signed zeros and ties, so the tests see every class of value.
_special = st.one_of(st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0]),
                     st.floats(-3, 3))


def _pair(dtype, elements=None):
    return broadcastable_shapes(2, max_dims=3, max_side=3).flatmap(
        lambda s: st.tuples(*(hnp.arrays(dtype, shape, elements=elements) for shape in s)))


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
@given(a=hnp.arrays(np.float64, shapes(max_dims=3, max_side=3), elements=_special))
def test_float_tests_match_numpy_and_carry_no_gradient(name, a):
    x = tc.Tensor(a, requires_grad=True)
    out = getattr(tc, name)(x)
    assert out.dtype == np.bool_ and not out.requires_grad
    np.testing.assert_array_equal(out.data, getattr(np, name)(a))
    np.testing.assert_array_equal(getattr(x, name)().data, out.data)


@given(ab=_pair(np.float64, _special), rtol=st.sampled_from([1e-5, 1e-2]),
       equal_nan=st.booleans())
def test_isclose_and_allclose_match_numpy(ab, rtol, equal_nan):
    a, b = ab
    got = tc.isclose(tc.Tensor(a), tc.Tensor(b), rtol=rtol, equal_nan=equal_nan)
    np.testing.assert_array_equal(got.data, np.isclose(a, b, rtol=rtol, equal_nan=equal_nan))
    same = tc.allclose(tc.Tensor(a), b, rtol=rtol, equal_nan=equal_nan)
    assert same is bool(np.allclose(a, b, rtol=rtol, equal_nan=equal_nan))


LOGICAL = {"logical_and": np.logical_and, "logical_or": np.logical_or,
           "logical_xor": np.logical_xor}
OPERATORS = {"&": (lambda a, b: a & b, np.bitwise_and), "|": (lambda a, b: a | b, np.bitwise_or),
             "^": (lambda a, b: a ^ b, np.bitwise_xor)}


@pytest.mark.parametrize("name", LOGICAL)
@given(ab=_pair(np.float64, st.sampled_from([0.0, -1.5, 2.0, np.nan])))
def test_logical_ops_match_numpy_with_nonzero_as_true(name, ab):
    a, b = ab
    out = getattr(tc, name)(tc.Tensor(a), tc.Tensor(b))
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out.data, LOGICAL[name](a, b))


def test_logical_not_matches_numpy():
    a = np.array([0.0, 2.0, np.nan, -1.0])
    np.testing.assert_array_equal(tc.logical_not(tc.Tensor(a)).data, np.logical_not(a))


@pytest.mark.parametrize("symbol", OPERATORS)
@pytest.mark.parametrize("dtype", [np.bool_, np.int64, np.uint8])
@given(data=st.data())
def test_operator_is_logical_on_bool_and_bitwise_on_integers_like_numpy(symbol, dtype, data):
    a, b = data.draw(_pair(dtype))
    op, ref = OPERATORS[symbol]
    out = op(tc.Tensor(a), tc.Tensor(b))
    assert out.dtype == ref(a, b).dtype
    np.testing.assert_array_equal(out.data, ref(a, b))


@pytest.mark.parametrize("dtype", [np.bool_, np.int64])
def test_invert_is_not_on_bool_and_bitwise_on_integers_like_numpy(dtype):
    a = np.array([0, 1, 5, -3]).astype(dtype)
    np.testing.assert_array_equal((~tc.Tensor(a)).data, ~a)
    np.testing.assert_array_equal(tc.bitwise_not(tc.Tensor(a)).data, ~a)


def test_combining_comparisons_with_operators():
    a = tc.tensor([-1.0, 0.5, 2.0])
    b = tc.tensor([0.0, 0.5, 0.9])
    np.testing.assert_array_equal(((a > 0) & (b < 1)).data, [False, True, True])
    np.testing.assert_array_equal(((a > 0) | (b < 0.5)).data, [True, True, True])
    np.testing.assert_array_equal(((a > 0) ^ (b < 1)).data, [True, False, False])
    np.testing.assert_array_equal((~(a > 0)).data, [True, False, False])


def test_reflected_operators_with_python_bools_and_ndarrays():
    t = tc.tensor([True, False])
    np.testing.assert_array_equal((True & t).data, [True, False])
    np.testing.assert_array_equal((False | t).data, [True, False])
    np.testing.assert_array_equal((True ^ t).data, [False, True])
    out = np.array([True, True]) & t
    assert isinstance(out, tc.Tensor)
    np.testing.assert_array_equal(out.data, [True, False])


@pytest.mark.parametrize("op", [lambda a, b: a & b, lambda a, b: a | b, lambda a, b: a ^ b,
                                lambda a, b: ~a])
def test_bitwise_operator_on_float_tensors_says_to_compare_first(op):
    a = tc.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"compare floats first.*tc\.logical_"):
        op(a, a)


@pytest.mark.parametrize("name", ["any", "all"])
@given(data=st.data())
def test_any_all_match_numpy_over_drawn_axes(name, data):
    a = data.draw(hnp.arrays(np.float64, shapes(max_dims=3, max_side=3),
                             elements=st.sampled_from([0.0, 1.0, -2.0, np.nan])))
    axis = data.draw(valid_axes(a.ndim))
    keepdims = data.draw(st.booleans())
    out = getattr(tc, name)(tc.Tensor(a), axis=axis, keepdims=keepdims)
    want = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    assert out.dtype == np.bool_ and out.shape == np.shape(want)
    np.testing.assert_array_equal(out.data, want)
    method = getattr(tc.Tensor(a), name)(axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(method.data, want)


@pytest.mark.parametrize("name", ["any", "all"])
def test_any_all_take_pytorch_dim_and_keepdim(name):
    a = tc.tensor([[True, False], [True, True]])
    out = getattr(a, name)(dim=1, keepdim=True)
    np.testing.assert_array_equal(out.data, getattr(np, name)(a.data, axis=1, keepdims=True))


@pytest.mark.parametrize("name", ["any", "all"])
def test_any_all_refuse_both_spellings_of_the_axis(name):
    with pytest.raises(TypeError, match="axis.*dim"):
        getattr(tc, name)(tc.tensor([True]), axis=0, dim=0)


@pytest.mark.parametrize("name", ["any", "all"])
def test_any_all_on_a_0d_tensor_accept_axis_0_and_minus_1(name):
    t = tc.tensor(True)
    assert getattr(t, name)(axis=0).item() is True
    assert getattr(t, name)(axis=-1).item() is True


# ---- where --------------------------------------------------------------------------------------
def test_where_gradient_is_not_nan_where_the_unused_branch_holds_nan_or_inf():
    a = tc.tensor([1.0, np.nan, np.inf, -np.inf], requires_grad=True)
    b = tc.tensor([np.nan, 2.0, 3.0, 4.0], requires_grad=True)
    cond = tc.tensor([True, False, False, False])
    out = tc.where(cond, a, b)
    out.backward(tc.tensor([2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(a.grad.data, [2.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, 3.0, 4.0, 5.0])


@pytest.mark.parametrize("kind", ["bool tensor", "comparison", "ndarray", "list", "float tensor"])
def test_where_takes_cond_as_a_tensor_comparison_array_or_list(kind):
    x = tc.tensor([-1.0, 2.0, -3.0], requires_grad=True)
    cond = {"bool tensor": tc.tensor([False, True, False]), "comparison": x > 0,
            "ndarray": np.array([False, True, False]), "list": [False, True, False],
            "float tensor": tc.tensor([0.0, 1.0, 0.0])}[kind]
    out = tc.where(cond, x, 0.0)
    np.testing.assert_array_equal(out.data, [0.0, 2.0, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.0])


@given(data=st.data())
def test_where_matches_numpy_and_gradcheck_in_both_branches_with_broadcasting(data):
    sc, sa, sb = data.draw(broadcastable_shapes(3, max_dims=3, max_side=3))
    cond = data.draw(hnp.arrays(np.bool_, sc))
    a, b = (data.draw(tensors(s, requires_grad=True)) for s in (sa, sb))
    out = tc.where(cond, a, b)
    np.testing.assert_array_equal(out.data, np.where(cond, a.data, b.data))
    tc.gradcheck(lambda a, b: tc.where(cond, a, b), [a, b])


def test_where_second_derivative_matches_numerical():
    cond = np.array([[True, False], [False, True]])
    a = tc.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=np.float64, requires_grad=True)
    b = tc.tensor([0.5, -1.5], dtype=np.float64, requires_grad=True)
    tc.gradgradcheck(lambda a, b: tc.where(cond, a * a, b * b * b), [a, b])


@given(x=tensors(shapes(max_dims=2, max_side=3), requires_grad=True))
def test_comparison_and_logic_results_never_require_grad(x):
    for out in (x > 0, tc.isnan(x), tc.logical_not(x), (x > 0) & (x < 1), tc.any(x > 0)):
        assert not out.requires_grad and out.grad_fn is None
