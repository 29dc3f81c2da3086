"""Multi-head scaled dot-product attention (Vaswani et al., 2017), built from Tensor ops."""
from __future__ import annotations

import math

import numpy as np

from ..dtypes import get_default_dtype
from ..ops.common import no_grad_op
from ..ops.elementwise import astype
from ..ops.indexing import where
from ..random import Generator
from ..tensor import Tensor
from . import init as nn_init
from .linear import Linear
from .module import Module, Parameter


def scaled_dot_product_attention(q, k, v, attn_mask=None):
    """softmax(q k^T / sqrt(d) + mask) v over the last two axes; a bool mask is True where
    attention is NOT allowed (that score becomes -inf), a float mask is added to the scores.
    Returns (output, attention weights)."""
    scores = (q @ k.swapaxes(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    if attn_mask is not None:
        m = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if m.dtype == np.bool_:
            scores = where(m, -np.inf, scores)
        elif m.dtype == scores.dtype:
            scores = scores + m
        else:  # converted by an op, so a step recorded by tc.jit converts each call's mask
            scores = scores + astype(Tensor._wrap(m), scores.dtype)
    weights = scores.softmax(-1)
    return weights @ v, weights


def _array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _additive_mask(a, p, heads: int, shape: tuple, dtype) -> np.ndarray:
    """attn_mask `a` and key_padding_mask `p` (either None) as one float mask of `shape` (N *
    heads, L, S) added to the scores: -inf where a bool mask forbids, a float mask as it is."""
    mask = np.zeros(shape, dtype)
    if a is not None:
        mask = np.where(a, -np.inf, mask) if a.dtype == np.bool_ else mask + a
    if p is not None:
        mask = np.where(np.repeat(p.astype(bool), heads, axis=0)[:, None, :], -np.inf, mask)
    return mask.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """Multi-head attention: Q = query W_q^T, K = key W_k^T, V = value W_v^T split into
    `num_heads` heads of embed_dim / num_heads, each softmax(Q K^T / sqrt(d) + mask) V, joined
    and projected by `out_proj`. PyTorch's layout and names: `in_proj_weight` (3 E, E) holds
    W_q, W_k, W_v, `in_proj_bias` (3 E,); inputs are (L, N, E), or (N, L, E) with
    `batch_first=True`. forward returns (output, weights averaged over heads) as PyTorch does.
    `attn_mask` (L, S) or (N * num_heads, L, S): bool True = not allowed, or floats added to
    the scores; `key_padding_mask` (N, S): True marks padding keys to ignore."""

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True,
                 batch_first: bool = False, *, generator: Generator | None = None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} must be a positive "
                             f"multiple of num_heads={num_heads}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        self.batch_first = bool(batch_first)
        dtype = get_default_dtype()
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, init="xavier_uniform",
                               generator=generator)
        self.reset_parameters(generator=generator)

    def reset_parameters(self, init: str | None = None, scale: float | None = None, *,
                         generator: Generator | None = None) -> None:
        """in_proj_weight ~ Xavier uniform, biases 0 (PyTorch's initialization)."""
        nn_init.xavier_uniform_(self.in_proj_weight, generator=generator)
        if self.in_proj_bias is not None:
            nn_init.zeros_(self.in_proj_bias)

    def _heads(self, x, w, b, n: int):
        # (N, L, E) -> (N * heads, L, head_dim)
        y = x @ w.T if b is None else x @ w.T + b
        length = y.shape[1]
        return (y.reshape(n, length, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)
                .reshape(n * self.num_heads, length, self.head_dim))

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True):
        for name, t in (("query", query), ("key", key), ("value", value)):
            if len(t.shape) != 3 or t.shape[-1] != self.embed_dim:
                layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
                raise ValueError(f"{self._where()}: {name} must have shape {layout} with "
                                 f"E={self.embed_dim}, got shape {tuple(t.shape)}")
        if not self.batch_first:
            query, key, value = (t.swapaxes(0, 1) for t in (query, key, value))
        n, length, e = query.shape
        s = key.shape[1]
        w_q, w_k, w_v = (self.in_proj_weight[i * e:(i + 1) * e] for i in range(3))
        b_q = b_k = b_v = None
        if self.in_proj_bias is not None:
            b_q, b_k, b_v = (self.in_proj_bias[i * e:(i + 1) * e] for i in range(3))
        q, k, v = self._heads(query, w_q, b_q, n), self._heads(key, w_k, b_k, n), \
            self._heads(value, w_v, b_v, n)
        mask = self._mask(attn_mask, key_padding_mask, n, length, s)
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        out = out.reshape(n, self.num_heads, length, self.head_dim).transpose(0, 2, 1, 3)
        out = self.out_proj(out.reshape(n, length, e))
        if not self.batch_first:
            out = out.swapaxes(0, 1)
        if not need_weights:
            return out, None
        weights = weights.reshape(n, self.num_heads, length, s)
        return out, (weights.mean(axis=1) if average_attn_weights else weights)

    def _mask(self, attn_mask, key_padding_mask, n: int, length: int, s: int):
        """attn_mask and key_padding_mask as one additive float mask (N * heads, L, S), or None."""
        if attn_mask is None and key_padding_mask is None:
            return None
        a = None if attn_mask is None else _array(attn_mask)
        p = None if key_padding_mask is None else _array(key_padding_mask)
        if a is not None and a.shape not in ((length, s), (n * self.num_heads, length, s)):
            raise ValueError(f"{self._where()}: attn_mask must have shape ({length}, {s}) or "
                             f"({n * self.num_heads}, {length}, {s}), got {a.shape}")
        if p is not None and p.shape != (n, s):
            raise ValueError(f"{self._where()}: key_padding_mask must have shape ({n}, {s}), "
                             f"got {p.shape}")
        # An op, so a step recorded by tc.jit builds the mask from each call's masks.
        return no_grad_op(_additive_mask, a, p, self.num_heads, (n * self.num_heads, length, s),
                          self.in_proj_weight.dtype)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"batch_first={self.batch_first}")
