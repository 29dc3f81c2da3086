"""Creation ops: values vs NumPy, dtypes (floats default to float32), and random draws that come
from the given generator (the same seed gives the same tensor)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc


@given(start=st.floats(-5, 5), stop=st.floats(-5, 5), num=st.integers(0, 8), endpoint=st.booleans())
def test_linspace_matches_numpy_in_the_default_float_dtype(start, stop, num, endpoint):
    got = tc.linspace(start, stop, num, endpoint)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.data, np.linspace(start, stop, num, endpoint=endpoint),
                               rtol=1e-6, atol=1e-6)


def test_linspace_takes_pytorchs_steps_and_a_dtype():
    np.testing.assert_array_equal(tc.linspace(0, 1, steps=3, dtype=np.float64).data, [0, 0.5, 1])
    with pytest.raises(ValueError, match="linspace: the number of points"):
        tc.linspace(0, 1, -1)


def test_logspace_matches_numpy():
    got = tc.logspace(0, 3, 4, base=2.0)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.data, np.logspace(0, 3, 4, base=2.0))


@pytest.mark.parametrize("fill, dtype", [(1.5, np.float32), (2, np.int64), (True, np.bool_)])
def test_full_takes_its_dtype_from_the_value_as_torch_full(fill, dtype):
    got = tc.full((2, 3), fill)
    assert got.shape == (2, 3) and got.dtype == dtype and (got.data == fill).all()


def test_full_like_and_empty_like_keep_the_dtype_unless_told():
    t = tc.tensor(np.zeros((2, 2), np.float64))
    assert tc.full_like(t, 3).dtype == np.float64 and (tc.full_like(t, 3).data == 3).all()
    assert tc.full_like(t, 3, dtype=np.int32).dtype == np.int32
    assert tc.empty_like(t).shape == (2, 2) and tc.empty_like(t).dtype == np.float64


def test_empty_has_the_shape_and_the_default_float_dtype():
    e = tc.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype == np.float32
    assert tc.empty((4,), dtype=np.int64).dtype == np.int64


@given(n=st.integers(0, 4), m=st.none() | st.integers(0, 4), k=st.integers(-3, 3))
def test_eye_matches_numpy(n, m, k):
    got = tc.eye(n, m, k=k)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.data, np.eye(n, m, k))


def test_eye_refuses_a_float_size():
    with pytest.raises(ValueError, match="eye: n must be an int >= 0, got 2.5"):
        tc.eye(2.5)


@given(row=st.integers(0, 5), col=st.none() | st.integers(0, 5), offset=st.integers(-3, 3))
def test_triangle_indices_are_torchs_2_by_n_of_numpys_indices(row, col, offset):
    m = row if col is None else col
    for op, np_op in ((tc.tril_indices, np.tril_indices), (tc.triu_indices, np.triu_indices)):
        got = op(row, col, offset)
        assert got.dtype == np.int64 and got.shape[0] == 2
        want = np_op(row, offset, m)
        np.testing.assert_array_equal(got.data, np.stack(want).reshape(2, -1))


def test_tril_indices_index_the_lower_triangle():
    x = tc.tensor(np.arange(9.0).reshape(3, 3))
    np.testing.assert_array_equal(x[tuple(tc.tril_indices(3))].data, [0, 3, 4, 6, 7, 8])


RANDOM = {
    "randint": lambda g: tc.randint(0, 10, (3, 4), generator=g),
    "normal": lambda g: tc.normal(1.0, 2.0, (3, 4), generator=g),
    "uniform": lambda g: tc.uniform(-1.0, 1.0, (3, 4), generator=g),
    "rand_like": lambda g: tc.rand_like(tc.zeros(3, 4), generator=g),
    "randn_like": lambda g: tc.randn_like(tc.zeros(3, 4), generator=g),
}


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_random_ops_draw_from_the_given_generator(name):
    a, b = RANDOM[name](tc.Generator(7)), RANDOM[name](tc.Generator(7))
    assert a.shape == (3, 4)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, RANDOM[name](tc.Generator(8)).data)


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_random_ops_use_the_default_generator_without_one(name):
    tc.manual_seed(3)
    a = RANDOM[name](None)
    tc.manual_seed(3)
    np.testing.assert_array_equal(a.data, RANDOM[name](None).data)


def test_random_floats_get_the_default_dtype_and_ints_int64():
    assert tc.normal(0.0, 1.0, (2,)).dtype == np.float32
    assert tc.uniform(size=2).dtype == np.float32
    assert tc.randint(5, size=(2,)).dtype == np.int64
    assert tc.normal(size=2, dtype=np.float64).dtype == np.float64
    assert tc.randn_like(tc.tensor([1, 2])).dtype == np.float32  # an int tensor: floats
    assert tc.rand_like(tc.zeros(2, dtype=np.float64)).dtype == np.float64


def test_randint_accepts_numpys_and_pytorchs_forms():
    g = tc.Generator(0)
    a = tc.randint(3, size=(100,), generator=g)  # NumPy: [0, 3)
    b = tc.randint(3, (100,), generator=g)  # PyTorch: randint(high, size)
    c = tc.randint(5, 8, (100,), generator=g)  # both: [5, 8)
    assert a.data.min() >= 0 and a.data.max() <= 2 and b.data.max() <= 2
    assert c.data.min() >= 5 and c.data.max() <= 7
    with pytest.raises(ValueError, match=r"randint: high \(2\) must be greater than low \(5\)"):
        tc.randint(5, 2)


def test_normal_and_uniform_broadcast_tensor_parameters():
    means = tc.tensor([0.0, 100.0, -100.0])
    x = tc.normal(means, 0.01, generator=tc.Generator(0))
    assert x.shape == (3,)
    np.testing.assert_allclose(x.data, means.data, atol=0.1)
    u = tc.uniform(tc.tensor([0.0, 10.0]), tc.tensor([1.0, 11.0]), generator=tc.Generator(0))
    assert (u.data >= [0, 10]).all() and (u.data < [1, 11]).all()
    with pytest.raises(ValueError, match="normal: std must be >= 0"):
        tc.normal(0.0, -1.0)


def test_random_ops_can_require_grad():
    assert tc.normal(size=(2,), requires_grad=True).requires_grad
    assert tc.rand_like(tc.zeros(2), requires_grad=True).requires_grad
