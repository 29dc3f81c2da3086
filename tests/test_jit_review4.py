"""Fourth review of tc.jit (after test_jit_review.py, 2 and 3): a hunt for silent wrong answers
along the optimizer (schedules, parameter groups, state and checkpoints changed between calls),
the model (hooks, frozen or tied parameters, modes, a parameter passed as an argument), the
gradients (accumulation, clipping, two backward passes), a replay that raised, and batches of
other kinds. Each test runs a step eagerly and jitted from the same seed and compares every
output, parameter and gradient bit for bit, or checks a refusal."""
import copy

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.jit import JitError
from tinygrad_course.nn import functional as F
from tinygrad_course.optim import lr_scheduler, schedules

from jit_helpers import assert_same, compare

RNG = np.random.default_rng(4)
CALLS = [(tc.Tensor(RNG.standard_normal((6, 4)).astype(np.float32)), tc.Tensor(RNG.integers(0, 3, 6)))
         for _ in range(7)]


def mlp():
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))


def training(make_opt=lambda m: optim.Adam(m.parameters(), lr=0.01), zero=True,
             set_to_none=True, clip=None, backward_twice=False, update=True):
    """make_step(model): zero_grad (unless not `zero`), cross-entropy, backward (twice, the first
    keeping the graph), an optional clipping, the optimizer's step; returns the loss. The
    optimizer is `model.opt`, for the changes made between calls."""
    def make_step(model):
        opt = model.__dict__["opt"] = make_opt(model)

        def step(x, y):
            if zero:
                opt.zero_grad(set_to_none=set_to_none)
            loss = F.cross_entropy(model(x), y)
            if backward_twice:
                loss.backward(retain_graph=True)
            loss.backward()
            if clip == "norm":
                nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            elif clip == "value":
                nn.utils.clip_grad_value_(model.parameters(), 0.05)
            if update:
                opt.step()
            return loss
        return step
    return make_step


# ---- silent wrong answers found, now fixed ----------------------------------------------------

@pytest.mark.parametrize("detach", [False, True])
def test_a_parameter_passed_as_an_argument_then_another_tensor_records_again(detach):
    # step(x, y, model[0].weight) then step(x, y, other): the recording found the weight as the
    # argument for the model's layer too (one array), so the replay computed the layer with
    # `other` and sent the layer's gradient to it.
    other = tc.Tensor(np.ones((5, 4), np.float32), requires_grad=not detach)

    def make_step(model):
        opt = optim.Adam(model.parameters(), lr=0.01)

        def step(x, y, w):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y) + (w * w).sum()
            loss.backward()
            opt.step()
            return loss
        return step

    runs = []
    for use_jit in (False, True):
        tc.manual_seed(0)
        model = mlp()
        step = tc.jit(make_step(model)) if use_jit else make_step(model)
        o = other.detach().requires_grad_(not detach)
        ws = [model[0].weight, o, model[0].weight, o]
        losses = [step(x, y, w.detach() if detach and w is not o else w).data.copy()
                  for (x, y), w in zip(CALLS, ws)]
        runs.append(([losses], [p.data.copy() for p in model.parameters()],
                     [None if o.grad is None else o.grad.data.copy()]))
    assert_same(runs)


def test_a_parameter_used_functionally_and_passed_as_an_argument_records_again():
    # The same without a module: the weight is known as the optimizer's parameter.
    runs = []
    for use_jit in (False, True):
        w = nn.Parameter(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
        other = tc.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
        opt = optim.SGD([w], lr=0.1)

        def step(x, y, v):
            opt.zero_grad()
            loss = F.cross_entropy(tc.linear(x, w), y) + (v * v).sum()
            loss.backward()
            opt.step()
            return loss
        f = tc.jit(step) if use_jit else step
        losses = [f(x, y, v).data.copy() for (x, y), v in zip(CALLS, [w, other, w, other])]
        runs.append(([losses], [w.data.copy()], [other.grad.data.copy()]))
    assert_same(runs)


def test_returning_a_python_number_read_in_the_step_is_refused():
    # A replay returned the recording's lr and counter at every call.
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    calls = [0]

    @tc.jit
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        calls[0] += 1
        return loss, opt.param_groups[0]["lr"], calls[0]
    with pytest.raises(JitError, match="returns a Python float .*read Python values outside"):
        step(*CALLS[0])


def test_an_input_whose_requires_grad_the_step_sets_is_refused_and_set_before_the_call_works():
    # A replay left the next input's requires_grad False, though it gave it a .grad.
    model = mlp()

    def step(x, y):
        x.requires_grad_(True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss
    with pytest.raises(JitError, match="set requires_grad=True on its input 0.*before the call"):
        tc.jit(step)(tc.Tensor(CALLS[0][0].data), CALLS[0][1])
    f = tc.jit(step)
    for x, y in CALLS[:3]:
        x = tc.Tensor(x.data).requires_grad_(True)
        f(x, y)
        assert x.requires_grad and x.grad is not None


def test_a_hook_registered_or_removed_between_calls_records_again():
    # Registering a hook did not set a module attribute, so the replay ran without it (and went
    # on running a removed one).
    def between(model, i):
        if i == 2:
            model.__dict__["handle"] = model[1].register_forward_hook(lambda m, a, out: out * 0.5)
        elif i == 4:
            model.handle.remove()
        elif i == 5:
            model[0].register_forward_pre_hook(lambda m, a: (a[0] * 2,))
        elif i == 6:
            model[2].register_full_backward_hook(
                lambda m, gi, go: tuple(None if g is None else g * 3 for g in gi))
    assert_same(compare(training(), CALLS, mlp, between))


# ---- tried, and replayed as eager -------------------------------------------------------------

SCHEDULES = {
    "CosineAnnealingLR": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=3),
    "CosineAnnealingWarmRestarts": lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2),
    "LinearLR": lambda o: lr_scheduler.LinearLR(o, total_iters=4),
    "OneCycleLR": lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20),
    "ChainedScheduler": lambda o: lr_scheduler.ChainedScheduler(
        [lr_scheduler.LinearLR(o, total_iters=3), lr_scheduler.CosineAnnealingLR(o, T_max=4)]),
    "SequentialLR": lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.LinearLR(o, total_iters=2), lr_scheduler.CosineAnnealingLR(o, T_max=4)],
        milestones=[3]),
    "InverseTimeDecay": lambda o: schedules.InverseTimeDecay(o, decay_rate=0.5),
    "ScheduledInverseTimeDecay": lambda o: schedules.ScheduledInverseTimeDecay(o, time_interval=2),
    "ExponentialDecay": lambda o: schedules.ExponentialDecay(o, base=0.9),
    "InverseSqrtDecay": lambda o: schedules.InverseSqrtDecay(o),
    "StaircaseDecay": lambda o: schedules.StaircaseDecay(o, step_size=2),
    "StepLR": lambda o: schedules.StepLR(o, step_size=2),
    "ManualSchedule": lambda o: schedules.ManualSchedule(o, lambda epoch: 0.01 / (1 + epoch)),
    "ExponentialLR": lambda o: schedules.ExponentialLR(o, gamma=0.8),
    "LambdaLR": lambda o: schedules.LambdaLR(o, lambda epoch: 1 / (1 + epoch)),
}


@pytest.mark.parametrize("inside", [True, False], ids=["inside", "between"])
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_stepped_inside_or_between_steps_with_two_param_groups(schedule, inside):
    def make_step(model):
        opt = optim.Adam([{"params": model[0].parameters(), "lr": 0.05, "weight_decay": 0.1},
                          {"params": model[2].parameters()}], lr=0.01)
        sched = model.__dict__["sched"] = SCHEDULES[schedule](opt)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if inside:
                sched.step()
            return loss
        return step

    def between(model, i):
        if not inside:
            model.sched.step()
    assert_same(compare(make_step, CALLS, mlp, between))


def test_reduce_lr_on_plateau_between_steps():
    def make_step(model):
        make = training(lambda m: optim.Momentum(m.parameters(), lr=0.1))
        step = make(model)
        model.__dict__["sched"] = lr_scheduler.ReduceLROnPlateau(model.opt, patience=0)
        return step

    def between(model, i):
        model.sched.step(float(i % 2))
    assert_same(compare(make_step, CALLS, mlp, between))


GRADIENTS = {
    "accumulated without zero_grad": dict(zero=False),
    "zero_grad(set_to_none=False)": dict(set_to_none=False),
    "zero_grad(set_to_none=False), SGD": dict(make_opt=lambda m: optim.SGD(m.parameters(), lr=0.1),
                                              set_to_none=False),
    "clip_grad_norm_": dict(clip="norm"),
    "clip_grad_value_": dict(clip="value"),
    "clip_grad_norm_ of accumulated gradients": dict(clip="norm", zero=False),
    "clip_grad_value_ of accumulated gradients, no update": dict(clip="value", zero=False,
                                                                 update=False),
    "two backward passes": dict(backward_twice=True),
    "two backward passes accumulated, no update": dict(backward_twice=True, zero=False,
                                                       update=False),
}


@pytest.mark.parametrize("options", GRADIENTS.values(), ids=GRADIENTS.keys())
def test_gradient_handling_replays_as_eager(options):
    assert_same(compare(training(**options), CALLS, mlp))


def test_gradients_accumulated_over_replays_and_stepped_every_third_call():
    def between(model, i):
        if i % 3 == 0:
            model.opt.step()
            model.opt.zero_grad()
    assert_same(compare(training(zero=False, update=False), CALLS, mlp, between))


class TiedInStep(nn.Module):
    """One weight used by two linear maps in the forward."""

    def __init__(self):
        super().__init__()
        self.a, self.out = nn.Linear(4, 4), nn.Linear(4, 3)

    def forward(self, x):
        h = F.relu(tc.linear(x, self.a.weight, self.a.bias))
        return self.out(tc.tanh(tc.linear(h, self.a.weight)))


class TiedModules(nn.Module):
    """Two layers that share one weight parameter."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.out = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 3)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.out(F.relu(self.b(F.relu(self.a(x)))))


@pytest.mark.parametrize("model", [TiedInStep, TiedModules])
@pytest.mark.parametrize("options", [{}, dict(clip="norm"), dict(zero=False)])
def test_tied_weights_replay_as_eager(model, options):
    assert_same(compare(training(**options), CALLS, model))


class NormDrop(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin, self.bn, self.out = nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Linear(6, 3)
        self.drop = nn.Dropout(keep_prob=0.7)

    def forward(self, x):
        return self.out(self.drop(F.relu(self.bn(self.lin(x)))))


def test_an_evaluation_step_under_no_grad_between_eager_training_steps():
    # The jitted step reads the running statistics and weights the eager steps changed.
    def make_step(model):
        model.__dict__["train_step"] = training()(model)

        def evaluate(x, y):
            model.eval()
            with tc.no_grad():
                out = model(x)
            model.train()
            return out
        return evaluate

    def between(model, i):
        model.train_step(*CALLS[i - 1])
    assert_same(compare(make_step, CALLS, NormDrop, between))


def test_batch_norm_and_dropout_with_the_mode_switched_between_calls():
    assert_same(compare(training(), CALLS, NormDrop, lambda model, i: model.train(i % 2 == 0)))


@pytest.mark.parametrize("make_opt", [lambda m: optim.Adam(m.parameters(), lr=0.01),
                                      lambda m: optim.Momentum(m.parameters(), lr=0.1),
                                      lambda m: optim.SGD(m.parameters(), lr=0.1)],
                         ids=["Adam", "Momentum", "SGD"])
def test_a_replay_that_raises_on_a_bad_label_leaves_later_calls_as_eager(make_opt):
    bad = tc.Tensor(np.array([0, 1, 7, 0, 1, 2]))
    runs = []
    for use_jit in (False, True):
        tc.manual_seed(0)
        model = mlp()
        eager = training(make_opt)(model)
        step = tc.jit(eager) if use_jit else eager
        outs = []
        for i, (x, y) in enumerate(CALLS):
            if i == 3:
                with pytest.raises(ValueError, match="label 7 is out of range"):
                    step(x, bad)
            outs.append(step(x, y).data.copy())
            if i == 4:  # the model and optimizer used eagerly between replays
                outs.append(eager(x, y).data.copy())
        runs.append(([outs], [p.data.copy() for p in model.parameters()],
                     [None if p.grad is None else p.grad.data.copy() for p in model.parameters()]))
    assert_same(runs)


def _load_optimizer(model, i):
    if i == 2:
        model.__dict__["saved"] = copy.deepcopy(model.opt.state_dict())
    elif i == 5:
        model.opt.load_state_dict(model.saved)


def _load_model(model, i):
    if i == 2:
        model.__dict__["saved"] = model.state_dict()
    elif i == 5:
        model.load_state_dict(model.saved)


def _edit_state(model, i):
    if i == 3:
        for state in model.opt.state:  # in place: the flat buffers' views
            for v in state.values():
                if isinstance(v, np.ndarray):
                    v[...] = 0
    elif i == 4:
        state = model.opt.state[1]  # replaced arrays
        for k in [k for k, v in state.items() if isinstance(v, np.ndarray)]:
            state[k] = state[k] * 0.5
    elif i == 5:
        model.opt.state[0] = {}  # forgotten


def _hyperparameters(model, i):
    model.opt.param_groups[0]["lr"] *= 0.5
    model.opt.param_groups[0]["weight_decay"] = 0.01 * i


def _freeze(model, i):
    for p in model[0].parameters():
        p.requires_grad = i % 3 != 1


@pytest.mark.parametrize("between", [_load_optimizer, _load_model, _edit_state, _hyperparameters,
                                     _freeze])
def test_optimizer_and_model_changed_between_calls(between):
    assert_same(compare(training(), CALLS, mlp, between))


class WithScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = mlp()
        self.scale = nn.Parameter(np.ones(3, np.float32))

    def forward(self, x):
        return self.body(x) * self.scale


def test_a_param_group_added_between_calls():
    def between(model, i):
        if i == 3:
            model.opt.add_param_group({"params": [model.scale], "lr": 0.1})
    assert_same(compare(training(lambda m: optim.Adam(m.body.parameters(), lr=0.01)), CALLS,
                        WithScale, between))


def test_a_layer_frozen_and_unfrozen_inside_the_step():
    def make_step(model):
        opt = optim.Adam(model.parameters(), lr=0.01)

        def step(x, y):
            opt.zero_grad()
            model[0].requires_grad_(False)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            model[0].requires_grad_(True)
            return loss
        return step
    assert_same(compare(make_step, CALLS, mlp))


def _as(dtype):
    return [(tc.Tensor(x.data.astype(dtype)), y) for x, y in CALLS]


BATCHES = {
    "float64 model": (lambda: mlp().to(np.float64), _as(np.float64)),
    "empty batches": (mlp, CALLS[:2] + [(tc.Tensor(np.zeros((0, 4), np.float32)),
                                         tc.Tensor(np.zeros(0, np.int64)))] * 2 + CALLS[2:4]),
    "more sizes than the cache keeps": (mlp, [
        (tc.Tensor(RNG.standard_normal((n, 4)).astype(np.float32)), tc.Tensor(RNG.integers(0, 3, n)))
        for n in [*range(2, 13), *range(2, 13)]]),
}


@pytest.mark.parametrize("case", BATCHES)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the mean of an empty batch is nan
def test_batches_of_other_kinds_replay_as_eager(case):
    make_model, calls = BATCHES[case]
    assert_same(compare(training(), calls, make_model))


def test_int_and_0_d_inputs_replay_as_eager():
    def make_step(model):
        opt = optim.Adam(model.parameters(), lr=0.01)

        def step(x, y, s):
            opt.zero_grad()
            loss = F.cross_entropy(model(x.float()) * s, y) * s + s
            loss.backward()
            opt.step()
            return loss, s * 2
        return step
    calls = [(tc.Tensor(RNG.integers(-3, 3, (6, 4))), y, tc.Tensor(np.float32(0.1 * i)))
             for i, (_, y) in enumerate(CALLS)]
    assert_same(compare(make_step, calls, mlp))
