import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.nn import functional as F


@pytest.mark.parametrize("keep_prob", [0.0, -0.1, 1.5, float("nan")])
def test_keep_prob_outside_0_1_is_refused_mentioning_pytorch_p(keep_prob):
    with pytest.raises(ValueError, match=r"keep_prob must be in \(0, 1\].*PyTorch's p is 1 - keep_prob"):
        nn.Dropout(keep_prob)


def test_training_zeroes_or_scales_each_unit_by_one_over_keep_prob():
    x = tc.ones(200, 50)
    out = nn.Dropout(0.8)(x).data
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.8)}


def test_the_kept_fraction_is_keep_prob():
    out = nn.Dropout(0.7)(tc.ones(400, 500)).data
    kept = (out != 0).mean()
    # 200k Bernoulli(0.7) draws: the standard error is 0.001.
    assert abs(kept - 0.7) < 0.005


def test_inverted_dropout_keeps_the_expected_activation():
    x = tc.ones(400, 500) * 3.0
    assert abs(nn.Dropout(0.5)(x).data.mean() - 3.0) < 0.03


def test_the_mask_follows_the_course_formula_from_the_seeded_generator():
    x = tc.randn(6, 5)
    tc.manual_seed(11)
    out = nn.Dropout(0.6)(x).data
    tc.manual_seed(11)
    D = tc.random.get_rng().random(x.shape, dtype=np.float32) < 0.6
    np.testing.assert_allclose(out, x.data * D / 0.6, rtol=1e-6)


def test_same_seed_same_mask_and_successive_calls_differ():
    x = tc.ones(10, 10)
    drop = nn.Dropout(0.5)
    tc.manual_seed(3)
    a, b = drop(x).data, drop(x).data
    tc.manual_seed(3)
    np.testing.assert_array_equal(drop(x).data, a)
    assert not np.array_equal(a, b)


def test_eval_is_the_identity():
    x = tc.randn(5, 4)
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x


def test_keep_prob_one_is_the_identity_in_training():
    x = tc.randn(5, 4, requires_grad=True)
    assert nn.Dropout(1.0)(x) is x


def test_backward_uses_the_same_mask():
    x = tc.randn(30, 20, requires_grad=True)
    out = nn.Dropout(0.75)(x)
    out.backward(np.ones(out.shape, np.float32))
    mask = out.data / x.data
    np.testing.assert_allclose(x.grad.data, mask, rtol=1e-5)
    assert type(out.grad_fn).name == "dropout"


def test_gradient_passes_gradcheck_with_a_fixed_mask():
    def f(x):
        tc.manual_seed(4)  # the same mask on every evaluation
        return F.dropout(x, 0.6)

    tc.gradcheck(f, [tc.randn(5, 4, dtype=np.float64, requires_grad=True)])


def test_second_derivative_through_dropout_is_zero():
    def f(x):
        tc.manual_seed(4)
        return F.dropout(x, 0.6) * x

    tc.gradgradcheck(f, [tc.randn(3, 4, dtype=np.float64, requires_grad=True)])


def test_functional_dropout_not_training_is_the_identity():
    x = tc.randn(3)
    assert F.dropout(x, 0.5, training=False) is x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_the_input_dtype(dtype):
    x = tc.randn(8, 8, dtype=dtype, requires_grad=True)
    out = nn.Dropout(0.5)(x)
    out.sum().backward()
    assert out.dtype == dtype and x.grad.dtype == dtype


def test_repr():
    assert repr(nn.Dropout(0.8)) == "Dropout(keep_prob=0.8)"


def test_a_small_keep_prob_warns_that_it_is_not_pytorchs_p():
    with pytest.warns(UserWarning, match=r"keep_prob=0.8"):
        nn.Dropout(0.2)


def test_the_course_keep_probs_do_not_warn():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.Dropout(keep_prob=0.86)
        nn.Dropout(keep_prob=0.5)
