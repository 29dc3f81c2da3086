import numpy as np

import tinygrad_course as tc
from tinygrad_course.optim import RMSprop


def test_rmsprop_follows_the_course_formula_for_several_steps(run, grads, w0):
    p = tc.Tensor(w0, requires_grad=True)
    got = run(RMSprop([p], lr=0.01, beta=0.9, eps=1e-6), p, grads)
    w, s = w0.copy(), np.zeros_like(w0)
    for g, step in zip(grads, got):
        s = 0.9 * s + (1 - 0.9) * g ** 2
        w = w - 0.01 * g / (np.sqrt(s) + 1e-6)
        np.testing.assert_allclose(step, w, rtol=0, atol=1e-12)


def test_rmsprop_defaults_are_beta_0_999_and_eps_1e_8(run, grads, w0):
    p = tc.Tensor(w0, requires_grad=True)
    opt = RMSprop([p], lr=0.01)
    assert (opt.beta, opt.eps) == (0.999, 1e-8)
    got = run(opt, p, grads[:2])
    s = 0.001 * grads[0] ** 2
    w = w0 - 0.01 * grads[0] / (np.sqrt(s) + 1e-8)
    s = 0.999 * s + 0.001 * grads[1] ** 2
    w = w - 0.01 * grads[1] / (np.sqrt(s) + 1e-8)
    np.testing.assert_allclose(got[1], w, rtol=0, atol=1e-12)


def test_rmsprop_first_step_is_lr_over_root_one_minus_beta_times_sign():
    # No bias correction: s = (1 - beta) * g**2, so the first step is lr / sqrt(1 - beta) in size.
    g = np.array([3.0, -0.2, 40.0])
    p = tc.Tensor(np.zeros(3), requires_grad=True)
    opt = RMSprop([p], lr=0.01, beta=0.99, eps=1e-12)
    p.grad = tc.Tensor(g)
    opt.step()
    np.testing.assert_allclose(p.data, -0.01 / np.sqrt(0.01) * np.sign(g), rtol=1e-9)


def test_rmsprop_keeps_float32(run, grads):
    p = tc.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    opt = RMSprop([p], lr=0.1)
    run(opt, p, [g.astype(np.float32) for g in grads])
    assert p.dtype == np.float32 and opt.state[0]["s"].dtype == np.float32
