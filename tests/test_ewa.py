import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.ewa import EWA, correction_factor, ewa_series, ewa_update_

VALUES = st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=20)


def _by_hand(values, beta):
    v, out = 0.0, []
    for theta in values:
        v = beta * v + (1 - beta) * theta
        out.append(v)
    return np.array(out)


@given(VALUES, st.floats(0, 0.999))
def test_update_is_v_equals_beta_v_plus_one_minus_beta_theta_from_zero(values, beta):
    avg = EWA(beta)
    got = [avg.update(v) for v in values]
    np.testing.assert_allclose(got, _by_hand(values, beta), rtol=1e-12, atol=1e-9)
    assert avg.t == len(values)


@given(VALUES, st.floats(0, 0.999))
def test_bias_correction_divides_by_one_minus_beta_to_the_t(values, beta):
    got = ewa_series(values, beta, bias_correction=True)
    t = np.arange(1, len(values) + 1)
    np.testing.assert_allclose(got, _by_hand(values, beta) / (1 - beta ** t), rtol=1e-9, atol=1e-9)


def test_the_course_correction_after_two_steps_with_beta_0_98():
    avg = EWA(0.98, bias_correction=True)
    assert avg.correction == 1.0  # no update yet: nothing to correct
    avg.update(40.0)
    avg.update(50.0)
    assert avg.correction == pytest.approx(0.0396, abs=1e-15)
    assert avg.value == pytest.approx(0.98 * 0.02 * 40 + 0.02 * 50, rel=1e-15)
    assert correction_factor(0.98, 2) == avg.correction


def test_a_constant_series_is_exact_from_the_first_step_only_with_correction():
    raw, corrected = ewa_series([7.0] * 3, 0.9), ewa_series([7.0] * 3, 0.9, bias_correction=True)
    np.testing.assert_allclose(raw, [0.7, 1.33, 1.897], rtol=1e-12)
    np.testing.assert_allclose(corrected, 7.0, rtol=1e-12)


def test_arrays_are_averaged_elementwise_in_place_and_keep_float32():
    avg = EWA(0.5)
    avg.update(np.array([2.0, 4.0], np.float32))
    state = avg.value
    avg.update(np.array([4.0, 0.0], np.float32))
    assert avg.value is state and avg.value.dtype == np.float32
    np.testing.assert_array_equal(avg.value, [2.5, 1.0])


def test_integer_arrays_and_tensors_are_averaged_as_floats():
    avg = EWA(0.5)
    avg.update(np.array([1, 2]))
    assert avg.value.dtype == np.float64
    avg.update(tc.tensor([3.0, 4.0], dtype=np.float64))
    np.testing.assert_allclose(avg.value, [0.25 * 1 + 0.5 * 3, 0.25 * 2 + 0.5 * 4])


@pytest.mark.parametrize("first, then", [(np.ones(3), np.ones((2, 3))), (np.ones(3), 5.0),
                                         (1.0, np.ones(3))])
def test_a_value_of_another_shape_is_refused_and_changes_nothing(first, then):
    avg = EWA(0.9)
    avg.update(first)
    before = np.copy(avg.value)
    with pytest.raises(ValueError, match=r"EWA.update: got a value of shape .* but this average has "
                                         r"shape .* use one EWA per quantity, or reset\(\)"):
        avg.update(then)
    assert avg.t == 1
    np.testing.assert_array_equal(avg.value, before)


@pytest.mark.parametrize("beta", [1.0, -0.1, 1.5])
def test_beta_outside_zero_one_is_refused(beta):
    with pytest.raises(ValueError, match=rf"EWA: beta must be in \[0, 1\), got {beta}"):
        EWA(beta)


def test_no_average_before_the_first_update():
    with pytest.raises(ValueError, match=r"no value yet; call update\(\) first"):
        EWA(0.9).average


def test_reset_starts_over():
    avg = EWA(0.9)
    avg.update(3.0)
    avg.reset()
    assert (avg.value, avg.t) == (None, 0)
    assert avg.update(3.0) == pytest.approx(0.3)


@pytest.mark.parametrize("first", [2.0, np.array([1.0, -1.0])])
def test_state_dict_round_trip_continues_the_same_averages(first):
    a = EWA(0.8, bias_correction=True)
    a.update(first)
    saved = a.state_dict()
    b = EWA(0.1)
    b.load_state_dict(saved)
    assert b.bias_correction and b.beta == 0.8
    kept = np.copy(saved["value"])
    np.testing.assert_array_equal(b.update(np.multiply(first, 3)), a.update(np.multiply(first, 3)))
    np.testing.assert_array_equal(saved["value"], kept)  # neither average writes into the state


def test_ewa_update_writes_into_avg_and_may_use_the_value_as_scratch():
    avg, value = np.array([1.0, 2.0]), np.array([3.0, 6.0])
    out = ewa_update_(avg, value, 0.75, scratch=value)
    assert out is avg
    np.testing.assert_allclose(avg, [0.75 * 1 + 0.25 * 3, 0.75 * 2 + 0.25 * 6])


@pytest.mark.parametrize("key", ["beta", "bias_correction", "t", "value"])
def test_load_state_dict_names_a_missing_entry(key):
    avg = EWA(0.9)
    avg.update(1.0)
    saved = avg.state_dict()
    del saved[key]
    with pytest.raises(tc.StateDictError, match=f"EWA.load_state_dict: the state has no '{key}'"):
        EWA(0.5).load_state_dict(saved)
