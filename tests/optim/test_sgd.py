import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course.inplace import BackwardError
from tinygrad_course.optim import SGD


def test_sgd_follows_w_minus_lr_dw_for_several_steps(run, grads, w0):
    p = tc.Tensor(w0, requires_grad=True)
    got = run(SGD([p], lr=0.07), p, grads)
    w = w0.copy()
    for g, step in zip(grads, got):
        w = w - 0.07 * g
        np.testing.assert_allclose(step, w, rtol=0, atol=1e-12)


def test_sgd_minimizes_a_quadratic_through_backward():
    target = np.array([1.0, -2.0, 0.5])
    p = tc.Tensor(np.zeros(3), requires_grad=True)
    opt = SGD([p], lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        ((p - tc.Tensor(target)) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.data, target, atol=1e-10)


def test_sgd_keeps_float32_and_updates_in_place():
    p = tc.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    data = p.data
    p.grad = tc.Tensor(np.full((2, 2), 0.5, np.float32))
    SGD([p], lr=0.1).step()
    assert p.data is data and p.dtype == np.float32
    np.testing.assert_array_equal(p.data, np.float32(1) - np.float32(0.1) * np.float32(0.5))


def test_sgd_has_no_state():
    p = tc.Tensor(np.ones(3), requires_grad=True)
    opt = SGD([p], lr=0.1)
    p.grad = tc.Tensor(np.ones(3))
    opt.step()
    assert opt.state_dict()["state"] == [{}]


def test_a_step_that_fails_on_one_parameter_still_marks_the_ones_it_changed():
    # The per-parameter path bumps the versions once for all, after the loop: a failure half way
    # must still mark the parameters already written, or a graph that saved them would backward
    # silently through the changed values.
    a = tc.Tensor(np.ones(3), requires_grad=True)
    b = tc.Tensor(np.ones(3), requires_grad=True)
    saved = a * a  # saves a
    a.grad, b.grad = tc.Tensor(np.ones(3)), tc.Tensor(np.ones(4))  # b's has the wrong shape
    before = a.version
    with pytest.raises(ValueError, match="params\\[1\\]"):
        SGD([a, b], lr=0.1).step()
    assert a.version > before
    with pytest.raises(BackwardError, match="changed in place"):
        saved.sum().backward()
