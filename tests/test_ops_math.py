"""Elementwise math (ops/math.py): forward vs NumPy (or math.erf), gradients vs centered
differences and second derivatives over drawn shapes (broadcasting, 0-d, strided views), and
PyTorch's conventions at the kinks and edges, each named in its test."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import broadcastable_shapes, check_op, domains, shapes, tensors

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])

# name: (op, NumPy reference); inputs come from testing.domains[name] (default if none).
UNARY = {
    "sin": (tc.sin, np.sin), "cos": (tc.cos, np.cos), "tan": (tc.tan, np.tan),
    "arcsin": (tc.arcsin, np.arcsin), "arccos": (tc.arccos, np.arccos),
    "arctan": (tc.arctan, np.arctan), "sinh": (tc.sinh, np.sinh), "cosh": (tc.cosh, np.cosh),
    "arcsinh": (tc.arcsinh, np.arcsinh), "arccosh": (tc.arccosh, np.arccosh),
    "arctanh": (tc.arctanh, np.arctanh), "exp2": (tc.exp2, np.exp2),
    "expm1": (tc.expm1, np.expm1), "log2": (tc.log2, np.log2), "log10": (tc.log10, np.log10),
    "log1p": (tc.log1p, np.log1p), "rsqrt": (tc.rsqrt, lambda x: 1 / np.sqrt(x)),
    "reciprocal": (tc.reciprocal, np.reciprocal), "square": (tc.square, np.square),
    "erf": (tc.erf, _erf), "erfc": (tc.erfc, _erfc),
}

# Piecewise constant: the gradient is 0 (PyTorch's convention, also at the jumps).
STEP = {
    "sign": (tc.sign, np.sign), "floor": (tc.floor, np.floor), "ceil": (tc.ceil, np.ceil),
    "trunc": (tc.trunc, np.trunc), "round": (tc.round, np.round),
}

BINARY = {
    "arctan2": (tc.arctan2, np.arctan2), "hypot": (tc.hypot, np.hypot),
    "copysign": (tc.copysign, np.copysign), "logaddexp": (tc.logaddexp, np.logaddexp),
}


def _domain(name):
    return domains.get(name, domains["default"])


def _inside(name):
    """Two float32 points where the op `name` is defined."""
    return tc.tensor([1.5, 1.25] if name == "arccosh" else [0.5, 0.25])


@pytest.mark.parametrize("name", UNARY)
def test_unary_op_matches_numpy_and_gradcheck(name):
    op, ref = UNARY[name]
    check_op(op, ref, domain=_domain(name), rtol=1e-12)


@pytest.mark.parametrize("name", UNARY)
def test_unary_op_second_derivative_matches_numerical(name):
    op, _ = UNARY[name]

    @settings(max_examples=10)
    @given(x=tensors(shapes(max_dims=2, max_side=3), domain=_domain(name), requires_grad=True))
    def run(x):
        tc.gradgradcheck(op, [x])

    run()


@pytest.mark.parametrize("name", STEP)
def test_piecewise_constant_op_matches_numpy_with_zero_gradient(name):
    op, ref = STEP[name]
    check_op(op, ref, domain=_domain(name))


@pytest.mark.parametrize("name", STEP)
def test_piecewise_constant_op_gradient_is_zero_at_its_jumps_as_pytorch(name):
    op, _ = STEP[name]
    x = tc.tensor([-1.0, -0.5, 0.0, 0.5, 1.0, 2.5], requires_grad=True)
    op(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(6, np.float32))


def test_round_halves_to_even_like_numpy_and_pytorch():
    x = tc.tensor([0.5, 1.5, 2.5, -0.5, -2.5])
    np.testing.assert_array_equal(tc.round(x).data, [0.0, 2.0, 2.0, -0.0, -2.0])


def test_round_to_decimals_matches_numpy():
    check_op(lambda x: tc.round(x, 2), lambda x: np.round(x, 2), check_grad=False)


def test_python_round_of_a_tensor_is_a_tensor_as_in_pytorch():
    x = tc.tensor([1.26, -3.5])
    assert isinstance(round(x), tc.Tensor)
    np.testing.assert_allclose(round(x, 1).data, np.round(x.data, 1))


@pytest.mark.parametrize("name", BINARY)
def test_binary_op_matches_numpy_and_gradcheck_with_broadcasting(name):
    op, ref = BINARY[name]
    check_op(op, ref, n_inputs=2, domain=_domain(name), rtol=1e-12)


@pytest.mark.parametrize("name", ["arctan2", "hypot", "logaddexp"])
def test_binary_op_second_derivative_matches_numerical(name):
    op, _ = BINARY[name]

    @settings(max_examples=10)
    @given(data=st.data())
    def run(data):
        sx, sy = data.draw(broadcastable_shapes(2, max_dims=2, max_side=3))
        x, y = (data.draw(tensors(s, domain=_domain(name), requires_grad=True)) for s in (sx, sy))
        tc.gradgradcheck(op, [x, y])

    run()


def test_lerp_matches_numpy_and_gradcheck_in_all_three_inputs():
    check_op(tc.lerp, lambda a, b, w: a + w * (b - a), n_inputs=3)


def test_lerp_takes_a_python_weight_and_keeps_float32():
    a, b = tc.zeros(3), tc.ones(3)
    out = a.lerp(b, 0.25)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, 0.25)


# ---- fmod, remainder, floor_divide ---------------------------------------------------------
# They jump where x / y is an integer: draw x = k + 1/2 + u and y = +-(1 + v) with small u, v,
# so every x / y (across broadcasting too) stays at least 0.2 from an integer.
_x_elements = st.builds(lambda k, u: k + 0.5 + u, st.integers(-3, 2), st.floats(-0.05, 0.05))
_y_elements = st.builds(lambda s, v: s * (1 + v), st.sampled_from([-1.0, 1.0]), st.floats(0, 0.1))
MODULO = {"fmod": (tc.fmod, np.fmod), "remainder": (tc.remainder, np.remainder),
          "%": (lambda x, y: x % y, np.remainder),
          "floor_divide": (tc.floor_divide, np.floor_divide),
          "//": (lambda x, y: x // y, np.floor_divide)}


@st.composite
def _quotient_pairs(draw, max_dims=3):
    sx, sy = draw(broadcastable_shapes(2, max_dims=max_dims, max_side=3))
    return (draw(tensors(sx, elements=_x_elements, requires_grad=True)),
            draw(tensors(sy, elements=_y_elements, requires_grad=True)))


@pytest.mark.parametrize("name", MODULO)
def test_modulo_op_matches_numpy_and_gradcheck_with_broadcasting(name):
    op, ref = MODULO[name]

    @given(xy=_quotient_pairs())
    def run(xy):
        x, y = xy
        out = op(x, y)
        np.testing.assert_array_equal(out.data, ref(x.data, y.data))
        tc.gradcheck(op, [x, y])

    run()


@pytest.mark.parametrize("name", ["fmod", "remainder"])
def test_modulo_second_derivative_is_zero_as_numerical(name):
    op, _ = MODULO[name]

    @settings(max_examples=10)
    @given(xy=_quotient_pairs(max_dims=2))
    def run(xy):
        tc.gradgradcheck(op, list(xy))

    run()


def test_fmod_gradient_is_one_for_x_and_minus_trunc_quotient_for_y_as_pytorch():
    x = tc.tensor([5.5, -5.5, 5.5, -5.5], dtype=np.float64, requires_grad=True)
    y = tc.tensor([2.0, 2.0, -2.0, -2.0], dtype=np.float64, requires_grad=True)
    tc.fmod(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones(4))
    np.testing.assert_array_equal(y.grad.data, -np.trunc(x.data / y.data))


def test_remainder_gradient_is_one_for_x_and_minus_floor_quotient_for_y_as_pytorch():
    x = tc.tensor([5.5, -5.5, 5.5, -5.5], dtype=np.float64, requires_grad=True)
    y = tc.tensor([2.0, 2.0, -2.0, -2.0], dtype=np.float64, requires_grad=True)
    (x % y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones(4))
    np.testing.assert_array_equal(y.grad.data, -np.floor(x.data / y.data))


def test_floor_divide_gradient_is_zero():
    x = tc.tensor([5.5, -5.5], requires_grad=True)
    y = tc.tensor([2.0, 2.0], requires_grad=True)
    (x // y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])
    np.testing.assert_array_equal(y.grad.data, [0.0, 0.0])


def test_modulo_and_floor_division_with_a_number_on_the_left():
    x = tc.tensor([2.0, -3.0, 4.0])
    np.testing.assert_array_equal((7.0 % x).data, np.remainder(7.0, x.data))
    np.testing.assert_array_equal((7.0 // x).data, np.floor_divide(7.0, x.data))


def test_integer_modulo_and_floor_division_follow_python_like_numpy():
    a, b = tc.tensor([-7, 7, -7]), tc.tensor([3, -3, -3])
    assert (a % b).dtype == np.int64 and (a // b).dtype == np.int64
    np.testing.assert_array_equal((a % b).data, [2, -2, -1])
    np.testing.assert_array_equal((a // b).data, [-3, -3, 2])
    np.testing.assert_array_equal(tc.fmod(a, b).data, [-1, 1, -1])


# ---- conventions at kinks and edges ----------------------------------------------------------
def _grads(op, *values):
    ts = [tc.tensor(v, dtype=np.float64, requires_grad=True) for v in values]
    out = op(*ts)
    out.backward(tc.ones_like(out))
    return out.data, [t.grad.data for t in ts]


def test_hypot_gradient_at_the_origin_is_zero_not_nan():
    # PyTorch's hypot gives NaN here; we take the subgradient of least norm, as linalg.norm at 0.
    out, (gx, gy) = _grads(tc.hypot, 0.0, 0.0)
    assert out == 0 and gx == 0 and gy == 0


def test_arctan2_gradient_at_the_origin_is_zero_as_pytorch():
    _, (gy, gx) = _grads(tc.arctan2, 0.0, 0.0)
    assert gy == 0 and gx == 0


def test_copysign_gradient_is_sign_product_for_x_and_zero_for_y_as_pytorch():
    _, (gx, gy) = _grads(tc.copysign, [-5.5, 3.0, 0.0], [2.0, -2.0, -2.0])
    np.testing.assert_array_equal(gx, [-1.0, -1.0, 0.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0, 0.0])


def test_logaddexp_gradient_is_split_evenly_where_both_are_the_same_infinity():
    # PyTorch gives NaN; the limit along x = y, and maximum's tie rule, is 1/2 each.
    out, (gx, gy) = _grads(tc.logaddexp, [-np.inf, np.inf], [-np.inf, np.inf])
    np.testing.assert_array_equal(out, [-np.inf, np.inf])
    np.testing.assert_array_equal(gx, [0.5, 0.5])
    np.testing.assert_array_equal(gy, [0.5, 0.5])


def test_logaddexp_gradient_with_one_infinite_input_goes_to_the_larger():
    out, (gx, gy) = _grads(tc.logaddexp, [-np.inf, np.inf], [1.0, 1.0])
    np.testing.assert_array_equal(out, [1.0, np.inf])
    np.testing.assert_array_equal(gx, [0.0, 1.0])
    np.testing.assert_array_equal(gy, [1.0, 0.0])


def test_logaddexp_is_finite_at_large_inputs():
    out, (gx, gy) = _grads(tc.logaddexp, [1e4, -1e4], [1e4, -1e4])
    np.testing.assert_allclose(out, [1e4 + math.log(2), -1e4 + math.log(2)])
    np.testing.assert_allclose(gx, [0.5, 0.5])
    np.testing.assert_allclose(gy, [0.5, 0.5])


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_inverse_functions_have_infinite_gradient_at_their_edges_as_pytorch():
    assert _grads(tc.arcsin, 1.0)[1][0] == np.inf
    assert _grads(tc.arccosh, 1.0)[1][0] == np.inf
    assert _grads(tc.rsqrt, 0.0)[1][0] == -np.inf


# ---- erf and erfc: float64 precision ----------------------------------------------------------
_ERF_POINTS = np.concatenate([np.linspace(-30.0, 30.0, 60001), np.geomspace(1e-300, 1.0, 500),
                              -np.geomspace(1e-300, 1.0, 500), [0.46875, 4.0, -0.46875, -4.0]])


def test_erf_matches_math_erf_to_float64_precision():
    got, want = tc.erf(tc.tensor(_ERF_POINTS)).data, _erf(_ERF_POINTS)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_erfc_matches_math_erfc_to_float64_precision_far_into_the_tail():
    got, want = tc.erfc(tc.tensor(_ERF_POINTS)).data, _erfc(_ERF_POINTS)
    normal = want >= np.finfo(np.float64).tiny  # erfc(26.6) = 2e-308; below, fewer digits exist
    np.testing.assert_allclose(got[normal], want[normal], rtol=1e-15, atol=0)
    np.testing.assert_allclose(got[~normal], want[~normal], rtol=0, atol=1e-322)


def test_erf_and_erfc_at_infinities_nan_and_signed_zero():
    x = tc.tensor([np.inf, -np.inf, np.nan, -0.0])
    np.testing.assert_array_equal(tc.erf(x).data, [1.0, -1.0, np.nan, -0.0])
    np.testing.assert_array_equal(tc.erfc(x).data, [0.0, 2.0, np.nan, 1.0])
    assert np.signbit(tc.erf(x).data[3])


# ---- dtypes, aliases, NumPy dispatch ----------------------------------------------------------
@pytest.mark.parametrize("name", [*UNARY, *STEP])
def test_unary_op_keeps_float32(name):
    op = {**UNARY, **STEP}[name][0]
    assert op(_inside(name)).dtype == np.float32


@pytest.mark.parametrize("name", [*BINARY, "fmod", "remainder", "floor_divide"])
def test_binary_op_with_a_python_number_keeps_float32(name):
    op = getattr(tc, name)
    assert op(tc.tensor([0.5, 0.25]), 2.0).dtype == np.float32


@pytest.mark.parametrize("alias, name", [("asin", "arcsin"), ("acos", "arccos"),
                                         ("atan", "arctan"), ("atan2", "arctan2"),
                                         ("asinh", "arcsinh"), ("acosh", "arccosh"),
                                         ("atanh", "arctanh")])
def test_pytorch_spellings_are_the_numpy_ops(alias, name):
    assert getattr(tc, alias) is getattr(tc, name)
    assert getattr(tc.Tensor, alias) is getattr(tc.Tensor, name)


@pytest.mark.parametrize("name", [*UNARY, *STEP])
def test_unary_op_is_a_tensor_method(name):
    x = _inside(name)
    np.testing.assert_array_equal(getattr(x, name)().data, getattr(tc, name)(x).data)


@pytest.mark.parametrize("ufunc", [np.sin, np.arctanh, np.expm1, np.log1p, np.square, np.sign,
                                   np.floor, np.trunc, np.reciprocal])
def test_numpy_unary_ufunc_on_a_tensor_is_the_differentiable_op(ufunc):
    x = tc.tensor([0.5, 0.25], requires_grad=True)
    out = ufunc(x)
    assert isinstance(out, tc.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, ufunc(x.data), rtol=1e-6)


@pytest.mark.parametrize("ufunc", [np.arctan2, np.hypot, np.copysign, np.logaddexp, np.fmod,
                                   np.remainder, np.mod, np.floor_divide])
def test_numpy_binary_ufunc_on_a_tensor_is_the_differentiable_op(ufunc):
    x = tc.tensor([0.5, 2.25], requires_grad=True)
    out = ufunc(x, np.array([1.5, -0.75], np.float32))
    assert isinstance(out, tc.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, ufunc(x.data, np.float32([1.5, -0.75])), rtol=1e-6)
