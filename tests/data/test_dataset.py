"""Dataset protocol, TensorDataset, random_split, default_collate, drop_last, loader state and
load_digits, as PyTorch's torch.utils.data."""
import builtins
import math

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course.data import (DataLoader, Dataset, TensorDataset, default_collate,
                                  load_digits, random_split)


class Squares:
    """A plain map-style dataset: example i is ({"x": [i, i*i]}, i % 3)."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=np.float32)}, i % 3


def test_any_object_with_len_and_getitem_is_a_dataset():
    assert isinstance(Squares(), Dataset) and isinstance(TensorDataset(np.zeros(3)), Dataset)


def test_tensor_dataset_gives_the_tuple_of_ith_rows():
    X, y = np.arange(12).reshape(6, 2), np.arange(6) * 10
    ds = TensorDataset(X, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi, [8, 9])
    assert yi == 40
    with pytest.raises(ValueError, match=r"same number of examples \(axis 0\), got \[6, 5\]"):
        TensorDataset(X, y[:5])


def test_default_collate_stacks_tuples_dicts_arrays_and_numbers():
    batch = default_collate([Squares()[i] for i in (1, 2, 3)])
    features, labels = batch
    np.testing.assert_array_equal(features["x"], [[1, 1], [2, 4], [3, 9]])
    assert features["x"].dtype == np.float32
    np.testing.assert_array_equal(labels, [1, 2, 0])
    assert labels.dtype == np.int64
    assert default_collate([0.5, 1.5]).dtype == np.float64  # PyTorch: Python floats -> float64
    stacked = default_collate([tc.tensor([1.0, 2.0]), tc.tensor([3.0, 4.0])])
    assert isinstance(stacked, tc.Tensor) and stacked.shape == (2, 2)


def test_loader_over_a_dataset_collates_each_batch_and_covers_every_example_once():
    loader = DataLoader(Squares(), batch_size=4, seed=0)
    batches = list(loader)
    assert [len(labels) for _, labels in batches] == [4, 4, 2] and len(loader) == 3
    seen = np.concatenate([f["x"][:, 0] for f, _ in batches])
    assert sorted(seen.tolist()) == list(range(10))


def test_loader_over_a_tensor_dataset_matches_the_array_api():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    a = list(DataLoader(TensorDataset(X, y), batch_size=3, seed=5))
    b = list(DataLoader(X, y, batch_size=3, seed=5))
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_drop_last_drops_the_short_batch():
    X, y = np.zeros((10, 1)), np.arange(10)
    loader = DataLoader(X, y, batch_size=4, drop_last=True, seed=0)
    assert len(loader) == 2 and [len(b) for _, b in loader] == [4, 4]


def test_collate_fn_is_used_when_given():
    loader = DataLoader(Squares(), batch_size=5, shuffle=False, collate_fn=len)
    assert list(loader) == [5, 5]


@pytest.mark.parametrize("lengths, sizes", [([3, 7], [3, 7]), ([0.5, 0.5], [5, 5]),
                                            ([0.33, 0.33, 0.34], [4, 3, 3])])
def test_random_split_sizes_follow_pytorch(lengths, sizes):
    # Fractions: floor(n * f) each, then the remainder one by one from the first (PyTorch).
    parts = random_split(Squares(), lengths, generator=tc.Generator(0))
    assert [len(p) for p in parts] == sizes
    every = np.concatenate([p.indices for p in parts])
    assert sorted(every.tolist()) == list(range(10))


def test_random_split_is_reproducible_from_its_generator_and_refuses_bad_lengths():
    a = random_split(Squares(), [4, 6], generator=tc.Generator(3))
    b = random_split(Squares(), [4, 6], generator=tc.Generator(3))
    np.testing.assert_array_equal(a[0].indices, b[0].indices)
    assert a[0][1][1] == Squares()[int(a[0].indices[1])][1]  # a Subset indexes its dataset
    with pytest.raises(ValueError, match="summing to len\\(dataset\\) = 10"):
        random_split(Squares(), [4, 5])


@pytest.mark.parametrize("dataset", [False, True])
def test_a_loader_resumed_mid_epoch_continues_exactly(dataset, tmp_path):
    X, y = np.arange(26).reshape(13, 2), np.arange(13)
    make = (lambda: DataLoader(TensorDataset(X, y), batch_size=3, seed=7)) if dataset else (
        lambda: DataLoader(X, y, batch_size=3, seed=7))
    reference = make()
    expected = list(reference) + list(reference)  # two epochs
    loader = make()
    it = iter(loader)
    got = [next(it), next(it)]
    saved = loader.state_dict()
    assert saved["position"] == 2
    fresh = make()
    tc.save(saved, tmp_path / "loader.npz")
    fresh.load_state_dict(tc.load(tmp_path / "loader.npz"))
    got += list(fresh) + list(fresh)
    assert len(got) == len(expected)
    for (xa, ya), (xb, yb) in zip(got, expected):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_a_new_iter_after_a_broken_epoch_starts_a_new_epoch_as_pytorch():
    loader = DataLoader(np.arange(10), None, batch_size=4, seed=0)
    next(iter(loader))
    assert sum(len(b) for b in loader) == 10


def test_loader_state_of_other_data_is_refused():
    saved = DataLoader(np.zeros((5, 1)), None, batch_size=2, seed=0).state_dict()
    with pytest.raises(ValueError, match="5 examples in batches of 2"):
        DataLoader(np.zeros((6, 1)), None, batch_size=2, seed=0).load_state_dict(saved)
    del saved["position"]
    with pytest.raises(tc.StateDictError, match="has no 'position'"):
        DataLoader(np.zeros((5, 1)), None, batch_size=2, seed=0).load_state_dict(saved)


def test_load_digits_gives_nchw_float32_in_0_1_and_int64_labels():
    pytest.importorskip("sklearn")
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0 and y.dtype == np.int64
    assert sorted(np.unique(y).tolist()) == list(range(10))


def test_load_digits_split_is_a_reproducible_partition():
    pytest.importorskip("sklearn")
    (Xa, ya), (Xb, yb) = load_digits(split=(0.8, 0.2), seed=0)
    assert len(ya) == math.floor(1797 * 0.8) + 1 and len(ya) + len(yb) == 1797
    (Xc, _), _ = load_digits(split=(0.8, 0.2), seed=0)
    np.testing.assert_array_equal(Xa, Xc)


def test_load_digits_without_scikit_learn_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r"pip install 'tinygrad-course\[datasets\]'"):
        load_digits()
