"""Review of session 5's changes: the fused cross-entropy's column-wise row reductions, the
copies a node keeps of arrays it was given, and Tensor()'s one-call conversion."""
import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course.nn import functional as F
from tinygrad_course.nn.embedding import embedding
from tinygrad_course.nn.loss_functions import _row_max, _row_sum


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _numpy_cross_entropy(z: np.ndarray, labels: np.ndarray):
    """The fused loss's forward (per row) and its gradient for reduction='sum', with NumPy's own
    reductions: the bits the column-by-column helpers must give."""
    shifted = z - z.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    total = p.sum(axis=1, keepdims=True)
    p /= total
    loss = np.log(total[:, 0]) - shifted[np.arange(len(z)), labels]
    p[np.arange(len(z)), labels] -= 1
    return loss, p


def _edge_logits(m: int, c: int, dtype) -> np.ndarray:
    z = (np.random.default_rng(m * c).standard_normal((m, c)) * 4).astype(dtype)
    specials = [np.nan, np.inf, -np.inf, -0.0, 0.0]
    for i in range(min(m, 8)):  # a row holding each special value, and a row of -0.0
        z[i, i % c] = specials[i % len(specials)]
    if m > 8:
        z[8] = -0.0
    return z


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # (inf - inf in the NaN and inf rows)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("m, c", [(0, 3), (5, 1), (9, 2), (9, 3), (200, 5), (9, 7), (9, 12), (600, 12)])
@pytest.mark.parametrize("layout", ["c", "transposed", "sliced"])
def test_fused_cross_entropy_gives_numpys_bits_on_nan_inf_signed_zero_and_strided_logits(
        dtype, m, c, layout):
    # Strided logits as the op gets them: views of a tensor (Tensor() itself makes C order).
    base = _edge_logits(m, c, dtype)
    if layout == "transposed":
        x = tc.Tensor(np.ascontiguousarray(base.T), requires_grad=True)
        logits, back = x.T, lambda g: g.T
    elif layout == "sliced":
        x = tc.Tensor(np.repeat(base, 2, axis=1), requires_grad=True)
        logits, back = x[:, ::2], lambda g: g[:, ::2]
    else:
        x = tc.Tensor(base, requires_grad=True)
        logits, back = x, lambda g: g
    labels = np.arange(m) % c
    want_loss, want_grad = _numpy_cross_entropy(logits.data, labels)
    loss = F.cross_entropy(logits, labels, reduction="none")
    loss.backward(np.ones(m, dtype))
    assert _same_bits(loss.data, want_loss)
    assert _same_bits(back(x.grad.data), want_grad)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("c", [2, 3, 5, 7, 9, 16])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64])
def test_row_max_gives_numpys_bits_on_strided_int_nan_and_signed_zero_rows(c, dtype):
    m = 32 * c  # narrow enough to go by columns
    z = _edge_logits(m, c, np.float64)
    z = z.astype(dtype) if np.dtype(dtype).kind == "f" else np.nan_to_num(z).astype(dtype)
    for x in (z, np.ascontiguousarray(z.T).T, np.repeat(z, 2, axis=1)[:, 1::2]):
        assert _same_bits(_row_max(x, np.empty((m, 1), dtype)), x.max(axis=1, keepdims=True))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("c", [2, 3, 4, 5, 7, 8, 16])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_sum_gives_numpys_bits_on_softmax_numerators(c, dtype):
    # p >= 0 as exp gives it: +0.0, subnormals, inf and NaN included, rows in any layout
    m = 32 * c
    p = np.abs(np.random.default_rng(c).standard_normal((m, c)) * 1e3).astype(dtype)
    p[0, 0], p[1, :], p[2, 1], p[3, 0] = np.inf, 0.0, np.nan, np.finfo(dtype).smallest_subnormal
    p[4] = [1e30 if j % 2 else 1.0 for j in range(c)]  # where the order of additions shows
    for x in (p, np.ascontiguousarray(p.T).T, np.repeat(p, 2, axis=1)[:, ::2]):
        total = x.sum(axis=1, keepdims=True)
        assert _same_bits(_row_sum(x, np.empty((m, 1), dtype)), total)


@pytest.mark.parametrize("c", [2, 3, 9])
@pytest.mark.parametrize("layout", ["transposed", "sliced"])
def test_fused_cross_entropy_gradcheck_on_strided_logits(c, layout):
    rng = np.random.default_rng(c)
    labels = rng.integers(0, c, 5)
    if layout == "transposed":
        z = tc.Tensor(rng.standard_normal((c, 5)), requires_grad=True, dtype=np.float64)
        assert tc.gradcheck(lambda a: F.cross_entropy(a.T, labels), [z])
    else:
        z = tc.Tensor(rng.standard_normal((5, 2 * c)), requires_grad=True, dtype=np.float64)
        assert tc.gradcheck(lambda a: F.cross_entropy(a[:, ::2], labels), [z])


def test_cross_entropy_of_zero_rows_or_one_class_is_zero_with_zero_gradient():
    for shape in ((0, 3), (4, 1)):
        z = tc.Tensor(np.ones(shape), requires_grad=True, dtype=np.float64)
        loss = F.cross_entropy(z, np.zeros(shape[0], np.int64), reduction="sum")
        loss.backward()
        assert loss.item() == 0.0 and not np.any(z.grad.data)


# ---- a node keeps what it was given, not the caller's array -------------------------------

def test_embedding_gradient_ignores_ids_changed_in_place_after_the_op():
    ids = np.array([0, 1, 3])
    w = tc.Tensor(np.arange(8.0).reshape(4, 2), requires_grad=True, dtype=np.float64)
    out = (embedding(ids, w) ** 2).sum()
    ids[:] = 2
    out.backward()
    expected = np.zeros((4, 2))
    expected[[0, 1, 3]] = 2 * w.data[[0, 1, 3]]
    np.testing.assert_array_equal(w.grad.data, expected)


def test_cross_entropy_second_order_gradient_ignores_labels_changed_after_the_op():
    z0 = np.random.default_rng(0).standard_normal((4, 3))

    def gradient(change_labels: bool) -> np.ndarray:
        labels = np.array([0, 1, 2, 1])
        z = tc.Tensor(z0, requires_grad=True, dtype=np.float64)
        loss = F.cross_entropy(z, labels)
        if change_labels:
            labels[:] = 0
        (gz,) = tc.grad(loss, [z], create_graph=True)
        return gz.data

    np.testing.assert_array_equal(gradient(True), gradient(False))


# ---- Tensor() of every input kind -------------------------------------------------------

@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # (np.matrix's own)
@pytest.mark.parametrize("make", [lambda: np.matrix([[1.0, 2.0]]),
                                  lambda: np.ma.masked_array([1.0, 2.0], mask=[0, 1])])
def test_tensor_of_an_ndarray_subclass_holds_a_plain_ndarray(make):
    # (a np.matrix kept as .data would make * a matrix product)
    source = make()
    t = tc.Tensor(source)
    assert type(t.data) is np.ndarray and t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.asarray(source))


@pytest.mark.parametrize("source, dtype", [
    (1.5, np.float32), ([1.0, 2.0], np.float32), (np.float64(2.0), np.float64), (3, np.int64),
    (True, np.bool_), (np.float16([1, 2]), np.float16), (np.array(2.0), np.float64),
    ([np.float64(1.0), 2.0], np.float32), (np.int8(3), np.int8)])
def test_tensor_keeps_numpy_dtypes_and_makes_python_floats_the_default_float(source, dtype):
    t = tc.Tensor(source)
    assert t.dtype == dtype and t.shape == np.shape(source) and t.data.flags.c_contiguous


@pytest.mark.parametrize("source", [["a"], np.array([1, None], dtype=object), np.datetime64(1, "D")])
def test_tensor_refuses_strings_objects_and_dates(source):
    with pytest.raises(TypeError, match="Tensor: cannot make a tensor"):
        tc.Tensor(source)
