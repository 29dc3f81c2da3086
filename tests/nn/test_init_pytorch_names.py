"""nn.init's PyTorch names (kaiming_*, xavier_*, constant_, normal_, uniform_, orthogonal_,
trunc_normal_, calculate_gain), each drawing from `generator=`, checked against PyTorch's
documented formulas."""
import math

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.nn import init


def _w(*shape):
    return nn.Parameter(np.zeros(shape, np.float64))


def test_calculate_gain_matches_pytorchs_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_kaiming_normal_with_defaults_is_the_courses_he_initialization():
    a, b = _w(400, 50), _w(400, 50)
    init.kaiming_normal_(a, generator=tc.Generator(3))
    init.he_normal_(b, generator=tc.Generator(3))
    np.testing.assert_allclose(a.data, b.data, rtol=1e-12)
    assert a.data.std() == pytest.approx(math.sqrt(2 / 50), rel=0.02)


def test_kaiming_uniform_fan_out_bound_is_gain_sqrt_3_over_fan_out():
    w = _w(20, 30, 3, 3)
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu", generator=tc.Generator(0))
    bound = math.sqrt(2) * math.sqrt(3 / (20 * 9))
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.95 * bound


def test_xavier_uniform_bound_and_xavier_normal_std():
    w = _w(300, 200)
    init.xavier_uniform_(w, gain=2.0, generator=tc.Generator(1))
    bound = 2 * math.sqrt(6 / 500)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    init.xavier_normal_(w, generator=tc.Generator(1))
    assert w.data.std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)


def test_constant_zeros_ones():
    w = _w(2, 3)
    np.testing.assert_array_equal(init.constant_(w, 0.3).data, 0.3)
    np.testing.assert_array_equal(init.ones_(w).data, 1)
    np.testing.assert_array_equal(init.zeros_(w).data, 0)


def test_normal_with_keywords_as_pytorch_and_the_positional_form_refused_with_a_fix_that_works():
    w = _w(200, 200)
    init.normal_(w, mean=3.0, std=0.5, generator=tc.Generator(0))
    assert w.data.mean() == pytest.approx(3, abs=0.01) and w.data.std() == pytest.approx(0.5, rel=0.02)
    with pytest.raises(TypeError, match=r"normal_\(t, mean=0, std=0.02\)") as info:
        init.normal_(w, 0, 0.02)
    fix = str(info.value).split("is ")[-1].replace("(t,", "(w,")
    eval("init." + fix)
    assert w.data.std() == pytest.approx(0.02, rel=0.02)


def test_uniform_takes_pytorchs_a_and_b():
    w = _w(100, 100)
    init.uniform_(w, a=-3.0, b=-2.0, generator=tc.Generator(0))
    assert -3 <= w.data.min() and w.data.max() <= -2


def test_trunc_normal_stays_within_its_bounds():
    w = _w(100, 100)
    init.trunc_normal_(w, mean=1.0, std=2.0, a=0.0, b=1.5, generator=tc.Generator(0))
    assert w.data.min() >= 0 and w.data.max() <= 1.5


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 2, 2)])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape):
    w = _w(*shape)
    init.orthogonal_(w, gain=2.0, generator=tc.Generator(0))
    m = w.data.reshape(shape[0], -1)
    small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(small, 4 * np.eye(min(m.shape)), atol=1e-12)


@pytest.mark.parametrize("fn", [init.kaiming_normal_, init.kaiming_uniform_, init.xavier_normal_,
                                init.xavier_uniform_, init.orthogonal_, init.trunc_normal_,
                                init.normal_, init.uniform_])
def test_every_random_initializer_reproduces_from_its_generator(fn):
    a, b = _w(5, 4), _w(5, 4)
    fn(a, generator=tc.Generator(42))
    fn(b, generator=tc.Generator(42))
    np.testing.assert_array_equal(a.data, b.data)
