"""Normalizing inputs: statistics from the training set only, applied alike to dev and test."""
from __future__ import annotations

import numpy as np

from .._display import html_table
from ..dtypes import get_default_dtype
from ..tensor import Tensor


class Normalizer:
    """x_norm = (x - mu) / sigma, with mu = mean(x) and sigma^2 = mean((x - mu)**2) over the examples.

    The statistics come from the training set (`fit`) and are reused unchanged on dev and test,
    so all three go through the same transformation. The lecture's slide writes x /= sigma^2; unit
    variance needs sigma, which is what this divides by. A feature that is constant on the training
    set (zero variance) is only centered (its sigma is taken as 1), so it becomes 0, not NaN.
    As scikit-learn's StandardScaler: NaN in X is ignored by the statistics and stays NaN (only
    where it was) through transform; inf is refused, naming the column.
    `axis` is the examples axis: 0 for (m, n) data (the default), 1 for the course's (n, m) layout.
    Works on ndarrays and Tensors (a Tensor goes through Tensor ops and stays one).
    """

    def __init__(self, axis: int = 0):
        self.axis = axis
        self.mean_: np.ndarray | None = None
        self.var_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X) -> "Normalizer":
        """Learn mu and sigma^2 from the training set X."""
        x = X.data if isinstance(X, Tensor) else np.asarray(X)
        if x.ndim == 0 or not -x.ndim <= self.axis < x.ndim:
            raise ValueError(f"Normalizer.fit: axis={self.axis} is not an axis of X with shape {x.shape}")
        if x.shape[self.axis] == 0:
            raise ValueError(f"Normalizer.fit: X with shape {x.shape} has no examples along axis "
                             f"{self.axis}")
        dtype = x.dtype if x.dtype.kind == "f" else get_default_dtype()
        x64 = self._finite_or_nan(x.astype(np.float64))
        mu = np.nanmean(x64, axis=self.axis, keepdims=True)
        # A constant feature centers to exactly 0 when its mean is its value, not a rounded sum / m.
        top = np.nanmax(x64, axis=self.axis, keepdims=True)
        mu = np.where(top == np.nanmin(x64, axis=self.axis, keepdims=True), top, mu)
        centered = x64 - mu
        var = np.nanmean(centered ** 2, axis=self.axis, keepdims=True)
        # sigma computed as a * sqrt(mean((x / a)**2)), a = max |x - mu|: the plain formula
        # underflows to 0 for features as tiny as 1e-200 that are not constant.
        a = np.nanmax(np.abs(centered), axis=self.axis, keepdims=True)
        a = np.where(a > 0, a, 1.0)
        scale = (a * np.sqrt(np.nanmean((centered / a) ** 2, axis=self.axis, keepdims=True))
                 ).astype(dtype)
        self.mean_ = mu.astype(dtype)
        self.var_ = var.astype(dtype)
        self.scale_ = np.where(scale > 0, scale, np.ones((), dtype))
        return self

    def _finite_or_nan(self, x64: np.ndarray) -> np.ndarray:
        """`x64`, after refusing inf and features that are NaN in every training example."""
        for bad, what, fix in ((np.isinf(x64).any(axis=self.axis), "contains inf",
                                "clip or drop those values (NaN is allowed: it is ignored)"),
                               (np.isnan(x64).all(axis=self.axis), "is NaN in every example",
                                "drop that feature or fill it in")):
            if bad.any():
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                line = "column" if self.axis % x64.ndim == 0 else "row"  # (n, m): rows are features
                name = {0: "the feature", 1: f"{line} {where[0]}"}.get(len(where),
                                                                       f"feature {where}")
                raise ValueError(f"Normalizer.fit: {name} of X {what}; {fix}")
        return x64

    def _check(self, X, where: str) -> None:
        if self.mean_ is None:
            raise RuntimeError(f"Normalizer.{where}: call fit(X_train) first")
        shape = np.shape(X.data if isinstance(X, Tensor) else X)
        expected = tuple(d for i, d in enumerate(self.mean_.shape) if i != self.axis % self.mean_.ndim)
        got = tuple(d for i, d in enumerate(shape) if i != self.axis % max(len(shape), 1))
        if len(shape) != self.mean_.ndim or got != expected:
            raise ValueError(f"Normalizer.{where}: X has shape {shape}, but the normalizer was fit "
                             f"on features of shape {expected} (examples along axis {self.axis})")

    def _as_input(self, X):
        if isinstance(X, Tensor):
            return X
        x = np.asarray(X)
        return x if x.dtype.kind == "f" else x.astype(self.mean_.dtype)

    def transform(self, X):
        """(X - mu) / sigma with the training set's mu and sigma."""
        self._check(X, "transform")
        return (self._as_input(X) - self.mean_) / self.scale_

    def fit_transform(self, X):
        """fit(X) then transform(X): for the training set."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X):
        """X * sigma + mu: back to the original units."""
        self._check(X, "inverse_transform")
        return self._as_input(X) * self.scale_ + self.mean_

    def __repr__(self) -> str:
        if self.mean_ is None:
            return f"Normalizer(axis={self.axis}, not fitted: call fit(X_train))"
        mu, sigma = self.mean_.ravel(), self.scale_.ravel()

        def few(a: np.ndarray) -> str:
            return "[" + ", ".join(f"{v:.3g}" for v in a[:4]) + (", ...]" if a.size > 4 else "]")
        return f"Normalizer(axis={self.axis}, {mu.size} features: mu {few(mu)}, sigma {few(sigma)})"

    def _repr_html_(self) -> str | None:
        """mu and sigma per feature (the first 20) as an HTML table; None (the text) unfitted."""
        if self.mean_ is None:
            return None
        # A feature is named by its index with the examples axis dropped: 3, or (0, 4, 4) for images.
        shape = np.delete(np.array(self.mean_.shape), self.axis % self.mean_.ndim)
        names = [str(i) if len(shape) == 1 else str(tuple(int(j) for j in np.unravel_index(i, shape)))
                 for i in range(min(20, self.mean_.size))]
        rows = [[n, f"{m:.4g}", f"{s:.4g}"]
                for n, m, s in zip(names, self.mean_.ravel(), self.scale_.ravel())]
        more = self.mean_.size - len(rows)
        return html_table(["feature", "mu", "sigma"], rows,
                          caption=f"Normalizer(axis={self.axis}): x_norm = (x - mu) / sigma, "
                                  f"from the training set",
                          footer=f"... and {more} more features" if more > 0 else "")

    def state_dict(self) -> dict:
        """The fitted statistics {axis, mean, var, scale}, to save with the model: the dev and test
        sets must be normalized with the training set's."""
        return {"axis": self.axis, "mean": self.mean_, "var": self.var_, "scale": self.scale_}

    def load_state_dict(self, state: dict) -> None:
        """Restore statistics saved by `state_dict()` (no refit)."""
        self.axis = state["axis"]
        self.mean_, self.var_, self.scale_ = state["mean"], state["var"], state["scale"]
