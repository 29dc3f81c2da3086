"""Properties every op must have: backward is linear in the upstream gradient, inputs are never
mutated, gradients never alias each other or the upstream gradient; softmax rows sum to 1;
activations stay finite at |x| = 1e4."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.testing import (broadcastable_shapes, domains, shapes, tensors,
                                     upstream_gradients)

SMALL = dict(max_dims=3, max_side=4)
MATMUL = broadcastable_shapes(2, max_dims=2, max_side=3, signature=np.matmul.signature)

# name: (fn, shape strategy giving one shape per input, domain)
OPS = {
    "add": (lambda a, b: a + b, broadcastable_shapes(2, **SMALL), None),
    "sub": (lambda a, b: a - b, broadcastable_shapes(2, **SMALL), None),
    "mul": (lambda a, b: a * b, broadcastable_shapes(2, **SMALL), None),
    "div": (lambda a, b: a / b, broadcastable_shapes(2, **SMALL), "div"),
    "pow": (lambda a, b: a ** b, broadcastable_shapes(2, **SMALL), "pow"),
    "maximum": (tc.maximum, broadcastable_shapes(2, **SMALL), "maximum"),
    "minimum": (tc.minimum, broadcastable_shapes(2, **SMALL), "minimum"),
    "neg": (lambda x: -x, shapes(**SMALL).map(lambda s: (s,)), None),
    "abs": (tc.abs, shapes(**SMALL).map(lambda s: (s,)), "abs"),
    "sqrt": (tc.sqrt, shapes(**SMALL).map(lambda s: (s,)), "sqrt"),
    "exp": (tc.exp, shapes(**SMALL).map(lambda s: (s,)), "exp"),
    "log": (tc.log, shapes(**SMALL).map(lambda s: (s,)), "log"),
    "clip": (lambda x: tc.clip(x, -1.0, 1.0), shapes(**SMALL).map(lambda s: (s,)), "clip"),
    "relu": (tc.relu, shapes(**SMALL).map(lambda s: (s,)), "relu"),
    "leaky_relu": (tc.leaky_relu, shapes(**SMALL).map(lambda s: (s,)), "relu"),
    "sigmoid": (tc.sigmoid, shapes(**SMALL).map(lambda s: (s,)), None),
    "tanh": (tc.tanh, shapes(**SMALL).map(lambda s: (s,)), None),
    "softmax": (tc.softmax, shapes(min_dims=1, **SMALL).map(lambda s: (s,)), None),
    "log_softmax": (tc.log_softmax, shapes(min_dims=1, **SMALL).map(lambda s: (s,)), None),
    "logsumexp": (lambda x: tc.logsumexp(x, axis=-1), shapes(min_dims=1, **SMALL).map(lambda s: (s,)), None),
    "sum": (lambda x: x.sum(axis=0, keepdims=True), shapes(min_dims=1, **SMALL).map(lambda s: (s,)), None),
    "mean": (lambda x: x.mean(), shapes(**SMALL).map(lambda s: (s,)), None),
    "max": (lambda x: x.max(axis=-1), shapes(min_dims=1, **SMALL).map(lambda s: (s,)), "max"),
    "min": (lambda x: x.min(), shapes(**SMALL).map(lambda s: (s,)), "min"),
    "var": (lambda x: x.var(axis=0), shapes(min_dims=1, **SMALL).map(lambda s: (s,)), None),
    "reshape": (lambda x: x.reshape(-1), shapes(**SMALL).map(lambda s: (s,)), None),
    "transpose": (lambda x: x.T, shapes(**SMALL).map(lambda s: (s,)), None),
    "broadcast_to": (lambda x: tc.broadcast_to(x, (2,) + x.shape), shapes(**SMALL).map(lambda s: (s,)), None),
    "getitem": (lambda x: x[np.array([0, 0, -1])], shapes(min_dims=1, **SMALL).map(lambda s: (s,)), None),
    "concatenate": (lambda a, b: tc.concatenate([a, b, a]), shapes(min_dims=1, **SMALL).map(lambda s: (s, s)), None),
    "where": (lambda a, b: tc.where(a.data > 0, a, b), broadcastable_shapes(2, **SMALL), None),
    "pad": (lambda x: tc.pad(x, 1), shapes(min_dims=1, **SMALL).map(lambda s: (s,)), None),
    "matmul": (lambda a, b: a @ b, MATMUL, None),
    "linear": (lambda x, w: tc.linear(x, w, w[:, 0]), st.just(((3, 2), (4, 2))), None),
}


@st.composite
def op_case(draw, name):
    """The op's inputs (float64 leaves requiring grad, strided views included) and the output."""
    fn, shape_strategy, domain = OPS[name]
    shps = draw(shape_strategy)
    dom = domains[domain] if domain else domains["default"]
    xs = [draw(tensors(s, requires_grad=True, domain=domain)) for s in shps]
    dom.separate([x.data for x in xs])
    return fn, xs


def grads(fn, xs, upstream):
    out = fn(*xs)
    return [g.data for g in tc.grad(out, xs, grad_outputs=[upstream], allow_unused=True)]


@pytest.mark.parametrize("name", OPS)
@given(data=st.data())
def test_backward_is_linear_in_the_upstream_gradient(name, data):
    fn, xs = data.draw(op_case(name))
    shape = fn(*xs).shape
    u, v = data.draw(upstream_gradients(shape)), data.draw(upstream_gradients(shape))
    a, b = data.draw(st.floats(-2, 2)), data.draw(st.floats(-2, 2))
    combined = grads(fn, xs, tc.Tensor(a * u.data + b * v.data))
    for gc, gu, gv in zip(combined, grads(fn, xs, u), grads(fn, xs, v)):
        np.testing.assert_allclose(gc, a * gu + b * gv, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", OPS)
@given(data=st.data())
def test_inputs_are_never_mutated_and_gradients_never_alias(name, data):
    fn, xs = data.draw(op_case(name))
    before = [x.data.copy() for x in xs]
    out = fn(*xs)
    upstream = data.draw(upstream_gradients(out.shape))
    kept = upstream.data.copy()
    out.backward(upstream)
    for x, b in zip(xs, before):
        np.testing.assert_array_equal(x.data, b)
    np.testing.assert_array_equal(upstream.data, kept)
    arrays = [x.grad.data for x in xs if x.grad is not None] + [upstream.data]
    for i, a in enumerate(arrays):
        assert type(a) is np.ndarray and a.flags.writeable
        for b in arrays[i + 1:] + [x.data for x in xs]:
            assert not np.shares_memory(a, b)


def test_the_same_tensor_twice_gets_its_own_gradient_array():
    x = tc.tensor(np.ones(3), requires_grad=True)
    y = tc.tensor(np.ones(3), requires_grad=True)
    g = np.array([1.0, 2.0, 3.0])
    (x + y).backward(g)
    assert not np.shares_memory(x.grad.data, y.grad.data)
    x.grad.data[0] = 99.0
    assert y.grad.data[0] == 1.0 and g[0] == 1.0


@given(tensors(shape=shapes(min_dims=1), elements=st.floats(-50, 50)), st.data())
def test_softmax_rows_sum_to_one_along_any_axis(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    s = tc.softmax(x, axis=axis).data
    assert np.all(s >= 0)
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(tc.log_softmax(x, axis=axis).data).sum(axis=axis), 1.0, rtol=1e-12)


@given(tensors(shape=(2, 3), dtype=np.float32, elements=st.floats(-30, 30, width=32)))
def test_softmax_rows_sum_to_one_in_float32(x):
    np.testing.assert_allclose(tc.softmax(x).data.sum(axis=-1), 1.0, rtol=1e-6)


EXTREME = [1e4, -1e4]
STABLE = {
    "sigmoid": tc.sigmoid,
    "tanh": tc.tanh,
    "softmax": lambda x: tc.softmax(x, axis=-1),
    "log_softmax": lambda x: tc.log_softmax(x, axis=-1),
    "logsumexp": lambda x: tc.logsumexp(x, axis=-1),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", STABLE)
@given(signs=st.lists(st.sampled_from(EXTREME + [0.0, 1.0]), min_size=1, max_size=5))
def test_activations_stay_finite_at_extreme_inputs(name, dtype, signs):
    x = tc.tensor(np.array(signs, dtype=dtype), requires_grad=True)
    y = STABLE[name](x)
    assert np.all(np.isfinite(y.data)), y
    y.backward(tc.ones_like(y))
    assert np.all(np.isfinite(x.grad.data)), x.grad


def test_extreme_values_by_hand():
    x = tc.tensor(np.array([1e4, -1e4, 0.0]), requires_grad=True)
    np.testing.assert_allclose(tc.sigmoid(x).data, [1.0, 0.0, 0.5])
    np.testing.assert_allclose(tc.softmax(x).data, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(tc.log_softmax(x).data, [0.0, -2e4, -1e4])
    assert tc.logsumexp(x).item() == pytest.approx(1e4)
    np.testing.assert_allclose(tc.tanh(x).data, [1.0, -1.0, 0.0])
