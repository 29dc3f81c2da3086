"""PyTorch fluency: PyTorch's spellings work where they mean the same, get PyTorch's meaning
where PyTorch's name is used, and are refused with a fix that works where the meaning differs."""
import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim

X = np.random.default_rng(0).standard_normal((3, 4))


def _t(a=X, grad=False):
    return tc.tensor(np.array(a, dtype=np.float64), requires_grad=grad)


# ---- dim= / keepdim= ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "logsumexp"])
def test_reductions_take_dim_and_keepdim_as_axis_and_keepdims(name):
    x = _t()
    np.testing.assert_allclose(getattr(tc, name)(x, dim=1, keepdim=True).data,
                               getattr(tc, name)(x, axis=1, keepdims=True).data)
    np.testing.assert_allclose(getattr(x, name)(dim=(0, 1)).data, getattr(x, name)().data)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std", "argmax", "argmin",
                                  "logsumexp", "softmax", "log_softmax", "squeeze", "unsqueeze"])
def test_giving_both_axis_and_dim_is_a_type_error_naming_both(name):
    with pytest.raises(TypeError, match="both axis=0 and dim=0"):
        getattr(tc, name)(_t(), axis=0, dim=0)


def test_giving_both_keepdims_and_keepdim_is_a_type_error():
    with pytest.raises(TypeError, match="both keepdims and keepdim"):
        tc.sum(_t(), axis=0, keepdims=True, keepdim=True)


def test_max_and_min_with_dim_return_pytorchs_values_and_indices():
    values, indices = _t().max(dim=1)
    np.testing.assert_array_equal(values.data, X.max(1))
    np.testing.assert_array_equal(indices.data, X.argmax(1))
    m = tc.min(_t(), dim=0, keepdim=True)
    assert m.values.shape == (1, 4) and m.indices.shape == (1, 4)
    np.testing.assert_array_equal(_t().max(axis=1).data, X.max(1))  # NumPy's spelling: values


def test_max_with_dim_is_differentiable_in_its_values():
    x = _t(grad=True)
    x.max(dim=1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, (X == X.max(1, keepdims=True)).astype(float))


def test_var_and_std_with_dim_default_to_pytorchs_unbiased_estimate():
    np.testing.assert_allclose(_t().var(dim=0).data, X.var(0, ddof=1))
    np.testing.assert_allclose(_t().std(dim=1).data, X.std(1, ddof=1))
    np.testing.assert_allclose(_t().var(axis=0).data, X.var(0))  # NumPy's spelling: ddof=0
    np.testing.assert_allclose(_t().var(dim=0, unbiased=False).data, X.var(0))
    np.testing.assert_allclose(_t().var(dim=0, correction=0).data, X.var(0))
    with pytest.raises(TypeError, match="ddof and correction"):
        _t().var(ddof=1, correction=1)


def test_softmax_and_log_softmax_take_dim():
    np.testing.assert_allclose(tc.softmax(_t(), dim=0).data.sum(0), 1)
    np.testing.assert_allclose(_t().log_softmax(dim=1).data, tc.log_softmax(_t(), axis=1).data)


def test_squeeze_unsqueeze_take_dim():
    x = tc.zeros(3, 1, 2)
    assert x.squeeze(dim=1).shape == (3, 2) and x.squeeze(1).shape == (3, 2)
    assert x.unsqueeze(dim=0).shape == (1, 3, 1, 2) and tc.unsqueeze(x, -1).shape == (3, 1, 2, 1)
    with pytest.raises(TypeError, match=r"x.unsqueeze\(0\)"):
        x.unsqueeze()


def test_cat_and_stack_take_dim():
    a, b = tc.ones(2, 3), tc.zeros(2, 3)
    assert tc.cat([a, b], dim=1).shape == (2, 6) and tc.cat([a, b]).shape == (4, 3)
    assert tc.stack([a, b], dim=2).shape == (2, 3, 2)
    assert tc.concatenate([a, b], axis=1).shape == (2, 6)


def test_split_with_dim_takes_pytorchs_piece_sizes():
    x = tc.arange(10.0).reshape(2, 5)
    assert [p.shape for p in x.split(2, dim=1)] == [(2, 2), (2, 2), (2, 1)]
    assert [p.shape for p in tc.split(x, [1, 4], dim=1)] == [(2, 1), (2, 4)]
    assert [p.shape for p in tc.split(x, [1, 4], axis=1)] == [(2, 1), (2, 3), (2, 1)]  # NumPy: indices
    with pytest.raises(ValueError, match=r"piece sizes \[1, 2\] add up to 3, but axis 1 has length 5"):
        tc.split(x, [1, 2], dim=1)


# ---- Tensor methods and package names --------------------------------------------------------
def test_size_is_numpys_element_count_and_pytorchs_shape_method():
    x = tc.zeros(2, 3)
    assert x.size == 6 and x.size() == (2, 3) and x.size(0) == 2 and x.size(-1) == 3
    assert list(range(x.size)) == list(range(6)) and x.numel() == 6
    assert tc.zeros(()).size() == () and tc.zeros(()).size == 1
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        x.size(2)


def test_view_permute_swapdims_expand_dim_contiguous():
    x = _t(grad=True)
    assert x.view(4, 3).shape == (4, 3) and x.view(-1).shape == (12,)
    assert x.permute(1, 0).shape == (4, 3) and x.swapdims(0, 1).shape == (4, 3)
    assert x[:1].expand(5, -1).shape == (5, 4) and x.dim() == 2 and x.contiguous() is x
    x.view(12).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 1)


@pytest.mark.parametrize("method, dtype", [("float", np.float32), ("double", np.float64),
                                           ("half", np.float16), ("long", np.int64),
                                           ("int", np.int32), ("bool", np.bool_)])
def test_dtype_conversion_methods(method, dtype):
    assert getattr(_t(), method)().dtype == dtype


def test_float_conversion_is_differentiable():
    x = _t(grad=True)
    x.float().sum().backward()
    assert x.grad.dtype == np.float64 and np.all(x.grad.data == 1)


def test_dtype_aliases_are_the_numpy_types():
    assert tc.float32 is np.float32 and tc.float64 is tc.double is np.float64
    assert tc.float16 is tc.half is np.float16 and tc.int64 is tc.long is np.int64
    assert tc.int32 is np.int32 and tc.float is np.float32 and tc.bool is np.bool_
    assert tc.zeros(2, dtype=tc.float64).dtype == np.float64
    assert tc.tensor([1, 2], dtype=tc.long).dtype == np.int64
    namespace = {}
    exec("from tinygrad_course import *", namespace)
    assert "float" not in namespace and "bool" not in namespace  # builtins are not shadowed


def test_is_tensor_and_from_numpy_shares_memory():
    a = np.zeros(3)
    t = tc.from_numpy(a)
    assert tc.is_tensor(t) and not tc.is_tensor(a)
    a[0] = 5
    assert t.data[0] == 5
    t.data[1] = 7
    assert a[1] == 7
    with pytest.raises(TypeError, match="use tc.tensor"):
        tc.from_numpy([1, 2])


def test_inference_mode_records_no_graph():
    x = _t(grad=True)
    with tc.inference_mode():
        assert not (x * 2).requires_grad


def test_format_spec_on_a_zero_d_tensor_formats_the_number():
    assert f"{tc.tensor(0.123456):.4f}" == "0.1235"
    assert f"{_t().sum():.2e}" == f"{X.sum():.2e}"


def test_tensor_to_dtype_cpu_and_other_devices():
    x = _t()
    assert x.to("cpu") is x and x.cpu() is x and x.to(device="cpu") is x
    assert x.to(tc.float32).dtype == np.float32 and x.to("cpu", np.float32).dtype == np.float32
    assert x.to(tc.zeros(1, dtype=np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="runs on the CPU with NumPy"):
        x.to("cuda")
    with pytest.raises(ValueError, match="runs on the CPU with NumPy"):
        x.cuda()


def test_bool_of_a_tensor_suggests_any_and_all_which_work():
    t = tc.tensor([0.0, 1.0])
    with pytest.raises(ValueError, match=r"tc.any\(t\) or tc.all\(t\)"):
        bool(t)
    assert bool(tc.any(t)) and not bool(tc.all(t))


# ---- optimizers: PyTorch's spellings ----------------------------------------------------------
def _param():
    p = nn.Parameter(np.array([1.0, -2.0]))
    p.grad = tc.tensor([0.5, 0.25], dtype=np.float64)
    return p


def test_adam_accepts_pytorchs_betas():
    opt = optim.Adam([_param()], lr=0.1, betas=(0.8, 0.95))
    assert opt.param_groups[0]["beta1"] == 0.8 and opt.param_groups[0]["beta2"] == 0.95


def test_adam_refuses_betas_together_with_beta1():
    with pytest.raises(TypeError, match="give one"):
        optim.Adam([_param()], lr=0.1, betas=(0.8, 0.95), beta1=0.7)


def test_sgd_momentum_is_refused_with_the_course_momentum_that_takes_the_same_steps():
    with pytest.raises(TypeError, match=r"write Momentum\(params, lr=0.1 / \(1 - 0.9\), beta=0.9\)") as info:
        optim.SGD([_param()], lr=0.1, momentum=0.9)
    fix = str(info.value).split("write ")[1]
    # Heavy ball by hand: v = 0.9 v + g; w -= 0.1 v, for three steps with fixed gradients.
    p = _param()
    params = [p]
    opt = eval(fix, {"Momentum": optim.Momentum, "params": params})
    w, v = np.array([1.0, -2.0]), np.zeros(2)
    for _ in range(3):
        v = 0.9 * v + np.array([0.5, 0.25])
        w = w - 0.1 * v
        opt.step()
    np.testing.assert_allclose(p.data, w, rtol=1e-12)


def test_rmsprop_accepts_pytorchs_alpha_for_beta():
    assert optim.RMSprop([_param()], lr=0.1, alpha=0.9).param_groups[0]["beta"] == 0.9
    with pytest.raises(TypeError, match="alpha is PyTorch's name for beta"):
        optim.RMSprop([_param()], lr=0.1, beta=0.5, alpha=0.9)


def test_step_lr_is_pytorchs_staircase():
    opt = optim.SGD([_param()], lr=1.0)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]


def _lrs(sched, opt, n=4):
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    return lrs


def test_exponential_lr_is_pytorchs_gamma_to_the_epoch():
    opt = optim.SGD([_param()], lr=1.0)
    assert _lrs(optim.ExponentialLR(opt, gamma=0.5), opt) == [1.0, 0.5, 0.25, 0.125]


def test_lambda_lr_multiplies_each_groups_initial_lr():
    opt = optim.SGD([{"params": [_param()], "lr": 2.0}, {"params": [_param()]}], lr=1.0)
    sched = optim.LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    assert [g["lr"] for g in opt.param_groups] == [2.0, 1.0]
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == [1.0, 0.5]
    with pytest.raises(TypeError, match="lr_lambda must be a function"):
        optim.LambdaLR(opt, [0.1, 0.01])


def test_pytorchs_scheduler_names_are_in_lr_scheduler_as_in_torch():
    from tinygrad_course.optim import lr_scheduler
    assert lr_scheduler.StepLR is optim.StepLR
    assert lr_scheduler.ExponentialLR is optim.ExponentialLR
    assert lr_scheduler.LambdaLR is optim.LambdaLR
