import numpy as np

import tinygrad_course as tc
from tinygrad_course.optim import Momentum


def test_momentum_follows_the_course_formula_for_several_steps(run, grads, w0):
    p = tc.Tensor(w0, requires_grad=True)
    got = run(Momentum([p], lr=0.05, beta=0.8), p, grads)
    w, v = w0.copy(), np.zeros_like(w0)
    for g, step in zip(grads, got):
        v = 0.8 * v + (1 - 0.8) * g
        w = w - 0.05 * v
        np.testing.assert_allclose(step, w, rtol=0, atol=1e-12)


def test_momentum_velocity_is_the_ewa_of_the_gradients(run, grads, w0):
    p = tc.Tensor(w0, requires_grad=True)
    opt = Momentum([p], lr=0.05, beta=0.9)
    run(opt, p, grads)
    avg = tc.EWA(0.9)
    for g in grads:
        avg.update(g)
    np.testing.assert_allclose(opt.state[0]["v"], avg.average, rtol=0, atol=1e-15)


def test_momentum_matches_pytorch_form_with_lr_scaled_by_one_minus_beta(run, grads, w0):
    # PyTorch's SGD momentum: buf = mu*buf + g; W -= lr_torch*buf. With lr_torch = lr*(1-beta)
    # it walks the same path, as the docstring says.
    lr, beta = 0.05, 0.9
    p = tc.Tensor(w0, requires_grad=True)
    got = run(Momentum([p], lr=lr, beta=beta), p, grads)
    w, buf = w0.copy(), np.zeros_like(w0)
    for g, step in zip(grads, got):
        buf = beta * buf + g
        w = w - lr * (1 - beta) * buf
        np.testing.assert_allclose(step, w, rtol=0, atol=1e-12)


def test_momentum_with_beta_zero_is_sgd(run, grads, w0):
    p = tc.Tensor(w0, requires_grad=True)
    got = run(Momentum([p], lr=0.1, beta=0.0), p, grads)
    np.testing.assert_allclose(got[-1], w0 - 0.1 * sum(grads), rtol=0, atol=1e-12)


def test_momentum_keeps_float32_in_parameter_and_state(run, grads):
    p = tc.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    opt = Momentum([p], lr=0.1, beta=0.9)
    run(opt, p, [g.astype(np.float32) for g in grads])
    assert p.dtype == np.float32 and opt.state[0]["v"].dtype == np.float32
