"""NumPy on Tensors (ops/ufuncs.py): ufuncs and NumPy functions go to the tc op of the same
meaning and return Tensors in the graph; out= and unsupported arguments are refused by name; a
NumPy function with no op runs on the arrays (NEP 18 fallback), a ufunc with no op says what to
do."""
import numpy as np
import pytest

import tinygrad_course as tc


def _t(*values):
    return tc.tensor(np.array(values, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize("call, want", [
    (lambda t: np.mean(t), lambda a: np.mean(a)),
    (lambda t: np.sum(t, axis=0), lambda a: np.sum(a, axis=0)),
    (lambda t: np.sum(t, 1, None, None, True), lambda a: np.sum(a, 1, keepdims=True)),
    (lambda t: np.max(t, axis=1), lambda a: np.max(a, axis=1)),
    (lambda t: np.amin(t), lambda a: np.amin(a)),
    (lambda t: np.std(t, ddof=1), lambda a: np.std(a, ddof=1)),
    (lambda t: np.var(t, axis=0, keepdims=True), lambda a: np.var(a, axis=0, keepdims=True)),
    (lambda t: np.where(t > 2, t, 0.0), lambda a: np.where(a > 2, a, 0.0)),
    (lambda t: np.concatenate([t, t * 2], axis=1), lambda a: np.concatenate([a, a * 2], axis=1)),
    (lambda t: np.stack([t, t]), lambda a: np.stack([a, a])),
    (lambda t: np.clip(t, 1.5, 3.0), lambda a: np.clip(a, 1.5, 3.0)),
    (lambda t: np.clip(t, a_min=2.0, a_max=None), lambda a: np.clip(a, 2.0, None)),
    (lambda t: np.transpose(t), lambda a: np.transpose(a)),
    (lambda t: np.reshape(t, (3, 2)), lambda a: np.reshape(a, (3, 2))),
    (lambda t: np.swapaxes(t, 0, 1), lambda a: np.swapaxes(a, 0, 1)),
    (lambda t: np.round(t / 3, 2), lambda a: np.round(a / 3, 2)),
    (lambda t: np.dot(t, t.T), lambda a: np.dot(a, a.T)),
    (lambda t: np.maximum(t, 2.0), lambda a: np.maximum(a, 2.0)),
    (lambda t: np.add.reduce(t), lambda a: np.add.reduce(a)),
    (lambda t: np.maximum.reduce(t, axis=1, keepdims=True),
     lambda a: np.maximum.reduce(a, axis=1, keepdims=True)),
], ids=["mean", "sum_axis", "sum_positional_keepdims", "max_axis", "amin", "std_ddof",
        "var_keepdims", "where", "concatenate", "stack", "clip", "clip_keywords", "transpose",
        "reshape", "swapaxes", "round", "dot", "maximum", "add_reduce", "maximum_reduce"])
def test_numpy_call_on_a_tensor_gives_the_differentiable_op(call, want):
    x = tc.tensor([[1.0, 2.25, 3.5], [4.0, 5.0, 6.5]], dtype=np.float64, requires_grad=True)
    out = call(x)
    assert isinstance(out, tc.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, want(x.data))
    tc.gradcheck(call, [x])


@pytest.mark.parametrize("call, want", [
    (lambda a, b: np.isnan(a), [False, True, False]),
    (lambda a, b: np.logical_and(a > 0, b > 0), [False, False, True]),
    (lambda a, b: np.isclose(a, b), [False, False, True]),
    (lambda a, b: np.any(a > 1), True),
    (lambda a, b: np.all(b > 0, axis=0), False),
], ids=["isnan", "logical_and", "isclose", "any", "all"])
def test_numpy_logic_on_tensors_gives_bool_tensors(call, want):
    a, b = tc.tensor([-1.0, np.nan, 2.0]), tc.tensor([1.0, 0.0, 2.0])
    out = call(a, b)
    assert isinstance(out, tc.Tensor) and out.dtype == np.bool_
    np.testing.assert_array_equal(out.data, want)


def test_numpy_allclose_on_tensors_is_a_python_bool():
    assert np.allclose(tc.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9])) is True


def test_numpy_function_with_no_op_runs_on_the_arrays():
    x = _t(1.0, 2.0, 4.0)
    assert np.shape(x) == (3,) and np.ndim(x) == 1
    assert isinstance(np.cumsum(x.data), np.ndarray)
    cov = np.cov(x)
    assert isinstance(cov, np.ndarray) and cov == np.cov(x.data)


def test_numpy_where_with_only_a_condition_is_numpys_nonzero():
    idx = np.where(tc.tensor([0.0, 3.0, 0.0, 1.0]) > 0)
    np.testing.assert_array_equal(idx[0], [1, 3])


@pytest.mark.parametrize("call", [
    lambda t: np.exp(t, out=np.empty(2)),
    lambda t: np.add(t, 1.0, out=(np.empty(2),)),
    lambda t: np.sum(t, out=np.empty(())),
    lambda t: np.mean(t, axis=0, out=np.empty(())),
], ids=["ufunc", "ufunc_tuple", "sum", "mean"])
def test_out_argument_is_refused_with_what_to_write_instead(call):
    with pytest.raises(TypeError, match=r"out= cannot be used with a Tensor.*t\.numpy\(\)"):
        call(_t(1.0, 2.0))


def test_unsupported_argument_is_refused_by_name():
    with pytest.raises(TypeError, match="where"):
        np.exp(_t(1.0, 2.0), where=np.array([True, False]))
    with pytest.raises(TypeError, match="tc.sum takes no where"):
        np.sum(_t(1.0, 2.0), where=np.array([True, False]))


def test_ufunc_with_no_op_names_the_fix():
    with pytest.raises(TypeError, match=r"np\.cbrt: .*no differentiable op.*t\.numpy\(\)"):
        np.cbrt(_t(1.0, 8.0))


def test_ufunc_method_with_no_op_names_what_is_supported():
    with pytest.raises(TypeError, match=r"np\.add\.outer .*not supported"):
        np.add.outer(_t(1.0), _t(2.0))


def test_ufunc_dtype_argument_converts_the_inputs_and_keeps_the_graph():
    x = tc.tensor([0.5, 1.0], requires_grad=True)
    out = np.exp(x, dtype=np.float64)
    assert out.dtype == np.float64
    out.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, np.exp(x.data), rtol=1e-6)


def test_ndarray_on_the_left_of_a_new_op_dispatches_to_it():
    out = np.array([7.0, 8.0]) % _t(2.0, 3.0)
    assert isinstance(out, tc.Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.data, [1.0, 2.0])


@pytest.mark.parametrize("name", ["sort", "median"])
def test_numpy_function_whose_op_means_something_else_keeps_numpys_meaning(name):
    # tc.sort and tc.median follow PyTorch ((values, indices), the lower median): np.* does not
    a = np.array([[3.0, 1.0, 2.0, 0.5]])
    out = getattr(np, name)(tc.tensor(a), axis=1)
    np.testing.assert_array_equal(np.asarray(out), getattr(np, name)(a, axis=1))


@pytest.mark.parametrize("name", ["prod", "cumsum", "cumprod"])
def test_numpy_reductions_and_scans_give_the_differentiable_op(name):
    x = tc.tensor([[1.5, -2.0, 0.5], [3.0, 1.0, -1.0]], dtype=np.float64, requires_grad=True)
    out = getattr(np, name)(x, axis=1)
    assert isinstance(out, tc.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, getattr(np, name)(x.data, axis=1))
    tc.gradcheck(lambda t: getattr(np, name)(t, axis=1), [x])
