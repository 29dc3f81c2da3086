"""Mini-batches: shuffle the m examples, then partition them into batches of batch_size."""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import numpy as np

from ..random import Generator, rng_from
from ..serialization import check_state_keys
from ..tensor import Tensor
from ._arrays import num_examples, take
from .dataset import default_collate


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


def _is_dataset(X) -> bool:
    return (not isinstance(X, (np.ndarray, Tensor)) and hasattr(X, "__len__")
            and hasattr(X, "__getitem__"))


class DataLoader:
    """Mini-batches over (X, y) arrays, or over a `Dataset` (anything with `__len__` and
    `__getitem__`, e.g. TensorDataset), a fresh permutation each epoch (each `iter`).

    The epochs' permutations come from `generator`, or one made from `seed` when the loader is built,
    so two loaders with the same seed give the same batches epoch after epoch; with neither, each
    epoch draws from the thread's default generator (`tc.manual_seed`, `tc.use_generator`).
    `len(loader)` is the number of batches per epoch, ceil(m / batch_size), or m // batch_size
    with `drop_last` (the short last batch dropped). With y=None the batches are X_batch alone,
    not pairs (as PyTorch's DataLoader over X alone). A dataset's examples are stacked by
    `collate_fn` (default: `default_collate`; a dataset with a `batch(indices)` method, as
    TensorDataset, is indexed once per batch instead). shuffle=True by default (the course's
    mini-batch gradient descent; PyTorch's default is False).
    `state_dict()` holds the position within the epoch, the epoch's permutation and the
    generator's state: after `load_state_dict`, the next `iter` continues that epoch exactly.
    """

    def __init__(self, X, y=None, batch_size: int = 64, shuffle: bool = True,
                 seed: int | np.random.Generator | Generator | None = None, *,
                 generator: Generator | None = None, drop_last: bool = False,
                 collate_fn: Callable[[list], Any] | None = None):
        if (y is None and isinstance(X, tuple) and len(X) == 2
                and all(isinstance(a, (np.ndarray, Tensor)) for a in X)):
            raise TypeError("DataLoader: got a tuple of two arrays as X, which would be a dataset "
                            "of 2 examples; write DataLoader(X, y, ...) or "
                            "DataLoader(TensorDataset(X, y), ...)")
        if y is None and _is_dataset(X):
            self.dataset, self.X, self.y, self.m = X, None, None, len(X)
        else:
            self.dataset, self.m = None, num_examples(X, y, "DataLoader")
            self.X, self.y = X, y
        self.batch_size = _check_batch_size(batch_size, "DataLoader")
        self.shuffle, self.drop_last, self.collate_fn = shuffle, bool(drop_last), collate_fn
        self._seed = seed
        self._rng = None if seed is None and generator is None else rng_from(
            seed, "DataLoader", generator=generator)
        self._order: np.ndarray | None = None
        self._position = 0
        self._resume: tuple[np.ndarray, int] | None = None

    def __len__(self) -> int:
        if self.drop_last:
            return self.m // self.batch_size
        return math.ceil(self.m / self.batch_size)

    def __iter__(self) -> Iterator:
        if self._resume is not None:
            order, start = self._resume
            self._resume = None
        else:
            if self.shuffle:
                order = (self._rng if self._rng is not None else rng_from(None)).permutation(self.m)
            else:
                order = np.arange(self.m)
            start = 0
        self._order, self._position = order, start
        return self._epoch(order, start)

    def _epoch(self, order: np.ndarray, start: int) -> Iterator:
        for b in range(start, len(self)):
            self._position = b + 1
            yield self._fetch(order[b * self.batch_size:(b + 1) * self.batch_size])
        self._order, self._position = None, 0

    def _fetch(self, idx: np.ndarray):
        if self.dataset is None:
            return take(self.X, idx) if self.y is None else (take(self.X, idx), take(self.y, idx))
        if self.collate_fn is None and hasattr(self.dataset, "batch"):
            return self.dataset.batch(idx)
        return (self.collate_fn or default_collate)([self.dataset[int(i)] for i in idx])

    def state_dict(self) -> dict:
        """Where the current epoch is (its permutation and the batches already given) and the
        loader's generator state (None when it draws from the thread's default generator)."""
        in_epoch = self._order is not None and 0 < self._position < len(self)
        return {"m": self.m, "batch_size": self.batch_size, "shuffle": self.shuffle,
                "position": self._position if in_epoch else 0,
                "order": self._order.copy() if in_epoch else None,
                "generator": None if self._rng is None else self._rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from `state_dict()`: the next `iter` resumes the saved epoch where it was."""
        check_state_keys("DataLoader", state, ("m", "batch_size", "position", "order",
                                               "generator"))
        if state["m"] != self.m or state["batch_size"] != self.batch_size:
            raise ValueError(f"DataLoader.load_state_dict: the state is of {state['m']} examples "
                             f"in batches of {state['batch_size']}, this loader has {self.m} in "
                             f"batches of {self.batch_size}")
        if state["generator"] is not None:
            if self._rng is None:
                raise ValueError("DataLoader.load_state_dict: the state has a generator but this "
                                 "loader draws from the default one; build it with seed= or "
                                 "generator= as the saved one was")
            self._rng.set_state(state["generator"])
        order = state["order"]
        self._resume = None if order is None else (np.asarray(order), int(state["position"]))
        self._order, self._position = None, 0

    def __repr__(self) -> str:
        return (f"DataLoader(m={self.m}, batch_size={self.batch_size}, batches={len(self)}, "
                f"shuffle={self.shuffle}, seed={self._seed!r})")
