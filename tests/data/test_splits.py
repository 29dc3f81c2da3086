import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_course as tc
from tinygrad_course.data import suggest_split, train_dev_test_split


def _ids(m):
    """X whose rows are their own example ids, y the same ids: alignment is checkable."""
    return np.arange(m * 2).reshape(m, 2), np.arange(m)


def test_fractions_give_rounded_sizes_and_train_gets_the_rest():
    X, y = _ids(1000)
    train, dev, test = train_dev_test_split(X, y, dev=0.2, test=0.1, seed=0)
    assert [len(s[1]) for s in (train, dev, test)] == [700, 200, 100]


def test_counts_are_taken_exactly():
    X, y = _ids(1000)
    train, dev, test = train_dev_test_split(X, y, dev=50, test=30, seed=0)
    assert [len(s[1]) for s in (train, dev, test)] == [920, 50, 30]


@given(m=st.integers(1, 300), dev=st.floats(0, 0.5), test=st.floats(0, 0.5), seed=st.integers(0, 99))
def test_splits_partition_the_examples_and_keep_rows_with_labels(m, dev, test, seed):
    X, y = _ids(m)
    splits = train_dev_test_split(X, y, dev=dev, test=test, seed=seed)
    for Xs, ys in splits:
        np.testing.assert_array_equal(Xs[:, 0], 2 * ys)
    ids = np.concatenate([ys for _, ys in splits])
    np.testing.assert_array_equal(np.sort(ids), np.arange(m))
    n_test = round(test * m)
    assert len(splits.test[1]) == n_test and len(splits.dev[1]) == round((dev + test) * m) - n_test
    assert abs(len(splits.dev[1]) - dev * m) <= 1


def test_same_seed_same_split_and_the_split_is_shuffled():
    X, y = _ids(500)
    a = train_dev_test_split(X, y, seed=7)
    b = train_dev_test_split(X, y, seed=7)
    c = train_dev_test_split(X, y, seed=8)
    for (_, ya), (_, yb) in zip(a, b):
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a.test[1], c.test[1])
    assert not np.array_equal(np.sort(a.test[1]), np.arange(100)), "the test set is not just the first rows"


def test_seed_none_draws_from_the_global_generator():
    X, y = _ids(200)
    tc.manual_seed(3)
    a = train_dev_test_split(X, y)
    tc.manual_seed(3)
    b = train_dev_test_split(X, y)
    np.testing.assert_array_equal(a.dev[1], b.dev[1])
    tc.manual_seed(4)
    assert not np.array_equal(train_dev_test_split(X, y).dev[1], a.dev[1])


def test_default_sizes_follow_suggest_split():
    X, y = _ids(5000)
    train, dev, test = train_dev_test_split(X, y, seed=0)
    assert [len(s[1]) for s in (train, dev, test)] == [3000, 1000, 1000]


def test_stratified_splits_are_shuffled_not_left_interleaved_by_class():
    # Stratifying interleaves two equal classes almost perfectly (a class change at ~75% of the
    # steps); shuffled, a change happens at about half of them.
    y, X = np.repeat([0, 1], 100), np.arange(200)[:, None]
    changes = [np.mean(np.diff(train_dev_test_split(X, y, 0.2, 0.2, seed=s, stratify=True).train[1]) != 0)
               for s in range(3)]
    assert np.mean(changes) < 0.6


def test_stratified_split_keeps_a_rare_class_in_proportion():
    y = np.r_[np.zeros(100, int), np.ones(900, int)]
    X = np.arange(1000)[:, None]
    for seed in range(5):
        train, dev, test = train_dev_test_split(X, y, dev=0.1, test=0.1, seed=seed, stratify=True)
        assert abs((dev[1] == 0).sum() - 10) <= 1 and abs((test[1] == 0).sum() - 10) <= 1
        assert abs((train[1] == 0).sum() - 80) <= 2


@given(labels=st.lists(st.integers(0, 3), min_size=2, max_size=200), dev=st.floats(0, 0.4),
       test=st.floats(0, 0.4), seed=st.integers(0, 99))
def test_stratified_counts_are_within_the_proven_bound(labels, dev, test, seed):
    y = np.array(labels)
    m, classes = y.size, np.unique(y)
    X = np.arange(m)[:, None]
    splits = train_dev_test_split(X, y, dev=dev, test=test, seed=seed, stratify=True)
    # Every prefix of the stratified order holds class c within 1 + C * n_c / m of k * n_c / m.
    for _, ys in splits:
        for c in classes:
            n_c = (y == c).sum()
            assert abs((ys == c).sum() - ys.size * n_c / m) < 1 + classes.size * n_c / m + 1e-9
    np.testing.assert_array_equal(np.sort(np.concatenate([Xs[:, 0] for Xs, _ in splits])), np.arange(m))


def test_stratify_treats_each_distinct_row_of_one_hot_labels_as_a_class():
    y = np.eye(2)[np.r_[np.zeros(50, int), np.ones(150, int)]]
    X = np.arange(200)[:, None]
    _, dev, test = train_dev_test_split(X, y, dev=0.2, test=0.2, seed=1, stratify=True)
    assert dev[1][:, 0].sum() == 10 and test[1][:, 0].sum() == 10


def test_tensors_in_tensors_out():
    X, y = tc.Tensor(np.ones((10, 3))), tc.Tensor(np.arange(10))
    train, dev, test = train_dev_test_split(X, y, dev=2, test=2, seed=0)
    assert isinstance(train[0], tc.Tensor) and isinstance(dev[1], tc.Tensor)
    assert train[0].shape == (6, 3) and not train[0].requires_grad


def test_mismatched_lengths_name_both():
    with pytest.raises(ValueError, match="X with 10 and y with 9"):
        train_dev_test_split(np.zeros((10, 2)), np.zeros(9))


@pytest.mark.parametrize("dev, test, match", [
    (0.6, 0.5, r"sum to 1\.1"), (0.5, 600, "600 examples"), (-1, 0.1, "dev=-1"),
    (0.1, 1.5, r"test=1\.5"), (True, 0.1, "dev must be a fraction"),
])
def test_bad_sizes_are_refused_with_the_value(dev, test, match):
    X, y = _ids(1000)
    with pytest.raises((ValueError, TypeError), match=match):
        train_dev_test_split(X, y, dev=dev, test=test)


@pytest.mark.parametrize("m, ratios", [
    (1_000, (0.6, 0.2, 0.2)), (50_000, (0.6, 0.2, 0.2)), (100_000, (0.8, 0.1, 0.1)),
    (1_000_000, (0.98, 0.01, 0.01)), (10_000_000, (0.998, 0.001, 0.001)),
])
def test_suggest_split_follows_the_lecture(m, ratios):
    np.testing.assert_allclose(suggest_split(m), ratios, rtol=1e-12)


@given(st.integers(1, 10**9))
def test_suggested_dev_share_never_grows_with_m_and_ratios_sum_to_one(m):
    r = suggest_split(m)
    assert abs(sum(r) - 1) < 1e-12 and r.dev == r.test
    assert suggest_split(m + 1).dev <= r.dev
    assert r.dev * m >= min(0.2 * m, 10_000) - 1e-6


def test_suggest_split_refuses_no_examples():
    with pytest.raises(ValueError, match="got 0"):
        suggest_split(0)
