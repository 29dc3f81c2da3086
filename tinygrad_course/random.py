"""One seeded generator for all randomness: init, dropout masks, shuffling, datasets."""
from __future__ import annotations

import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator so every run from here on is reproducible."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _rng = np.random.default_rng(int(seed))
    return _rng


def get_rng() -> np.random.Generator:
    """The global generator (reseed it with `manual_seed`)."""
    return _rng


def rng_from(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A generator from a seed, an existing generator, or the global one when None."""
    if seed is None:
        return _rng
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
