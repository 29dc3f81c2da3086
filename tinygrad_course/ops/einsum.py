"""einsum (NumPy's subscripts, `...` broadcasting, repeated indices; each operand's gradient is
itself an einsum, so second derivatives work) and the products built on it: tensordot, outer,
inner, kron."""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .common import as_tensor


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


Tensor.outer, Tensor.inner, Tensor.kron = outer, inner, kron
