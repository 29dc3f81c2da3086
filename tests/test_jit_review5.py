"""Fifth review of tc.jit: after it binds the parameters' arrays and the replay kernels' own
buffers into each kernel when it compiles a record (and leaves take a replay kernel's fresh
gradient as .grad), and after the optimizer's fused step checks less (its plans dropped by a
copy instead). No silent wrong answer was found; these pin down what was probed. Each runs a
step eagerly and jitted from the same seed and compares every output, parameter and gradient
bit for bit."""
import copy
import pickle

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.nn import functional as F

from jit_helpers import assert_same, compare

RNG = np.random.default_rng(55)
CALLS = [(tc.Tensor(RNG.standard_normal((6, 4)).astype(np.float32)),
          tc.Tensor(RNG.integers(0, 3, 6))) for _ in range(6)]

OPTIMIZERS = {
    "Adam": lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.01),
    "Momentum": lambda ps: optim.Momentum(ps, lr=0.1),
    "Momentum per parameter": lambda ps: optim.Momentum(ps, lr=0.1, foreach=False),
    "SGD": lambda ps: optim.SGD(ps, lr=0.1),
}


def mlp():
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))


class Gate(nn.Module):
    """0-d parameters through replay kernels: a tanh gate and a relu offset."""

    def __init__(self):
        super().__init__()
        self.a, self.out = nn.Linear(4, 5), nn.Linear(5, 3)
        self.g = nn.Parameter(np.array(0.3, np.float32))
        self.t = nn.Parameter(np.array(-0.2, np.float32))

    def forward(self, x):
        return self.out(F.relu(self.a(x)) * tc.tanh(self.g) + F.relu(self.t))


class ThreeD(nn.Module):
    """A linear layer on a 3-D input (no replay kernel) between ops that have them."""

    def __init__(self):
        super().__init__()
        self.a, self.out = nn.Linear(4, 5), nn.Linear(5, 3)

    def forward(self, x):
        h = self.a(x.reshape(2, 3, 4)).reshape(6, 5)
        return self.out(tc.tanh(h) * F.relu(h))


class Ident(tc.Function):
    """A user's op whose backward hands its gradient on as it is (it owns no gradient)."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return g


class TiedThroughCustomOp(nn.Module):
    """One weight reaching the loss through a replay kernel and through a user's op."""

    def __init__(self):
        super().__init__()
        self.a, self.out = nn.Linear(4, 4), nn.Linear(4, 3)

    def forward(self, x):
        h = tc.tanh(self.a(x))
        return self.out(tc.linear(h, Ident.apply(self.a.weight)))


@tc.jit.replayed
def shrink(model):
    """Each parameter given a new array inside the step."""
    for p in model.parameters():
        p.data = np.array(p.data * np.float32(0.99))


def two_losses_step(model, opt, replace=False, zero=True):
    """Two forward and backward passes, a @replayed call giving the parameters new arrays
    between them (the kernels after it read the parameters), one optimizer step."""
    def step(x, y):
        if zero:
            opt.zero_grad()
        l1 = F.cross_entropy(model(x), y)
        l1.backward()
        if replace:
            shrink(model)
        out = model(x * 0.5)
        l2 = (out * out).sum() * 0.01
        l2.backward()
        opt.step()
        return l1, l2
    return step


def two_losses(make_opt, replace=False, zero=True):
    return lambda model: two_losses_step(model, make_opt(model.parameters()), replace, zero)


def _new_arrays(model, i):
    if i == 2:
        for p in model.parameters():
            p.data = np.asfortranarray(p.data) if p.data.ndim == 2 else p.data.copy()
    elif i == 3:
        model.to(np.float64)
    elif i == 4:
        model.to(np.float32)


@pytest.mark.parametrize("make_opt", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
@pytest.mark.parametrize("make_model", [Gate, ThreeD, TiedThroughCustomOp])
def test_a_parameter_replaced_inside_the_step_between_two_backward_passes(make_model, make_opt):
    assert_same(compare(two_losses(make_opt, replace=True), CALLS, make_model))


@pytest.mark.parametrize("make_opt", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
@pytest.mark.parametrize("make_model", [Gate, ThreeD])
def test_fortran_ordered_arrays_and_dtype_round_trips_between_calls(make_model, make_opt):
    assert_same(compare(two_losses(make_opt), CALLS, make_model, _new_arrays))


@pytest.mark.parametrize("zero", [True, False])
def test_a_users_op_handing_on_its_gradient_to_a_weight_that_also_gets_a_fresh_one(zero):
    # The leaf takes the linear kernel's fresh gradient as .grad, and the user's op's gradient
    # (which it does not own) is summed into it: both orders, accumulated over calls or not.
    assert_same(compare(two_losses(OPTIMIZERS["Adam"], zero=zero), CALLS, TiedThroughCustomOp))


@pytest.mark.parametrize("how", ["deepcopy", "pickle", "copy.copy of the optimizer"])
@pytest.mark.parametrize("make_opt", [OPTIMIZERS["Adam"], OPTIMIZERS["Momentum"]],
                         ids=["Adam", "Momentum"])
def test_a_copy_of_model_and_optimizer_mid_training_trains_as_eager_and_so_does_the_original(
        how, make_opt):
    # The original's weights are views of its fused buffers; a copy's are not, and makes its
    # plans again. The copy and the original then take turns, each with its own jitted step.
    runs = []
    for use_jit in (False, True):
        tc.manual_seed(0)
        model = mlp()
        opt = make_opt(model.parameters())
        step = two_losses_step(model, opt)
        f = tc.jit(step) if use_jit else step
        for x, y in CALLS[:3]:
            f(x, y)
        if how == "deepcopy":
            model2, opt2 = copy.deepcopy((model, opt))
        elif how == "pickle":
            model2, opt2 = pickle.loads(pickle.dumps((model, opt)))
        else:
            model2, opt2 = model, copy.copy(opt)
        step2 = two_losses_step(model2, opt2)
        f2 = tc.jit(step2) if use_jit else step2
        losses = []
        for x, y in CALLS[3:]:
            losses += [t.data.copy() for t in (*f2(x, y), *f(x, y))]
        runs.append((losses, [p.data.copy() for m in (model, model2) for p in m.parameters()]))
    (eager_losses, eager_params), (jit_losses, jit_params) = runs
    for a, b in zip(eager_losses + eager_params, jit_losses + jit_params):
        assert np.array_equal(a, b)
