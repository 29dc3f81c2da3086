"""tc.jit binds the parameters' arrays and the replay kernels' own buffers into the kernels
when it compiles a record (no lookups at each replay). These are the ways a parameter's array
can be replaced behind that binding; each must replay as eager does, bit for bit."""
import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.nn import functional as F

from jit_helpers import assert_same, compare

RNG = np.random.default_rng(11)
CALLS = [(tc.Tensor(RNG.standard_normal((6, 4)).astype(np.float32)),
          tc.Tensor(RNG.integers(0, 3, 6))) for _ in range(6)]


def mlp():
    return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))


def training(model, evaluate=False, replace=None):
    opt = optim.Momentum(model.parameters(), lr=0.1, beta=0.9)

    @tc.jit.replayed
    def swap_arrays():  # a @replayed call that gives a parameter a new array inside the step
        w = model[2].weight
        w.data = w.data * np.float32(0.5)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if replace:
            swap_arrays()
        if evaluate:  # kernels after the calls read the parameters as the calls left them
            with tc.no_grad():
                return loss, model(x)
        return loss
    return step


def _new_arrays(model, i):
    # p.data = a new array of the same shape and dtype between calls (a user's reset, a load
    # into new arrays): the record stays valid, its kernels must read the new arrays.
    if i in (2, 4):
        for p in model.parameters():
            p.data = (p.data * np.float32(0.9)).copy()


def _new_dtype(model, i):
    if i == 3:
        model.to(np.float64)


@pytest.mark.parametrize("evaluate", [False, True])
@pytest.mark.parametrize("between", [_new_arrays, _new_dtype])
def test_a_parameter_given_a_new_array_between_calls_replays_as_eager(between, evaluate):
    assert_same(compare(lambda m: training(m, evaluate), CALLS, mlp, between))


@pytest.mark.parametrize("evaluate", [False, True])
def test_a_replayed_call_that_replaces_an_array_inside_the_step_replays_as_eager(evaluate):
    assert_same(compare(lambda m: training(m, evaluate, replace=True), CALLS, mlp))


def test_a_replay_reads_a_new_array_and_records_no_more_than_once():
    model = mlp()
    f = tc.jit(training(model))
    for i, (x, y) in enumerate(CALLS):
        _new_arrays(model, i)
        f(x, y)
    assert f.recordings == 1


def test_a_gradient_kept_from_one_replay_is_not_written_by_the_next():
    # The leaves take the replay kernels' gradient buffers as their .grad; a buffer still held
    # outside (a .grad kept for plotting) is never written again.
    model = mlp()
    f = tc.jit(training(model))
    kept = []
    for x, y in CALLS:
        f(x, y)
        kept.append((model[0].weight.grad, model[0].weight.grad.data.copy()))
    for grad, values in kept:
        assert np.array_equal(grad.data, values)
    assert len({id(g.data) for g, _ in kept}) == len(kept)


@pytest.mark.parametrize("opt", [lambda ps: optim.Adam(ps, lr=0.1),
                                 lambda ps: optim.SGD(ps, lr=0.1)])
def test_a_parameter_read_through_detach_in_the_step_replays_as_eager(opt):
    # w.detach() (a stop-gradient on a weight: a penalty, a target) wraps the parameter's array;
    # the optimizer's first step may move that array into its flat buffer while the step is
    # recorded, so the replay must read the parameter, not the array detach() wrapped then.
    def make_step(model):
        o = opt(model.parameters())

        def step(x, y):
            o.zero_grad()
            w = model[0].weight
            loss = F.cross_entropy(model(x), y) + ((w - w.detach() * 0.5) ** 2).sum()
            loss.backward()
            o.step()
            return loss
        return step
    assert_same(compare(make_step, CALLS, mlp))


class _PassThrough(tc.Function):
    """z = x + y with a backward that hands g itself to both inputs (as Add's does)."""

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, g):
        return g, g


def test_a_custom_replay_kernel_makes_no_promise_unless_it_says_so():
    # A user's rule that says nothing of `out` or `fresh`: tc.jit must not bind its output nor
    # hand the one gradient array to both leaves as their .grad.
    from tinygrad_course.lowering import Lowered, lowering

    @lowering(_PassThrough)
    def _kernels(ctx, args, out):
        z = np.empty_like(out)
        return Lowered(lambda ctx, x, y: np.add(x, y, z), _PassThrough.backward)

    a, b = (tc.Tensor(np.ones(3, np.float32), requires_grad=True) for _ in range(2))

    @tc.jit
    def step(x):
        (_PassThrough.apply(a, b) * x).sum().backward()

    for i in range(3):
        a.grad = b.grad = None  # (outside: a replay does not run the step's Python)
        step(tc.Tensor(np.full(3, i + 1.0, np.float32)))
        assert a.grad.data is not b.grad.data
        np.testing.assert_array_equal(a.grad.data, np.full(3, i + 1.0, np.float32))
        a.grad.data[...] = 0  # b's gradient is its own
        np.testing.assert_array_equal(b.grad.data, np.full(3, i + 1.0, np.float32))


def test_a_replayed_call_that_calls_the_same_jitted_step_runs_it_eagerly():
    # A @replayed call that calls the same jitted step (only at replays: while recording that
    # is refused) would replay into the buffers the outer replay is using: it runs eagerly, and
    # the outer replay keeps its inputs and its kernels' outputs.
    w = tc.Tensor(np.ones(3, np.float32), requires_grad=True)
    inner = {"on": False, "x": tc.Tensor(np.full(3, 100.0, np.float32)), "out": None}

    @tc.jit.replayed
    def maybe_again():
        if inner["on"]:
            inner["on"] = False
            inner["out"] = f(inner["x"])

    def step(x):
        h = (x * w).tanh()
        maybe_again()
        return (h + x * w).sum()
    f = tc.jit(step)
    for i in range(3):
        x = tc.Tensor(np.full(3, 0.1 * (i + 1), np.float32))
        inner["on"] = i == 2
        out = f(x)
        expected = (np.tanh(x.data) + x.data).sum()
        np.testing.assert_allclose(out.item(), expected, rtol=1e-6)
    np.testing.assert_allclose(inner["out"].item(), (np.tanh(100.0) + 100.0) * 3, rtol=1e-6)
    assert f.recordings == 1
