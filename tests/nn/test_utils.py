"""nn.utils: clip_grad_norm_ / clip_grad_value_ as PyTorch documents them (worked by hand here),
parameters_to_vector / vector_to_parameters (the course's dictionary_to_vector), count_parameters."""
import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.nn.utils import (clip_grad_norm_, clip_grad_value_, count_parameters,
                                      parameters_to_vector, vector_to_parameters)


def _params_with_grads(*grads):
    ps = []
    for g in grads:
        p = nn.Parameter(np.zeros(np.shape(g)))
        p.grad = tc.tensor(np.asarray(g, np.float64))
        ps.append(p)
    return ps


def test_clip_grad_norm_returns_the_total_norm_and_scales_every_gradient():
    # Gradients (3, 4) and (12,): the total 2-norm is sqrt(9 + 16 + 144) = 13.
    ps = _params_with_grads([3.0, 4.0], [12.0])
    total = clip_grad_norm_(ps, max_norm=1.3)
    assert isinstance(total, tc.Tensor) and total.item() == pytest.approx(13.0)
    coef = 1.3 / (13.0 + 1e-6)
    np.testing.assert_allclose(ps[0].grad.data, [3 * coef, 4 * coef])
    np.testing.assert_allclose(ps[1].grad.data, [12 * coef])


def test_clip_grad_norm_leaves_small_gradients_alone():
    ps = _params_with_grads([0.3, 0.4])
    assert clip_grad_norm_(ps, 1.0).item() == pytest.approx(0.5)
    np.testing.assert_array_equal(ps[0].grad.data, [0.3, 0.4])


def test_clip_grad_norm_with_the_inf_norm_uses_the_largest_magnitude():
    ps = _params_with_grads([1.0, -6.0], [2.0])
    assert clip_grad_norm_(ps, 3.0, norm_type=float("inf")).item() == pytest.approx(6.0)
    np.testing.assert_allclose(ps[0].grad.data, np.array([1.0, -6.0]) * 3 / (6 + 1e-6))


def test_clip_grad_norm_of_order_1_sums_magnitudes():
    ps = _params_with_grads([1.0, -2.0], [3.0])
    assert clip_grad_norm_(ps, 100.0, norm_type=1).item() == pytest.approx(6.0)


def test_clip_grad_norm_skips_parameters_without_gradients_and_takes_one_tensor():
    p = nn.Parameter(np.zeros(2))
    assert clip_grad_norm_([p], 1.0).item() == 0.0
    (q,) = _params_with_grads([6.0, 8.0])
    assert clip_grad_norm_(q, 5.0).item() == pytest.approx(10.0)
    assert np.linalg.norm(q.grad.data) == pytest.approx(5.0, rel=1e-6)


def test_clip_grad_norm_error_if_nonfinite_names_the_problem_and_the_switch():
    ps = _params_with_grads([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is nan"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    clip_grad_norm_(ps, 1.0, error_if_nonfinite=False)  # the switch the message names works


def test_clip_grad_value_clips_each_element():
    ps = _params_with_grads([-5.0, 0.5, 3.0])
    clip_grad_value_(ps, 1.0)
    np.testing.assert_array_equal(ps[0].grad.data, [-1.0, 0.5, 1.0])


def test_clipping_refuses_a_non_positive_threshold():
    with pytest.raises(ValueError, match="max_norm must be positive"):
        clip_grad_norm_([], 0)
    with pytest.raises(ValueError, match="clip_value must be positive"):
        clip_grad_value_([], -1)


def test_clipping_tames_an_exploding_step_in_training():
    tc.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = tc.randn(8, 3) * 1e3, tc.randn(8, 1)
    nn.F.mse_loss(model(x), y).backward()
    before = clip_grad_norm_(model.parameters(), 1.0)
    assert before.item() > 1.0
    after = np.sqrt(sum(np.sum(p.grad.data.astype(np.float64) ** 2) for p in model.parameters()))
    assert after == pytest.approx(1.0, rel=1e-4)


def test_parameters_to_vector_is_the_courses_dictionary_to_vector_and_back():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    params = list(model.parameters())
    v = parameters_to_vector(params)
    np.testing.assert_array_equal(v.data, np.concatenate([p.data.ravel() for p in params]))
    vector_to_parameters(v * 2, params)
    np.testing.assert_allclose(parameters_to_vector(params).data, 2 * v.data)
    with pytest.raises(ValueError, match="the parameters hold 13 numbers, the vector has shape"):
        vector_to_parameters(np.zeros(3), params)


def test_parameters_to_vector_is_differentiable():
    w = nn.Parameter(np.array([[1.0, 2.0]]))
    b = nn.Parameter(np.array([3.0]))
    (parameters_to_vector([w, b]) ** 2).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [[2.0, 4.0]])
    np.testing.assert_array_equal(b.grad.data, [6.0])


def test_count_parameters_counts_shared_ones_once_and_can_skip_frozen_ones():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(4, 2))
    assert count_parameters(model) == 20 + 10
    model[3].requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 20
    assert nn.utils.count_parameters(model.parameters()) == 30
