"""einsum, tensordot, outer, inner, kron (tc.*) and tc.linalg: norm, inv, det, slogdet, solve."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import check_op, shapes, well_conditioned_matrices

# (subscripts, operand shapes): explicit and implicit output, '...' broadcasting, diagonals,
# traces, indices summed in one operand only, three operands, scalars, upper case.
EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij,j", [(2, 3), (3,)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ij", [(2, 2, 3)]),
    ("iii->i", [(2, 2, 2)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ij,kl->ijkl", [(2, 1), (2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ij,jk->i", [(2, 3), (3, 4)]),
    ("ab,cd->", [(2, 2), (3, 1)]),
    ("ijk,k->", [(2, 2, 3), (3,)]),
    ("i,i,i->", [(3,), (3,), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
    ("...ij,...jk", [(2, 2, 3), (3, 2)]),
    ("i...->...", [(3, 2)]),
    ("...,...->...", [(), (3,)]),
    (",->", [(), ()]),
    (",i->i", [(), (3,)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
    ("bA", [(2, 3)]),
]


def _einsum_id(case):
    return f"{case[0]}:{case[1]}"


@pytest.mark.parametrize("subscripts, shps", EINSUM_CASES, ids=map(_einsum_id, EINSUM_CASES))
def test_einsum_matches_numpy_and_gradcheck(subscripts, shps):
    check_op(lambda *xs: tc.einsum(subscripts, *xs), lambda *xs: np.einsum(subscripts, *xs),
             n_inputs=len(shps), shapes=tuple(shps), max_examples=5)


@pytest.mark.parametrize("subscripts, shps", EINSUM_CASES[::3], ids=map(_einsum_id, EINSUM_CASES[::3]))
def test_einsum_second_derivatives(subscripts, shps):
    rng = np.random.default_rng(0)
    xs = [tc.tensor(rng.standard_normal(s), requires_grad=True) for s in shps]
    tc.gradgradcheck(lambda *a: tc.einsum(subscripts, *a), xs)


def test_einsum_takes_pytorchs_list_of_operands():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    out = tc.einsum("ij,jk->ik", [tc.tensor(a), tc.tensor(b)])
    np.testing.assert_allclose(out.data, a @ b)


def test_einsum_of_large_operands_matches_numpy():
    # Above the loop limit NumPy plans the contraction (BLAS); the result is the same.
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((40, 50)), rng.standard_normal((50, 30))
    ta = tc.tensor(a, requires_grad=True)
    out = tc.einsum("ij,jk->ik", ta, tc.tensor(b))
    np.testing.assert_allclose(out.data, a @ b, rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(ta.grad.data, np.ones((40, 30)) @ b.T, rtol=1e-12)


def test_einsum_keeps_float32():
    a = tc.randn(2, 3)
    assert tc.einsum("ij,jk", a, a.T).dtype == np.float32


@pytest.mark.parametrize("subscripts, shps, message", [
    ("ij,jk", [(2, 3)], "name 2 operand"),
    ("ij,jk", [(2, 3), (4, 5)], "index 'j' has size 3"),
    ("ii", [(2, 3)], "diagonal"),
    ("ij->k", [(2, 3)], "'k'"),
    ("ij->ii", [(2, 3)], "twice"),
    ("ij", [(2, 3, 4)], "3 dimensions"),
    ("...ij->ij", [(2, 3, 4)], "'...'"),
    ("i1", [(2, 3)], "letters"),
])
def test_einsum_errors_name_the_problem(subscripts, shps, message):
    with pytest.raises(ValueError, match="einsum") as e:
        tc.einsum(subscripts, *[tc.zeros(*s) for s in shps])
    assert message in str(e.value)


# ---- tensordot, outer, inner, kron ---------------------------------------------------------
@st.composite
def tensordot_args(draw):
    sa = draw(shapes(max_dims=3, max_side=3))
    k = draw(st.integers(0, len(sa)))
    axes_a = draw(st.permutations(range(len(sa))))[:k]
    free_b = draw(shapes(max_dims=3 - k, max_side=3)) if k < 3 else ()
    order = draw(st.permutations(range(k + len(free_b))))
    dims_b = [sa[a] for a in axes_a] + list(free_b)
    sb = tuple(dims_b[i] for i in order)
    axes_b = [order.index(i) for i in range(k)]
    if draw(st.booleans(), label="negative axes"):
        axes_a = [a - len(sa) for a in axes_a]
    if k and axes_a == list(range(len(sa) - k, len(sa))) and axes_b == list(range(k)):
        return sa, sb, draw(st.sampled_from([k, (axes_a, axes_b)]))
    return sa, sb, (axes_a, axes_b)


@given(args=tensordot_args(), seed=st.integers(0, 2**32 - 1))
def test_tensordot_matches_numpy_and_gradcheck(args, seed):
    sa, sb, axes = args
    rng = np.random.default_rng(seed)
    a = tc.tensor(rng.standard_normal(sa), requires_grad=True)
    b = tc.tensor(rng.standard_normal(sb), requires_grad=True)
    np.testing.assert_allclose(tc.tensordot(a, b, axes).data, np.tensordot(a.data, b.data, axes),
                               rtol=1e-10, atol=1e-12)
    tc.gradcheck(lambda x, y: tc.tensordot(x, y, axes), [a, b])


def test_tensordot_default_contracts_the_last_two_axes():
    a, b = np.arange(24.0).reshape(2, 3, 4), np.arange(24.0).reshape(3, 4, 2)
    np.testing.assert_allclose(tc.tensordot(tc.tensor(a), tc.tensor(b)).data, np.tensordot(a, b))


def test_tensordot_size_mismatch_names_both_axes():
    with pytest.raises(ValueError, match=r"tensordot: axis 1 of a .* size 3 but axis 0 of b"):
        tc.tensordot(tc.zeros(2, 3), tc.zeros(4, 2), axes=([1], [0]))


def test_outer_matches_numpy_and_flattens_like_it():
    check_op(tc.outer, np.outer, n_inputs=2,
             shapes=st.tuples(shapes(max_dims=2, max_side=3), shapes(max_dims=2, max_side=3)))


@st.composite
def inner_shapes(draw):
    k = draw(st.integers(1, 3))
    a = draw(st.sampled_from([(), (k,), (2, k), (2, 1, k)]))
    b = draw(st.sampled_from([(), (k,), (3, k)]))
    return a, b


def test_inner_matches_numpy_for_0d_1d_and_nd():
    check_op(tc.inner, np.inner, n_inputs=2, shapes=inner_shapes())


def test_kron_matches_numpy_for_different_ranks():
    check_op(tc.kron, np.kron, n_inputs=2,
             shapes=st.tuples(shapes(max_dims=3, max_side=3), shapes(max_dims=3, max_side=3)))


def test_kron_second_derivative():
    rng = np.random.default_rng(2)
    a, b = (tc.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 2), (3,)])
    tc.gradgradcheck(lambda x, y: tc.kron(x, y) ** 2, [a, b])


def test_products_as_tensor_methods():
    a, b = tc.tensor([1.0, 2.0]), tc.tensor([3.0, 4.0])
    np.testing.assert_allclose(a.outer(b).data, np.outer(a.data, b.data))
    np.testing.assert_allclose(a.inner(b).data, 11.0)
    np.testing.assert_allclose(a.kron(b).data, np.kron(a.data, b.data))


# ---- norm ------------------------------------------------------------------------------------
def _norm_shapes_and_params(vector: bool):
    @st.composite
    def draw(drawn):
        if vector:
            shape = drawn(shapes(min_dims=1, max_dims=3, max_side=4))
            axis = drawn(st.integers(-len(shape), len(shape) - 1))
            ord_ = drawn(st.sampled_from([None, 1, 2, 3, 0.5, np.inf, -np.inf, -1]))
        else:
            shape = drawn(shapes(min_dims=2, max_dims=3, max_side=4))
            axis = tuple(drawn(st.permutations(range(len(shape))))[:2])
            ord_ = drawn(st.sampled_from([None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]))
        return shape, dict(ord=ord_, axis=axis, keepdims=drawn(st.booleans()))
    return draw()


@given(case=_norm_shapes_and_params(vector=True), seed=st.integers(0, 2**32 - 1))
def test_vector_norms_match_numpy_and_gradcheck(case, seed):
    shape, kw = case
    # Gaussian entries: no ties for inf/-inf and no zeros for p < 1 (almost surely).
    x = tc.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)
    np.testing.assert_allclose(tc.linalg.norm(x, **kw).data, np.linalg.norm(x.data, **kw), rtol=1e-12)
    tc.gradcheck(lambda t: tc.linalg.norm(t, **kw), [x])


@given(case=_norm_shapes_and_params(vector=False), seed=st.integers(0, 2**32 - 1))
def test_matrix_norms_match_numpy_and_gradcheck(case, seed):
    shape, kw = case
    # Gaussian entries: distinct singular values and row/column sums (almost surely).
    x = tc.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)
    np.testing.assert_allclose(tc.linalg.norm(x, **kw).data, np.linalg.norm(x.data, **kw), rtol=1e-10)
    tc.gradcheck(lambda t: tc.linalg.norm(t, **kw), [x])


@pytest.mark.parametrize("ord_", [None, 1, 3, 0.5, np.inf, -np.inf])
def test_vector_norm_with_check_op_and_its_domain(ord_):
    # domains["linalg.norm"]: no zeros (p < 1) and no ties (inf, -inf).
    check_op(lambda x: tc.linalg.norm(x, ord_, axis=-1), lambda x: np.linalg.norm(x, ord_, axis=-1),
             domain="linalg.norm", shapes=shapes(min_dims=1, max_dims=3, max_side=4),
             max_examples=10)


@pytest.mark.parametrize("ord_", [None, 1, 2, "fro", "nuc", np.inf, -2])
def test_norm_with_axis_none_matches_numpy_for_1d_and_2d(ord_):
    x = np.random.default_rng(3).standard_normal((3, 4))
    for data in (x, x[0]):
        if isinstance(ord_, str) and data.ndim == 1:
            continue  # 'fro' and 'nuc' are matrix norms (NumPy refuses them too)
        np.testing.assert_allclose(tc.linalg.norm(tc.tensor(data), ord_).data,
                                   np.linalg.norm(data, ord_), rtol=1e-12)


def test_norm_default_is_the_2_norm_of_all_elements_with_keepdims():
    x = np.random.default_rng(4).standard_normal((2, 3, 2))
    out = tc.linalg.norm(tc.tensor(x), keepdims=True)
    assert out.shape == (1, 1, 1)
    np.testing.assert_allclose(out.data, np.linalg.norm(x, keepdims=True))


def test_norm_takes_pytorchs_dim_and_keepdim():
    x = np.random.default_rng(5).standard_normal((2, 3))
    out = tc.linalg.norm(tc.tensor(x), dim=1, keepdim=True)
    np.testing.assert_allclose(out.data, np.linalg.norm(x, axis=1, keepdims=True))
    with pytest.raises(TypeError, match="norm: got both axis"):
        tc.linalg.norm(tc.tensor(x), axis=0, dim=1)


def test_norm_gradient_at_zero_is_zero_as_in_pytorch():
    # PyTorch: the 2-norm's (and p-norm's) gradient at the zero vector is 0, not NaN.
    for ord_ in (None, 1, 3):
        x = tc.zeros(3, dtype=np.float64, requires_grad=True)
        tc.linalg.norm(x, ord_).backward()
        np.testing.assert_array_equal(x.grad.data, np.zeros(3))


def test_p_norm_below_1_has_gradient_0_at_a_zero_element_as_in_pytorch():
    x = tc.tensor([0.0, 4.0], dtype=np.float64, requires_grad=True)
    tc.linalg.norm(x, 0.5).backward()
    assert x.grad.data[0] == 0 and np.isfinite(x.grad.data).all()


def test_norm_ord_0_counts_nonzeros_without_gradient():
    x = tc.tensor([0.0, 2.0, -1.0], requires_grad=True)
    out = tc.linalg.norm(x, 0)
    assert out.item() == 2.0 and not out.requires_grad


def test_norm_of_integers_is_float64_as_in_numpy():
    assert tc.linalg.norm(tc.tensor([3, 4])).dtype == np.float64
    assert tc.linalg.norm(tc.tensor([3.0, 4.0])).dtype == np.float32


def test_frobenius_and_p_norm_second_derivatives():
    x = tc.tensor(np.random.default_rng(6).standard_normal((2, 3)), requires_grad=True)
    tc.gradgradcheck(lambda t: tc.linalg.norm(t), [x])
    tc.gradgradcheck(lambda t: tc.linalg.norm(t, 3, axis=1), [x])


def test_spectral_norm_second_derivative_is_refused_not_wrong():
    x = tc.tensor(np.random.default_rng(7).standard_normal((3, 3)), requires_grad=True)
    (g,) = tc.grad(tc.linalg.norm(x, 2), [x])
    np.testing.assert_allclose(g.data, _numerical_grad(lambda a: np.linalg.norm(a, 2), x.data), atol=1e-6)
    with pytest.raises(NotImplementedError, match="second derivative"):
        tc.grad(tc.linalg.norm(x, "nuc"), [x], create_graph=True)


@pytest.mark.parametrize("kw, message", [
    (dict(ord="nuc", axis=0), "matrix norm"),
    (dict(ord="bad", axis=(0, 1)), "not a matrix norm"),
    (dict(ord=2, axis=None), "1-D or 2-D"),
    (dict(axis=(0, 1, 2)), "one axis"),
])
def test_norm_errors(kw, message):
    with pytest.raises(ValueError, match=message):
        tc.linalg.norm(tc.zeros(2, 2, 2), **kw)


def test_vector_and_matrix_norm_follow_pytorch():
    x = np.random.default_rng(8).standard_normal((2, 3, 3))
    np.testing.assert_allclose(tc.linalg.vector_norm(tc.tensor(x), 3).data,
                               np.sum(np.abs(x) ** 3) ** (1 / 3))
    np.testing.assert_allclose(tc.linalg.matrix_norm(tc.tensor(x), "nuc").data,
                               np.linalg.norm(x, "nuc", axis=(-2, -1)))


# ---- inv, det, slogdet, solve -------------------------------------------------------------
def _numerical_grad(f, a: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        up, down = a.copy(), a.copy()
        up[idx] += eps
        down[idx] -= eps
        g[idx] = (f(up) - f(down)) / (2 * eps)
    return g


def _negative_det(t):
    """The matrices with their first row negated: determinants of the other sign."""
    a = t.data.copy()
    a[..., 0, :] *= -1
    return a


def well_conditioned(negative_det: bool = False):
    """Arrays of random + n*I matrices (testing.well_conditioned_matrices), batched."""
    return well_conditioned_matrices().map(_negative_det if negative_det else (lambda t: t.data))


@given(a=well_conditioned())
def test_inv_matches_numpy_and_gradcheck(a):
    x = tc.tensor(a, requires_grad=True)
    np.testing.assert_allclose(tc.linalg.inv(x).data, np.linalg.inv(a), rtol=1e-10, atol=1e-12)
    tc.gradcheck(tc.linalg.inv, [x])


@given(a=st.one_of(well_conditioned(), well_conditioned(negative_det=True)))
def test_det_matches_numpy_and_gradcheck(a):
    x = tc.tensor(a, requires_grad=True)
    np.testing.assert_allclose(tc.linalg.det(x).data, np.linalg.det(a), rtol=1e-10)
    tc.gradcheck(tc.linalg.det, [x])


@given(a=st.one_of(well_conditioned(), well_conditioned(negative_det=True)))
def test_slogdet_matches_numpy_and_gradcheck(a):
    x = tc.tensor(a, requires_grad=True)
    sign, logabsdet = tc.linalg.slogdet(x)
    want_sign, want_log = np.linalg.slogdet(a)
    np.testing.assert_array_equal(sign.data, want_sign)
    np.testing.assert_allclose(logabsdet.data, want_log, rtol=1e-10, atol=1e-12)
    assert not sign.requires_grad
    tc.gradcheck(lambda t: tc.linalg.slogdet(t).logabsdet, [x])


@st.composite
def solve_args(draw):
    n = draw(st.integers(1, 3))
    a = draw(well_conditioned_matrices(n=n)).data
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # b: a vector (n,), or (..., n, k) whose batch dimensions broadcast with A's.
    b_shape = draw(st.sampled_from([(n,), (n, 1), (n, 2), (2, n, 2), (3, 1, n, 1)]))
    try:
        np.broadcast_shapes(a.shape[:-2], b_shape[:-2])
    except ValueError:
        b_shape = b_shape[-2:]
    return a, rng.standard_normal(b_shape)


@given(args=solve_args())
def test_solve_matches_numpy_and_gradcheck_in_a_and_b(args):
    a, b = args
    ta, tb = tc.tensor(a, requires_grad=True), tc.tensor(b, requires_grad=True)
    np.testing.assert_allclose(tc.linalg.solve(ta, tb).data, np.linalg.solve(a, b),
                               rtol=1e-10, atol=1e-12)
    tc.gradcheck(tc.linalg.solve, [ta, tb])


@pytest.mark.parametrize("op", ["inv", "det", "logabsdet", "solve"])
def test_second_derivatives_of_inv_det_slogdet_solve(op):
    rng = np.random.default_rng(9)
    a = tc.tensor(rng.standard_normal((2, 3, 3)) + 3 * np.eye(3), requires_grad=True)
    b = tc.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    fns = {"inv": lambda x: tc.linalg.inv(x), "det": lambda x: tc.linalg.det(x),
           "logabsdet": lambda x: tc.linalg.slogdet(x).logabsdet,
           "solve": lambda x, y: tc.linalg.solve(x, y)}
    tc.gradgradcheck(fns[op], [a, b] if op == "solve" else [a])


def test_solve_vector_second_derivative():
    rng = np.random.default_rng(10)
    a = tc.tensor(rng.standard_normal((3, 3)) + 3 * np.eye(3), requires_grad=True)
    b = tc.tensor(rng.standard_normal(3), requires_grad=True)
    tc.gradgradcheck(tc.linalg.solve, [a, b])


def test_inv_gradient_formula():
    # d inv = -inv^T g inv^T, written out.
    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    g = np.array([[1.0, -2.0], [0.5, 1.5]])
    x = tc.tensor(a, requires_grad=True)
    tc.linalg.inv(x).backward(tc.tensor(g))
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(x.grad.data, -ai.T @ g @ ai.T)


def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix():
    # PyTorch's convention: det is differentiable everywhere; at a singular A its gradient is
    # the cofactor matrix (adj(A)^T), which inv(A) cannot give.
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    x = tc.tensor(a, requires_grad=True)
    tc.linalg.det(x).backward()
    np.testing.assert_allclose(x.grad.data, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    rank1 = tc.tensor(np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 2.0]), requires_grad=True)
    tc.linalg.det(rank1).backward()
    np.testing.assert_allclose(rank1.grad.data, np.zeros((3, 3)), atol=1e-12)


def test_slogdet_of_a_singular_matrix_is_sign_0_and_minus_inf():
    sign, logabsdet = tc.linalg.slogdet(tc.tensor([[1.0, 2.0], [2.0, 4.0]]))
    assert sign.item() == 0 and logabsdet.item() == -np.inf


def test_float32_stays_float32():
    a = tc.tensor(np.eye(2, dtype=np.float32) * 2)
    assert tc.linalg.inv(a).dtype == np.float32
    assert tc.linalg.det(a).dtype == np.float32
    assert tc.linalg.solve(a, tc.ones(2)).dtype == np.float32
    assert tc.linalg.norm(a).dtype == np.float32


@pytest.mark.parametrize("op", ["inv", "solve"])
def test_singular_matrix_error_names_op_shape_and_batch_index(op):
    a = np.stack([np.eye(2), [[1.0, 2.0], [2.0, 4.0]]])
    call = {"inv": lambda: tc.linalg.inv(tc.tensor(a)),
            "solve": lambda: tc.linalg.solve(tc.tensor(a), tc.ones(2, dtype=np.float64))}[op]
    with pytest.raises(tc.linalg.LinAlgError, match=rf"{op}: the 2x2 matrix \(the one at batch "
                       r"index \(1,\)\) of the input of shape \(2, 2, 2\) is singular"):
        call()


@pytest.mark.parametrize("op", ["inv", "det", "slogdet"])
def test_non_square_input_is_refused_with_its_shape(op):
    with pytest.raises(tc.linalg.LinAlgError, match=rf"{op}: needs square matrices .* \(2, 3\)"):
        getattr(tc.linalg, op)(tc.zeros(2, 3))


def test_solve_shape_mismatch_says_what_b_should_be():
    with pytest.raises(ValueError,
                       match=r"solve: A of shape \(3, 3\) needs b of shape \(3,\) or \(\.\.\., 3, k\)"):
        tc.linalg.solve(tc.tensor(np.eye(3)), tc.zeros(2))


def test_singular_error_is_a_value_error_too():
    # numpy.linalg.LinAlgError subclasses ValueError, so `except ValueError` catches it.
    with pytest.raises(ValueError):
        tc.linalg.inv(tc.zeros(2, 2))


def test_matrix_methods_follow_pytorch():
    a = tc.tensor([[2.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(a.det().item(), 5.0, rtol=1e-6)
    np.testing.assert_allclose(a.inverse().data, np.linalg.inv(a.data), rtol=1e-6)
    np.testing.assert_allclose(a.slogdet().logabsdet.item(), np.log(5.0), rtol=1e-6)


# ---- a Gaussian's log-likelihood, and a Newton step -----------------------------------------
def gaussian_log_likelihood(x, mu, cov):
    """sum over rows of x of log N(x | mu, cov) = -0.5 (n log 2 pi + log|cov| + d^T cov^-1 d)."""
    d = x - mu
    m, n = x.shape
    quad = (d * tc.linalg.solve(cov, d.T).T).sum()
    return -0.5 * (m * n * np.log(2 * np.pi) + m * tc.linalg.slogdet(cov).logabsdet + quad)


def test_gaussian_log_likelihood_and_its_gradients():
    rng = np.random.default_rng(11)
    n = 3
    x = rng.standard_normal((5, n))
    mu = rng.standard_normal(n)
    l_factor = rng.standard_normal((n, n))
    cov = l_factor @ l_factor.T + n * np.eye(n)

    def reference(mu_, cov_):
        d = x - mu_
        return -0.5 * (x.size * np.log(2 * np.pi) + len(x) * np.linalg.slogdet(cov_)[1]
                       + np.einsum("ij,jk,ik->", d, np.linalg.inv(cov_), d))

    tmu, tcov = tc.tensor(mu, requires_grad=True), tc.tensor(cov, requires_grad=True)
    ll = gaussian_log_likelihood(tc.tensor(x), tmu, tcov)
    np.testing.assert_allclose(ll.item(), reference(mu, cov), rtol=1e-12)
    ll.backward()
    np.testing.assert_allclose(tmu.grad.data, _numerical_grad(lambda m: reference(m, cov), mu), rtol=1e-6)
    np.testing.assert_allclose(tcov.grad.data, _numerical_grad(lambda c: reference(mu, c), cov),
                               rtol=1e-6, atol=1e-8)
    tc.gradgradcheck(lambda m, c: gaussian_log_likelihood(tc.tensor(x), m, c), [tmu, tcov])


def test_newton_step_on_a_quadratic_lands_on_the_minimum():
    # f(w) = 0.5 w^T A w - b^T w; one Newton step w - solve(H, grad) reaches A^-1 b.
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    w = tc.tensor([5.0, -3.0], dtype=np.float64, requires_grad=True)
    f = 0.5 * (w @ tc.tensor(a) @ w) - w @ tc.tensor(b)
    (g,) = tc.grad(f, [w], create_graph=True)
    hessian = tc.stack([tc.grad(g[i], [w], retain_graph=True)[0] for i in range(2)])
    step = w - tc.linalg.solve(hessian, g)
    np.testing.assert_allclose(step.data, np.linalg.solve(a, b), rtol=1e-12)
