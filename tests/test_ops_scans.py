"""Scans and order statistics: prod, cumsum, cumprod, logcumsumexp, cummax, cummin, sort,
argsort, topk, median, norm, std_mean/var_mean, and dtype= on sum/mean/prod."""
import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import Domain, check_op, shapes, valid_axes

# max |x| needs no ties among the magnitudes (x and -x would tie) and no x near 0.
SAME_SIGN_SEPARATED = Domain(low=0.1, high=3.0, spacing=0.05)


def scan_axis(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({"axis": st.one_of(st.none(), st.integers(-max(nd, 1), max(nd, 1) - 1))})


def last_axis_param(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({"axis": st.integers(-nd, nd - 1)})


def axis_and_keepdims(shps):
    return st.fixed_dictionaries({"axis": valid_axes(len(shps[0])), "keepdims": st.booleans()})


def np_scan(fn):
    # NumPy's scans flatten for axis=None; a 0-d input with axis 0 or -1 keeps its shape.
    def ref(x, axis):
        if x.ndim == 0 and axis is not None:
            return fn(x.reshape(1), axis=0).reshape(())
        return fn(x, axis=axis)
    return ref


def loop_cummax(x, axis, better):
    x = np.moveaxis(x, axis, -1)
    vals, idx = x.copy(), np.zeros(x.shape, dtype=np.int64)
    for lane in np.ndindex(x.shape[:-1]):
        best, at = x[lane][0], 0
        for k, v in enumerate(x[lane]):
            if better(v, best) or v == best:  # ties: the later index, as PyTorch
                best, at = v, k
            vals[lane][k], idx[lane][k] = best, at
    return np.moveaxis(vals, -1, axis), np.moveaxis(idx, -1, axis)


# ---- forward against NumPy, gradient against numerical differences ----------------------
def test_cumsum_matches_numpy_and_gradcheck():
    check_op(lambda x, axis: tc.cumsum(x, axis=axis), np_scan(np.cumsum), params=scan_axis)


def test_cumprod_matches_numpy_and_gradcheck():
    check_op(lambda x, axis: tc.cumprod(x, axis=axis), np_scan(np.cumprod), params=scan_axis)


def test_logcumsumexp_matches_numpy_and_gradcheck():
    check_op(lambda x, axis: tc.logcumsumexp(x, axis=axis),
             np_scan(lambda x, axis: np.log(np.cumsum(np.exp(x), axis=axis))), params=scan_axis)


def test_prod_matches_numpy_and_gradcheck_for_every_axis_form():
    check_op(lambda x, axis, keepdims: tc.prod(x, axis=axis, keepdims=keepdims),
             lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
             params=axis_and_keepdims)


@pytest.mark.parametrize("op, better", [(tc.cummax, np.greater), (tc.cummin, np.less)])
def test_cummax_cummin_values_match_a_loop_and_gradcheck(op, better):
    check_op(lambda x, axis: op(x, axis=axis).values,
             lambda x, axis: loop_cummax(x, axis, better)[0], domain="cummax",
             shapes=shapes(min_dims=1, max_dims=3, max_side=4), params=last_axis_param)


def test_sort_matches_numpy_and_gradcheck():
    check_op(lambda x, axis: tc.sort(x, axis=axis).values,
             lambda x, axis: np.sort(x, axis=axis), domain="sort",
             shapes=shapes(min_dims=1, max_dims=3, max_side=4), params=last_axis_param)


def test_sort_descending_matches_numpy_and_gradcheck():
    check_op(lambda x: tc.sort(x, descending=True).values, lambda x: -np.sort(-x, axis=-1),
             domain="sort", shapes=shapes(min_dims=1, max_dims=3, max_side=4))


def test_topk_matches_numpy_and_gradcheck():
    def params(shps):
        return st.fixed_dictionaries({"k": st.integers(0, shps[0][-1]), "largest": st.booleans()})

    def ref(x, k, largest):
        s = -np.sort(-x, axis=-1) if largest else np.sort(x, axis=-1)
        return s[..., :k]
    check_op(lambda x, k, largest: tc.topk(x, k, largest=largest).values, ref, domain="topk",
             shapes=shapes(min_dims=1, max_dims=3, max_side=4), params=params)


def test_median_along_an_axis_is_the_lower_median_and_gradchecks():
    def ref(x, axis):
        n = x.shape[axis]
        return np.take(np.sort(x, axis=axis), (n - 1) // 2, axis=axis)
    check_op(lambda x, axis: tc.median(x, axis=axis).values, ref, domain="median",
             shapes=shapes(min_dims=1, max_dims=3, max_side=4), params=last_axis_param)


def test_median_of_all_elements_is_the_lower_median_and_gradchecks():
    check_op(tc.median, lambda x: np.sort(x, axis=None)[(x.size - 1) // 2], domain="median")


@pytest.mark.parametrize("p", [1, 2, 3, 0.5, np.inf, -np.inf, "fro"])
def test_norm_matches_numpy_and_gradcheck(p):
    def ref(x, axis, keepdims):
        q = 2 if p == "fro" else p
        a = np.abs(x)
        if q == np.inf:
            return a.max(axis=axis, keepdims=keepdims)
        if q == -np.inf:
            return a.min(axis=axis, keepdims=keepdims)
        return np.sum(a ** q, axis=axis, keepdims=keepdims) ** (1 / q)
    check_op(lambda x, axis, keepdims: tc.norm(x, p, axis=axis, keepdims=keepdims), ref,
             domain=SAME_SIGN_SEPARATED if p in (np.inf, -np.inf) else "norm",
             params=axis_and_keepdims,
             shapes=shapes(min_dims=1, max_dims=3, max_side=4))


@pytest.mark.parametrize("op, name", [(tc.var_mean, "var"), (tc.std_mean, "std")])
def test_var_mean_and_std_mean_return_both_as_pytorch(op, name):
    x = tc.tensor(np.arange(12.0).reshape(3, 4))
    first, m = op(x, axis=1)
    np.testing.assert_allclose(first.data, getattr(np, name)(x.data, axis=1))
    np.testing.assert_allclose(m.data, x.data.mean(axis=1))
    first, _ = op(x, dim=0)  # PyTorch's spelling: PyTorch's correction=1
    np.testing.assert_allclose(first.data, getattr(np, name)(x.data, axis=0, ddof=1))


# ---- second derivatives -----------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda x: tc.cumsum(x, axis=1), lambda x: tc.cumprod(x, axis=1),
    lambda x: tc.logcumsumexp(x, axis=0), lambda x: tc.prod(x, axis=1),
    lambda x: tc.prod(x), lambda x: tc.norm(x, 3, axis=1), lambda x: tc.sort(x, axis=0).values,
    lambda x: tc.topk(x, 2).values, lambda x: tc.cummax(x, axis=1).values,
], ids=["cumsum", "cumprod", "logcumsumexp", "prod_axis", "prod_all", "norm3", "sort", "topk",
        "cummax"])
def test_scans_have_second_derivatives(fn):
    x = tc.tensor(np.random.default_rng(0).uniform(0.5, 2.0, (2, 3)), requires_grad=True)
    tc.gradgradcheck(fn, [x])


@pytest.mark.parametrize("fn", [lambda x: tc.prod(x), lambda x: tc.cumprod(x, axis=0)],
                         ids=["prod", "cumprod"])
def test_second_derivatives_with_zeros_in_the_input(fn):
    x = tc.tensor([2.0, 0.0, 3.0, 0.5], dtype=np.float64, requires_grad=True)
    tc.gradgradcheck(fn, [x])


# ---- the named edge cases -----------------------------------------------------------------
def test_prod_with_one_zero_gives_the_zero_the_product_of_the_others():
    x = tc.tensor([2.0, 0.0, 3.0, 4.0], dtype=np.float64, requires_grad=True)
    tc.prod(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 24.0, 0.0, 0.0])


def test_prod_with_two_zeros_has_zero_gradient():
    x = tc.tensor([[2.0, 0.0, 3.0, 0.0], [1.0, 2.0, 3.0, 4.0]], dtype=np.float64,
                  requires_grad=True)
    tc.prod(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0] * 4, [24.0, 12.0, 8.0, 6.0]])


def test_prod_with_zeros_over_several_axes_gradchecks():
    x = tc.tensor(np.array([[[1.0, 0.0], [2.0, 3.0]], [[0.0, 0.0], [1.5, 2.0]]]),
                  requires_grad=True)
    tc.gradcheck(lambda t: tc.prod(t, axis=(0, 2)), [x])
    tc.gradcheck(lambda t: tc.cumprod(t, axis=2), [x])


def test_cumprod_with_a_zero_matches_the_sum_of_products():
    x = tc.tensor([2.0, 0.0, 3.0], dtype=np.float64, requires_grad=True)
    w = np.array([1.0, 2.0, 3.0])
    (tc.cumprod(x) * w).sum().backward()
    # d/dx_i sum_k w_k prod_{j<=k} x_j
    np.testing.assert_array_equal(x.grad.data, [1.0, 2 * 2 + 3 * 2 * 3, 0.0])


def test_sort_with_ties_keeps_their_order_both_ways():
    x = tc.tensor([2.0, 1.0, 2.0, 1.0, 2.0])
    np.testing.assert_array_equal(tc.sort(x).indices.data, [1, 3, 0, 2, 4])
    np.testing.assert_array_equal(tc.sort(x, descending=True).indices.data, [0, 2, 4, 1, 3])
    np.testing.assert_array_equal(tc.argsort(x, descending=True).data, [0, 2, 4, 1, 3])


def test_sort_with_ties_sends_each_gradient_to_its_own_element():
    x = tc.tensor([2.0, 1.0, 2.0], dtype=np.float64, requires_grad=True)
    (tc.sort(x).values * tc.tensor([1.0, 10.0, 100.0], dtype=np.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [10.0, 1.0, 100.0])


def test_sort_puts_nan_last_ascending_and_first_descending_as_pytorch():
    x = tc.tensor([2.0, np.nan, 1.0])
    np.testing.assert_array_equal(tc.sort(x).indices.data, [2, 0, 1])
    np.testing.assert_array_equal(tc.sort(x, descending=True).indices.data, [1, 0, 2])


def test_topk_with_ties_takes_the_lower_index_first():
    x = tc.tensor([1.0, 3.0, 3.0, 2.0, 3.0], dtype=np.float64, requires_grad=True)
    top = tc.topk(x, 2)
    np.testing.assert_array_equal(top.indices.data, [1, 2])
    np.testing.assert_array_equal(tc.topk(x, 2, largest=False).indices.data, [0, 3])
    top.values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0, 0.0, 0.0])


def test_topk_refuses_k_larger_than_the_axis():
    with pytest.raises(ValueError, match="topk: k must be an int from 0 to 3"):
        tc.topk(tc.tensor([1.0, 2.0, 3.0]), 4)


def test_cummax_ties_take_the_later_index_as_pytorch():
    out = tc.cummax(tc.tensor([1.0, 1.0, 0.0, 1.0]), axis=0)
    np.testing.assert_array_equal(out.values.data, [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(out.indices.data, [0, 1, 1, 3])
    out = tc.cummin(tc.tensor([1.0, 1.0, 2.0, 1.0]), dim=0)
    np.testing.assert_array_equal(out.indices.data, [0, 1, 1, 3])


def test_cummax_indices_match_a_loop():
    x = np.random.default_rng(1).integers(0, 3, (3, 5)).astype(np.float64)
    out = tc.cummax(tc.tensor(x), axis=1)
    vals, idx = loop_cummax(x, 1, np.greater)
    np.testing.assert_array_equal(out.values.data, vals)
    np.testing.assert_array_equal(out.indices.data, idx)


def test_median_of_an_even_count_is_the_lower_middle_with_its_index():
    out = tc.median(tc.tensor([[1.0, 3.0, 3.0, 2.0], [4.0, 1.0, 2.0, 3.0]]), dim=1)
    np.testing.assert_array_equal(out.values.data, [2.0, 2.0])
    np.testing.assert_array_equal(out.indices.data, [3, 2])


def test_median_of_all_elements_splits_the_gradient_among_ties_as_pytorch():
    x = tc.tensor([1.0, 2.0, 2.0, 3.0], requires_grad=True)
    tc.median(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5, 0.0])


def test_median_is_nan_when_a_nan_is_present():
    out = tc.median(tc.tensor([2.0, np.nan, 1.0, np.nan]), axis=0)
    assert np.isnan(out.values.item()) and out.indices.item() == 1
    assert np.isnan(tc.median(tc.tensor([2.0, np.nan, 1.0])).item())


def test_norm_gradient_at_the_zero_vector_is_zero_as_pytorch():
    for p in (1, 2, 3, 0.5, np.inf, "fro"):
        x = tc.tensor([0.0, 0.0, 0.0], dtype=np.float64, requires_grad=True)
        tc.norm(x, p).backward()
        np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0], err_msg=str(p))


def test_norm_zero_counts_nonzeros_and_nuc_sums_singular_values():
    assert tc.norm(tc.tensor([0.0, 2.0, -1.0]), 0).item() == 2.0
    a = np.random.default_rng(0).standard_normal((3, 2))
    np.testing.assert_allclose(tc.norm(tc.tensor(a), "nuc").item(),
                               np.linalg.svd(a, compute_uv=False).sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logcumsumexp_is_finite_and_exact_at_1e4(dtype):
    x = tc.tensor(np.array([1e4, -1e4, 1e4, 3.0], dtype=dtype), requires_grad=True)
    out = tc.logcumsumexp(x)
    out.backward(tc.tensor(np.array([1.0, -2.0, 1.0, 0.5], dtype=dtype)))
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(out.data, [1e4, 1e4, 1e4 + np.log(2), 1e4 + np.log(2)], rtol=1e-7)
    # d/dx_0 = 1 - 2 + (1 + 0.5) / 2 : e^(x_0 - y_k) is 1, 1, 1/2, 1/2
    np.testing.assert_allclose(x.grad.data, [-0.25, 0.0, 0.75, 0.0], atol=1e-3)


def test_sum_mean_prod_take_a_dtype_and_the_gradient_flows_back():
    x = tc.tensor([1.0, 2.0, 4.0], requires_grad=True)
    for f in (tc.sum, tc.mean, tc.prod):
        out = f(x, dtype=np.float64)
        assert out.dtype == np.float64, f.__name__
        out.backward()
        assert x.grad.dtype == np.float32, f.__name__
        x.grad = None
    assert tc.sum(tc.tensor([1, 2, 3]), dtype=np.float32).dtype == np.float32


def test_scans_of_a_0d_tensor_keep_its_shape():
    x = tc.tensor(3.0)
    for f in (tc.cumsum, tc.cumprod, tc.logcumsumexp):
        assert f(x, axis=0).shape == (), f.__name__
    assert tc.cummax(x, axis=-1).values.shape == ()
    assert tc.median(x, axis=0).values.shape == ()


def test_axis_and_dim_together_are_refused():
    x = tc.tensor([[1.0, 2.0]])
    for call in (lambda: tc.cumsum(x, axis=0, dim=0), lambda: tc.sort(x, axis=0, dim=0),
                 lambda: tc.prod(x, axis=0, dim=0), lambda: tc.topk(x, 1, axis=0, dim=1)):
        with pytest.raises(TypeError, match="give one"):
            call()


def test_tensor_methods():
    x = tc.tensor([[3.0, 1.0, 2.0]])
    np.testing.assert_array_equal(x.sort().values.data, [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(x.cumsum(1).data, [[3.0, 4.0, 6.0]])
    assert x.prod().item() == 6.0 and x.topk(1).values.item() == 3.0
