import importlib

import pytest


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    return importlib.import_module("08_ewa").run(out=tmp_path_factory.mktemp("ewa"), quick=True)


def test_the_course_correction_factor_after_two_steps(findings):
    assert findings["correction_after_2_steps"] == pytest.approx(1 - 0.98 ** 2)
    assert findings["correction_after_2_steps"] == pytest.approx(0.0396)


def test_without_correction_the_098_curve_starts_near_zero(findings):
    data = findings["first_week_data"]
    assert findings["first_week_raw_0.98"] < 0.15 * data
    assert findings["first_week_corrected_0.98"] == pytest.approx(data, rel=0.1)


def test_larger_beta_is_smoother_but_lags_more(findings):
    rough, lag = findings["roughness"], findings["lag_days"]
    assert rough[0.98] < rough[0.9] < rough[0.5] < findings["roughness_data"]
    assert lag[0.5] < lag[0.9] < lag[0.98]
    assert 20 <= lag[0.98] <= 60
    assert findings["window_days"] == pytest.approx({0.9: 10, 0.98: 50, 0.5: 2})


def test_plots_are_written(findings, assert_pngs):
    assert_pngs(findings["out"], findings["plots"])
