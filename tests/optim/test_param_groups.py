"""Parameter groups, add_param_group, zero_grad(set_to_none=) and AdamW, as PyTorch's optim."""
import math
import re

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course.optim import SGD, Adam, AdamW, Momentum, RMSprop

ALL = [SGD, Momentum, RMSprop, Adam, AdamW]


def _param(shape=(2, 3), seed=0, dtype=np.float64):
    return tc.Tensor(np.random.default_rng(seed).normal(size=shape).astype(dtype),
                     requires_grad=True)


def _grads(params, seed=1):
    rng = np.random.default_rng(seed)
    for p in params:
        p.grad = tc.Tensor(rng.normal(size=p.shape).astype(p.dtype))


def test_each_group_steps_with_its_own_lr_and_the_defaults_fill_the_rest():
    a, b = _param(seed=0), _param(seed=1)
    a0, b0 = a.data.copy(), b.data.copy()
    opt = SGD([{"params": [a], "lr": 0.1}, {"params": [b]}], lr=0.01)
    _grads([a, b])
    ga, gb = a.grad.data.copy(), b.grad.data.copy()
    opt.step()
    np.testing.assert_allclose(a.data, a0 - 0.1 * ga, rtol=0, atol=1e-15)
    np.testing.assert_allclose(b.data, b0 - 0.01 * gb, rtol=0, atol=1e-15)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert opt.param_groups[1]["weight_decay"] == 0.0 and opt.param_groups[1]["params"] == [b]


def test_a_group_may_hold_a_single_tensor_as_in_pytorch():
    a = _param()
    assert SGD([{"params": a}], lr=0.1).params == [a]


def test_setting_a_groups_lr_changes_the_next_step():
    p = _param()
    opt = SGD([p], lr=0.1)
    opt.param_groups[0]["lr"] = 0.5
    p0 = p.data.copy()
    _grads([p])
    opt.step()
    np.testing.assert_allclose(p.data, p0 - 0.5 * p.grad.data, rtol=0, atol=1e-15)
    assert opt.lr == 0.5


def test_opt_lr_reads_the_first_group_and_sets_every_group():
    opt = Adam([{"params": [_param(seed=0)], "lr": 0.1}, {"params": [_param(seed=1)]}], lr=0.01)
    assert opt.lr == 0.1 and opt.beta1 == 0.9
    opt.lr = 0.3
    opt.beta1 = 0.5
    assert [(g["lr"], g["beta1"]) for g in opt.param_groups] == [(0.3, 0.5), (0.3, 0.5)]
    with pytest.raises(ValueError, match="Adam: beta1 must be finite and in"):
        opt.beta1 = 1.0


@pytest.mark.parametrize("cls", ALL)
def test_groups_step_exactly_as_separate_optimizers(cls):
    # Each group is an optimizer of its own with its hyperparameters (PyTorch's semantics).
    a, b = _param(seed=0), _param((3,), seed=1)
    a2, b2 = (tc.Tensor(p.data.copy(), requires_grad=True) for p in (a, b))
    kw = {"beta": 0.5} if cls in (Momentum, RMSprop) else {"beta1": 0.5} if cls in (Adam, AdamW) else {}
    grouped = cls([{"params": [a], "lr": 0.1, **kw}, {"params": [b], "weight_decay": 0.3}],
                  lr=0.02, decay_filter=lambda p: True)
    alone_a = cls([a2], lr=0.1, decay_filter=lambda p: True, **kw)
    alone_b = cls([b2], lr=0.02, weight_decay=0.3, decay_filter=lambda p: True)
    for step in range(3):
        _grads([a, b], seed=step)
        _grads([a2, b2], seed=step)
        grouped.step()
        alone_a.step()
        alone_b.step()
    np.testing.assert_array_equal(a.data, a2.data)
    np.testing.assert_array_equal(b.data, b2.data)


def test_a_parameter_in_two_groups_is_refused():
    p = _param()
    with pytest.raises(ValueError, match="already in another parameter group"):
        SGD([{"params": [p]}, {"params": [p], "lr": 0.1}], lr=0.01)


def test_a_bad_group_value_is_refused_naming_the_group():
    with pytest.raises(ValueError, match=r"Adam param_groups\[1\]: beta2 must be finite"):
        Adam([{"params": [_param(seed=0)]}, {"params": [_param(seed=1)], "beta2": 1.5}], lr=0.1)


def test_add_param_group_steps_the_new_parameters_with_its_values():
    a, b = _param(seed=0), _param(seed=1)
    opt = Momentum([a], lr=0.1, beta=0.9)
    opt.add_param_group({"params": [b], "lr": 0.5})
    assert opt.params == [a, b] and opt.param_groups[1]["beta"] == 0.9
    b0 = b.data.copy()
    _grads([a, b])
    opt.step()
    # First Momentum step from v = 0: v = (1 - beta) g, W -= lr v.
    np.testing.assert_allclose(b.data, b0 - 0.5 * 0.1 * b.grad.data, rtol=0, atol=1e-15)


def test_add_param_group_needs_a_dict_with_params():
    opt = SGD([_param()], lr=0.1)
    with pytest.raises(TypeError, match="a dict with a 'params' entry"):
        opt.add_param_group([_param(seed=1)])


def test_adam_betas_is_pytorchs_spelling_of_beta1_beta2():
    opt = Adam([{"params": [_param(seed=0)], "betas": (0.8, 0.99)}, {"params": [_param(seed=1)]}],
               lr=0.1, betas=(0.5, 0.9))
    assert [(g["beta1"], g["beta2"]) for g in opt.param_groups] == [(0.8, 0.99), (0.5, 0.9)]
    with pytest.raises(TypeError, match=r"betas must be a pair \(beta1, beta2\)"):
        Adam([_param()], lr=0.1, betas=0.9)


# ---- state_dict ---------------------------------------------------------------------------

def _two_groups(cls=Adam, lr=0.01):
    a, b = _param(seed=0), _param((3,), seed=1)
    return [a, b], cls([{"params": [a], "lr": 0.1}, {"params": [b], "eps": 1e-3}], lr=lr)


def test_state_dict_saves_each_groups_values_and_positions():
    _, opt = _two_groups()
    opt.param_groups[1]["lr"] = 0.07
    saved = opt.state_dict()
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in saved["param_groups"]] == [0.1, 0.07]
    assert saved["param_groups"][1]["eps"] == 1e-3 and saved["hyperparameters"]["lr"] == 0.01


def test_load_state_dict_restores_group_values_and_the_trajectory():
    params, opt = _two_groups()
    for step in range(2):
        _grads(params, seed=step)
        opt.step()
    opt.param_groups[1]["lr"] = 0.07
    copies = [tc.Tensor(p.data.copy(), requires_grad=True) for p in params]
    fresh = Adam([{"params": [copies[0]]}, {"params": [copies[1]]}], lr=0.5)
    fresh.load_state_dict(opt.state_dict())
    assert [g["lr"] for g in fresh.param_groups] == [0.1, 0.07]
    assert fresh.param_groups[1]["eps"] == 1e-3 and fresh.defaults["lr"] == 0.01
    for step in range(2):
        _grads(params, seed=10 + step)
        _grads(copies, seed=10 + step)
        opt.step()
        fresh.step()
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_with_other_groups_raises():
    params, opt = _two_groups()
    with pytest.raises(ValueError, match="the state has 2 parameter groups, this optimizer has 1"):
        Adam(params, lr=0.1).load_state_dict(opt.state_dict())


@pytest.mark.parametrize("drop, key", [
    (lambda sd: sd["param_groups"][1].pop("eps"), "state['param_groups'][1] has no 'eps'"),
    (lambda sd: sd["param_groups"][0].pop("params"), "state['param_groups'][0] has no 'params'"),
    (lambda sd: sd.pop("param_groups"), "the state has no 'param_groups'"),
])
def test_an_incomplete_group_is_refused_at_load_naming_the_key(drop, key):
    params, opt = _two_groups()
    saved = opt.state_dict()
    drop(saved)
    with pytest.raises(tc.StateDictError, match=re.escape(f"Adam.load_state_dict: {key}")):
        _two_groups()[1].load_state_dict(saved)


def test_state_dict_of_groups_round_trips_through_a_checkpoint(tmp_path):
    params, opt = _two_groups()
    _grads(params)
    opt.step()
    tc.save(opt.state_dict(), tmp_path / "opt.npz")
    fresh = _two_groups(lr=0.3)[1]
    fresh.load_state_dict(tc.load(tmp_path / "opt.npz"))
    assert [g["lr"] for g in fresh.param_groups] == [0.1, 0.01]


# ---- zero_grad ----------------------------------------------------------------------------

def test_zero_grad_sets_none_by_default_as_pytorch():
    p = _param()
    _grads([p])
    SGD([p], lr=0.1).zero_grad()
    assert p.grad is None


def test_zero_grad_set_to_none_false_keeps_a_gradient_of_zeros_that_is_stepped():
    # PyTorch: a zero gradient is a gradient, so Adam still counts the step (t) and moves p by
    # its momentum; a None gradient skips the parameter.
    p = _param()
    opt = Adam([p], lr=0.1)
    _grads([p])
    opt.step()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.data, np.zeros(p.shape))
    before = p.data.copy()
    opt.step()
    assert opt.state[0]["t"] == 2 and not np.array_equal(p.data, before)


# ---- AdamW ---------------------------------------------------------------------------------

def _adamw_reference(w, grads, lr, b1, b2, eps, wd):
    """PyTorch's documented AdamW algorithm, line by line, in float64."""
    w, m, v = w.copy(), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        w = w - lr * wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def test_adamw_matches_pytorchs_algorithm():
    p = _param((3, 4))
    w0 = p.data.copy()
    rng = np.random.default_rng(5)
    grads = [rng.normal(size=p.shape) for _ in range(4)]
    opt = AdamW([p], lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.3)
    for g in grads:
        p.grad = tc.Tensor(g)
        opt.step()
    np.testing.assert_allclose(p.data, _adamw_reference(w0, grads, 0.05, 0.8, 0.9, 1e-6, 0.3),
                               rtol=1e-12, atol=1e-14)


def test_adamw_first_step_by_hand():
    # t = 1: m_hat = g, v_hat = g**2, so W1 = W0 (1 - lr wd) - lr g / (|g| + eps).
    p = tc.Tensor(np.array([[2.0, -1.0]]), requires_grad=True)
    p.grad = tc.Tensor(np.array([[0.5, -4.0]]))
    AdamW([p], lr=0.1, weight_decay=0.5, eps=0.0 + 1e-8).step()
    expected = np.array([[2.0, -1.0]]) * 0.95 - 0.1 * np.array([0.5, -4.0]) / (
        np.abs([0.5, -4.0]) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=0, atol=1e-15)


def test_adamw_decay_is_not_scaled_by_the_gradient_as_adams_l2_is():
    # A weight with a huge gradient: Adam's L2 term is divided by sqrt(s_hat) and nearly vanishes;
    # AdamW's shrinks the weight by (1 - lr wd) whatever the gradient.
    def first_step(cls):
        p = tc.Tensor(np.array([[1.0]]), requires_grad=True)
        p.grad = tc.Tensor(np.array([[1e6]]))
        cls([p], lr=0.1, weight_decay=0.5).step()
        return p.data.item()
    assert first_step(AdamW) == pytest.approx(1.0 * 0.95 - 0.1, abs=1e-12)
    assert first_step(Adam) == pytest.approx(1.0 - 0.1, abs=1e-6)


def test_adamw_decays_weights_not_biases_by_default():
    w, b = _param((2, 2)), _param((2,), seed=3)
    w.grad, b.grad = tc.Tensor(np.zeros((2, 2))), tc.Tensor(np.zeros(2))
    w0, b0 = w.data.copy(), b.data.copy()
    AdamW([w, b], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(w.data, 0.95 * w0, rtol=1e-15)
    np.testing.assert_array_equal(b.data, b0)
    b.grad = tc.Tensor(np.zeros(2))
    AdamW([b], lr=0.1, weight_decay=0.5, decay_filter=lambda p: True).step()
    np.testing.assert_allclose(b.data, 0.95 * b0, rtol=1e-15)


def test_adamw_default_weight_decay_is_pytorchs():
    assert AdamW([_param()], lr=0.1).param_groups[0]["weight_decay"] == 0.01


def test_float16_master_weights_work_per_group():
    a = _param(dtype=np.float16)
    b = _param((3,), seed=1, dtype=np.float16)
    opt = AdamW([{"params": [a], "lr": 1e-3}, {"params": [b]}], lr=1e-2)
    for step in range(3):
        _grads([a, b], seed=step)
        opt.step()
    assert a.dtype == np.float16 and np.isfinite(a.data).all() and np.isfinite(b.data).all()
    assert all(v.dtype == np.float32 for s in opt.state for v in s.values()
               if isinstance(v, np.ndarray))


def test_repr_counts_the_groups():
    _, opt = _two_groups(SGD)
    assert repr(opt) == "SGD(2 parameters in 2 groups, lr=0.1, weight_decay=0)"
    assert math.isclose(opt.hyperparameters()["lr"], 0.1)
