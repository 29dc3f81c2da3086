"""Small 2-D classification datasets generated with NumPy (no downloads).

Each `make_*` takes `n_samples`, `noise` and `seed` (None: the global generator) and returns
X of shape (m, 2), float32, and y of shape (m,), int64 class labels, with the examples shuffled.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..random import rng_from


def _check(where: str, n_samples, noise, min_samples: int = 1) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < min_samples:
        raise ValueError(f"{where}: n_samples must be an int >= {min_samples}, got {n_samples!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{where}: noise must be a finite number >= 0, got {noise!r}")


def _per_class(n_samples: int, k: int) -> np.ndarray:
    """n_samples spread over k classes as evenly as possible (the first classes get the extras)."""
    return np.full(k, n_samples // k) + (np.arange(k) < n_samples % k)


def _finish(X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(y.size)
    return X[order].astype(np.float32), y[order].astype(np.int64)


def make_moons(n_samples: int = 200, noise: float = 0.2, seed=None):
    """Two interleaving half circles: (cos t, sin t) and (1 - cos t, 1/2 - sin t), t in [0, pi],
    plus Gaussian noise of standard deviation `noise`."""
    _check("make_moons", n_samples, noise)
    rng = rng_from(seed)
    n0, n1 = _per_class(n_samples, 2)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    X = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    X += noise * rng.standard_normal(X.shape)
    return _finish(X, np.repeat([0, 1], [n0, n1]), rng)


def make_circles(n_samples: int = 200, noise: float = 0.05, seed=None, factor: float = 0.5):
    """Two concentric circles, radius 1 (class 0) and `factor` (class 1), plus Gaussian noise."""
    _check("make_circles", n_samples, noise)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor (inner radius / outer) must be in (0, 1), got {factor!r}")
    rng = rng_from(seed)
    counts = _per_class(n_samples, 2)
    t = [np.linspace(0, 2 * np.pi, n, endpoint=False) for n in counts]
    X = np.concatenate([r * np.stack([np.cos(ti), np.sin(ti)], 1) for r, ti in zip((1.0, factor), t)])
    X += noise * rng.standard_normal(X.shape)
    return _finish(X, np.repeat([0, 1], counts), rng)


def make_spirals(n_samples: int = 300, noise: float = 0.2, seed=None, n_classes: int = 3):
    """k interleaved spiral arms: class j at radius r in [0, 1] and angle 4 r + 2 pi j / k, the
    angle jittered by Gaussian noise of standard deviation `noise` (radians)."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"make_spirals: n_classes must be an int >= 2, got {n_classes!r}")
    _check("make_spirals", n_samples, noise, min_samples=n_classes)
    rng = rng_from(seed)
    counts = _per_class(n_samples, n_classes)
    r = np.concatenate([np.linspace(0.0, 1.0, n) for n in counts])
    y = np.repeat(np.arange(n_classes), counts)
    t = 4 * r + 2 * np.pi * y / n_classes + noise * rng.standard_normal(r.size)
    return _finish(np.stack([r * np.sin(t), r * np.cos(t)], 1), y, rng)


def make_planar_flower(n_samples: int = 400, noise: float = 0.2, seed=None, petals: int = 4):
    """The course's week-3 "flower": r = a sin(petals t) with a = 4, half the points red, half blue.

    Class j takes t in [3.12 j, 3.12 (j + 1)]; t and r each get Gaussian noise of standard
    deviation `noise`; the point is (r sin t, r cos t). Not separable by a line, only by a network.
    """
    _check("make_planar_flower", n_samples, noise, min_samples=2)
    rng = rng_from(seed)
    counts = _per_class(n_samples, 2)
    t = np.concatenate([np.linspace(3.12 * j, 3.12 * (j + 1), n) for j, n in enumerate(counts)])
    t += noise * rng.standard_normal(t.size)
    r = 4 * np.sin(petals * t) + noise * rng.standard_normal(t.size)
    return _finish(np.stack([r * np.sin(t), r * np.cos(t)], 1), np.repeat([0, 1], counts), rng)


def make_blobs(n_samples: int = 300, noise: float = 0.5, seed=None, centers=3):
    """Gaussian clusters of standard deviation `noise` around `centers`: an int k puts k centers
    evenly on the circle of radius 2, or give an array of shape (k, 2)."""
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"make_blobs: centers must be >= 1, got {centers}")
        angle = 2 * np.pi * np.arange(centers) / centers
        centers = 2.0 * np.stack([np.cos(angle), np.sin(angle)], 1)
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[1] != 2 or centers.shape[0] < 1:
        raise ValueError(f"make_blobs: centers must be an int or an array of shape (k, 2), "
                         f"got shape {centers.shape}")
    _check("make_blobs", n_samples, noise, min_samples=centers.shape[0])
    rng = rng_from(seed)
    y = np.repeat(np.arange(centers.shape[0]), _per_class(n_samples, centers.shape[0]))
    return _finish(centers[y] + noise * rng.standard_normal((y.size, 2)), y, rng)


def football_boundary(x1: np.ndarray) -> np.ndarray:
    """The true frontier of `make_football`: the French side (label 1) is above x2 = this."""
    return 0.25 * np.sin(3.0 * x1 + 0.5) - 0.1 * x1


def make_football(n_samples: int = 211, noise: float = 0.1, seed=None):
    """The course's regularization data, regenerated: where the goalkeeper should kick.

    Positions on the field (x1, x2) uniform in [-0.75, 0.75]^2; label 1 (a French player headed
    the ball) above the wavy frontier `football_boundary`, 0 (the other team) below; a fraction
    `noise` of the labels is then flipped, as in the course's data where a few players of each
    team stand on the other side. The noisy labels are what a big unregularized network memorizes:
    it fits the training set better than the true frontier and does worse on new positions.
    """
    _check("make_football", n_samples, noise)
    if noise > 1:
        raise ValueError(f"make_football: noise is the fraction of flipped labels, in [0, 1]; "
                         f"got {noise!r}")
    rng = rng_from(seed)
    X = rng.uniform(-0.75, 0.75, size=(n_samples, 2))
    y = (X[:, 1] > football_boundary(X[:, 0])).astype(np.int64)
    y ^= rng.random(n_samples) < noise
    return X.astype(np.float32), y


DATASETS: dict[str, Callable] = {
    "moons": make_moons, "circles": make_circles, "spirals": make_spirals,
    "planar_flower": make_planar_flower, "blobs": make_blobs, "football": make_football,
}


def load_dataset(name: str, **kw):
    """A built-in dataset by name ("moons", "circles", "spirals", "planar_flower", "blobs",
    "football"; a leading "make_" is accepted); keyword arguments go to its `make_*` function."""
    key = name[len("make_"):] if isinstance(name, str) and name.startswith("make_") else name
    if key not in DATASETS:
        raise ValueError(f"load_dataset: unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[key](**kw)


def load_digits(split: Sequence[float] | None = None, seed=None, *, generator=None):
    """The 8x8 handwritten digits of scikit-learn (1,797 images, 10 classes, UCI's optdigits):
    images X of shape (n, 1, 8, 8) (NCHW), float32 scaled from 0..16 to [0, 1], and int64 labels
    y. With `split` (fractions summing to 1, e.g. (0.8, 0.2)), a list of (X, y) pairs cut from
    one permutation drawn from `generator`/`seed` (as `random_split`). Needs scikit-learn:
    pip install 'tinygrad-course[datasets]'."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError("load_digits: the digits come from scikit-learn, which is not "
                          "installed; pip install 'tinygrad-course[datasets]' (or "
                          "pip install scikit-learn)") from None
    digits = sklearn_digits()
    X = (digits.images.astype(np.float32) / np.float32(16.0))[:, None, :, :]
    y = digits.target.astype(np.int64)
    if split is None:
        return X, y
    from .dataset import TensorDataset, random_split
    parts = random_split(TensorDataset(X, y), [float(f) for f in split], generator, seed=seed)
    return [(X[part.indices], y[part.indices]) for part in parts]
