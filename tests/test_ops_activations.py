"""Activations: forward vs NumPy formulas and gradients vs numerical differences over drawn shapes."""
import math

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course import nn, testing
from tinygrad_course.testing import Domain, check_op, shapes, valid_axes


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def one_axis(shps):
    return st.fixed_dictionaries({"axis": st.integers(-len(shps[0]), len(shps[0]) - 1)})


def axis_and_keepdims(shps):
    return st.fixed_dictionaries({"axis": valid_axes(len(shps[0])), "keepdims": st.booleans()})


POINTWISE = {
    "relu": (tc.relu, lambda x: np.maximum(x, 0.0), "relu"),
    "leaky_relu": (tc.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), "leaky_relu"),
    "leaky_relu_slope": (lambda x: tc.leaky_relu(x, negative_slope=0.2),
                         lambda x: np.where(x > 0, x, 0.2 * x), "leaky_relu"),
    "sigmoid": (tc.sigmoid, lambda x: 1 / (1 + np.exp(-x)), None),
    "tanh": (tc.tanh, np.tanh, None),
    "relu_method": (lambda x: x.relu(), lambda x: np.maximum(x, 0.0), "relu"),
    "sigmoid_method": (lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), None),
}


@pytest.mark.parametrize("name", POINTWISE)
def test_pointwise_activation_matches_numpy_and_gradcheck(name):
    op, ref, domain = POINTWISE[name]
    check_op(op, ref, domain=domain, rtol=1e-12)


def test_softmax_matches_numpy_and_gradcheck_along_any_axis():
    check_op(lambda x, axis: tc.softmax(x, axis=axis), np_softmax,
             shapes=shapes(min_dims=1, max_dims=3, max_side=4), params=one_axis)


def test_log_softmax_matches_numpy_and_gradcheck_along_any_axis():
    check_op(lambda x, axis: tc.log_softmax(x, axis=axis),
             lambda x, axis: np.log(np_softmax(x, axis)),
             shapes=shapes(min_dims=1, max_dims=3, max_side=4), params=one_axis)


def test_logsumexp_matches_numpy_and_gradcheck_for_every_axis_form():
    check_op(lambda x, axis, keepdims: tc.logsumexp(x, axis=axis, keepdims=keepdims),
             np_logsumexp, params=axis_and_keepdims)


def test_softmax_default_axis_is_the_last():
    x = tc.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(tc.softmax(x).data, np_softmax(x.data, -1), rtol=1e-6)
    np.testing.assert_allclose(x.log_softmax().data, np.log(np_softmax(x.data, -1)), rtol=1e-6)


def test_sigmoid_derivative_is_s_times_one_minus_s_by_hand():
    x = tc.tensor([-1.0, 0.0, 2.0], dtype=np.float64, requires_grad=True)
    tc.sigmoid(x).sum().backward()
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(x.grad.data, s * (1 - s))


def test_relu_derivative_at_zero_is_zero():
    x = tc.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    tc.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])


def test_activations_keep_float32():
    x = tc.randn(3, 4)
    for f in (tc.relu, tc.leaky_relu, tc.sigmoid, tc.tanh, tc.softmax, tc.log_softmax,
              tc.logsumexp):
        assert f(x).dtype == np.float32, f.__name__


@pytest.mark.parametrize("op", [tc.softmax, tc.log_softmax])
def test_softmax_of_a_0d_tensor_is_one_and_its_log_zero_as_in_pytorch(op):
    x = tc.tensor(3.0, requires_grad=True)
    out = op(x)
    assert out.shape == () and out.item() == (1.0 if op.__name__ == "softmax" else 0.0)
    out.backward()
    assert x.grad.item() == 0.0


# ---- PyTorch's other activations -----------------------------------------------------------
_erf = np.vectorize(math.erf)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def np_softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


MORE = {
    "gelu": (tc.gelu, lambda x: x * 0.5 * (1 + _erf(x / np.sqrt(2))), None),
    "gelu_tanh": (lambda x: tc.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
                  None),
    "silu": (tc.silu, lambda x: x / (1 + np.exp(-x)), None),
    "elu": (tc.elu, np_elu, "elu"),
    "elu_alpha": (lambda x: tc.elu(x, alpha=0.5), lambda x: np_elu(x, 0.5), "elu"),
    "selu": (tc.selu, lambda x: SELU_SCALE * np_elu(x, SELU_ALPHA), "selu"),
    "celu": (lambda x: tc.celu(x, alpha=2.0),
             lambda x: np.maximum(x, 0) + np.minimum(0, 2.0 * (np.exp(x / 2.0) - 1)), "celu"),
    "softplus": (tc.softplus, np_softplus, None),
    "softplus_beta_threshold": (lambda x: tc.softplus(x, beta=2.0, threshold=3.0),
                                lambda x: np_softplus(x, 2.0, 3.0),
                                Domain(kinks=(1.5,), margin=0.05)),
    "softsign": (tc.softsign, lambda x: x / (1 + np.abs(x)), "softsign"),
    "mish": (tc.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), None),
    "relu6": (tc.relu6, lambda x: np.minimum(np.maximum(x, 0), 6), "relu6"),
    "hardtanh": (tc.hardtanh, lambda x: np.clip(x, -1, 1), "hardtanh"),
    "hardtanh_bounds": (lambda x: tc.hardtanh(x, min_val=-0.5, max_val=2.0),
                        lambda x: np.clip(x, -0.5, 2.0), Domain(kinks=(-0.5, 2.0), margin=0.05)),
    "hardsigmoid": (tc.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), "hardsigmoid"),
    "hardswish": (tc.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, "hardswish"),
    "logsigmoid": (tc.logsigmoid, lambda x: -np.log1p(np.exp(-x)), None),
}


@pytest.mark.parametrize("name", MORE)
def test_more_activations_match_numpy_and_gradcheck(name):
    op, ref, domain = MORE[name]
    check_op(op, ref, domain=domain, rtol=1e-10)


@pytest.mark.parametrize("name", MORE)
def test_more_activations_have_second_derivatives(name):
    op, _, domain = MORE[name]
    dom = testing.domains[domain] if isinstance(domain, str) else (domain or testing.Domain())
    rng = np.random.default_rng(0)
    x = rng.uniform(dom.low, dom.high, (2, 3))
    for k in dom.kinks:  # keep the centered differences off the corners
        x = np.where(np.abs(x - k) < 0.1, k + 0.1, x)
    tc.gradgradcheck(op, [tc.tensor(x, requires_grad=True)])


def test_softmin_is_softmax_of_minus_x_along_any_axis():
    check_op(lambda x, axis: tc.softmin(x, axis=axis), lambda x, axis: np_softmax(-x, axis),
             shapes=shapes(min_dims=1, max_dims=3, max_side=4), params=one_axis)


def test_softmin_takes_pytorchs_dim():
    x = tc.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(tc.softmin(x, dim=0).data, np_softmax(-x.data, 0))


def test_gelu_matches_pytorchs_documented_values():
    # x * Phi(x) and PyTorch's tanh formula in float64 (torch.nn.functional.gelu gives these).
    x = tc.tensor([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], dtype=np.float64)
    exact = [-0.04550026389635842, -0.15865525393145707, 0.0, 0.34573123063700656,
             0.8413447460685429, 2.99595030590511]
    approx = [-0.04540230591222494, -0.15880800939172324, 0.0, 0.34571400982514394,
              0.8411919906082768, 2.996362607918227]
    np.testing.assert_allclose(tc.gelu(x).data, exact, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(tc.gelu(x, approximate="tanh").data, approx, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("op", [tc.softplus, tc.logsigmoid, tc.mish, tc.silu, tc.gelu, tc.elu,
                                tc.selu, tc.celu, tc.softsign, tc.hardswish,
                                lambda x: tc.gelu(x, approximate="tanh")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_more_activations_are_finite_at_1e4(op, dtype):
    x = tc.tensor(np.array([-1e4, -50.0, 50.0, 1e4], dtype=dtype), requires_grad=True)
    out = op(x)
    out.sum().backward()
    assert out.dtype == dtype and np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad.data))


def test_softplus_and_logsigmoid_are_exact_at_1e4():
    x = tc.tensor([-1e4, 1e4], dtype=np.float64, requires_grad=True)
    np.testing.assert_array_equal(tc.softplus(x).data, [0.0, 1e4])
    np.testing.assert_array_equal(tc.logsigmoid(x).data, [-1e4, 0.0])
    tc.logsigmoid(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0])


# PyTorch's gradients at the corners (hardtanh_backward & co.): 0 at both corners of relu6,
# hardtanh and hardsigmoid; hardswish 0 at -3 and 1 at 3; the elu family takes the x <= 0
# branch at 0 (alpha for elu, scale * alpha for selu, 1 for celu).
CORNERS = {
    "relu6": (tc.relu6, [0.0, 6.0], [0.0, 0.0]),
    "hardtanh": (tc.hardtanh, [-1.0, 1.0], [0.0, 0.0]),
    "hardsigmoid": (tc.hardsigmoid, [-3.0, 3.0], [0.0, 0.0]),
    "hardswish": (tc.hardswish, [-3.0, 3.0], [0.0, 1.0]),
    "elu": (lambda x: tc.elu(x, alpha=2.0), [0.0], [2.0]),
    "selu": (tc.selu, [0.0], [SELU_SCALE * SELU_ALPHA]),
    "celu": (lambda x: tc.celu(x, alpha=2.0), [0.0], [1.0]),
    "softplus_threshold": (lambda x: tc.softplus(x, beta=2.0, threshold=3.0), [1.5, 1.6],
                           [1 / (1 + np.exp(-3.0)), 1.0]),
}


@pytest.mark.parametrize("name", CORNERS)
def test_gradients_at_corners_follow_pytorch(name):
    op, points, want = CORNERS[name]
    x = tc.tensor(points, dtype=np.float64, requires_grad=True)
    op(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-15)


def test_more_activations_keep_float32():
    x = tc.randn(3, 4)
    for f in (tc.gelu, tc.silu, tc.elu, tc.selu, tc.celu, tc.softplus, tc.softsign, tc.mish,
              tc.relu6, tc.hardtanh, tc.hardsigmoid, tc.hardswish, tc.logsigmoid, tc.softmin):
        assert f(x).dtype == np.float32, f.__name__


@pytest.mark.parametrize("call, match", [
    (lambda x: tc.gelu(x, approximate="fast"), "approximate"),
    (lambda x: tc.celu(x, alpha=0.0), "alpha"),
    (lambda x: tc.softplus(x, beta=0.0), "beta"),
    (lambda x: tc.hardtanh(x, min_val=2.0, max_val=1.0), "min_val"),
])
def test_bad_activation_arguments_are_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call(tc.randn(3))


def test_nn_functional_has_every_activation():
    for name in ("relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "silu",
                 "elu", "selu", "celu", "softplus", "softsign", "mish", "relu6", "hardtanh",
                 "hardsigmoid", "hardswish", "logsigmoid", "softmin"):
        assert getattr(nn.F, name) is getattr(tc, name), name


MODULES = [
    (nn.GELU(), tc.gelu), (nn.GELU("tanh"), lambda x: tc.gelu(x, approximate="tanh")),
    (nn.SiLU(), tc.silu), (nn.ELU(alpha=0.5), lambda x: tc.elu(x, 0.5)), (nn.SELU(), tc.selu),
    (nn.CELU(2.0), lambda x: tc.celu(x, 2.0)), (nn.Softplus(2.0, 1.0),
                                                lambda x: tc.softplus(x, 2.0, 1.0)),
    (nn.Softsign(), tc.softsign), (nn.Mish(), tc.mish), (nn.ReLU6(inplace=True), tc.relu6),
    (nn.Hardtanh(-2.0, 0.5), lambda x: tc.hardtanh(x, -2.0, 0.5)),
    (nn.Hardsigmoid(), tc.hardsigmoid), (nn.Hardswish(), tc.hardswish),
    (nn.LogSigmoid(), tc.logsigmoid), (nn.Softmin(dim=0), lambda x: tc.softmin(x, 0)),
]


@pytest.mark.parametrize("module, fn", MODULES, ids=[type(m).__name__ for m, _ in MODULES])
def test_activation_modules_apply_their_function(module, fn):
    x = tc.randn(4, 3)
    np.testing.assert_array_equal(module(x).data, fn(x).data)
    assert type(module).__name__ in repr(module)


# Outputs and gradients of sum(w * f(x)) computed with PyTorch 2.13 (CPU, float64), kept here so
# the test needs no torch. Gradients agree to 1e-6: some of PyTorch's float64 backward kernels use
# float32 constants (hardsigmoid's 1/6, celu's 1/alpha); ours are exact to the last digit.
_TORCH_213 = {
    "gelu": ([-0.0, -0.00404969409489031, -0.13808360426604993, -0.1146265733433142, 0.2621686966441297, 0.9507673329589791, 2.8945891414288862, 6.999999999991041],
          [-4.625898107251012e-18, -0.0076793446312610905, -0.09267782523854427, 0.24855278794625513, 0.8600676404267716, 1.3405366196014419, 1.378038148830168, 1.5000000000939948]),
    "gelu_tanh": ([-0.0, -0.0036373920817729943, -0.13829723086213508, -0.11462907645724074, 0.2621611694273562, 0.9505810461745109, 2.895033333764528, 6.999999999999997],
          [0.0, -0.0074469642627662015, -0.09249910586173131, 0.2485827949068269, 0.8599916083077443, 1.3401579188339643, 1.3776703509248482, 1.5000000000000417]),
    "silu": ([-0.0011105511838760856, -0.14227761953270035, -0.2777702598011788, -0.1276672449565023, 0.2394750640449808, 0.8252861161546294, 2.7487546670725886, 6.993622641639196],
          [-0.0004935097859487042, -0.05663835386689475, 0.014144340355212197, 0.3270614189896089, 0.7444199554382824, 1.1613027530468312, 1.4809194249942217, 1.508190745599678]),
    "elu": ([-0.9998765901959134, -0.950212931632136, -0.6988057880877979, -0.2591817793182821, 0.4, 1.1, 2.9, 7.0],
          [6.170490204333978e-05, 0.032005972522198244, 0.2366525950738731, 0.6879026334901667, 1.0714285714285714, 1.2142857142857142, 1.3571428571428572, 1.5]),
    "selu": ([-1.7578823741521579, -1.6705687287671118, -1.2285699954174891, -0.45566731537912203, 0.4202803949421922, 1.1557710860910286, 3.047032863330893, 7.354906911488364],
          [0.00010848334760944761, 0.05626967919445599, 0.4160587714091974, 1.2094011665062365, 1.1257510578808718, 1.2758511989316548, 1.4259513399824377, 1.5760514810332207]),
    "celu": ([-0.6999981747941834, -0.6903653492868647, -0.5739353814964333, -0.2439926597282611, 0.4, 1.1, 2.9, 7.0],
          [1.3037181771581312e-06, 0.008848148119002303, 0.14150110068071295, 0.6049077021654183, 1.0714285714285714, 1.2142857142857142, 1.3571428571428572, 1.5]),
    "softplus": ([9.139720977470234e-07, 0.007365163232395878, 0.10198507368404942, 0.3288326306649699, 0.6916586336572571, 1.217116291609955, 2.9, 7.0],
          [6.854786034289223e-07, 0.007063034548238472, 0.11145440813609757, 0.36154928276143683, 0.6917746138133523, 1.0186534183712892, 1.3571428571428572, 1.5]),
    "softsign": ([-0.9, -0.75, -0.5454545454545454, -0.23076923076923075, 0.28571428571428575, 0.5238095238095238, 0.7435897435897436, 0.875],
          [0.0050000000000000044, 0.040178571428571425, 0.16233766233766234, 0.5494505494505495, 0.5466472303206997, 0.275348234531908, 0.08922701230393537, 0.0234375]),
    "mish": ([-0.0011106197018717866, -0.1456474612756246, -0.3088357963148626, -0.15113317713833455, 0.2890305340723631, 0.9708415798947235, 2.8842668281130717, 6.999988379809741],
          [-0.0004935744889338178, -0.060038430770777675, -0.0015783125234870965, 0.379331528583152, 0.8968044670090674, 1.293226560510731, 1.3901473848325718, 1.5000323387413335]),
    "relu6": ([0.0, 0.0, 0.0, 0.0, 0.4, 1.1, 2.9, 6.0],
          [0.0, 0.0, 0.0, 0.0, 1.0714285714285714, 1.2142857142857142, 1.3571428571428572, 0.0]),
    "hardtanh": ([-1.0, -1.0, -1.0, -0.3, 0.4, 1.0, 1.0, 1.0],
          [0.0, 0.0, 0.0, 0.9285714285714286, 1.0714285714285714, 0.0, 0.0, 0.0]),
    "hardsigmoid": ([0.0, 0.0, 0.3, 0.45, 0.5666666666666667, 0.6833333333333332, 0.9833333333333334, 1.0],
          [0.0, 0.0, 0.13095238485506602, 0.15476190937416895, 0.17857143389327185, 0.20238095841237475, 0.2261904829314777, 0.0]),
    "hardswish": ([-0.0, -0.0, -0.36000000000000004, -0.135, 0.22666666666666668, 0.7516666666666666, 2.8516666666666666, 7.0],
          [0.0, 0.0, 0.0785714285714286, 0.37142857142857144, 0.6785714285714285, 1.0523809523809524, 1.9904761904761907, 1.5]),
    "logsigmoid": ([-9.000123402189724, -3.048587351573742, -1.4632824673380311, -0.8543552444685272, -0.5130152523999526, -0.2873353251154308, -0.053562776217963175, -0.0009114664537742447],
          [0.4999383027120069, 0.6123690815287071, 0.6038409013206567, 0.533410908467969, 0.42997750702237286, 0.30325558606307146, 0.07077983560642408, 0.0013665767916009681]),
    "softmin": ([0.9968243374333932, 0.002470880496167024, 0.0004084337989448112, 0.00016605679066355227, 8.24613618382865e-05, 4.0949100419518875e-05, 6.768840773020568e-06, 1.121778009774766e-07],
          [0.0006211508225324651, -0.00035144324907047, -0.0001164408639078753, -7.106372108514806e-05, -4.7069394071942835e-05, -2.9223840842996014e-05, -5.797645654200484e-06, -1.121078996611359e-07]),
}
_OURS = {"gelu": tc.gelu, "gelu_tanh": lambda t: tc.gelu(t, approximate="tanh"), "silu": tc.silu,
         "elu": tc.elu, "selu": tc.selu, "celu": lambda t: tc.celu(t, 0.7),
         "softplus": lambda t: tc.softplus(t, 1.5, 2.0), "softsign": tc.softsign, "mish": tc.mish,
         "relu6": tc.relu6, "hardtanh": tc.hardtanh, "hardsigmoid": tc.hardsigmoid,
         "hardswish": tc.hardswish, "logsigmoid": tc.logsigmoid, "softmin": lambda t: tc.softmin(t, 0)}


@pytest.mark.parametrize("name", sorted(_TORCH_213))
def test_activations_match_pytorch_values_and_gradients(name):
    x = np.array([-9.0, -3.0, -1.2, -0.3, 0.4, 1.1, 2.9, 7.0])
    w = np.linspace(0.5, 1.5, x.size)
    a = tc.tensor(x, requires_grad=True)
    out = _OURS[name](a)
    (out * w).sum().backward()
    values, grads = _TORCH_213[name]
    np.testing.assert_allclose(out.data, values, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a.grad.data, grads, rtol=1e-6, atol=1e-15)
