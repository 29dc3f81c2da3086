"""tc.jit writes the gradients a fused optimizer step reads straight into the optimizer's flat
gradient buffer (Optimizer.grad_homes, lowering.GradHome), so the step gathers nothing. Each
way a gradient can be kept, accumulated, decayed or read must still give eager's bits, and a
gradient held outside the step must never change under its holder."""
import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.nn import functional as F

from jit_helpers import assert_same, compare

RNG = np.random.default_rng(17)
CALLS = [(tc.Tensor(RNG.standard_normal((8, 4)).astype(np.float32)),
          tc.Tensor(RNG.integers(0, 3, 8))) for _ in range(6)]
SMALL = [(tc.Tensor(RNG.standard_normal((5, 4)).astype(np.float32)),
          tc.Tensor(RNG.integers(0, 3, 5))) for _ in range(2)]
OPTIMIZERS = {
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "momentum": lambda p: optim.Momentum(p, lr=0.1, beta=0.9),
    "adam_l2": lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1),
    "momentum_l2": lambda p: optim.Momentum(p, lr=0.1, beta=0.9, weight_decay=0.1),
    "adamw": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
}


def mlp():
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))


def training(make_opt, zero_every: int = 1):
    """A training step; the gradients are zeroed at every `zero_every`-th call only (the others
    accumulate), and the optimizer steps at those calls."""
    def make_step(model):
        opt = make_opt(model.parameters())
        calls = [0]

        @tc.jit.replayed
        def maybe_zero():
            if calls[0] % zero_every == 0:
                opt.zero_grad()

        @tc.jit.replayed
        def maybe_step():
            calls[0] += 1
            if calls[0] % zero_every == 0:
                opt.step()

        def step(x, y):
            maybe_zero()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            maybe_step()
            return loss
        step.opt = opt
        return step
    return make_step


def _homes_in_use(model, opt) -> bool:
    flats = [b.grad for plan in opt._plans for b in plan.buckets]
    return all(any(p.grad.data.base is f for f in flats) for p in model.parameters())


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_replays_write_the_gradients_into_the_flat_buffer_and_equal_eager(opt):
    assert_same(compare(training(OPTIMIZERS[opt]), CALLS, mlp))
    model = mlp()
    step = training(OPTIMIZERS[opt])(model)
    f = tc.jit(step)
    for args in CALLS:
        f(*args)
    assert _homes_in_use(model, step.opt)


@pytest.mark.parametrize("opt", ["adam", "momentum_l2"])
def test_accumulated_gradients_in_the_flat_buffer_add_as_eager(opt):
    assert_same(compare(training(OPTIMIZERS[opt], zero_every=2), CALLS, mlp))


@pytest.mark.parametrize("opt", ["momentum", "adam_l2"])
def test_two_batch_sizes_share_the_homes_and_equal_eager(opt):
    calls = [CALLS[0], SMALL[0], CALLS[1], CALLS[2], SMALL[1], CALLS[3]]
    assert_same(compare(training(OPTIMIZERS[opt]), calls, mlp))


def _keep_tensor(p):
    return p.grad


def _keep_array(p):
    return p.grad.data


def _keep_numpy_slice(p):  # holds the optimizer's flat buffer, not the gradient's view
    return p.grad.data[0]


def _keep_tensor_slice(p):
    return p.grad[0]


@pytest.mark.parametrize("keep", [_keep_tensor, _keep_array, _keep_numpy_slice, _keep_tensor_slice])
@pytest.mark.parametrize("opt", ["adam", "momentum_l2"])
def test_a_gradient_kept_from_a_replay_never_changes_and_training_equals_eager(keep, opt):
    kept = []

    def between(model, i):
        if i in (2, 4):  # after a record and after a replay: kept across the replays after
            for p in model.parameters():
                held = keep(p)
                kept.append((held, np.array(getattr(held, "data", held), copy=True)))

    runs = compare(training(OPTIMIZERS[opt]), CALLS, mlp, between)
    jitted_kept = kept[len(kept) // 2:]  # (the eager run kept the first half)
    assert jitted_kept
    for held, values in jitted_kept:
        assert np.array_equal(getattr(held, "data", held), values)
    assert_same(runs)


def test_eager_steps_after_replays_with_the_same_optimizer_equal_eager():
    def run(jit_first):
        tc.manual_seed(0)
        model = mlp()
        step = training(OPTIMIZERS["adam_l2"])(model)
        f = tc.jit(step) if jit_first else step
        for i, args in enumerate(CALLS):
            (f if i < 3 else step)(*args)
        return [p.data.copy() for p in model.parameters()], [p.grad.data.copy()
                                                            for p in model.parameters()]
    (pa, ga), (pb, gb) = run(False), run(True)
    assert all(map(np.array_equal, pa, pb)) and all(map(np.array_equal, ga, gb))


def test_a_home_is_free_only_while_nothing_but_its_owners_holds_it_or_its_buffer():
    from tinygrad_course.lowering import GradHome, grad_buffer
    flat = np.zeros(10, np.float32)
    views = [flat[:6].reshape(2, 3), flat[6:]]
    homes = [GradHome(), GradHome()]
    GradHome.move(homes, views)
    buffers = [homes[0]]

    def from_a_kernel():
        return grad_buffer(buffers, 0, (2, 3), np.dtype(np.float32)) is views[0]
    assert from_a_kernel() and homes[0].free() and from_a_kernel()  # (the same count anywhere)
    handed_out = grad_buffer(buffers, 0, (2, 3), np.dtype(np.float32))
    sliced = handed_out[0]  # before the other home first counts: it counts the buffer's holders
    assert not homes[1].free()  # as they were before any view was handed out
    del handed_out, sliced
    assert homes[1].free()
    held = views[0]
    assert not homes[0].free() and not from_a_kernel()
    del held
    row = flat[6:8]  # a slice of another gradient holds the flat buffer: no home is free
    assert not homes[0].free() and not homes[1].free()
    del row
    assert homes[1].free() and from_a_kernel()
    assert grad_buffer(buffers, 0, (3, 2), np.dtype(np.float32)) is not views[0]  # other shape


@pytest.mark.parametrize("opt", ["adam", "momentum_l2"])
def test_the_homes_follow_their_parameters_into_a_new_plan(opt):
    # A new plan (here after load_state_dict) makes new buckets: the kernels bound to the
    # parameters' homes write into the new flat buffer, with no new recording.
    model = mlp()
    step = training(OPTIMIZERS[opt])(model)
    f = tc.jit(step)
    for i, args in enumerate(CALLS):
        if i == 3:
            step.opt.load_state_dict(step.opt.state_dict())
        f(*args)
    assert f.recordings == 1 and _homes_in_use(model, step.opt)


def test_a_parameter_that_leaves_the_fused_step_retires_its_home():
    # Its old view's counts were taken while the dropped bucket held it: a user holding that
    # view and a slice of its buffer could match them, so no kernel may write there again.
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    frozen = model[0].bias

    @tc.jit
    def step(x, y):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    for args in CALLS[:3]:
        step(*args)
    home = opt._homes[id(frozen)][1]
    opt.zero_grad()  # (its .grad held the view)
    free = home.free()  # (not inside the assert: pytest's rewriting would hold the array)
    assert free and home.array is not None
    frozen.requires_grad = False  # records again; the next step plans without it
    for args in CALLS[3:]:
        step(*args)
    assert home.array is None and not home.free()
