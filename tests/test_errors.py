"""Bad input raises a clear error naming the op, the shapes/dtypes/values at fault, and the fix."""
import re

import numpy as np
import pytest

import tinygrad_course as tc


def ones(*shape, requires_grad=False):
    return tc.ones(*shape, dtype=np.float64, requires_grad=requires_grad)


# ---- shapes -----------------------------------------------------------------------------
def test_matmul_inner_dimension_message_is_exact():
    with pytest.raises(ValueError, match=re.escape("matmul: (3, 4) @ (5, 2): inner dimensions 4 and 5 differ")):
        ones(3, 4) @ ones(5, 2)


@pytest.mark.parametrize("a, b, match", [
    ((3,), (4,), r"matmul: \(3,\) @ \(4,\): inner dimensions 3 and 4 differ"),
    ((2, 3), (2,), r"matmul: \(2, 3\) @ \(2,\): inner dimensions 3 and 2 differ"),
    ((2, 3, 4), (3, 4, 2), r"matmul: \(2, 3, 4\) @ \(3, 4, 2\): batch dimensions do not broadcast"),
    ((), (3,), r"matmul: \(\) @ \(3,\): both operands need at least one dimension"),
])
def test_matmul_shape_errors_name_both_shapes(a, b, match):
    with pytest.raises(ValueError, match=match):
        tc.matmul(ones(*a), ones(*b))


@pytest.mark.parametrize("op, name", [
    (lambda a, b: a + b, "add"), (lambda a, b: a - b, "sub"), (lambda a, b: a * b, "mul"),
    (lambda a, b: a / b, "div"), (lambda a, b: a ** b, "pow"), (tc.maximum, "maximum"),
    (tc.minimum, "minimum"),
])
def test_elementwise_broadcast_errors_name_the_op_and_both_shapes(op, name):
    with pytest.raises(ValueError, match=rf"{name}: inputs of shapes \(2, 3\), \(4,\)"):
        op(ones(2, 3, requires_grad=True), ones(4))


def test_where_broadcast_error_names_all_three_shapes():
    with pytest.raises(ValueError, match=r"where: inputs of shapes \(3,\), \(3,\), \(4,\)"):
        tc.where(np.ones(3, bool), ones(3), ones(4))


@pytest.mark.parametrize("call, match", [
    (lambda: ones(2, 3).reshape(4), r"reshape: .*\(2, 3\).*\(4,\)"),
    (lambda: tc.broadcast_to(ones(3), (2, 4)), r"broadcast_to: .*\(3,\) to \(2, 4\)"),
    (lambda: tc.concatenate([ones(2, 3), ones(3, 2)]), r"concatenate: .*\(2, 3\), \(3, 2\)"),
    (lambda: tc.stack([ones(2), ones(3)]), r"stack: .*\(2,\).*\(3,\)"),
    (lambda: tc.split(ones(5), 2), "split: axis 0 of length 5 cannot be split into 2"),
    (lambda: tc.squeeze(ones(2, 3), 0), r"squeeze: axis 0 of shape \(2, 3\) has size 2"),
    (lambda: tc.transpose(ones(2, 3), (0, 0)), r"transpose: axes \(0, 0\) are not a permutation"),
    (lambda: tc.pad(ones(3), -2), r"pad: widths \[\[-2, -2\]\] crop more than the shape \(3,\)"),
    (lambda: tc.linear(ones(2, 3), ones(4, 5)), r"linear: input of shape \(2, 3\) has 3 features.*\(4, 5\)"),
    (lambda: tc.dot(ones(2, 2, 2), ones(2)), "dot: only 1-D and 2-D"),
    (lambda: tc.flatten(ones(2, 3, 4), 2, 1), "flatten: start_dim 2 comes after end_dim 1"),
])
def test_shape_op_errors_name_the_op_and_shapes(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- axes -------------------------------------------------------------------------------
@pytest.mark.parametrize("op", [tc.sum, tc.mean, tc.max, tc.min, tc.var, tc.std, tc.logsumexp])
def test_out_of_range_axis_names_the_op_and_axis(op):
    with pytest.raises(ValueError, match=rf"{op.__name__}: axis 2 is out of range for a tensor with 2 dimensions"):
        op(ones(2, 3), axis=2)
    with pytest.raises(ValueError, match=rf"{op.__name__}: axis -3 is out of range"):
        op(ones(2, 3), axis=-3)


def test_axis_of_the_wrong_type_or_repeated_is_an_error():
    with pytest.raises(TypeError, match=r"sum: axis must be an int, a tuple of ints or None, got 1.0"):
        tc.sum(ones(2, 3), axis=1.0)
    with pytest.raises(ValueError, match=r"mean: repeated axis in \(0, -2\)"):
        tc.mean(ones(2, 3), axis=(0, -2))


@pytest.mark.parametrize("op", [tc.softmax, tc.log_softmax])
def test_softmax_axis_errors(op):
    with pytest.raises(ValueError, match=rf"{op.__name__}: axis 2 is out of range"):
        op(ones(2, 3), axis=2)
    with pytest.raises(TypeError, match=rf"{op.__name__}: axis must be a single int"):
        op(ones(2, 3), axis=(0, 1))


@pytest.mark.parametrize("call, match", [
    (lambda: tc.unsqueeze(ones(2), 3), "unsqueeze: axis 3 is out of range"),
    (lambda: tc.swapaxes(ones(2, 3), 0, 2), "swapaxes: axis 2 is out of range"),
])
def test_shape_op_axis_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("op", [tc.var, tc.std])
def test_var_and_std_without_degrees_of_freedom_are_errors(op):
    with pytest.raises(ValueError, match=f"{op.__name__}: 2 elements with ddof=2 leave no degrees of freedom"):
        op(ones(2), ddof=2)


# ---- dtypes -----------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: tc.tensor([1, 2], requires_grad=True),
    lambda: tc.tensor([True], requires_grad=True),
    lambda: tc.zeros(2, dtype=np.int64, requires_grad=True),
    lambda: tc.tensor(np.arange(3)).requires_grad_(),
])
def test_int_and_bool_tensors_cannot_require_grad(make):
    with pytest.raises(TypeError, match="only floating tensors can require grad.*int64|bool"):
        make()


def test_non_numeric_data_is_a_type_error():
    with pytest.raises(TypeError, match="cannot make a tensor from list"):
        tc.tensor(["a", "b"])


def test_set_default_dtype_accepts_only_floats():
    with pytest.raises(TypeError, match="set_default_dtype: expected a floating dtype, got int32"):
        tc.set_default_dtype(np.int32)


def test_float_index_is_an_error():
    with pytest.raises(IndexError, match="getitem: index 1.5 is a float"):
        ones(3)[1.5]


def test_manual_seed_needs_an_int():
    with pytest.raises(TypeError, match="manual_seed: seed must be an int, got float"):
        tc.manual_seed(1.5)


def test_negative_factory_shape_is_an_error():
    with pytest.raises(ValueError, match="non-negative ints"):
        tc.zeros(-1)


def test_gradcheck_rejects_a_function_that_leaves_float64():
    with pytest.raises(TypeError, match="gradcheck: fn returned dtype float32"):
        tc.gradcheck(lambda x: x.astype(np.float32), [ones(2, requires_grad=True)])


# ---- backward and gradients -------------------------------------------------------------
def test_non_scalar_backward_without_gradient_says_a_gradient_is_needed():
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\), so a gradient must be given"):
        (ones(2, 3, requires_grad=True) * 2).backward()


@pytest.mark.parametrize("gradient", [np.ones(3), np.ones((3, 2)), tc.ones(6)])
def test_gradient_of_the_wrong_shape_names_both_shapes(gradient):
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(.*\) but the output has shape \(2, 3\)"):
        (ones(2, 3, requires_grad=True) * 2).backward(gradient)


def test_grad_outputs_of_the_wrong_shape_or_count():
    x = ones(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"grad: gradient has shape \(3,\) but the output has shape \(2,\)"):
        tc.grad(x * 2, [x], grad_outputs=[np.ones(3)])
    with pytest.raises(ValueError, match="grad: 1 outputs but 2 grad_outputs"):
        tc.grad(x * 2, [x], grad_outputs=[np.ones(2), np.ones(2)])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_upstream_gradient_is_an_error(bad):
    with pytest.raises(ValueError, match="NaN or inf"):
        (ones(2, requires_grad=True) * 2).backward(np.array([1.0, bad]))


def test_backward_of_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ones(2).sum().backward()


@pytest.mark.parametrize("eps", [np.nan, np.inf, -np.inf, 0.0, -1e-6])
def test_gradcheck_rejects_a_non_finite_or_non_positive_eps(eps):
    x = ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="eps must be a positive finite number"):
        tc.gradcheck(tc.exp, [x], eps=eps)
    with pytest.raises(ValueError, match="eps must be a positive finite number"):
        tc.gradgradcheck(tc.exp, [x], eps=eps)


def test_gradcheck_without_an_input_requiring_grad():
    with pytest.raises(ValueError, match="no input has requires_grad=True"):
        tc.gradcheck(tc.exp, [ones(2)])


# ---- values -----------------------------------------------------------------------------
@pytest.mark.parametrize("call, exc, match", [
    (lambda: tc.clip(ones(2), 1.0, 0.0), ValueError, "clip: min 1.0 is greater than max 0.0"),
    (lambda: tc.clip(ones(2)), ValueError, "clip: give at least one of min and max"),
    (lambda: ones(3).item(), ValueError, r"item: only a tensor with one element.*\(3,\)"),
    (lambda: len(tc.tensor(1.0)), TypeError, "len.*0-d"),
    (lambda: bool(ones(2)), ValueError, r"truth value of a tensor of shape \(2,\) is ambiguous"),
    (lambda: tc.softmax(tc.tensor(1.0), axis=1), ValueError, "softmax: axis 1 is out of range"),
])
def test_bad_values_are_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---- errors that say what to do ----------------------------------------------------------
def test_an_object_array_is_refused_naming_dtype_object_and_the_fix():
    with pytest.raises(TypeError, match=r"dtype object.*np.asarray\(x, dtype=np.float32\)"):
        tc.Tensor(np.array([1.0, 2.0], dtype=object))


def test_integer_data_into_a_float32_model_advises_a_float_dtype_that_works():
    model = tc.nn.Sequential(tc.nn.Linear(2, 1))
    X = np.ones((3, 2), np.int64)
    with pytest.raises(TypeError, match=r"model.to\(np.float64\)") as info:
        model(tc.tensor(X))
    assert "np.int64)" not in str(info.value)
    assert model.to(np.float64)(tc.tensor(X)).dtype == np.float64  # the advice works


def test_model_to_cpu_is_a_no_op_as_in_pytorch():
    model = tc.nn.Sequential(tc.nn.Linear(2, 1))
    weight = model[0].weight.data
    assert model.to("cpu") is model and model.to(device="cpu") is model
    assert model[0].weight.data is weight
    assert model.to("float64")[0].weight.dtype == np.float64  # a dtype string is still a dtype


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps"])
def test_model_to_another_device_says_the_framework_runs_on_the_cpu(device):
    with pytest.raises(ValueError, match=rf"no device '{device}'; tinygrad_course runs on the CPU "
                                         "with NumPy"):
        tc.nn.Sequential(tc.nn.Linear(2, 1)).to(device)
