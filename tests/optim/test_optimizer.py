import inspect
import math
import re

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course.autograd import BackwardError
from tinygrad_course.optim import SGD, Adam, Momentum, RMSprop

ALL = [SGD, Momentum, RMSprop, Adam]


def _param(shape=(3, 4), seed=0, dtype=np.float64):
    return tc.Tensor(np.random.default_rng(seed).normal(size=shape).astype(dtype),
                     requires_grad=True)


def _quadratic_steps(opt, params, n):
    for _ in range(n):
        opt.zero_grad()
        sum(((p * p * p).sum() for p in params), tc.Tensor(0.0)).backward()
        opt.step()


# ---- state ------------------------------------------------------------------------------

NON_DEFAULT = {SGD: {}, Momentum: {"beta": 0.5}, RMSprop: {"beta": 0.8, "eps": 1e-3},
               Adam: {"beta1": 0.5, "beta2": 0.8, "eps": 1e-3}}


@pytest.mark.parametrize("cls", ALL)
def test_state_dict_round_trip_continues_the_same_trajectory(cls):
    a = [_param((3, 4), 0), _param((4,), 1)]
    opt_a = cls(a, lr=0.01, weight_decay=0.2, **NON_DEFAULT[cls])
    _quadratic_steps(opt_a, a, 3)
    saved = opt_a.state_dict()
    b = [tc.Tensor(p.data.copy(), requires_grad=True) for p in a]
    opt_b = cls(b, lr=0.5)
    opt_b.load_state_dict(saved)
    assert opt_b.hyperparameters() == opt_a.hyperparameters() and opt_b.lr == 0.01
    _quadratic_steps(opt_a, a, 3)
    _quadratic_steps(opt_b, b, 3)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_state_dict_is_a_copy_and_load_copies_too():
    p = _param()
    opt = Adam([p], lr=0.01)
    _quadratic_steps(opt, [p], 1)
    saved = opt.state_dict()
    v_saved = saved["state"][0]["v"].copy()
    _quadratic_steps(opt, [p], 1)
    np.testing.assert_array_equal(saved["state"][0]["v"], v_saved)
    opt.load_state_dict(saved)
    opt.state[0]["v"] += 1.0
    np.testing.assert_array_equal(saved["state"][0]["v"], v_saved)


def test_load_state_dict_casts_state_to_the_parameter_dtype():
    p64 = _param()
    opt64 = Momentum([p64], lr=0.1)
    _quadratic_steps(opt64, [p64], 2)
    p32 = _param(dtype=np.float32)
    opt32 = Momentum([p32], lr=0.1)
    opt32.load_state_dict(opt64.state_dict())
    assert opt32.state[0]["v"].dtype == np.float32


def test_load_state_dict_from_another_optimizer_type_raises():
    p = _param()
    with pytest.raises(ValueError, match="from 'Momentum', not Adam"):
        Adam([p], lr=0.1).load_state_dict(Momentum([p], lr=0.1).state_dict())


def test_load_state_dict_with_other_parameters_raises():
    p, q = _param((3, 4)), _param((2, 2))
    opt = Momentum([p], lr=0.1)
    _quadratic_steps(opt, [p], 1)
    with pytest.raises(ValueError, match=r"has shape \(3, 4\), the parameter has \(2, 2\)"):
        Momentum([q], lr=0.1).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="1 parameters, this optimizer has 2"):
        Momentum([p, q], lr=0.1).load_state_dict(opt.state_dict())


@pytest.mark.parametrize("drop, key", [
    (lambda sd: sd["state"][0].pop("s"), "state['state'][0] has no 's'"),
    (lambda sd: sd["state"][0].pop("t"), "state['state'][0] has no 't'"),
    (lambda sd: sd["hyperparameters"].pop("beta2"), "state['hyperparameters'] has no 'beta2'"),
    (lambda sd: sd["hyperparameters"].pop("lr"), "state['hyperparameters'] has no 'lr'"),
    (lambda sd: sd.pop("state"), "the state has no 'state'"),
])
def test_an_incomplete_state_dict_is_refused_at_load_naming_the_key(drop, key):
    p = _param()
    opt = Adam([p], lr=0.1)
    _quadratic_steps(opt, [p], 2)
    saved = opt.state_dict()
    drop(saved)
    fresh = Adam([p], lr=0.1)
    with pytest.raises(tc.StateDictError, match=re.escape(f"Adam.load_state_dict: {key}")):
        fresh.load_state_dict(saved)
    assert issubclass(tc.StateDictError, KeyError) and issubclass(tc.StateDictError, ValueError)
    _quadratic_steps(fresh, [p], 1)  # nothing was half-loaded: the next step still works


def test_an_unknown_hyperparameter_is_refused_at_load():
    p = _param()
    saved = Momentum([p], lr=0.1).state_dict()
    saved["hyperparameters"]["momentum"] = 0.9
    with pytest.raises(tc.StateDictError, match="unknown hyperparameter 'momentum'"):
        Momentum([p], lr=0.1).load_state_dict(saved)


# ---- bad hyperparameters raise at construction, naming the value ------------------------

@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("lr", [-0.1, math.nan, math.inf])
def test_bad_lr_raises_at_construction(cls, lr):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: lr must be finite and >= 0, got {lr}"):
        cls([_param()], lr=lr)


@pytest.mark.parametrize("cls, name", [(Momentum, "beta"), (RMSprop, "beta"), (Adam, "beta1"),
                                       (Adam, "beta2")])
@pytest.mark.parametrize("value", [1.0, -0.01, 1.5, math.nan])
def test_beta_outside_zero_one_raises(cls, name, value):
    with pytest.raises(ValueError, match=rf"{name} must be finite and in \[0, 1\), got {value}"):
        cls([_param()], lr=0.1, **{name: value})


@pytest.mark.parametrize("cls", [RMSprop, Adam])
@pytest.mark.parametrize("eps", [0.0, -1e-8, math.inf])
def test_eps_not_positive_raises(cls, eps):
    with pytest.raises(ValueError, match=rf"eps must be finite and > 0, got {eps}"):
        cls([_param()], lr=0.1, eps=eps)


@pytest.mark.parametrize("cls", ALL)
def test_negative_weight_decay_raises(cls):
    with pytest.raises(ValueError, match="weight_decay must be finite and >= 0, got -0.5"):
        cls([_param()], lr=0.1, weight_decay=-0.5)


def test_hyperparameter_that_is_not_a_number_raises_type_error():
    with pytest.raises(TypeError, match="lr must be a real number, got '0.1'"):
        SGD([_param()], lr="0.1")
    with pytest.raises(TypeError, match="beta must be a real number, got True"):
        Momentum([_param()], lr=0.1, beta=True)


def test_setting_a_bad_lr_later_raises():
    opt = SGD([_param()], lr=0.1)
    with pytest.raises(ValueError, match="got -1"):
        opt.lr = -1
    assert opt.lr == 0.1


def test_lr_zero_is_allowed_and_changes_nothing():
    p = _param()
    before = p.data.copy()
    _quadratic_steps(Adam([p], lr=0.0), [p], 2)
    np.testing.assert_array_equal(p.data, before)


# ---- parameters ---------------------------------------------------------------------------

def test_bad_params_raise():
    p = _param()
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="appears more than once"):
        SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is ndarray"):
        SGD([p, np.ones(3)], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor; wrap it in a list"):
        SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="dtype int64"):
        SGD([tc.Tensor(np.arange(3))], lr=0.1)


def test_a_model_instead_of_its_parameters_raises_with_the_fix():
    class Model:
        def parameters(self):
            return iter([_param()])

    with pytest.raises(TypeError, match=r"pass model.parameters\(\)"):
        SGD(Model(), lr=0.1)
    assert len(SGD(Model().parameters(), lr=0.1).params) == 1


@pytest.mark.parametrize("cls", ALL)
def test_params_without_grad_are_skipped(cls):
    p, q = _param((3, 4), 0), _param((2,), 1)
    opt = cls([p, q], lr=0.1, weight_decay=0.3)
    q_before, q_version = q.data.copy(), q.version
    for _ in range(2):
        opt.zero_grad()
        (p * p).sum().backward()
        assert q.grad is None
        opt.step()
    np.testing.assert_array_equal(q.data, q_before)
    assert q.version == q_version and opt.state[1] == {}
    assert p.version > 0


def test_adam_counts_t_per_parameter():
    p, q = _param((3,), 0), _param((3,), 1)
    opt = Adam([p, q], lr=0.1)
    for k in range(3):
        opt.zero_grad()
        loss = (p * p).sum() if k else (p * p).sum() + (q * q).sum()
        loss.backward()
        opt.step()
    assert opt.state[0]["t"] == 3 and opt.state[1]["t"] == 1


def test_zero_grad_sets_grads_to_none():
    p, q = _param(), _param()
    opt = SGD([p, q], lr=0.1)
    ((p * q).sum()).backward()
    opt.zero_grad()
    assert p.grad is None and q.grad is None


@pytest.mark.parametrize("cls", ALL)
def test_step_changes_data_in_place_and_leaves_grad_and_graph_alone(cls):
    p = _param()
    data = p.data
    opt = cls([p], lr=0.1, weight_decay=0.5)
    (p * p).sum().backward()
    grad = p.grad.data.copy()
    opt.step()
    assert p.data is data and p.is_leaf and p.requires_grad
    np.testing.assert_array_equal(p.grad.data, grad)


def test_changing_a_parameter_saved_for_backward_is_caught():
    p = _param()
    opt = SGD([p], lr=0.1)
    p.grad = tc.Tensor(np.ones(p.shape))
    y = (p * p).sum()
    opt.step()
    with pytest.raises(BackwardError):
        y.backward()


def test_repr_names_the_hyperparameters():
    assert repr(Momentum([_param()], lr=0.1, beta=0.8)) == (
        "Momentum(1 parameters, lr=0.1, weight_decay=0, beta=0.8)")


# ---- weight decay: the course's L2 ---------------------------------------------------------

@pytest.mark.parametrize("cls", ALL)
def test_weight_decay_equals_adding_l2_to_the_cost(cls):
    # Cost + lambd/(2m) * sum(W**2) over the weights (not the bias) gives the same updates as
    # weight_decay = lambd/m.
    lambd, m = 0.7, 5
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(m, 4)), rng.normal(size=(m, 2))
    W_a, b_a = _param((2, 4), 4), _param((2,), 5)
    W_b = tc.Tensor(W_a.data.copy(), requires_grad=True)
    b_b = tc.Tensor(b_a.data.copy(), requires_grad=True)
    opt_a = cls([W_a, b_a], lr=0.05)
    opt_b = cls([W_b, b_b], lr=0.05, weight_decay=lambd / m)

    def cost(W, b):
        return (((tc.Tensor(x) @ W.transpose() + b - tc.Tensor(y)) ** 2).sum() / (2 * m))

    for _ in range(3):
        opt_a.zero_grad()
        (cost(W_a, b_a) + lambd / (2 * m) * (W_a * W_a).sum()).backward()
        opt_a.step()
        opt_b.zero_grad()
        cost(W_b, b_b).backward()
        opt_b.step()
        np.testing.assert_allclose(W_b.data, W_a.data, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b_b.data, b_a.data, rtol=0, atol=1e-12)


def test_weight_decay_skips_biases_by_default_and_decay_filter_changes_it():
    W, b = _param((2, 3)), _param((3,))
    W0, b0 = W.data.copy(), b.data.copy()
    for p in (W, b):
        p.grad = tc.Tensor(np.zeros(p.shape))
    SGD([W, b], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(W.data, W0 - 0.1 * 0.5 * W0, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(b.data, b0)
    SGD([W, b], lr=0.1, weight_decay=0.5, decay_filter=lambda p: True).step()
    np.testing.assert_allclose(b.data, b0 - 0.1 * 0.5 * b0, rtol=0, atol=1e-15)


@pytest.mark.parametrize("cls", ALL)
def test_state_follows_a_parameter_that_changes_dtype(cls):
    # What nn.Module.to(np.float64) does: new data array of the new dtype, same Tensor.
    p = _param((3, 4), dtype=np.float32)
    opt = cls([p], lr=0.01, weight_decay=0.1)
    _quadratic_steps(opt, [p], 2)
    p.data = p.data.astype(np.float64)
    before = opt.state_dict()
    reference = cls([tc.Tensor(p.data.copy(), requires_grad=True)], lr=0.01, weight_decay=0.1)
    reference.load_state_dict({**before, "state": [{k: (v.astype(np.float64)
                                                         if isinstance(v, np.ndarray) else v)
                                                     for k, v in before["state"][0].items()}]})
    _quadratic_steps(opt, [p], 2)
    _quadratic_steps(reference, reference.params, 2)
    assert p.dtype == np.float64
    assert all(v.dtype == np.float64 for v in opt.state[0].values() if isinstance(v, np.ndarray))
    np.testing.assert_array_equal(p.data, reference.params[0].data)


@pytest.mark.parametrize("cls", ALL)
def test_weight_decay_equals_nn_l2_penalty_on_a_model(cls):
    # The course's L2 cost lambd/(2m) * sum_l ||W[l]||^2 from nn.functional.l2_penalty, against
    # weight_decay = lambd/m: the same updates; biases and batch norm's gamma, beta left alone.
    from tinygrad_course import nn

    lambd, m = 0.7, 6
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(m, 3)), rng.normal(size=(m, 1))

    def make():
        tc.manual_seed(1)
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(),
                             nn.Linear(4, 1)).double()

    with_penalty, with_decay = make(), make()
    opt_a = cls(with_penalty.parameters(), lr=0.05)
    opt_b = cls(with_decay.parameters(), lr=0.05, weight_decay=lambd / m)
    for _ in range(3):
        opt_a.zero_grad()
        (nn.F.mse_loss(with_penalty(tc.Tensor(x)), tc.Tensor(y))
         + nn.F.l2_penalty(with_penalty, lambd, m)).backward()
        opt_a.step()
        opt_b.zero_grad()
        nn.F.mse_loss(with_decay(tc.Tensor(x)), tc.Tensor(y)).backward()
        opt_b.step()
    for a, b in zip(with_penalty.parameters(), with_decay.parameters()):
        np.testing.assert_allclose(b.data, a.data, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", ALL)
def test_weight_decay_and_l2_penalty_share_one_definition_of_a_weight(cls):
    from tinygrad_course.nn import functional as F

    assert inspect.signature(cls).parameters["decay_filter"].default is F.is_weight


# ---- float16: float32 master weights, as mixed-precision training keeps them -----------------

@pytest.mark.parametrize("cls", ALL)
def test_float16_parameters_train_like_float32_without_nan(cls):
    # Adam and RMSprop's eps = 1e-8 is 0 in float16: sqrt(s) + eps was 0 at a zero gradient.
    start = np.array([[0.5, -0.25, 0.0], [1.0, 0.0, -0.75]])
    p16, p32 = (tc.Tensor(start.astype(dt), requires_grad=True) for dt in (np.float16, np.float32))
    opt16, opt32 = cls([p16], lr=0.01), cls([p32], lr=0.01)
    for _ in range(20):
        _quadratic_steps(opt16, [p16], 1)
        _quadratic_steps(opt32, [p32], 1)
    assert p16.dtype == np.float16 and np.isfinite(p16.data).all()
    assert all(v.dtype == np.float32 for v in opt16.state[0].values() if isinstance(v, np.ndarray))
    np.testing.assert_allclose(p16.data, p32.data, atol=2e-3)


def test_float16_updates_below_float16_resolution_accumulate_in_the_master_copy():
    p = tc.Tensor(np.ones(4, np.float16), requires_grad=True)
    opt = SGD([p], lr=1e-5)  # each step is 1e-5, under half of float16's spacing at 1 (9.8e-4)
    for _ in range(1000):
        p.grad = tc.Tensor(np.ones(4, np.float16))
        opt.step()
    np.testing.assert_allclose(p.data.astype(np.float64), 0.99, atol=1e-3)


def test_float16_weights_set_outside_the_optimizer_are_picked_up():
    p = tc.Tensor(np.ones(2, np.float16), requires_grad=True)
    opt = SGD([p], lr=0.5)
    p.grad = tc.Tensor(np.ones(2, np.float16))
    opt.step()
    p.data[...] = 4.0  # as Module.load_state_dict or an init_ function would
    opt.step()
    np.testing.assert_array_equal(p.data, np.float16(3.5))
