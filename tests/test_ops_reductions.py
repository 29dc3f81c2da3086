"""Reductions with axis (None, int incl. negative, tuple) and keepdims: forward vs NumPy,
gradients vs numerical differences, and the tie rule of max/min."""
import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import check_op, shapes, valid_axes


def axis_and_keepdims(shps):
    return st.fixed_dictionaries({"axis": valid_axes(len(shps[0])), "keepdims": st.booleans()})


def nonempty_axis_keepdims_ddof(shps):
    return st.fixed_dictionaries({
        "axis": valid_axes(len(shps[0])).filter(lambda a: a != ()),
        "keepdims": st.booleans(),
        "ddof": st.sampled_from([0, 1]),
    })


REDUCTIONS = {
    "sum": (tc.sum, np.sum, None),
    "mean": (tc.mean, np.mean, None),
    "max": (tc.max, np.max, "max"),
    "min": (tc.min, np.min, "min"),
    "var": (tc.var, np.var, None),
}


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_matches_numpy_and_gradcheck_for_every_axis_form(name):
    op, ref, domain = REDUCTIONS[name]
    check_op(lambda x, **kw: op(x, **kw), ref, domain=domain, params=axis_and_keepdims)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_method_matches_the_function(name):
    check_op(lambda x, **kw: getattr(x, name)(**kw), REDUCTIONS[name][1],
             domain=REDUCTIONS[name][2], params=axis_and_keepdims, max_examples=10)


@pytest.mark.parametrize("op, ref", [(tc.var, np.var), (tc.std, np.std)])
def test_var_and_std_with_ddof_match_numpy_and_gradcheck(op, ref):
    # At least two distinct elements per reduced group: std has no derivative at zero spread.
    check_op(lambda x, **kw: op(x, **kw), ref, domain="max", params=nonempty_axis_keepdims_ddof,
             shapes=shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))


def test_std_default_is_the_biased_estimate_as_numpy():
    x = tc.tensor([1.0, 2.0, 4.0], dtype=np.float64)
    assert tc.std(x).item() == pytest.approx(np.sqrt(np.mean((x.data - 7 / 3) ** 2)))
    assert tc.std(x, ddof=1).item() == pytest.approx(np.std(x.data, ddof=1))


@pytest.mark.parametrize("op, first_row", [(tc.max, [1.0, 3.0, 3.0]), (tc.min, [3.0, 1.0, 1.0])])
def test_max_min_ties_split_the_gradient_evenly(op, first_row):
    x = tc.tensor([first_row, [2.0, 2.0, 2.0]], requires_grad=True)
    op(x, axis=1).backward(tc.tensor([6.0, 6.0]))
    np.testing.assert_array_equal(x.grad.data, [[0.0, 3.0, 3.0], [2.0, 2.0, 2.0]])


def test_max_over_all_axes_splits_among_all_tied_elements():
    x = tc.tensor([[5.0, 1.0], [5.0, 5.0]], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [[1 / 3, 0.0], [1 / 3, 1 / 3]])


def test_mean_gradient_is_one_over_n_by_hand():
    x = tc.tensor(np.ones((2, 4)), requires_grad=True)
    x.mean(axis=(0, 1)).backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 4), 1 / 8))


def test_var_gradient_is_two_centered_over_n_by_hand():
    x = tc.tensor([1.0, 2.0, 6.0], dtype=np.float64, requires_grad=True)
    x.var(ddof=1).backward()
    np.testing.assert_allclose(x.grad.data, 2 * (x.data - 3.0) / 2)


def test_reductions_keep_float32():
    x = tc.randn(2, 3)
    for name in REDUCTIONS:
        assert getattr(tc, name)(x, axis=0).dtype == np.float32, name
    assert tc.std(x).dtype == np.float32
