"""Linear algebra: matrix products with NumPy's rules (1-D operands, batched leading
dimensions), einsum and the products built on it, and `tc.linalg`'s norm, inv, det, slogdet, solve."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import as_tensor, normalize_axis, torch_axis


def _check_matmul(a, b) -> None:
    sa, sb = np.shape(a), np.shape(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: {sa} @ {sb}: both operands need at least one dimension "
                         "(use * for a scalar product)")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(f"matmul: {sa} @ {sb}: inner dimensions {ka} and {kb} differ")


class MatMul(Function):
    """z = a @ b; da = g @ b^T, db = a^T @ g (with 1-D operands promoted as NumPy does)."""

    @staticmethod
    def forward(ctx, a, b):
        _check_matmul(a, b)
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(a if nb else None, b if na else None)
        ctx.nd = (np.ndim(a), np.ndim(b))
        try:
            return a @ b
        except ValueError as e:
            raise ValueError(f"matmul: {np.shape(a)} @ {np.shape(b)}: batch dimensions do not "
                             f"broadcast ({e})") from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        na, nb = ctx.needs_input_grad
        a_nd, b_nd = ctx.nd
        if a_nd == 1 and b_nd == 1:
            return (g * b if na else None), (g * a if nb else None)
        if a_nd == 1:
            g2 = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
            ga = (g2 @ b.swapaxes(-1, -2)) if na else None
            gb = None
            if nb:
                gb = a.reshape((a.shape[0], 1)) @ g2
            return ga, gb
        if b_nd == 1:
            g2 = g.reshape(g.shape + (1,))
            ga = (g2 @ b.reshape((1, b.shape[0]))) if na else None
            gb = None
            if nb:
                gb2 = a.swapaxes(-1, -2) @ g2
                gb = gb2.reshape(gb2.shape[:-1])
            return ga, gb
        ga = (g @ b.swapaxes(-1, -2)) if na else None
        gb = (a.swapaxes(-1, -2) @ g) if nb else None
        return ga, gb


class Linear(Function):
    """z = x @ W^T + b, fused (one node, one pass): dx = g W, dW = g^T x, db = sum(g)."""

    @staticmethod
    def forward(ctx, x, w, b):
        if x.ndim < 1 or x.shape[-1] != w.shape[1]:
            raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} "
                             f"features but the weight of shape {w.shape} expects {w.shape[1]}")
        nx, nw, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if nw else None, w if nx else None)
        out = x @ w.T
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        nx, nw, nb = ctx.needs_input_grad
        gx = g @ w if nx else None
        gw = None
        if nw:
            if g.ndim == 2:
                gw = g.T @ x
            else:
                gw = g.reshape((-1, g.shape[-1])).T @ x.reshape((-1, x.shape[-1]))
        gb = None
        if nb:
            if g.ndim == 2 and type(g) is np.ndarray:
                # A row of ones times g is the column sum as one BLAS call, several times
                # faster than np.sum(axis=0) on a tall, narrow gradient.
                gb = np.ones(g.shape[0], g.dtype) @ g
            else:
                gb = g.sum(axis=tuple(range(g.ndim - 1))) if g.ndim > 1 else g
        return gx, gw, gb


def matmul(a, b) -> Tensor:
    """a @ b with NumPy's rules for 1-D and batched operands."""
    return MatMul.apply(a, b)


def dot(a, b) -> Tensor:
    """NumPy's dot for 1-D and 2-D operands (inner product, or matrix product)."""
    nd = (np.ndim(a.data if isinstance(a, Tensor) else a), np.ndim(b.data if isinstance(b, Tensor) else b))
    if max(nd) > 2:
        raise ValueError("dot: only 1-D and 2-D operands are supported; use matmul for batches")
    if min(nd) == 0:
        return a * b if isinstance(a, Tensor) else b * a
    return MatMul.apply(a, b)


def linear(x, weight, bias=None) -> Tensor:
    """x @ weight^T + bias as one fused op (weight of shape (out, in), as in PyTorch)."""
    return Linear.apply(x, weight, bias)


# ---- einsum and the products built on it -------------------------------------------------
_EINSUM_LOOP_LIMIT = 50_000  # above this many multiply-adds, let NumPy plan the contraction


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _np_einsum(operands, in_labels, out_labels):
    """np.einsum in sublist form, with any hashable labels renamed to NumPy's 0..51."""
    ids: dict = {}
    args, sizes = [], {}
    for op, labels in zip(operands, in_labels):
        args += [op, [ids.setdefault(label, len(ids)) for label in labels]]
        sizes.update(zip(labels, np.shape(op)))
    if len(ids) > 52:
        raise ValueError(f"einsum: {len(ids)} distinct indices; NumPy's einsum takes at most 52")
    args.append([ids[label] for label in out_labels])
    # NumPy's own loop is fastest for small products; large ones go through BLAS (tensordot).
    optimize = len(operands) > 1 and int(np.prod([max(n, 1) for n in sizes.values()])) > _EINSUM_LOOP_LIMIT
    return np.einsum(*args, optimize=optimize)


def _contract(operands, in_labels, out_labels):
    """An einsum of arrays (plain backward) or of Tensors (differentiable, under create_graph)."""
    if any(isinstance(op, Tensor) for op in operands):
        return Einsum.apply((tuple(in_labels), tuple(out_labels)), *operands)
    return _np_einsum(operands, in_labels, out_labels)


class Einsum(Function):
    """out = einsum(labels, *operands). The gradient of operand k is the einsum of g (with the
    output's labels) and the other operands, giving operand k's labels: a label only operand k
    has is broadcast back (times a ones vector), a repeated label (a diagonal) is put back on
    the diagonal (times an identity)."""

    @staticmethod
    def forward(ctx, spec, *operands):
        in_labels, out_labels = spec
        needs = ctx.needs_input_grad[1:]
        ctx.spec, ctx.shapes = spec, [np.shape(op) for op in operands]
        ctx.save_for_backward(*[op if any(n for j, n in enumerate(needs) if j != k) else None
                                for k, op in enumerate(operands)])
        return _np_einsum(operands, in_labels, out_labels)

    @staticmethod
    def backward(ctx, g):
        in_labels, out_labels = ctx.spec
        operands = ctx.saved
        grads = []
        for k, need in enumerate(ctx.needs_input_grad[1:]):
            if not need:
                grads.append(None)
                continue
            ops = [g] + [op for j, op in enumerate(operands) if j != k]
            labels = [out_labels] + [lab for j, lab in enumerate(in_labels) if j != k]
            shape = ctx.shapes[k]
            target = []
            for pos, label in enumerate(in_labels[k]):
                if label in target:  # a diagonal: g goes back on it, times the identity
                    fresh = ("diagonal", pos)
                    ops.append(np.eye(shape[pos], dtype=g.dtype))
                    labels.append((label, fresh))
                    target.append(fresh)
                else:
                    target.append(label)
            present = {label for lab in labels for label in lab}
            for pos, label in enumerate(in_labels[k]):
                if label not in present:  # summed in operand k alone: broadcast back
                    ops.append(np.ones(shape[pos], dtype=g.dtype))
                    labels.append((label,))
                    present.add(label)
            grads.append(_contract(ops, labels, target))
        return (None, *grads)


def _einsum_labels(subscripts: str, shapes: list) -> tuple:
    """NumPy's subscripts as (labels per operand, output labels); `...` becomes integer labels,
    right-aligned across operands as in broadcasting."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string such as 'ij,jk->ik', got "
                        f"{type(subscripts).__name__}")
    spec = subscripts.replace(" ", "")
    if spec.count("->") > 1:
        raise ValueError(f"einsum: {subscripts!r} has more than one '->'")
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s) but "
                         f"{len(shapes)} were given")
    for term in terms + ([rhs] if arrow else []):
        rest = term.replace("...", "", 1)
        if not all(c.isascii() and c.isalpha() for c in rest):
            raise ValueError(f"einsum: {term!r} in {subscripts!r}: subscripts are letters a-z, "
                             "A-Z and at most one '...' per operand")
    n_ellipsis = 0
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        letters = term.replace("...", "")
        extra = len(shape) - len(letters)
        if extra < 0 or (extra and "..." not in term):
            raise ValueError(f"einsum: operand {i} has shape {shape} ({len(shape)} dimensions) "
                             f"but its subscripts {term!r} name {len(letters)}")
        n_ellipsis = max(n_ellipsis, extra)
    in_labels = []
    for term, shape in zip(terms, shapes):
        head, _, tail = term.partition("...")
        extra = len(shape) - len(head) - len(tail)
        in_labels.append(tuple(head) + tuple(range(n_ellipsis - extra, n_ellipsis)) + tuple(tail))
    if arrow:
        head, dots, tail = rhs.partition("...")
        if n_ellipsis and not dots:
            raise ValueError(f"einsum: {subscripts!r}: the operands' '...' covers {n_ellipsis} "
                             "dimension(s); the output needs '...' too (or name the dimensions)")
        out = tuple(head) + tuple(range(n_ellipsis)) + tuple(tail)
        for c in head + tail:
            if (head + tail).count(c) > 1:
                raise ValueError(f"einsum: index {c!r} appears twice in the output of {subscripts!r}")
            if not any(c in term for term in terms):
                raise ValueError(f"einsum: output index {c!r} of {subscripts!r} is in no operand")
    else:  # implicit: the broadcast dimensions, then the indices seen once, in order of the character
        letters = "".join(t.replace("...", "") for t in terms)
        out = tuple(range(n_ellipsis)) + tuple(sorted(c for c in set(letters) if letters.count(c) == 1))
    _check_einsum_sizes(subscripts, in_labels, shapes)
    return in_labels, out


def _check_einsum_sizes(subscripts: str, in_labels: list, shapes: list) -> None:
    seen: dict = {}
    for i, (labels, shape) in enumerate(zip(in_labels, shapes)):
        for label, n in zip(labels, shape):
            name = f"index {label!r}" if isinstance(label, str) else "a '...' dimension"
            if label in seen and seen[label][1] != n:
                j, m = seen[label]
                same = j == i
                if same or (n != 1 and m != 1):
                    raise ValueError(f"einsum: {subscripts!r}: {name} has size {m} in operand {j} "
                                     f"(shape {shapes[j]}) and {n} in operand {i} (shape {shape})"
                                     + ("; a repeated index takes a diagonal, so its sizes must "
                                        "be equal" if same else ""))
            if label not in seen or seen[label][1] == 1:
                seen[label] = (i, n)


def einsum(subscripts: str, *operands) -> Tensor:
    """Einstein summation with NumPy's subscripts ('ij,jk->ik', implicit output 'ij,jk',
    '...' broadcasting, 'ii->i' diagonals, 'ii' traces); PyTorch's `einsum(eq, [a, b])` too."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    shapes = [np.shape(_data(op)) for op in operands]
    in_labels, out_labels = _einsum_labels(subscripts, shapes)
    return Einsum.apply((tuple(in_labels), out_labels), *operands)


def _axis_list(axes, ndim: int, which: str) -> list:
    axes = [axes] if isinstance(axes, (int, np.integer)) else list(axes)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"tensordot: axis {a} is out of range for {which} with {ndim} dimensions")
    return [int(a) % ndim for a in axes]


def tensordot(a, b, axes=2) -> Tensor:
    """Sum of products over the last `axes` axes of a and the first of b (an int), or over
    the axes listed in the pair `axes=(axes_a, axes_b)`, as NumPy's tensordot."""
    sa, sb = np.shape(_data(a)), np.shape(_data(b))
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(len(sa), len(sb)):
            raise ValueError(f"tensordot: axes={axes} for shapes {sa} and {sb}: give 0 to "
                             f"{min(len(sa), len(sb))} axes")
        axes_a, axes_b = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        try:
            first, second = axes
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair (axes_a, axes_b), "
                            f"got {axes!r}") from None
        axes_a, axes_b = _axis_list(first, len(sa), "a"), _axis_list(second, len(sb), "b")
        if len(axes_a) != len(axes_b):
            raise ValueError(f"tensordot: {len(axes_a)} axes of a {axes_a} but {len(axes_b)} of b {axes_b}")
    for i, j in zip(axes_a, axes_b):
        if sa[i] != sb[j]:
            raise ValueError(f"tensordot: axis {i} of a (shape {sa}) has size {sa[i]} but axis {j} "
                             f"of b (shape {sb}) has size {sb[j]}")
    labels_a = [("a", i) for i in range(len(sa))]
    labels_b = [("b", j) for j in range(len(sb))]
    for i, j in zip(axes_a, axes_b):
        labels_b[j] = labels_a[i]
    out = [lab for i, lab in enumerate(labels_a) if i not in axes_a]
    out += [lab for j, lab in enumerate(labels_b) if j not in axes_b]
    return Einsum.apply(((tuple(labels_a), tuple(labels_b)), tuple(out)), a, b)


def outer(a, b) -> Tensor:
    """Outer product out[i, j] = a[i] * b[j] of the flattened inputs, as NumPy's outer."""
    return as_tensor(a).reshape((-1, 1)) * as_tensor(b).reshape((1, -1))


def inner(a, b) -> Tensor:
    """Sum of products over the last axes (a scalar operand just multiplies), as NumPy's inner."""
    sa, sb = np.shape(_data(a)), np.shape(_data(b))
    if not sa or not sb:
        return as_tensor(a) * b
    if sa[-1] != sb[-1]:
        raise ValueError(f"inner: last dimensions differ: shapes {sa} and {sb}")
    return tensordot(a, b, axes=([-1], [-1]))


def kron(a, b) -> Tensor:
    """Kronecker product: out[i*B + j] = a[i] * b[j] along every axis (the fewer axes of the
    two operands are padded with leading 1s), as NumPy's kron."""
    a, b = as_tensor(a), as_tensor(b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    a2 = a.reshape(tuple(x for n in sa for x in (n, 1)))
    b2 = b.reshape(tuple(x for n in sb for x in (1, n)))
    return (a2 * b2).reshape(tuple(m * n for m, n in zip(sa, sb)))


# ---- tc.linalg: inverse, determinant, solve ----------------------------------------------
LinAlgError = np.linalg.LinAlgError


def _check_square(a, op: str) -> None:
    if np.ndim(a) < 2 or a.shape[-1] != a.shape[-2]:
        raise LinAlgError(f"{op}: needs square matrices in the last two dimensions, shape "
                          f"(..., n, n); got shape {np.shape(a)}")


def _singular(op: str, a) -> LinAlgError:
    """The error for a singular matrix: which one (in a batch) and what to do."""
    where = ""
    for idx in np.ndindex(a.shape[:-2]):
        if np.linalg.matrix_rank(a[idx]) < a.shape[-1]:
            where = f" (the one at batch index {idx})" if idx else ""
            break
    n = a.shape[-1]
    return LinAlgError(f"{op}: the {n}x{n} matrix{where} of the input of shape {a.shape} is "
                       "singular (its rows are linearly dependent), so it has no inverse; "
                       f"regularize it (A + 1e-6 * tc.eye({n})) or check how it was built")


def _inv(a, op: str = "inv"):
    """inv(a) of an array, or of a Tensor (differentiable)."""
    if isinstance(a, Tensor):
        return Inv.apply(a)
    try:
        return np.linalg.inv(a)
    except LinAlgError:
        raise _singular(op, a) from None


def _solve(a, b):
    """solve(a, b) of arrays, or of Tensors (differentiable)."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return Solve.apply(a, b)
    return np.linalg.solve(a, b)


def _mT(x):
    """The matrix transpose (last two axes swapped) of an array or a Tensor."""
    return x.swapaxes(-1, -2)


def _as_matrix_scale(s):
    """A batch of scalars (...,) as (..., 1, 1), to scale a batch of matrices."""
    return s.reshape(tuple(s.shape) + (1, 1))


class Inv(Function):
    """B = inv(A); dA = -B^T g B^T."""

    @staticmethod
    def forward(ctx, a):
        _check_square(a, "inv")
        out = _inv(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (b,) = ctx.saved
        bt = _mT(b)
        return -(bt @ g @ bt)


class Det(Function):
    """d = det(A); dA = g d inv(A)^T (the cofactor matrix, from the SVD when d = 0)."""

    @staticmethod
    def forward(ctx, a):
        _check_square(a, "det")
        out = np.linalg.det(a)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, d = ctx.saved
        if not isinstance(a, Tensor) and np.any(d == 0):
            return _as_matrix_scale(g) * _cofactor(a)
        return _as_matrix_scale(g * d) * _mT(_inv(a, "det (backward)"))


def _cofactor(a: np.ndarray) -> np.ndarray:
    """det(A) inv(A)^T without the inverse, so it exists for singular A: with A = U S V^T,
    it is det(U) det(V) U diag(prod of the other singular values) V^T."""
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return _as_matrix_scale(sign) * ((u * others[..., None, :]) @ vh)


class LogAbsDet(Function):
    """l = log|det(A)|; dA = g inv(A)^T. `sign` (no gradient) is appended to `sign_out`."""

    name = "slogdet"

    @staticmethod
    def forward(ctx, a, sign_out=None):
        _check_square(a, "slogdet")
        sign, out = np.linalg.slogdet(a)
        if sign_out is not None:
            sign_out.append(sign)
        ctx.save_for_backward(a)
        return out

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return _as_matrix_scale(g) * _mT(_inv(a, "slogdet (backward)"))


class Solve(Function):
    """x = solve(A, b), so A x = b; gb = solve(A^T, g), gA = -gb x^T (b is a vector when
    1-D, else a batch of (n, k) matrices, as NumPy 2)."""

    @staticmethod
    def forward(ctx, a, b):
        _check_square(a, "solve")
        b = np.asarray(b)
        rows = b.shape[0] if b.ndim == 1 else (b.shape[-2] if b.ndim >= 2 else None)
        if rows != a.shape[-1]:
            raise ValueError(f"solve: A of shape {a.shape} needs b of shape ({a.shape[-1]},) or "
                             f"(..., {a.shape[-1]}, k); got b of shape {b.shape}")
        try:
            out = np.linalg.solve(a, b)
        except LinAlgError:
            raise _singular("solve", a) from None
        except ValueError as e:
            raise ValueError(f"solve: A of shape {a.shape} and b of shape {b.shape}: the batch "
                             f"dimensions do not broadcast ({e})") from None
        ctx.vector = b.ndim == 1
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved
        if ctx.vector:
            g, x = g.reshape(tuple(g.shape) + (1,)), x.reshape(tuple(x.shape) + (1,))
        gb = _solve(_mT(a), g)
        ga = -(gb @ _mT(x)) if ctx.needs_input_grad[0] else None
        if ctx.needs_input_grad[1] and ctx.vector:
            gb = gb.reshape(tuple(gb.shape[:-1]))
        return ga, (gb if ctx.needs_input_grad[1] else None)


def inv(a) -> Tensor:
    """The inverse of each square matrix in the last two dimensions; LinAlgError if singular."""
    return Inv.apply(a)


def det(a) -> Tensor:
    """The determinant of each square matrix in the last two dimensions."""
    return Det.apply(a)


class SlogdetResult(NamedTuple):
    """slogdet's result: det(A) = sign * exp(logabsdet)."""

    sign: Tensor
    logabsdet: Tensor


def slogdet(a) -> SlogdetResult:
    """(sign, log|det A|) of each square matrix, overflow-free; only logabsdet has a gradient
    (inv(A)^T). A singular matrix gives sign 0 and logabsdet -inf, as in NumPy."""
    sign: list = []
    logabsdet = LogAbsDet.apply(a, sign_out=sign)
    return SlogdetResult(Tensor._wrap(np.asarray(sign[0])), logabsdet)


def solve(a, b) -> Tensor:
    """x with A x = b, for each square A in a batch; b is (n,) or (..., n, k) (NumPy 2's
    rule), batch dimensions broadcast. Differentiable in A and b."""
    return Solve.apply(a, b)


# ---- tc.linalg.norm ------------------------------------------------------------------------
class VectorNorm(Function):
    """||x||_p = (sum |x|^p)^(1/p) over axes, for finite p > 0; the gradient is
    g sign(x) |x|^(p-1) / ||x||^(p-1), and 0 at x_i = 0 and where the norm is 0 (PyTorch's
    convention)."""

    name = "norm"

    @staticmethod
    def forward(ctx, x, p, axes, keepdims):
        ctx.p, ctx.axes, ctx.keepdims, ctx.shape = p, axes, keepdims, x.shape
        if p == 2:
            out = np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdims))
        elif p == 1:
            out = np.sum(np.abs(x), axis=axes, keepdims=keepdims)
        else:
            out = np.sum(np.abs(x) ** p, axis=axes, keepdims=keepdims) ** (1.0 / p)
        out = np.asarray(out)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        if not ctx.keepdims:
            kept = tuple(1 if i in ctx.axes else n for i, n in enumerate(ctx.shape))
            g, out = g.reshape(kept), out.reshape(kept)
        sign = np.sign(_data(x))  # piecewise constant: no second-order term
        if ctx.p == 1:
            return g * sign, None, None, None
        safe = out + (_data(out) == 0)  # the norm, with 1 where it is 0 (x is all 0 there)
        if ctx.p == 2:
            return g * x / safe, None, None, None
        p = ctx.p  # |x|^(p-1) taken as 0 at x = 0 even for p < 1, as PyTorch does
        magnitude = np.abs(x) + (sign == 0)
        return g * sign * magnitude ** (p - 1) / safe ** (p - 1), None, None, None


def _is_ord(ord, *values) -> bool:
    return not isinstance(ord, str) and ord is not None and any(ord == v for v in values)


def _vector_norm(x: Tensor, ord, axes: tuple, keepdims: bool) -> Tensor:
    if ord is None:
        ord = 2
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; a vector norm takes a number "
                         "(2, 1, inf, -inf, 0 or any p)")
    if ord == np.inf or ord == -np.inf:
        m = np.abs(x)
        return m.max(axis=axes, keepdims=keepdims) if ord > 0 else m.min(axis=axes, keepdims=keepdims)
    if ord == 0:  # the count of nonzeros: piecewise constant, no gradient
        count = np.sum(_data(x) != 0, axis=axes, keepdims=keepdims).astype(x.dtype)
        return Tensor._wrap(np.asarray(count))
    if ord > 0:
        return VectorNorm.apply(x, float(ord), axes, keepdims)
    return (np.abs(x) ** ord).sum(axis=axes, keepdims=keepdims) ** (1.0 / ord)


class SingularValueNorm(Function):
    """The largest (ord 2) or smallest (ord -2) singular value, or their sum ('nuc'), of the
    matrices in the last two axes; with A = U S V^T the gradient is g u_k v_k^T (or g U V^T)."""

    name = "norm"

    @staticmethod
    def forward(ctx, a, ord):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        if ord == "nuc":
            ctx.save_for_backward(u @ vh)
            return s.sum(axis=-1)
        k = 0 if ord == 2 else s.shape[-1] - 1
        ctx.save_for_backward(u[..., :, k:k + 1] @ vh[..., k:k + 1, :])
        return s[..., k]

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            raise NotImplementedError(
                "norm: the second derivative of the matrix norms ord=2, -2 and 'nuc' (singular "
                "values) is not implemented; ord='fro' has one")
        (uv,) = ctx.saved
        return _as_matrix_scale(g) * uv, None


def _matrix_norm(x: Tensor, ord, axes: tuple, keepdims: bool) -> Tensor:
    row, col = axes
    if ord is None or ord in ("fro", "f"):
        out = VectorNorm.apply(x, 2.0, axes, False)
    elif _is_ord(ord, 1, -1):
        sums = np.abs(x).sum(axis=row)
        c = col - 1 if col > row else col
        out = sums.max(axis=c) if ord > 0 else sums.min(axis=c)
    elif _is_ord(ord, np.inf, -np.inf):
        sums = np.abs(x).sum(axis=col)
        r = row - 1 if row > col else row
        out = sums.max(axis=r) if ord > 0 else sums.min(axis=r)
    elif _is_ord(ord, 2, -2) or ord == "nuc":
        rest = [i for i in range(x.ndim) if i not in axes]
        out = SingularValueNorm.apply(x.transpose((*rest, row, col)), ord)
    else:
        raise ValueError(f"norm: ord={ord!r} is not a matrix norm; use 'fro', 'nuc', 1, -1, 2, "
                         "-2, inf or -inf")
    if keepdims:
        out = out.reshape(tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return out


def norm(x, ord=None, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """numpy.linalg.norm: a vector p-norm (ord a number, inf, -inf, 0; 2 by default) over one
    axis, or a matrix norm ('fro' by default, 'nuc', 1, -1, 2, -2, inf, -inf) over two; with
    axis=None, the 2-norm of all elements (ord=None) or the norm of a 1-D or 2-D tensor.
    PyTorch's dim=/keepdim= are accepted. Integer inputs give float64, as in NumPy."""
    axis, keepdims = torch_axis("norm", axis, dim, keepdims, keepdim)
    x = as_tensor(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if axis is None:
        if ord is None:
            return VectorNorm.apply(x, 2.0, tuple(range(x.ndim)), keepdims)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D tensor, got "
                             f"shape {x.shape}; give axis= (one axis: vector norm, two: matrix norm)")
        axis = tuple(range(x.ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    norm_axes = normalize_axis(axes, x.ndim, "norm")
    if len(axes) == 1:
        return _vector_norm(x, ord, norm_axes, keepdims)
    if len(axes) == 2:
        row, col = (int(a) % x.ndim for a in axes)  # in the order given: it says which is the row
        return _matrix_norm(x, ord, (row, col), keepdims)
    raise ValueError(f"norm: axis={axis!r}: give one axis (vector norm) or two (matrix norm)")


def vector_norm(x, ord=2, axis=None, keepdims: bool = False, *, dim=None, keepdim=None) -> Tensor:
    """torch.linalg.vector_norm: the p-norm of x over `axis` (all elements when None)."""
    axis, keepdims = torch_axis("vector_norm", axis, dim, keepdims, keepdim)
    x = as_tensor(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    axes = normalize_axis(axis, x.ndim, "vector_norm")
    return _vector_norm(x, ord, axes, keepdims)


def matrix_norm(x, ord="fro", axis=(-2, -1), keepdims: bool = False, *, dim=None,
                keepdim=None) -> Tensor:
    """torch.linalg.matrix_norm: a matrix norm over the two axes `axis` (the last two)."""
    axis, keepdims = torch_axis("matrix_norm", axis, dim, keepdims, keepdim)
    return norm(x, ord, tuple(axis), keepdims)


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: MatMul.apply(other, self)
Tensor.matmul, Tensor.dot = matmul, dot
Tensor.outer, Tensor.inner, Tensor.kron = outer, inner, kron
Tensor.inverse, Tensor.det, Tensor.slogdet = inv, det, slogdet  # PyTorch's method names
