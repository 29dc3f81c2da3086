"""tc.gradcheck / tc.gradgradcheck: they pass right gradients and catch wrong ones, naming the
input, the worst element and both values; the course's relative difference and its verdict."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.gradcheck import relative_difference, verdict
from tinygrad_course.testing import tensors


def f64(values, requires_grad=True):
    return tc.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


class Square(tc.Function):
    """x^2 with a correct backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * g * x


class SquareWrongAt(tc.Function):
    """x^2 whose gradient is wrong only at flat index 4."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        bump = np.zeros(x.shape)
        bump.reshape(-1)[4] = 1.0
        return 2 * g * x + bump


class ScaleUniformOnly(tc.Function):
    """2x whose backward is only right when every upstream gradient is the same."""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return np.full(g.shape, 2 * g.mean())


class ExpFirstOrderOnly(tc.Function):
    """e^x whose backward leaves the graph (ndarray math), so its second derivative is lost."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * np.asarray(out)


def test_gradcheck_passes_a_right_gradient_and_reports_small_differences():
    result = tc.gradcheck(Square.apply, [f64([[1.0, -2.0, 0.5], [3.0, 0.1, -0.7]])])
    assert result.passed and bool(result)
    assert result.inputs[0].difference < 1e-7
    assert "fine" in result.report()


def test_gradcheck_error_names_the_input_the_worst_element_and_both_values():
    x = f64(np.arange(6.0).reshape(2, 3) + 1)
    fn = lambda a, b: a * SquareWrongAt.apply(b)  # noqa: E731
    with pytest.raises(tc.GradcheckError) as err:
        tc.gradcheck(fn, [f64([1.0]), x])
    check = tc.gradcheck(fn, [f64([1.0]), x], raise_exception=False).inputs[1]
    assert check.worst_index == (1, 1)
    assert check.analytic - check.numeric == pytest.approx(1.0, abs=1e-6)  # the planted bump
    msg = str(err.value)
    assert "input 1 (2, 3)" in msg and "FAILED" in msg and "worst element (1, 1)" in msg
    assert f"autograd {check.analytic:.8g}" in msg and f"numerical {check.numeric:.8g}" in msg


def test_gradcheck_without_raising_returns_a_failed_result():
    result = tc.gradcheck(SquareWrongAt.apply, [f64(np.ones(5))], raise_exception=False)
    assert not result.passed and not result
    assert "FAILED" in result.report() and result.inputs[0].worst_index == (4,)


def test_a_random_non_uniform_upstream_gradient_catches_a_rule_right_only_for_ones():
    x = f64(np.linspace(-1, 1, 6))
    ScaleUniformOnly.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2.0)  # looks right with an all-ones upstream
    with pytest.raises(tc.GradcheckError):
        tc.gradcheck(ScaleUniformOnly.apply, [x])


def test_fast_directional_mode_passes_right_and_catches_wrong_gradients():
    x = f64(np.linspace(-2, 2, 40).reshape(5, 8))
    assert tc.gradcheck(lambda t: tc.tanh(t) @ t.T, [x], fast=True).passed
    with pytest.raises(tc.GradcheckError, match="direction"):
        tc.gradcheck(SquareWrongAt.apply, [x], fast=True)


def test_gradcheck_runs_in_float64_even_for_float32_inputs():
    x = tc.tensor([0.3, -1.2, 2.0], requires_grad=True)
    assert tc.gradcheck(lambda t: tc.exp(t) * tc.sigmoid(t), [x]).passed
    assert x.dtype == np.float32 and x.grad is None


def test_gradcheck_skips_inputs_without_requires_grad_and_non_tensors():
    result = tc.gradcheck(lambda a, b, k: a * b * k, [f64([1.0, 2.0]), f64([3.0, 4.0], False), 2.0])
    assert [c.index for c in result.inputs] == [0]


def test_gradcheck_of_an_unused_input_expects_a_zero_gradient():
    assert tc.gradcheck(lambda a, b: a * 2, [f64([1.0]), f64([2.0])]).passed


def test_gradgradcheck_passes_right_and_catches_lost_second_derivatives():
    x = f64([0.5, -1.5, 2.0])
    assert tc.gradgradcheck(tc.exp, [x]).passed
    assert tc.gradcheck(ExpFirstOrderOnly.apply, [x]).passed
    with pytest.raises(tc.GradcheckError):
        tc.gradgradcheck(ExpFirstOrderOnly.apply, [x])


@given(tensors(shape=(4,), elements=st.floats(-5, 5)), tensors(shape=(4,), elements=st.floats(-5, 5)))
def test_relative_difference_is_the_course_formula(g, h):
    a, b = g.data, h.data
    den = np.linalg.norm(a) + np.linalg.norm(b)
    expected = 0.0 if den == 0 else np.linalg.norm(a - b) / den
    assert relative_difference(a, b) == pytest.approx(expected)
    assert 0.0 <= relative_difference(a, b) <= 1.0 + 1e-12
    assert relative_difference(a, a) == 0.0


@pytest.mark.parametrize("diff, word", [(1e-9, "fine"), (1e-6, "look closer"),
                                        (1e-4, "suspicious"), (1e-2, "bug")])
def test_verdict_reads_the_difference_in_the_course_words(diff, word):
    assert word in verdict(diff)
