import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.optim import Adam


def _adam_by_hand(w0, grads, lr, b1, b2, eps):
    w, v, s, out = w0.copy(), np.zeros_like(w0), np.zeros_like(w0), []
    for t, g in enumerate(grads, start=1):
        v = b1 * v + (1 - b1) * g
        s = b2 * s + (1 - b2) * g ** 2
        v_hat = v / (1 - b1 ** t)
        s_hat = s / (1 - b2 ** t)
        w = w - lr * v_hat / (np.sqrt(s_hat) + eps)
        out.append(w)
    return out


@pytest.mark.parametrize("b1, b2, eps", [(0.9, 0.999, 1e-8), (0.5, 0.8, 0.1)])
def test_adam_follows_the_course_formula_for_several_steps(run, grads, w0, b1, b2, eps):
    p = tc.Tensor(w0, requires_grad=True)
    got = run(Adam([p], lr=0.02, beta1=b1, beta2=b2, eps=eps), p, grads)
    for step, want in zip(got, _adam_by_hand(w0, grads, 0.02, b1, b2, eps)):
        np.testing.assert_allclose(step, want, rtol=0, atol=1e-12)


def test_adam_defaults_are_the_papers():
    opt = Adam([tc.Tensor(np.ones(2), requires_grad=True)], lr=0.001)
    assert (opt.beta1, opt.beta2, opt.eps) == (0.9, 0.999, 1e-8)


def test_adam_first_step_is_lr_times_sign_of_the_gradient():
    # After one step v_hat = g and s_hat = g**2, so W moves by lr * g / (|g| + eps).
    g = np.array([5.0, -0.01, 300.0, -2.0])
    p = tc.Tensor(np.zeros(4), requires_grad=True)
    opt = Adam([p], lr=0.1, eps=1e-8)
    p.grad = tc.Tensor(g)
    opt.step()
    np.testing.assert_allclose(p.data, -0.1 * g / (np.abs(g) + 1e-8), rtol=0, atol=1e-15)


def test_adam_moments_are_the_bias_corrected_ewas_of_dw_and_dw_squared(run, grads, w0):
    p = tc.Tensor(w0, requires_grad=True)
    opt = Adam([p], lr=0.01)
    run(opt, p, grads[:2])
    v_avg, s_avg = tc.EWA(0.9, bias_correction=True), tc.EWA(0.999, bias_correction=True)
    for g in grads[:2]:
        v_avg.update(g)
        s_avg.update(g ** 2)
    state = opt.state[0]
    assert state["t"] == 2
    np.testing.assert_allclose(state["v"] / (1 - 0.9 ** 2), v_avg.average, rtol=1e-15)
    np.testing.assert_allclose(state["s"] / (1 - 0.999 ** 2), s_avg.average, rtol=1e-15)


def test_ewa_bias_correction_after_two_steps_with_beta_0_98_is_0_0396():
    avg = tc.EWA(0.98, bias_correction=True)
    avg.update(10.0)
    avg.update(12.0)
    assert avg.correction == pytest.approx(0.0396, abs=1e-15)
    assert avg.average == pytest.approx((0.98 * 0.02 * 10 + 0.02 * 12) / 0.0396, rel=1e-12)


@given(st.lists(st.floats(-1e3, 1e3), min_size=6, max_size=6), st.integers(1, 4))
def test_adam_float32_stays_float32_and_close_to_float64(values, steps):
    g = np.array(values).reshape(2, 3)
    p32 = tc.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    p64 = tc.Tensor(np.ones((2, 3)), requires_grad=True)
    opt32, opt64 = Adam([p32], lr=0.01), Adam([p64], lr=0.01)
    for k in range(steps):
        p32.grad = tc.Tensor((g * (k + 1)).astype(np.float32))
        p64.grad = tc.Tensor(g * (k + 1))
        opt32.step()
        opt64.step()
    assert p32.dtype == np.float32
    assert all(a.dtype == np.float32 for a in (opt32.state[0]["v"], opt32.state[0]["s"]))
    np.testing.assert_allclose(p32.data, p64.data, rtol=0, atol=1e-5)
