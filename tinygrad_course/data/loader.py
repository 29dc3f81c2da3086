"""Mini-batches: shuffle the m examples, then partition them into batches of batch_size."""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from ..random import Generator, rng_from
from ._arrays import num_examples, take


def _check_batch_size(batch_size, where: str) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{where}: batch_size must be an int >= 1, got {batch_size!r}")
    return int(batch_size)


def _batches(X, y, batch_size: int, order: np.ndarray) -> Iterator[tuple]:
    for start in range(0, order.size, batch_size):
        idx = order[start:start + batch_size]
        yield take(X, idx) if y is None else (take(X, idx), take(y, idx))


def minibatches(X, y, batch_size: int = 64, shuffle: bool = True,
                seed: int | np.random.Generator | Generator | None = None, *,
                generator: Generator | None = None) -> Iterator[tuple]:
    """(X_batch, y_batch) pairs: a permutation of the m examples cut into ceil(m / batch_size) batches.

    The last batch keeps the m % batch_size leftover examples (148 at 64 gives 64, 64, 20).
    batch_size >= m is batch gradient descent (one batch), batch_size=1 is stochastic gradient
    descent. With y=None the batches are X_batch alone (as PyTorch's DataLoader over X alone).
    The permutation comes from `generator` (or `seed`), else the thread's default generator
    (`tc.manual_seed`). An int seed gives the same permutation on every call: for a fresh one each
    epoch pass seed + epoch (as the course's random_mini_batches is called), one shared generator,
    or use `DataLoader`.
    """
    m = num_examples(X, y, "minibatches")
    batch_size = _check_batch_size(batch_size, "minibatches")
    rng = rng_from(seed, "minibatches", generator=generator)
    order = rng.permutation(m) if shuffle else np.arange(m)
    return _batches(X, y, batch_size, order)


class DataLoader:
    """Mini-batches over (X, y), a fresh permutation each epoch (each `iter`).

    The epochs' permutations come from `generator`, or one made from `seed` when the loader is built,
    so two loaders with the same seed give the same batches epoch after epoch; with neither, each
    epoch draws from the thread's default generator (`tc.manual_seed`, `tc.use_generator`).
    `len(loader)` is the number of batches per epoch, ceil(m / batch_size).
    With y=None the batches are X_batch alone, not pairs (as PyTorch's DataLoader over X alone).
    """

    def __init__(self, X, y, batch_size: int = 64, shuffle: bool = True,
                 seed: int | np.random.Generator | Generator | None = None, *,
                 generator: Generator | None = None):
        self.m = num_examples(X, y, "DataLoader")
        self.X, self.y = X, y
        self.batch_size = _check_batch_size(batch_size, "DataLoader")
        self.shuffle = shuffle
        self._seed = seed
        self._rng = None if seed is None and generator is None else rng_from(
            seed, "DataLoader", generator=generator)

    def __len__(self) -> int:
        return math.ceil(self.m / self.batch_size)

    def __iter__(self) -> Iterator[tuple]:
        if self.shuffle:
            order = (self._rng if self._rng is not None else rng_from(None)).permutation(self.m)
        else:
            order = np.arange(self.m)
        return _batches(self.X, self.y, self.batch_size, order)

    def __repr__(self) -> str:
        return (f"DataLoader(m={self.m}, batch_size={self.batch_size}, batches={len(self)}, "
                f"shuffle={self.shuffle}, seed={self._seed!r})")
