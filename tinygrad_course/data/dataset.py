"""PyTorch's dataset protocol: anything with `__len__` and `__getitem__`, TensorDataset, Subset,
random_split and the default collate that stacks examples into a batch."""
from __future__ import annotations

import math
from numbers import Number
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from ..random import Generator, rng_from
from ..tensor import Tensor
from ._arrays import as_array, take


@runtime_checkable
class Dataset(Protocol):
    """What `DataLoader` accepts (PyTorch's map-style dataset): `len(ds)` examples and `ds[i]`,
    one example (an array, a number, or a tuple or dict of them)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


class TensorDataset:
    """Examples along axis 0 of arrays (or Tensors) of the same length: `ds[i]` is the tuple of
    their i-th rows, as PyTorch's TensorDataset (`TensorDataset(X, y)`)."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: give at least one array, e.g. TensorDataset(X, y)")
        sizes = [as_array(a, f"arrays[{i}]", "TensorDataset").shape[0] for i, a in enumerate(arrays)]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: the arrays must have the same number of examples "
                             f"(axis 0), got {sizes}")
        self.tensors = arrays

    def __len__(self) -> int:
        return as_array(self.tensors[0], "arrays[0]", "TensorDataset").shape[0]

    def __getitem__(self, index):
        return tuple(take(a, index) for a in self.tensors)

    def batch(self, indices: np.ndarray) -> tuple:
        """The examples `indices` already stacked (one fancy index per array, no collate)."""
        return tuple(take(a, indices) for a in self.tensors)


class Subset:
    """The examples `indices` of `dataset`, in that order (what random_split returns)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def batch(self, indices: np.ndarray):
        """The examples `indices` stacked, through the dataset's own `batch` when it has one."""
        if hasattr(self.dataset, "batch"):
            return self.dataset.batch(self.indices[indices])
        return default_collate([self[int(i)] for i in indices])


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None, *, seed=None) -> list[Subset]:
    """Split `dataset` at random into non-overlapping Subsets of the given `lengths`, or of the
    given fractions (summing to 1; floor(n * f) each, the remainder dealt one by one from the
    first), as PyTorch's random_split. The permutation comes from `generator` (or `seed`)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1):
        if any(not 0 <= x <= 1 for x in lengths):
            raise ValueError(f"random_split: fractions must be in [0, 1], got {lengths}")
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range((n - sum(sizes))):
            sizes[i % len(sizes)] += 1
    elif all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x >= 0
             for x in lengths) and sum(lengths) == n:
        sizes = [int(x) for x in lengths]
    else:
        raise ValueError(f"random_split: lengths must be ints >= 0 summing to len(dataset) = "
                         f"{n}, or fractions summing to 1; got {lengths}")
    order = rng_from(seed, "random_split", generator=generator).permutation(n)
    ends = np.cumsum(sizes)
    return [Subset(dataset, order[end - size:end]) for size, end in zip(sizes, ends)]


def default_collate(samples: list):
    """Stack examples into a batch along a new axis 0, as PyTorch's default_collate: tuples and
    lists position by position, dicts key by key, arrays with np.stack (Tensors into a Tensor),
    Python ints as int64 and floats as float64 arrays; anything else stays a list."""
    first = samples[0]
    if isinstance(first, Tensor):
        return Tensor._wrap(np.stack([s.data for s in samples]))
    if isinstance(first, (np.ndarray, np.generic)):
        return np.stack(samples)
    if isinstance(first, bool) or isinstance(first, Number):
        return np.asarray(samples, dtype=np.float64 if isinstance(first, float) else None)
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: examples have different numbers of fields "
                             f"({sorted({len(s) for s in samples})}); give collate_fn=")
        return tuple(default_collate(list(field)) for field in zip(*samples))
    return list(samples)
