"""The shipped strategies and check_op: they draw what they promise and check_op catches bugs."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import (Domain, broadcastable_shapes, check_op, domains,
                                     index_expressions, shapes, tensors, upstream_gradients,
                                     valid_axes, well_conditioned_matrices)


# ---- strategies -------------------------------------------------------------------------
@given(shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
def test_shapes_respect_their_bounds(s):
    assert 1 <= len(s) <= 3 and all(2 <= n <= 4 for n in s)


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast_together(ss):
    assert len(ss) == 3
    np.broadcast_shapes(*ss)


@given(broadcastable_shapes(2, signature=np.matmul.signature))
def test_broadcastable_shapes_with_a_signature_fit_matmul(ss):
    np.matmul(np.ones(ss[0]), np.ones(ss[1]))


@given(st.data())
def test_tensors_have_the_drawn_shape_dtype_and_requires_grad(data):
    shape = data.draw(shapes())
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    t = data.draw(tensors(shape, dtype=dtype, requires_grad=True))
    assert isinstance(t, tc.Tensor) and t.is_leaf and t.requires_grad
    assert t.shape == shape and t.dtype == dtype and np.all(np.isfinite(t.data))


@given(tensors(dtype=np.int64), tensors(dtype=np.bool_))
def test_tensors_of_int_and_bool(i, b):
    assert i.dtype == np.int64 and b.dtype == np.bool_ and not i.requires_grad


@given(tensors(shape=shapes(min_dims=1), contiguous=False))
def test_non_contiguous_tensors_are_strided_views(t):
    assert t.data.size < 2 or not t.data.flags.c_contiguous
    assert t.data.base is not None


@given(tensors(contiguous=True))
def test_contiguous_tensors_are_contiguous(t):
    assert t.data.flags.c_contiguous


def test_tensors_draw_0d_and_non_contiguous_by_default():
    seen = {"0d": False, "strided": False}

    @given(tensors())
    def collect(t):
        seen["0d"] |= t.ndim == 0
        seen["strided"] |= t.data.size > 1 and not t.data.flags.c_contiguous

    collect()
    assert seen == {"0d": True, "strided": True}


@pytest.mark.parametrize("name", ["log", "sqrt", "exp", "relu", "abs", "clip", "div"])
def test_domain_elements_stay_in_bounds_and_away_from_kinks(name):
    d = domains[name]

    @given(tensors(domain=name))
    def check(t):
        assert np.all(t.data >= d.low) and np.all(t.data <= d.high)
        for k in d.kinks:
            assert np.all(np.abs(t.data - k) >= d.margin)

    check()
    if name in ("log", "sqrt"):
        assert d.low > 0


@given(tensors(shape=shapes(min_dims=1, max_side=4), domain="max"))
def test_well_separated_domain_has_no_ties(t):
    v = np.sort(t.data.ravel())
    assert np.all(np.diff(v) >= domains["max"].spacing * (1 - 1e-9))


def test_domain_separate_works_jointly_across_arrays():
    a, b = np.zeros(3), np.zeros((2, 2))
    Domain(spacing=0.5).separate([a, b])
    v = np.sort(np.concatenate([a.ravel(), b.ravel()]))
    assert np.all(np.diff(v) >= 0.5 - 1e-12)


def test_float32_domain_bounds_are_rounded_inward():
    @given(tensors(shape=(5,), dtype=np.float32, domain=Domain(low=0.1, high=0.3)))
    def check(t):
        assert np.all(t.data >= np.float32(0.1)) and np.all(t.data <= 0.3)

    check()


@given(st.data())
def test_valid_axes_are_accepted_by_numpy(data):
    x = np.ones(data.draw(shapes()))
    axis = data.draw(valid_axes(x.ndim))
    np.sum(x, axis=axis)
    assert x.ndim > 0 or axis in (None, ())


@given(st.data())
def test_index_expressions_are_valid_numpy_indices(data):
    x = np.arange(np.prod(shape := data.draw(shapes(max_dims=3)))).reshape(shape)
    x[data.draw(index_expressions(shape))]


@given(upstream_gradients((3, 4)))
def test_upstream_gradients_are_non_uniform_magnitudes_with_signs(v):
    assert v.shape == (3, 4)
    assert np.all((np.abs(v.data) >= 0.5) & (np.abs(v.data) <= 1.5))


@given(well_conditioned_matrices())
def test_well_conditioned_matrices_have_a_positive_det_and_a_bounded_inverse(t):
    # Gaussian + n*I could be singular (a 1x1 of 5.5e-6 broke slogdet's gradcheck); diagonal
    # dominance by 1 bounds the inverse's largest row sum by 1 (Varah's bound).
    assert np.all(np.linalg.det(t.data) > 0)
    assert np.abs(np.linalg.inv(t.data)).sum(axis=-1).max() <= 1 + 1e-12


def test_unknown_domain_name_is_an_error():
    with pytest.raises(ValueError, match="no domain named 'nope'"):
        given(tensors(domain="nope"))(lambda t: None)()


# ---- check_op ---------------------------------------------------------------------------
class Cube(tc.Function):
    """The docstring example: x^3 with derivative 3 x^2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2


class CubeWrongGrad(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x ** 2


class CubeWrongForward(Cube):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3 + 1e-3


class CubeMutates(Cube):
    @staticmethod
    def forward(ctx, x):
        out = x ** 3
        x *= 1.0 + 1e-9
        ctx.save_for_backward(x)
        return out


class CubeLayoutBug(Cube):
    """Right on contiguous inputs; backward reads x in memory order, wrong for strided views."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * np.ravel(x, order="K").reshape(x.shape) ** 2


def test_check_op_passes_the_docstring_example():
    check_op(Cube.apply, lambda x: x ** 3)


def test_check_op_catches_a_wrong_gradient_and_names_the_op():
    with pytest.raises(tc.GradcheckError, match=r"^CubeWrongGrad.apply: gradcheck failed"):
        check_op(CubeWrongGrad.apply, lambda x: x ** 3)


def test_check_op_catches_a_wrong_forward_and_names_the_op():
    with pytest.raises(AssertionError, match="CubeWrongForward.apply: forward differs"):
        check_op(CubeWrongForward.apply, lambda x: x ** 3)


def test_check_op_catches_an_op_that_changes_its_input():
    with pytest.raises(AssertionError, match="changed in place"):
        check_op(CubeMutates.apply, lambda x: x ** 3, shapes=(3,))


def test_check_op_catches_a_gradient_that_depends_on_memory_layout():
    with pytest.raises(AssertionError, match="memory layout"):
        check_op(CubeLayoutBug.apply, lambda x: x ** 3, shapes=(3, 2), contiguous=False)


def test_check_op_catches_a_wrong_output_shape():
    with pytest.raises(AssertionError, match="shape"):
        check_op(lambda x: x.sum(), lambda x: np.sum(x, keepdims=True), shapes=(2, 3),
                 max_examples=3)


def test_check_op_with_fixed_shapes_and_drawn_params():
    check_op(lambda a, b, axis: (a * b).sum(axis=axis), lambda a, b, axis: (a * b).sum(axis=axis),
             n_inputs=2, shapes=((2, 3), (3,)),
             params=lambda ss: st.fixed_dictionaries({"axis": valid_axes(2)}), max_examples=10)


def test_check_op_rejects_the_wrong_number_of_shapes():
    with pytest.raises(ValueError, match="2 shapes for 3 inputs"):
        check_op(lambda a, b, c: a + b + c, lambda a, b, c: a + b + c, n_inputs=3,
                 shapes=((2,), (2,)), max_examples=1)
