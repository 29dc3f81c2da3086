"""Train / dev / test splits, shuffled reproducibly, and the lecture's guidance on their sizes."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..random import rng_from
from ._arrays import as_array, num_examples, take

# The lecture: with a million examples, 10,000 each for dev and test is plenty.
_ENOUGH_FOR_DEV = 10_000


class SplitRatios(NamedTuple):
    """Fractions of the data for train, dev and test (they sum to 1)."""
    train: float
    dev: float
    test: float


class Splits(NamedTuple):
    """Three (X, y) pairs: `train, dev, test = train_dev_test_split(X, y)`."""
    train: tuple
    dev: tuple
    test: tuple


def suggest_split(m: int) -> SplitRatios:
    """The lecture's split for m examples: dev = test = min(20%, 10,000 / m).

    So 60/20/20 up to 50,000 examples (the "thousands of examples" regime), 98/1/1 at a million,
    and in between a fixed 10,000 examples each for dev and test (enough to compare models);
    past a million the dev and test shares keep shrinking (99.8/0.1/0.1 at ten million).
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"suggest_split: m must be a positive number of examples, got {m!r}")
    share = min(0.2, _ENOUGH_FOR_DEV / int(m))
    return SplitRatios(1.0 - 2 * share, share, share)


def _count(size, m: int, name: str) -> int:
    """A split size given as a fraction of m (float in [0, 1]) or a count (int), as a count."""
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise TypeError(f"train_dev_test_split: {name} must be a fraction (float) or a count (int), "
                        f"got {size!r}")
    if isinstance(size, (int, np.integer)):
        if size < 0:
            raise ValueError(f"train_dev_test_split: {name}={size} must be a count >= 0")
        return int(size)
    if not 0.0 <= size <= 1.0:
        raise ValueError(f"train_dev_test_split: {name}={size} must be a fraction in [0, 1] "
                         f"(or an int count)")
    return int(round(size * m))


def _stratified_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation in which every prefix holds each class in proportion (to within one example).

    Each class's examples, shuffled, sit at evenly spaced keys (rank + u) / n_class with u
    uniform in [0, 1); sorting all keys interleaves the classes, so cutting the first n_test, then
    n_dev examples, gives stratified splits of exactly the asked sizes.
    """
    m = labels.shape[0]
    keys = np.empty(m)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        members = members[rng.permutation(members.size)]
        keys[members] = (np.arange(members.size) + rng.random(members.size)) / members.size
    return np.argsort(keys, kind="stable")


def train_dev_test_split(X, y, dev: float | int | None = None, test: float | int | None = None,
                         seed: int | np.random.Generator | None = None,
                         stratify: bool = False) -> Splits:
    """Shuffle the m examples (axis 0) and cut them into train, dev and test sets.

    `dev` and `test` are fractions (floats: test gets round(test * m), dev round((dev + test) * m)
    minus that) or counts (ints); left as None they follow `suggest_split(m)`. The train set gets
    the rest. `stratify=True` keeps each class (each distinct row of y) in the same proportion in
    every split. Same seed, same split; seed=None draws from the global generator
    (`tc.manual_seed`). Tensors in, Tensors out.
    """
    m = num_examples(X, y, "train_dev_test_split")
    suggested = suggest_split(m) if m else SplitRatios(1.0, 0.0, 0.0)
    dev = suggested.dev if dev is None else dev
    test = suggested.test if test is None else test
    if isinstance(dev, float) and isinstance(test, float) and dev + test > 1.0:
        raise ValueError(f"train_dev_test_split: dev={dev} and test={test} sum to {dev + test} > 1; "
                         f"the fractions must leave something for training")
    n_dev, n_test = _count(dev, m, "dev"), _count(test, m, "test")
    if isinstance(dev, float) and isinstance(test, float):
        # Round the cumulative share, so two fractions summing to at most 1 never overshoot m.
        n_dev = int(round((dev + test) * m)) - n_test
    if n_dev + n_test > m:
        raise ValueError(f"train_dev_test_split: dev={dev} ({n_dev} examples) and test={test} "
                         f"({n_test} examples) ask for more than the {m} examples there are")
    rng = rng_from(seed)
    if stratify:
        labels = as_array(y, "y", "train_dev_test_split").reshape(m, -1)
        order = _stratified_order(np.unique(labels, axis=0, return_inverse=True)[1].reshape(m), rng)
    else:
        order = rng.permutation(m)
    test_idx, dev_idx, train_idx = np.split(order, [n_test, n_test + n_dev])
    if stratify:
        # The stratified order interleaves the classes in a pattern; shuffle within each split.
        test_idx, dev_idx, train_idx = (rng.permutation(idx) for idx in (test_idx, dev_idx, train_idx))
    return Splits(*((take(X, idx), take(y, idx)) for idx in (train_idx, dev_idx, test_idx)))
