"""Hypothesis strategies and a one-call property test for ops, shipped for users.

The project's own op tests are written with these, so a user checking a custom
`tc.Function` gets exactly the tools that check the built-in ops:

- `shapes`, `broadcastable_shapes`, `valid_axes`, `index_expressions`: the arguments of ops;
- `tensors`: float64 (or any dtype) tensors, 0-d and non-contiguous ones included, drawn from
  a `Domain` (`domains["log"]` is positive, `domains["relu"]` stays away from the kink, ...);
- `check_op(op, reference)`: forward against a NumPy reference and the gradient against
  `tc.gradcheck`, over drawn shapes with broadcasting.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence

import numpy as np
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .backward import grad as autograd_grad
from .gradcheck import GradcheckError, gradcheck
from .tensor import Tensor

__all__ = ["Domain", "domains", "positive", "bounded", "away_from_zero", "well_separated",
           "shapes", "broadcastable_shapes", "tensors", "valid_axes", "index_expressions",
           "upstream_gradients", "well_conditioned_matrices", "check_op"]


# ---- input domains ----------------------------------------------------------------------
@dataclass(frozen=True)
class Domain:
    """Where an op's inputs are drawn: elements in [low, high], at least `margin` away from
    each of `kinks` (where a centered difference would straddle a corner), and, when
    `spacing` > 0, all elements at least `spacing` apart (no ties for max/min; spreading
    them may push the largest past `high`)."""

    low: float = -3.0
    high: float = 3.0
    kinks: tuple = ()
    margin: float = 0.0
    spacing: float = 0.0

    def elements(self, dtype=np.float64) -> st.SearchStrategy:
        """Floats in [low, high] of `dtype`'s width, pushed `margin` away from the kinks."""
        width = 8 * np.dtype(dtype).itemsize
        low, high = _representable(self.low, self.high, dtype)
        floats = st.floats(low, high, width=width, allow_nan=False, allow_infinity=False,
                           allow_subnormal=False)
        if not self.kinks or self.margin <= 0:
            return floats
        return floats.map(lambda x: self._away_from_kinks(x, dtype))

    def _away_from_kinks(self, x: float, dtype) -> float:
        for k in self.kinks:
            if abs(x - k) < self.margin:
                x = k + self.margin if x >= k else k - self.margin
        return float(np.asarray(x, dtype=dtype))

    def separate(self, arrays: Sequence[np.ndarray]) -> None:
        """Move elements (jointly across `arrays`, in place) so any two are `spacing` apart."""
        if self.spacing <= 0:
            return
        flat = np.concatenate([np.ravel(a).astype(np.float64) for a in arrays])
        if flat.size < 2:
            return
        order = np.argsort(flat, kind="stable")
        vals = flat[order]
        for k in range(1, vals.size):
            vals[k] = max(vals[k], vals[k - 1] + self.spacing)
        flat[order] = vals
        start = 0
        for a in arrays:
            a[...] = flat[start:start + a.size].reshape(a.shape)
            start += a.size


def _representable(low: float, high: float, dtype) -> tuple:
    # Hypothesis wants bounds exactly representable at the float width; round them inward.
    d = np.dtype(dtype).type
    lo, hi = d(low), d(high)
    if lo < low:
        lo = np.nextafter(lo, d(np.inf))
    if hi > high:
        hi = np.nextafter(hi, d(-np.inf))
    return float(lo), float(hi)


positive = Domain(low=0.1, high=4.0)
bounded = Domain(low=-5.0, high=5.0)
away_from_zero = Domain(kinks=(0.0,), margin=0.1)
well_separated = Domain(spacing=0.05)

domains: dict = {
    "default": Domain(),
    "log": positive, "sqrt": positive, "pow": positive,
    "exp": bounded,
    "relu": away_from_zero, "leaky_relu": away_from_zero, "abs": away_from_zero,
    "div": away_from_zero,
    "max": well_separated, "min": well_separated,
    "maximum": well_separated, "minimum": well_separated,
    "clip": Domain(kinks=(-1.0, 1.0), margin=0.05),
    "max_pool1d": well_separated, "max_pool2d": well_separated, "adaptive_max_pool2d": well_separated,
    "linalg.norm": Domain(kinks=(0.0,), margin=0.1, spacing=0.05),
    "relu6": Domain(low=-2.0, high=8.0, kinks=(0.0, 6.0), margin=0.05),
    "hardtanh": Domain(kinks=(-1.0, 1.0), margin=0.05),
    "hardsigmoid": Domain(low=-5.0, high=5.0, kinks=(-3.0, 3.0), margin=0.05),
    "hardswish": Domain(low=-5.0, high=5.0, kinks=(-3.0, 3.0), margin=0.05),
    "elu": away_from_zero, "selu": away_from_zero, "celu": away_from_zero,
    "softsign": away_from_zero, "norm": away_from_zero,
    "sort": well_separated, "argsort": well_separated, "topk": well_separated,
    "median": well_separated, "cummax": well_separated, "cummin": well_separated,
    "arcsin": Domain(low=-0.9, high=0.9), "arccos": Domain(low=-0.9, high=0.9),
    "arctanh": Domain(low=-0.9, high=0.9), "arccosh": Domain(low=1.1, high=4.0),
    "tan": Domain(low=-1.3, high=1.3), "sinh": bounded, "cosh": bounded, "exp2": bounded,
    "expm1": bounded, "log2": positive, "log10": positive, "log1p": Domain(low=-0.9, high=3.0),
    "rsqrt": positive, "reciprocal": away_from_zero, "sign": away_from_zero,
    "floor": Domain(kinks=tuple(range(-3, 4)), margin=0.05),
    "ceil": Domain(kinks=tuple(range(-3, 4)), margin=0.05),
    "trunc": Domain(kinks=tuple(range(-3, 4)), margin=0.05),
    "round": Domain(kinks=tuple(k + 0.5 for k in range(-4, 4)), margin=0.05),
    "hypot": away_from_zero, "arctan2": away_from_zero, "copysign": away_from_zero,
}
"""Per-op domains: positive for log/sqrt/pow, bounded for exp, away from the kink at 0 for
relu/abs (and denominators), well separated (no ties) for max/min/maximum/minimum, and away
from the default bounds -1 and 1 for clip (and the corners of hardtanh, relu6, hardsigmoid,
hardswish; elu's family and softsign at 0), no ties for sort, topk, median, cummax/cummin;
inside the domain of the inverse trigonometric and hyperbolic functions and of
log2/log10/log1p/rsqrt; away from the jumps of floor, ceil, trunc, round and sign, and from the
origin for hypot, arctan2, copysign. fmod, remainder and floor_divide jump where x / y is an
integer, which no per-element domain avoids: tests/test_ops_math.py draws x and y for them."""


def _domain(domain) -> Domain:
    if domain is None:
        return domains["default"]
    if isinstance(domain, str):
        if domain not in domains:
            raise ValueError(f"testing: no domain named {domain!r}; known: {sorted(domains)}")
        return domains[domain]
    if not isinstance(domain, Domain):
        raise TypeError(f"testing: domain must be a Domain or a name, got {type(domain).__name__}")
    return domain


# ---- shapes and arguments ---------------------------------------------------------------
def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1,
           max_side: int = 5) -> st.SearchStrategy[tuple]:
    """Array shapes, 0-d (`()`) included when min_dims is 0."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(n: int, min_dims: int = 0, max_dims: int = 4, min_side: int = 1,
                         max_side: int = 5, signature: str | None = None) -> st.SearchStrategy[tuple]:
    """Tuples of `n` shapes that broadcast together (NumPy's rules); with a gufunc
    `signature` such as `np.matmul.signature` ("(n?,k),(k,m?)->(n?,m?)"), shapes that fit it
    with broadcast loop (batch) dimensions in front."""
    if signature is None:
        found = hnp.mutually_broadcastable_shapes(
            num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
            max_side=max_side)
    else:
        found = hnp.mutually_broadcastable_shapes(
            signature=signature, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
            max_side=max_side)
    return found.map(lambda r: r.input_shapes)


def valid_axes(ndim: int, allow_none: bool = True, allow_tuple: bool = True) -> st.SearchStrategy:
    """An `axis=` argument for a reduction over `ndim` dimensions: None, an int (negative
    too), or a tuple of distinct axes (possibly empty)."""
    options = []
    if allow_none:
        options.append(st.none())
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple:
        options.append(hnp.valid_tuple_axes(ndim))
    if not options:
        raise ValueError("valid_axes: a 0-d tensor has no int axis; allow None or tuples")
    return st.one_of(*options)


@st.composite
def index_expressions(draw, shape: tuple):
    """An index for an array of `shape`: ints, slices, None and `...` (basic), boolean masks,
    integer arrays (negative and repeated entries included), or an integer array on one axis
    mixed with slices."""
    shape = tuple(shape)
    kinds = ["basic"]
    if shape and all(n > 0 for n in shape):
        kinds += ["int_array", "bool_mask", "mixed"]
    kind = draw(st.sampled_from(kinds), label="index kind")
    if kind == "basic":
        return draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    if kind == "int_array":
        return draw(hnp.integer_array_indices(
            shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=6)))
    if kind == "bool_mask":
        k = draw(st.integers(1, len(shape)))
        mask = draw(hnp.arrays(np.bool_, shape[:k]))
        return mask if k == len(shape) else (mask, Ellipsis)
    axis = draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    picks = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=2 * n + 1))
    return (slice(None),) * axis + (np.array(picks, dtype=np.int64),)


# ---- tensors ----------------------------------------------------------------------------
@st.composite
def _strided_array(draw, shape: tuple, dtype, elements, contiguous):
    # A non-contiguous array is a view of a larger base: axes permuted, one axis stepped by 2,
    # some reversed. contiguous=None draws either layout.
    ndim = len(shape)
    if contiguous is None:
        contiguous = draw(st.booleans(), label="contiguous")
    if contiguous or ndim == 0:
        return draw(hnp.arrays(dtype, shape, elements=elements))
    perm = tuple(draw(st.permutations(range(ndim)), label="axis order"))
    # Stepping an axis of length >= 2 makes the view non-contiguous whatever else is drawn.
    long_axes = [k for k, p in enumerate(perm) if shape[p] >= 2] or list(range(ndim))
    stepped = draw(st.sampled_from(long_axes), label="stepped axis")
    flips = draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim), label="reversed axes")
    base_shape = tuple(shape[p] * (2 if k == stepped else 1) for k, p in enumerate(perm))
    base = draw(hnp.arrays(dtype, base_shape, elements=elements))
    index = tuple(slice(None, None, (2 if k == stepped else 1) * (-1 if flips[k] else 1))
                  for k in range(ndim))
    return base[index].transpose(np.argsort(perm))


def _default_elements(dtype, domain: Domain) -> st.SearchStrategy:
    kind = np.dtype(dtype).kind
    if kind == "f":
        return domain.elements(dtype)
    if kind == "b":
        return st.booleans()
    if kind in "iu":
        info = np.iinfo(dtype)
        return st.integers(max(info.min, -10), min(info.max, 10))
    raise TypeError(f"tensors: dtype {np.dtype(dtype)} is not float, int or bool")


@st.composite
def tensors(draw, shape=None, dtype=np.float64, elements: st.SearchStrategy | None = None,
            requires_grad: bool = False, domain: Domain | str | None = None,
            contiguous: bool | None = None) -> Tensor:
    """A leaf Tensor: `shape` a tuple or a strategy (default `shapes()`), elements from
    `elements` or the `domain` (a `Domain` or an op name in `domains`).

    `contiguous=False` always gives a strided view (permuted / stepped / reversed axes), not
    C-contiguous unless it has fewer than two elements; True never does; None draws either.
    """
    if shape is None:
        shape = shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape, label="shape")
    dom = _domain(domain)
    if elements is None:
        elements = _default_elements(dtype, dom)
    data = draw(_strided_array(tuple(shape), np.dtype(dtype), elements, contiguous))
    if np.dtype(dtype).kind == "f":
        dom.separate([data])
    return Tensor._wrap(data).requires_grad_(requires_grad)


def upstream_gradients(shape: tuple, dtype=np.float64) -> st.SearchStrategy[Tensor]:
    """A non-uniform upstream gradient: magnitudes in [0.5, 1.5] with random signs, so a
    backward rule that only works for an all-ones gradient fails. Drawn from a seed: its values
    need no shrinking, and this keeps it cheap."""
    def make(seed: int) -> Tensor:
        rng = np.random.default_rng(seed)
        v = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        return Tensor._wrap(np.array(v, dtype=dtype))

    return st.integers(0, 2**32 - 1).map(make)


@st.composite
def well_conditioned_matrices(draw, n: int | None = None, batch=None, dtype=np.float64,
                              requires_grad: bool = False) -> Tensor:
    """Square matrices safe to invert (for inv, det, solve): Gaussian entries, with each
    diagonal entry made |a_ii| + 1 + the sum of its row's other |a_ij| (strictly diagonally
    dominant by 1, so det > 0 and ||A^-1||_inf <= 1: Gaussian + n*I alone can be singular).
    `n` is 1..3 by default, `batch` the leading shape (a tuple or a strategy; by default (),
    (2,) or (2, 1)). Drawn from a seed: cheap."""
    n = draw(st.integers(1, 3), label="n") if n is None else n
    if batch is None:
        batch = st.sampled_from([(), (2,), (2, 1)])
    if isinstance(batch, st.SearchStrategy):
        batch = draw(batch, label="batch")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    data = rng.standard_normal(tuple(batch) + (n, n))
    diag = np.abs(data).sum(axis=-1) + 1.0
    data[..., np.arange(n), np.arange(n)] = diag
    data = data.astype(dtype)
    return Tensor._wrap(data).requires_grad_(requires_grad)


# ---- the one-call property test ---------------------------------------------------------
def _shape_tuples(shape_arg, n_inputs: int) -> st.SearchStrategy:
    if shape_arg is None:
        if n_inputs == 1:
            return shapes(max_dims=3, max_side=4).map(lambda s: (s,))
        return broadcastable_shapes(n_inputs, max_dims=3, max_side=4)
    if not isinstance(shape_arg, st.SearchStrategy):
        shape_arg = st.just(shape_arg)

    def as_tuple(drawn):
        drawn = tuple(drawn)
        if n_inputs == 1 and all(isinstance(n, (int, np.integer)) for n in drawn):
            drawn = (drawn,)
        if len(drawn) != n_inputs:
            raise ValueError(f"check_op: shapes gave {len(drawn)} shapes for {n_inputs} inputs")
        return tuple(tuple(s) for s in drawn)

    return shape_arg.map(as_tuple)


def check_op(op: Callable, reference: Callable, n_inputs: int = 1,
             domain: Domain | str | None = None, shapes=None,
             params: Callable[[tuple], st.SearchStrategy[Mapping]] | None = None,
             max_examples: int | None = None, dtype=np.float64, contiguous: bool | None = None,
             rtol: float = 1e-7, atol: float = 1e-10, grad_rtol: float = 1e-3,
             grad_atol: float = 1e-5, check_grad: bool = True) -> None:
    """Property-test `op(*tensors, **params)` against the NumPy `reference(*arrays, **params)`.

    Over drawn shapes (by default: one shape, or `n_inputs` mutually broadcastable shapes,
    0-d and non-contiguous inputs included) it checks that the forward matches the reference
    (shape, dtype, values), that no input is changed, that the gradient matches centered
    differences (`tc.gradcheck` in float64 with a random non-uniform upstream gradient), and
    that the gradient on non-contiguous inputs equals the one on contiguous copies.
    `shapes` is a shape tuple or a strategy of them (one shape, or one per input); `params`
    maps the drawn shapes to a strategy of keyword arguments (e.g. an `axis`). Call it from
    a plain test function (not inside another `@given`); it raises on the first failure.

    Example, a user's custom op::

        class Cube(tc.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x ** 2

        def test_cube():
            check_op(Cube.apply, lambda x: x ** 3)
    """
    dom = _domain(domain)
    shape_tuples = _shape_tuples(shapes, n_inputs)
    name = _op_name(op)
    config = dict(deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    if max_examples is not None:
        config["max_examples"] = max_examples

    @settings(**config)
    @given(data=st.data())
    def run(data):
        shps = data.draw(shape_tuples, label="shapes")
        kw = dict(data.draw(params(shps), label="params")) if params is not None else {}
        ts = [data.draw(tensors(s, dtype, requires_grad=np.dtype(dtype).kind == "f",
                                domain=replace(dom, spacing=0.0), contiguous=contiguous),
                        label=f"input {i}") for i, s in enumerate(shps)]
        dom.separate([t.data for t in ts])
        note(f"inputs after separation: {[t.data for t in ts]}")
        _check_once(op, reference, ts, kw, name, rtol, atol, grad_rtol, grad_atol, check_grad)

    run()


def _op_name(op: Callable) -> str:
    # `Cube.apply` is a method bound to the class Cube: "apply" alone would not say which op.
    owner = getattr(op, "__self__", None)
    if isinstance(owner, type):
        return f"{owner.__name__}.{op.__name__}"
    return getattr(op, "__name__", repr(op))


def _check_once(op, reference, ts: list, kw: dict, name: str, rtol, atol, grad_rtol, grad_atol,
                check_grad: bool) -> None:
    before = [t.data.copy() for t in ts]
    out = op(*ts, **kw)
    expected = np.asarray(reference(*[t.data.copy() for t in ts], **kw))
    assert isinstance(out, Tensor), f"{name}: returned {type(out).__name__}, not a Tensor"
    assert out.shape == expected.shape, f"{name}: shape {out.shape}, reference {expected.shape}"
    assert out.dtype == expected.dtype, f"{name}: dtype {out.dtype}, reference {expected.dtype}"
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol,
                               err_msg=f"{name}: forward differs from the NumPy reference")
    _assert_unchanged(ts, before, name)
    if not (check_grad and out.requires_grad):
        return

    def fn(*xs):
        return op(*xs, **kw)

    try:
        gradcheck(fn, ts, atol=grad_atol, rtol=grad_rtol)
    except GradcheckError as e:
        raise GradcheckError(f"{name}: {e}") from None
    v = Tensor._wrap(np.random.default_rng(0).uniform(0.5, 1.5, out.shape))
    got = autograd_grad([fn(*ts)], ts, [v], allow_unused=True)
    copies = [Tensor(t.data.copy(order="C"), requires_grad=True) for t in ts]
    want = autograd_grad([fn(*copies)], copies, [v], allow_unused=True)
    for i, (g, w, t) in enumerate(zip(got, want, ts)):
        if g is None or w is None:
            assert g is None and w is None, f"{name}: input {i} got a gradient in one layout only"
            continue
        assert g.shape == t.shape and g.dtype == t.dtype, (
            f"{name}: gradient of input {i} has shape {g.shape} / dtype {g.dtype}, the input "
            f"{t.shape} / {t.dtype}")
        np.testing.assert_allclose(g.data, w.data, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{name}: gradient of input {i} depends on its memory layout")
    _assert_unchanged(ts, before, name)


def _assert_unchanged(ts: list, before: list, name: str) -> None:
    for i, (t, b) in enumerate(zip(ts, before)):
        assert np.array_equal(t.data, b), f"{name}: input {i} was changed in place"
