"""tc.jit replays a backward of the package's ops as a fixed schedule (jit._Backward._schedule):
each node's bound backward (Lowered.bind) reads its gradient from a buffer and writes its inputs'
gradients into buffers and the leaves' homes, with nothing routed at replay. Wherever it cannot
apply (a gradient to add to, a kept .grad in an optimizer's home, a broadcast) the replay routes
gradients as eager does; either way the bits are eager's."""
import importlib

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.nn import functional as F

from jit_helpers import assert_same, compare

jit_module = importlib.import_module("tinygrad_course.jit")
RNG = np.random.default_rng(5)
CALLS = [(tc.Tensor(RNG.standard_normal((6, 4)).astype(np.float32)),
          tc.Tensor(RNG.integers(0, 3, 6))) for _ in range(5)]


def backward_plans(jitted) -> list:
    return [e for entries in jitted.cache.values() for entry in entries for e in entry.events
            if isinstance(e, jit_module._Backward)]


def trained(forward):
    """A training step (Adam) around forward(model, x) -> logits."""
    def make_step(model):
        opt = optim.Adam(model.parameters(), lr=0.05)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(forward(model, x), y)
            loss.backward()
            opt.step()
            return loss
        return step
    return make_step


class TwoHeads(nn.Module):
    """h feeds two layers whose outputs are added: h's gradient has two senders."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 5), nn.Linear(5, 3), nn.Linear(5, 3)

    def forward(self, x):
        h = self.a(x).tanh()
        return self.b(h) + self.c(h)


class Gated(nn.Module):
    """Two layers multiplied: Mul writes two gradients of one shape while a buffer of that shape
    is free to be used again (a schedule that handed it out twice would be wrong here)."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(4, 5), nn.Linear(4, 5), nn.Linear(5, 3)

    def forward(self, x):
        return self.c((self.a(x) * self.b(x)).relu())


@pytest.mark.parametrize("forward, model", [
    (lambda m, x: m(x), lambda: nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 6),
                                              nn.Tanh(), nn.Linear(6, 3))),
    (lambda m, x: m(x), TwoHeads),
    (lambda m, x: m(x), Gated),
    (lambda m, x: (lambda h: h * h.tanh())(m[0](x)), lambda: nn.Sequential(nn.Linear(4, 3))),
    (lambda m, x: m[1](m[0](x) * m[0](x)), lambda: nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 3))),
])
def test_a_fixed_schedule_gives_eager_bits(forward, model):
    assert_same(compare(trained(forward), CALLS, model))


def test_the_package_ops_record_a_fixed_schedule_and_a_broadcast_does_not():
    model = TwoHeads()
    opt = optim.Adam(model.parameters(), lr=0.05)
    bias = tc.Tensor(np.ones(3, np.float32), requires_grad=True)

    def step(x, y, broadcast):
        opt.zero_grad()
        logits = model(x) * bias if broadcast else model(x)
        F.cross_entropy(logits, y).backward()
        opt.step()
    f = tc.jit(step)
    for broadcast in (False, True):
        f(*CALLS[0], broadcast)
    plain, broadcast = backward_plans(f)
    assert plain._schedule({}) is not None
    assert broadcast._schedule({}) is None  # (bias's gradient is summed over the rows)


def test_an_input_gradient_kept_from_one_replay_never_changes():
    w = tc.Tensor(RNG.standard_normal((3, 4)).astype(np.float32))

    def step(x):
        (x.tanh() * w).sum().backward()

    f = tc.jit(step)
    x = tc.Tensor(w.data, requires_grad=True)
    kept = []
    for _ in range(4):
        x.grad = None
        f(x)
        kept.append((x.grad, x.grad.data.copy(), x.grad.data[1:]))
    eager = tc.Tensor(w.data, requires_grad=True)
    step(eager)
    for grad, values, rows in kept:  # each kept .grad (and a view of one) is as it was given
        assert np.array_equal(grad.data, values) and np.array_equal(rows, values[1:])
        assert np.array_equal(values, eager.grad.data)
    assert len({id(grad.data) for grad, _, _ in kept}) == 4
    assert backward_plans(f)[0]._schedule({}) is not None


def test_a_gradient_the_user_let_go_of_is_written_again():
    """The leaves' own homes are reused once no .grad holds them (no allocation per replay)."""
    x = tc.Tensor(RNG.standard_normal(5).astype(np.float32), requires_grad=True)
    f = tc.jit(lambda x: (x * x.tanh()).sum().backward())
    seen = set()
    for _ in range(4):
        x.grad = None
        f(x)
        seen.add(id(x.grad.data.base))
    assert len(seen) <= 2  # (the recording's own, then the schedule's)


def test_gradients_accumulate_across_replays_and_backwards_as_in_eager():
    def make_step(model):
        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            loss.backward()  # (no zero_grad: the first replay adds to the recording's gradients)
            F.cross_entropy(model(x * 2.0), y).backward()  # (adds to the first backward's)
            return loss
        return step
    assert_same(compare(make_step, CALLS, lambda: nn.Sequential(nn.Linear(4, 5), nn.Tanh(),
                                                                nn.Linear(5, 3))))


def test_an_input_gradient_accumulates_across_replays_as_in_eager():
    def step(x):  # (x reaches the sum three times: its gradients add up in eager's order)
        (x * x.tanh() * x).sum().backward()

    grads = []
    for f in (step, tc.jit(step)):
        x = tc.Tensor(np.linspace(-1, 1, 6, dtype=np.float32), requires_grad=True)
        for _ in range(3):
            f(x)
        grads.append(x.grad.data.copy())
    assert np.array_equal(*grads)


def test_ignored_and_later_labels_replay_as_eager():
    """cross_entropy's kernel runs the op's own functions for a batch with ignore_index (-100)
    rows; its bound backward then copies the op's gradient."""
    labels = [np.array([0, 1, 2, 1, 0, 2]), np.array([0, -100, 2, 1, -100, 2]),
              np.array([1, 1, 2, 0, 0, 2])]
    calls = [(CALLS[i][0], tc.Tensor(y)) for i, y in enumerate(labels)]
    assert_same(compare(trained(lambda m, x: m(x)), calls,
                        lambda: nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))))


def test_a_kept_parameter_gradient_sends_the_replay_back_to_routing():
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    twin = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    twin.load_state_dict(model.state_dict())
    runs = []
    for m, use_jit in ((model, True), (twin, False)):
        opt = optim.Momentum(m.parameters(), lr=0.1, beta=0.9)

        def step(x, y, m=m, opt=opt):
            opt.zero_grad()
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
            return loss
        f = tc.jit(step) if use_jit else step
        kept = []
        for x, y in CALLS:
            f(x, y)
            kept.append((m[0].weight.grad, m[0].weight.grad.data.copy()))
        for grad, values in kept:
            assert np.array_equal(grad.data, values)
        runs.append([v for _, v in kept] + [p.data.copy() for p in m.parameters()])
    for a, b in zip(*runs):
        assert np.array_equal(a, b)
