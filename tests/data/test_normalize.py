import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_course as tc
from tinygrad_course.data import Normalizer


def _course_formulas(X):
    """The lecture, written out: mu = mean(x); x -= mu; sigma^2 = mean(x**2); x /= sigma."""
    mu = X.sum(axis=0) / X.shape[0]
    Xc = X - mu
    sigma2 = (Xc ** 2).sum(axis=0) / X.shape[0]
    return mu, sigma2, Xc / np.sqrt(sigma2)


def test_statistics_and_output_match_the_course_formulas():
    X = np.random.default_rng(0).normal([3.0, -2.0, 10.0], [0.5, 4.0, 1e-3], size=(200, 3))
    mu, sigma2, expected = _course_formulas(X)
    norm = Normalizer()
    Z = norm.fit_transform(X)
    np.testing.assert_allclose(norm.mean_[0], mu, rtol=1e-12)
    np.testing.assert_allclose(norm.var_[0], sigma2, rtol=1e-10)
    np.testing.assert_allclose(Z, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose((Z ** 2).mean(0), 1, rtol=1e-10)


def test_dev_and_test_use_the_training_statistics_not_their_own():
    rng = np.random.default_rng(1)
    X_train, X_dev = rng.normal(5, 2, (100, 2)), rng.normal(0, 1, (30, 2))
    norm = Normalizer().fit(X_train)
    mu, sigma2, _ = _course_formulas(X_train)
    np.testing.assert_allclose(norm.transform(X_dev), (X_dev - mu) / np.sqrt(sigma2), rtol=1e-9)
    assert norm.transform(X_dev).mean() < -1, "dev data far from the training mean stays far"


def test_constant_feature_becomes_zero_not_nan_and_inverts_exactly():
    X = np.c_[np.linspace(0, 1, 7), np.full(7, 0.1), np.zeros(7)]
    norm = Normalizer()
    Z = norm.fit_transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_array_equal(Z[:, 1:], 0.0)
    np.testing.assert_array_equal(norm.inverse_transform(Z)[:, 1:], X[:, 1:])


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=20),
                  elements=st.floats(-1e3, 1e3)))
def test_inverse_transform_undoes_transform_and_nothing_is_nan(X):
    norm = Normalizer().fit(X)
    Z = norm.transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_allclose(norm.inverse_transform(Z), X, rtol=1e-9, atol=1e-9)


def test_float32_stays_float32_and_ints_become_the_default_float():
    X32 = np.random.default_rng(2).normal(size=(10, 3)).astype(np.float32)
    assert Normalizer().fit_transform(X32).dtype == np.float32
    assert Normalizer().fit_transform(np.arange(12).reshape(6, 2)).dtype == np.float32


def test_tensor_in_tensor_out_and_gradient_flows():
    X = np.random.default_rng(3).normal(2, 3, (20, 2))
    norm = Normalizer().fit(X)
    t = tc.Tensor(X, requires_grad=True)
    Z = norm.transform(t)
    assert isinstance(Z, tc.Tensor)
    np.testing.assert_allclose(Z.data, norm.transform(X), rtol=1e-12)
    Z.sum().backward()
    np.testing.assert_allclose(t.grad.data, np.broadcast_to(1 / np.sqrt(norm.var_), X.shape), rtol=1e-12)
    assert isinstance(Normalizer().fit(t).transform(X), np.ndarray)


def test_course_layout_with_examples_along_axis_1():
    X = np.random.default_rng(4).normal(1, 2, (3, 50))
    Z = Normalizer(axis=1).fit_transform(X)
    np.testing.assert_allclose(Z, Normalizer().fit_transform(X.T).T, rtol=1e-12)


def test_state_dict_round_trip():
    X = np.random.default_rng(5).normal(size=(8, 2))
    a = Normalizer().fit(X)
    b = Normalizer()
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.transform(X), a.transform(X))


def test_transform_before_fit_is_an_error():
    with pytest.raises(RuntimeError, match="fit"):
        Normalizer().transform(np.zeros((2, 2)))


def test_wrong_number_of_features_names_the_shapes():
    norm = Normalizer().fit(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"shape \(4, 2\).*\(3,\)"):
        norm.transform(np.zeros((4, 2)))


def test_fit_on_no_examples_is_an_error():
    with pytest.raises(ValueError, match="no examples"):
        Normalizer().fit(np.zeros((0, 3)))


def test_nan_is_ignored_by_the_statistics_and_stays_only_where_it_was():
    X = np.array([[1.0, 10.0], [np.nan, 20.0], [3.0, np.nan], [5.0, 30.0]])
    norm = Normalizer().fit(X)
    # scikit-learn's StandardScaler: nanmean / nanvar over the values that are there.
    np.testing.assert_allclose(norm.mean_[0], [3.0, 20.0])
    np.testing.assert_allclose(norm.var_[0], [np.var([1.0, 3.0, 5.0]), np.var([10.0, 20.0, 30.0])])
    Z = norm.transform(X)
    np.testing.assert_array_equal(np.isnan(Z), np.isnan(X))
    assert np.isfinite(norm.transform(np.array([[2.0, 15.0]]))).all()


def test_inf_in_the_training_set_is_refused_naming_the_column():
    X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.inf], [7.0, 8.0, 9.0]])
    with pytest.raises(ValueError, match="Normalizer.fit: column 2 of X contains inf"):
        Normalizer().fit(X)
    with pytest.raises(ValueError, match="row 0 of X contains inf"):
        Normalizer(axis=1).fit(X.T[::-1])


def test_a_feature_that_is_nan_in_every_example_is_refused_naming_it():
    X = np.array([[1.0, np.nan], [2.0, np.nan]])
    with pytest.raises(ValueError, match="column 1 of X is NaN in every example"):
        Normalizer().fit(X)
