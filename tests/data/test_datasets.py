import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course.data import (DATASETS, football_boundary, load_dataset, make_blobs, make_circles,
                                  make_football, make_moons, make_planar_flower, make_spirals)

NAMES = sorted(DATASETS)
N_CLASSES = {"spirals": 3, "blobs": 3}


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtypes_and_balanced_classes(name):
    X, y = load_dataset(name, n_samples=101, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    k = N_CLASSES.get(name, 2)
    assert set(np.unique(y)) == set(range(k))
    if name != "football":  # football's classes follow the field, not a quota
        assert np.ptp(np.bincount(y)) <= 1


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_data_other_seed_other_data(name):
    X1, y1 = load_dataset(name, seed=4)
    X2, y2 = load_dataset(name, seed=4)
    X3, _ = load_dataset(name, seed=5)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("name", NAMES)
def test_seed_none_draws_from_the_global_generator(name):
    tc.manual_seed(9)
    X1, _ = load_dataset(name)
    tc.manual_seed(9)
    X2, _ = load_dataset(name)
    np.testing.assert_array_equal(X1, X2)
    tc.manual_seed(10)
    assert not np.array_equal(load_dataset(name)[0], X1)


@pytest.mark.parametrize("name", ["moons", "circles", "planar_flower", "blobs", "spirals"])
def test_examples_are_shuffled_not_sorted_by_class(name):
    _, y = load_dataset(name, seed=0)
    assert (np.diff(y) != 0).sum() > 10


def test_moons_without_noise_lie_on_the_two_half_circles():
    X, y = make_moons(100, noise=0.0, seed=0)
    X = X.astype(np.float64)
    top, bottom = X[y == 0], X[y == 1] - [1.0, 0.5]
    np.testing.assert_allclose(np.hypot(*top.T), 1, atol=1e-6)
    np.testing.assert_allclose(np.hypot(*bottom.T), 1, atol=1e-6)
    assert (top[:, 1] >= -1e-6).all() and (bottom[:, 1] <= 1e-6).all()


def test_circles_without_noise_have_radius_one_and_factor():
    X, y = make_circles(80, noise=0.0, seed=0, factor=0.3)
    r = np.hypot(*X.astype(np.float64).T)
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, atol=1e-6)


def test_spirals_without_noise_follow_angle_4r_plus_class_offset():
    X, y = make_spirals(90, noise=0.0, seed=0, n_classes=3)
    X = X.astype(np.float64)
    r = np.hypot(*X.T)
    keep = r > 0.05
    angle = np.arctan2(X[:, 0], X[:, 1])
    expected = 4 * r + 2 * np.pi * y / 3
    np.testing.assert_allclose(np.angle(np.exp(1j * (angle - expected)))[keep], 0, atol=1e-5)


def test_flower_without_noise_has_radius_4_sin_4t():
    X, y = make_planar_flower(400, noise=0.0, seed=0)
    X = X.astype(np.float64)
    t = np.arctan2(X[:, 0], X[:, 1])
    r = np.hypot(*X.T)
    np.testing.assert_allclose(r, np.abs(4 * np.sin(4 * t)), atol=1e-5)


def test_flower_is_not_linearly_separable():
    X, y = make_planar_flower(seed=0)
    A = np.c_[X, np.ones(len(X))]
    w = np.linalg.lstsq(A, 2.0 * y - 1, rcond=None)[0]
    assert ((A @ w > 0) == y).mean() < 0.7  # the course: logistic regression gets 47%


def test_blobs_spread_by_noise_around_their_centers():
    centers = np.array([[0.0, 0.0], [5.0, 5.0]])
    X, y = make_blobs(4000, noise=0.3, seed=0, centers=centers)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(0), centers[k], atol=0.03)
        np.testing.assert_allclose(X[y == k].std(0), 0.3, rtol=0.06)
    X0, y0 = make_blobs(6, noise=0.0, seed=0, centers=centers)
    np.testing.assert_array_equal(X0, centers[y0])


def test_football_flips_a_noise_fraction_of_labels_from_the_frontier():
    X, y = make_football(20_000, noise=0.1, seed=0)
    assert np.abs(X).max() <= 0.75
    truth = X[:, 1] > football_boundary(X[:, 0])
    assert abs((truth != y).mean() - 0.1) < 0.01
    _, y_clean = make_football(500, noise=0.0, seed=1)
    X_clean, _ = make_football(500, noise=0.0, seed=1)
    np.testing.assert_array_equal(y_clean, X_clean[:, 1] > football_boundary(X_clean[:, 0]))


def test_football_punishes_memorizing_the_training_set():
    """A 1-nearest-neighbour rule (zero training error, all variance) loses to the true frontier
    on new positions: the noise is there for regularization to ignore."""
    X, y = make_football(211, noise=0.1, seed=0)
    X_new, y_new = make_football(2000, noise=0.1, seed=1)

    def one_nn(P):
        return y[np.argmin(((P[:, None, :] - X[None, :, :]) ** 2).sum(-1), axis=1)]

    def frontier(P):
        return P[:, 1] > football_boundary(P[:, 0])

    assert (one_nn(X) == y).mean() == 1.0 and (frontier(X) == y).mean() < 0.95
    memorized_acc, frontier_acc = (one_nn(X_new) == y_new).mean(), (frontier(X_new) == y_new).mean()
    assert frontier_acc > 0.87 and frontier_acc - memorized_acc > 0.05


def test_load_dataset_passes_keywords_and_accepts_the_make_prefix():
    X, y = load_dataset("make_spirals", n_samples=40, n_classes=4, noise=0.0, seed=1)
    Xd, yd = make_spirals(40, 0.0, 1, n_classes=4)
    np.testing.assert_array_equal(X, Xd)
    assert set(y) == {0, 1, 2, 3}


def test_unknown_dataset_names_it_and_the_known_ones():
    with pytest.raises(ValueError, match="'mnist'.*moons"):
        load_dataset("mnist")


@pytest.mark.parametrize("kw, match", [
    ({"n_samples": 0}, "n_samples must be an int >= 1, got 0"),
    ({"n_samples": 2.5}, "got 2.5"),
    ({"noise": -0.1}, r"noise must be a finite number >= 0, got -0\.1"),
])
def test_bad_sizes_and_noise_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        make_moons(**kw)


def test_bad_class_counts_are_refused():
    with pytest.raises(ValueError, match="n_classes must be an int >= 2, got 1"):
        make_spirals(n_classes=1)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        make_blobs(centers=np.zeros(3))
    with pytest.raises(ValueError, match=r"fraction of flipped labels.*1\.5"):
        make_football(noise=1.5)
