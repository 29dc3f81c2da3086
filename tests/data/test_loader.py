import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_course as tc
from tinygrad_course.data import DataLoader, minibatches


def _ids(m):
    return np.arange(m * 3).reshape(m, 3), np.arange(m)


def _course_random_mini_batches(X, y, batch_size, seed):
    """The course's random_mini_batches, examples along axis 0: permute, then cut, keep the rest."""
    perm = np.random.default_rng(seed).permutation(X.shape[0])
    Xs, ys = X[perm], y[perm]
    full = X.shape[0] // batch_size
    out = [(Xs[k * batch_size:(k + 1) * batch_size], ys[k * batch_size:(k + 1) * batch_size])
           for k in range(full)]
    if X.shape[0] % batch_size:
        out.append((Xs[full * batch_size:], ys[full * batch_size:]))
    return out


def test_148_examples_at_64_give_64_64_20():
    X, y = _ids(148)
    assert [len(yb) for _, yb in minibatches(X, y, 64, seed=0)] == [64, 64, 20]


def test_batches_match_the_course_procedure():
    X, y = _ids(148)
    for (Xb, yb), (Xe, ye) in zip(minibatches(X, y, 64, seed=3), _course_random_mini_batches(X, y, 64, 3),
                                  strict=True):
        np.testing.assert_array_equal(Xb, Xe)
        np.testing.assert_array_equal(yb, ye)


@given(m=st.integers(1, 300), batch_size=st.integers(1, 400), seed=st.integers(0, 99))
def test_batches_partition_a_permutation_and_keep_rows_with_labels(m, batch_size, seed):
    X, y = _ids(m)
    batches = list(minibatches(X, y, batch_size, seed=seed))
    assert len(batches) == math.ceil(m / batch_size)
    assert all(len(yb) == batch_size for _, yb in batches[:-1]) and 1 <= len(batches[-1][1]) <= batch_size
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb[:, 0], 3 * yb)
    np.testing.assert_array_equal(np.sort(np.concatenate([yb for _, yb in batches])), np.arange(m))


def test_batch_size_at_least_m_is_batch_gradient_descent():
    X, y = _ids(50)
    batches = list(minibatches(X, y, batch_size=1000, shuffle=False))
    assert len(batches) == 1
    np.testing.assert_array_equal(batches[0][0], X)


def test_batch_size_one_is_stochastic_gradient_descent():
    X, y = _ids(7)
    assert [len(yb) for _, yb in minibatches(X, y, batch_size=1, seed=0)] == [1] * 7


def test_no_shuffle_keeps_the_order():
    X, y = _ids(10)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in minibatches(X, y, 4, shuffle=False)]),
                                  np.arange(10))


def test_seed_none_uses_the_global_generator():
    X, y = _ids(30)
    tc.manual_seed(5)
    a = [yb for _, yb in minibatches(X, y, 8)]
    tc.manual_seed(5)
    b = [yb for _, yb in minibatches(X, y, 8)]
    for ya, yb in zip(a, b, strict=True):
        np.testing.assert_array_equal(ya, yb)
    tc.manual_seed(6)
    assert not np.array_equal(np.concatenate([yb for _, yb in minibatches(X, y, 8)]),
                              np.concatenate(a))


def test_an_int_seed_repeats_its_permutation_and_a_shared_generator_moves_on():
    X, y = _ids(20)

    def order(seed):
        return np.concatenate([yb for _, yb in minibatches(X, y, 8, seed=seed)])

    np.testing.assert_array_equal(order(3), order(3))
    rng = np.random.default_rng(3)
    first, second = order(rng), order(rng)
    np.testing.assert_array_equal(first, order(3))
    assert not np.array_equal(first, second)


def test_tensors_in_tensors_out():
    Xb, yb = next(minibatches(tc.Tensor(np.ones((5, 2))), tc.Tensor(np.arange(5)), 2, seed=0))
    assert isinstance(Xb, tc.Tensor) and isinstance(yb, tc.Tensor) and Xb.shape == (2, 2)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_bad_batch_size_is_refused_with_the_value(batch_size):
    X, y = _ids(5)
    with pytest.raises(ValueError, match=f"got {batch_size!r}"):
        minibatches(X, y, batch_size)
    with pytest.raises(ValueError, match=f"got {batch_size!r}"):
        DataLoader(X, y, batch_size)


def test_mismatched_lengths_are_refused_before_iterating():
    with pytest.raises(ValueError, match="X with 5 and y with 4"):
        minibatches(np.zeros((5, 2)), np.zeros(4))


def test_dataloader_len_is_the_number_of_batches():
    X, y = _ids(148)
    assert len(DataLoader(X, y, 64)) == 3 and len(DataLoader(X, y, 148)) == 1 and len(DataLoader(X, y, 1)) == 148


def test_dataloader_gives_a_fresh_permutation_each_epoch():
    X, y = _ids(100)
    loader = DataLoader(X, y, batch_size=100, seed=0)
    epoch1, epoch2 = next(iter(loader))[1], next(iter(loader))[1]
    assert not np.array_equal(epoch1, epoch2)
    np.testing.assert_array_equal(np.sort(epoch1), np.sort(epoch2))


def test_dataloader_epochs_are_reproducible_from_the_seed():
    X, y = _ids(40)
    a, b = DataLoader(X, y, 16, seed=11), DataLoader(X, y, 16, seed=11)
    for _ in range(3):
        for (_, ya), (_, yb) in zip(a, b, strict=True):
            np.testing.assert_array_equal(ya, yb)


def test_dataloader_without_shuffle_repeats_the_order():
    X, y = _ids(9)
    loader = DataLoader(X, y, 4, shuffle=False)
    assert [list(yb) for _, yb in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8]] == [list(yb) for _, yb in loader]


def test_y_none_gives_x_only_batches_as_pytorchs_dataloader_over_x():
    X, _ = _ids(10)
    batches = list(minibatches(X, None, batch_size=4, shuffle=False))
    assert [b.shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    np.testing.assert_array_equal(np.concatenate(batches), X)
    loaded = list(DataLoader(X, None, batch_size=4, seed=0))
    assert len(loaded) == 3 and sorted(np.concatenate(loaded)[:, 0]) == list(X[:, 0])


def test_dataloader_of_an_x_y_tuple_names_the_two_ways_to_write_it():
    X, y = np.zeros((10, 2)), np.zeros(10)
    with pytest.raises(TypeError, match=r"tuple of two arrays as X.*write DataLoader\(X, y, "
                                        r"\.\.\.\) or DataLoader\(TensorDataset\(X, y\)"):
        DataLoader((X, y), batch_size=4)
