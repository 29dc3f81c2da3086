"""The replay kernels tc.jit runs instead of the hot ops' own functions (lowering.py): the same
results bit for bit, the same buffers at every call, and no array a user holds written again."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.lowering import lower
from tinygrad_course.nn import functional as F
from tinygrad_course.nn.loss_functions import SoftmaxCrossEntropy
from tinygrad_course.ops.activations import ReLU, Tanh
from tinygrad_course.ops.elementwise import Add, Mul
from tinygrad_course.ops.linalg import Linear
from tinygrad_course.ops.reductions import SumAll


def _node(cls, needs):
    ctx = object.__new__(cls)
    ctx.saved, ctx.needs_input_grad = (), needs
    return ctx


def _bits(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _same_as_the_op(cls, needs, calls):
    """Each call's (args, upstream gradient): the lowered kernels against the op's own."""
    first_args, _ = calls[0]
    recorded = _node(cls, needs)
    kernels = lower(recorded, first_args, {}, np.asarray(cls.forward(recorded, *first_args)))
    assert kernels is not None
    outputs = []
    for args, g in calls:
        own = _node(cls, needs)
        want_out = cls.forward(own, *args)
        want = cls.backward(own, g)
        got_out = kernels.forward(recorded, *args)
        got = kernels.backward(recorded, g)
        want, got = (w if isinstance(w, tuple) else (w,) for w in (want, got))
        assert _bits(got_out, want_out)
        assert all(_bits(a, b) for a, b in zip(got, want))
        outputs.append(got_out)
    return outputs


def _arrays(rng, *shapes, dtype=np.float32):
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


@settings(max_examples=20)
@given(m=st.integers(1, 6), k=st.integers(1, 5), n=st.integers(1, 5), bias=st.booleans(),
       needs_x=st.booleans(), seed=st.integers(0, 2**16))
def test_linear_kernels_equal_the_op_bit_for_bit(m, k, n, bias, needs_x, seed):
    rng = np.random.default_rng(seed)
    calls = []
    for _ in range(2):
        x, w, b, g = _arrays(rng, (m, k), (n, k), (n,), (m, n))
        calls.append(([x, w, b if bias else None], g))
    outs = _same_as_the_op(Linear, (needs_x, True, bias), calls)
    assert outs[0] is outs[1]  # the same buffer, written again


@settings(max_examples=20)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       op=st.sampled_from([ReLU, Tanh]), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**16))
def test_activation_kernels_equal_the_op_bit_for_bit(shape, op, dtype, seed):
    rng = np.random.default_rng(seed)
    calls = [([x], g) for x, g in (_arrays(rng, shape, shape, dtype=dtype) for _ in range(2))]
    _same_as_the_op(op, (True,), calls)


@settings(max_examples=20)
@given(shapes=st.sampled_from([((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1))]),
       op=st.sampled_from([Add, Mul]), needs=st.sampled_from([(True, True), (True, False)]),
       seed=st.integers(0, 2**16))
def test_add_and_mul_kernels_equal_the_op_bit_for_bit(shapes, op, needs, seed):
    rng = np.random.default_rng(seed)
    out_shape = np.broadcast_shapes(*shapes)
    calls = []
    for _ in range(2):
        x, y, g = _arrays(rng, *shapes, out_shape)
        calls.append(([x, y], g))
    _same_as_the_op(op, needs, calls)


def test_sum_kernels_equal_the_op_bit_for_bit():
    rng = np.random.default_rng(0)
    calls = [([x], np.array(1.5, np.float32)) for x in _arrays(rng, (3, 5), (3, 5))]
    _same_as_the_op(SumAll, (True,), calls)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_kernels_equal_the_op_and_run_it_for_an_ignored_label(reduction):
    rng = np.random.default_rng(1)
    calls = []
    for labels in ([0, 2, 1, 3], [3, 3, 0, 1], [0, -100, 2, 1], [1, 0, 0, 2]):
        z = rng.standard_normal((4, 4)).astype(np.float32) * 5
        calls.append(([z, None, np.array(labels), reduction], np.array(1.0, np.float32)))
    _same_as_the_op(SoftmaxCrossEntropy, (True, False, False, False), calls)


@settings(max_examples=30)
@given(m=st.sampled_from([1, 5, 64, 300]), c=st.integers(2, 20),
       dtype=st.sampled_from([np.float16, np.float32, np.float64]), seed=st.integers(0, 99))
def test_row_max_and_sum_by_columns_give_numpy_reductions_bits(m, c, dtype, seed):
    # Rows of few classes go column by column (faster there); the bits must be NumPy's own.
    from tinygrad_course.nn.loss_functions import _row_max, _row_sum
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((m, c)) * 10).astype(dtype)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    assert _bits(_row_max(z, np.empty((m, 1), dtype)), z.max(axis=1, keepdims=True))
    total = p.sum(axis=1, keepdims=True)
    assert _bits(_row_sum(p, np.empty((m, 1), dtype)), total)


@pytest.mark.parametrize("m, c", [(300, 3), (400, 10), (64, 10), (8, 2)])
def test_cross_entropy_kernels_equal_the_op_for_narrow_and_wide_rows(m, c):
    rng = np.random.default_rng(2)
    calls = [([rng.standard_normal((m, c)).astype(np.float32) * 3, None,
               rng.integers(0, c, m), "mean"], np.array(1.0, np.float32)) for _ in range(2)]
    _same_as_the_op(SoftmaxCrossEntropy, (True, False, False, False), calls)


def test_a_gradient_held_by_someone_is_not_written_again():
    rng = np.random.default_rng(2)
    x, w, b, g = _arrays(rng, (3, 2), (4, 2), (4,), (3, 4))
    ctx = _node(Linear, (True, True, True))
    kernels = lower(ctx, [x, w, b], {}, Linear.forward(ctx, x, w, b))
    kernels.forward(ctx, x, w, b)
    kept = kernels.backward(ctx, g)[1]  # dW, as a .grad a user keeps
    value = kept.copy()
    kernels.forward(ctx, x, w, b)
    again = kernels.backward(ctx, g * 2)[1]
    assert again is not kept and np.array_equal(kept, value)
    buffer = id(again)
    del kept, again
    assert id(kernels.backward(ctx, g)[1]) == buffer  # nothing holds it now: written again


def _mlp_step():
    tc.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)

    def step(x, y):
        opt.zero_grad()
        logits = model(x)
        F.cross_entropy(logits, y).backward()
        opt.step()
        return logits
    return model, step


def test_a_returned_output_of_a_lowered_op_is_not_overwritten_by_the_next_call():
    rng = np.random.default_rng(3)
    model, step = _mlp_step()
    step = tc.jit(step)
    y = tc.Tensor(np.array([0, 1, 2, 1]))
    results = [step(tc.Tensor(rng.standard_normal((4, 3)).astype(np.float32)), y) for _ in range(3)]
    copies = [r.data.copy() for r in results]
    step(tc.Tensor(rng.standard_normal((4, 3)).astype(np.float32)), y)
    assert all(np.array_equal(r.data, c) for r, c in zip(results, copies))
    assert len({id(r.data) for r in results}) == 3


def test_gradients_kept_across_replays_keep_their_values():
    rng = np.random.default_rng(4)
    xs = [tc.Tensor(rng.standard_normal((4, 3)).astype(np.float32)) for _ in range(4)]
    y = tc.Tensor(np.array([0, 1, 2, 1]))
    kept = {}
    for use_jit in (False, True):
        model, step = _mlp_step()
        step = tc.jit(step) if use_jit else step
        grads = []
        for x in xs:
            step(x, y)
            grads.append([p.grad for p in model.parameters()])  # as a user logging them would
        kept[use_jit] = [[g.data.copy() for g in gs] for gs in grads]
        assert all(np.array_equal(g.data, c) for gs, cs in zip(grads, kept[use_jit])
                   for g, c in zip(gs, cs))
    assert all(np.array_equal(a, b) for ga, gb in zip(kept[False], kept[True]) for a, b in zip(ga, gb))


def test_a_jitted_step_keeps_about_its_activations_and_no_buffers_for_passed_on_gradients():
    import gc
    import tracemalloc
    rng = np.random.default_rng(5)
    x = tc.Tensor(rng.standard_normal((64, 64)).astype(np.float32))
    y = tc.Tensor(rng.integers(0, 4, 64))

    def kept_by(use_jit):
        tc.manual_seed(0)
        layers = [m for _ in range(4) for m in (nn.Linear(64, 64), nn.Tanh())] + [nn.Linear(64, 4)]
        model = nn.Sequential(*layers)
        opt = optim.Momentum(model.parameters(), lr=0.01)

        def step(x, y):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        step = tc.jit(step) if use_jit else step
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(3):
                step(x, y)
            gc.collect()
            return tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    activations = 8 * 64 * 64 * 4  # 4 linear and 4 tanh outputs of 64 x 64 float32
    # Both keep .grad and the optimizer's state; eager also keeps its gathered copy of the
    # gradients in the optimizer's flat buffer, where the jitted step's .grad live (grad_homes).
    gradients = (4 * (64 * 64 + 64) + 64 * 4 + 4) * 4
    extra = kept_by(True) - kept_by(False)
    assert activations - gradients <= extra < 1.5 * activations, extra


def test_a_model_made_float64_between_calls_records_again_as_eager():
    # The kernels' buffers are float32; float64 weights must not be cast down into them.
    rng = np.random.default_rng(6)
    x = tc.Tensor(rng.standard_normal((4, 3)))  # float64 data, for the float64 model
    y = tc.Tensor(np.array([0, 1, 2, 1]))
    results = {}
    for use_jit in (False, True):
        model, step = _mlp_step()
        step = tc.jit(step) if use_jit else step
        step(tc.Tensor(x.data.astype(np.float32)), y)
        model.to(np.float64)
        out = step(x, y)
        results[use_jit] = (out.data, [p.data.copy() for p in model.parameters()])
    (eager, we), (jitted, wj) = results[False], results[True]
    assert _bits(eager, jitted) and eager.dtype == np.float64
    assert all(_bits(a, b) for a, b in zip(we, wj))


def test_a_weight_replaced_by_float64_between_calls_records_again_as_eager():
    rng = np.random.default_rng(7)
    x = tc.Tensor(rng.standard_normal((8, 4)).astype(np.float32))
    y = tc.Tensor(rng.integers(0, 3, 8))
    results = {}
    for use_jit in (False, True):
        w = tc.Tensor(np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32),
                      requires_grad=True)

        def step(x, y):
            loss = F.cross_entropy(tc.linear(x, w).tanh(), y)
            loss.backward()
            return loss
        step = tc.jit(step) if use_jit else step
        step(x, y)
        w.data, w.grad = w.data.astype(np.float64), None
        results[use_jit] = (step(x, y).data, w.grad.data)
    (eager, ge), (jitted, gj) = results[False], results[True]
    assert _bits(eager, jitted) and eager.dtype == np.float64 and _bits(ge, gj)
