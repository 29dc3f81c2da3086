"""Embedding: a lookup table of learnable vectors, one row per token id."""
from __future__ import annotations

import numpy as np

from ..autograd import Function, bump_version
from ..dtypes import get_default_dtype
from ..ops.common import shape_constant
from ..ops.indexing import _kept, scatter_add
from ..random import Generator
from ..tensor import Tensor
from . import init as nn_init
from .module import Module, Parameter


class EmbeddingFunction(Function):
    """out = W[ids]; dW = sum of g over every position holding each id (repeated ids
    accumulate), with the padding row's gradient 0."""

    name = "embedding"

    @staticmethod
    def forward(ctx, weight, ids, keep):
        n = weight.shape[0]  # checked here, in the kernel, so a replayed step checks each batch
        if ids.size and (ids.min() < -n or ids.max() >= n):
            bad = ids[(ids < -n) | (ids >= n)].flat[0]
            raise IndexError(f"embedding: id {bad} is out of range for an embedding table of "
                             f"{n} rows")
        ctx.ids, ctx.keep, ctx.shape = _kept(ids), keep, weight.shape  # (ids changed later must not move dW)
        return weight[ids]

    @staticmethod
    def backward(ctx, g):
        gw = scatter_add(g, ctx.ids, ctx.shape)
        return (gw if ctx.keep is None else gw * ctx.keep), None, None


def _ids(ids, op: str) -> np.ndarray:
    a = ids.data if isinstance(ids, Tensor) else np.asarray(ids)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{op}: token ids must be integers, got dtype {a.dtype} "
                        "(convert with .astype(np.int64))")
    return a


def embedding(ids, weight, padding_idx: int | None = None):
    """Rows of `weight` (num_embeddings, dim) at the integer `ids` (any shape): out has shape
    ids.shape + (dim,). The `padding_idx` row gets no gradient (PyTorch's F.embedding)."""
    n = weight.shape[0]
    keep = None if padding_idx is None else _kept_rows(n, padding_idx, weight.dtype)
    return EmbeddingFunction.apply(weight, _ids(ids, "embedding"), keep)


@shape_constant
def _kept_rows(n: int, padding_idx: int, dtype) -> np.ndarray:
    """(n, 1): 1, with 0 at padding_idx."""
    keep = np.ones((n, 1), dtype)
    keep[padding_idx] = 0
    return keep


class Embedding(Module):
    """A table of `num_embeddings` learnable vectors of size `embedding_dim`, drawn from N(0, 1)
    as in PyTorch; Embedding(ids) gives their rows. The `padding_idx` row starts at 0 and is
    never updated (its gradient is 0); gradients of an id used several times add up."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, *,
                 generator: Generator | None = None):
        super().__init__()
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Embedding: {name} must be a positive int, got {v!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                 f"{self.num_embeddings} embeddings")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim),
                                         get_default_dtype()))
        self.reset_parameters(generator=generator)

    def reset_parameters(self, init: str | None = None, scale: float | None = None, *,
                         generator: Generator | None = None) -> None:
        """W ~ N(0, 1) (PyTorch's default for embeddings), the padding row 0."""
        nn_init.normal_(self.weight, 1.0, generator=generator)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0
            bump_version(self.weight)

    def forward(self, ids):
        return embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
