"""A parameter group's "params" list edited in place (a parameter removed, added or moved, as a
PyTorch user does when freezing or unfreezing layers): each parameter's state follows it, as
PyTorch's optimizers (state keyed by the tensor) do, in the fused and the per-parameter path."""
import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim

OPTIMIZERS = {
    "adam": lambda p, **k: optim.Adam(p, lr=0.1, **k),
    "momentum": lambda p, **k: optim.Momentum(p, lr=0.1, beta=0.9, **k),
    "rmsprop": lambda p, **k: optim.RMSprop(p, lr=0.01, **k),
    "sgd": lambda p, **k: optim.SGD(p, lr=0.1, **k),
}
X = tc.Tensor(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3))


def model():
    tc.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def train(m, opt, steps=2):
    for _ in range(steps):
        opt.zero_grad()
        (m(X) ** 2).sum().backward()
        opt.step()


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_removed_parameter_leaves_the_others_state_with_them(name, foreach):
    edited, fresh = model(), model()
    opt = OPTIMIZERS[name](edited.parameters(), foreach=foreach)
    train(edited, opt)
    del opt.param_groups[0]["params"][0]  # the first layer's weight is frozen from now on
    # the same from a state_dict of the other parameters, into an optimizer built without it
    ref_params = list(fresh.parameters())[1:]
    ref = OPTIMIZERS[name](ref_params, foreach=foreach)
    fresh.load_state_dict(edited.state_dict())
    saved = opt.state_dict()
    ref.load_state_dict(saved)
    frozen = edited[0].weight.data.copy()
    train(edited, opt)
    train(fresh, ref)
    assert np.array_equal(edited[0].weight.data, frozen)
    for a, b in zip(list(edited.parameters())[1:], ref_params):
        assert np.array_equal(a.data, b.data)
    assert len(opt.state) == len(opt.params) == len(ref_params)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_an_added_or_moved_parameter_starts_fresh_and_the_others_keep_theirs(name):
    m = model()
    params = list(m.parameters())
    first, rest = params[:1], params[1:]
    opt = OPTIMIZERS[name](rest)
    train(m, opt)
    before = {id(p): {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
              for p, s in zip(opt.params, opt.state)}
    group = opt.param_groups[0]["params"]
    group.insert(0, first[0])  # unfrozen: it starts with no state, as a new parameter does
    group.reverse()
    opt.state_dict()  # (reads the state in the new order)
    for p, s in zip(opt.params, opt.state):
        if p is first[0]:
            assert s == {}
        else:
            assert s.keys() == before[id(p)].keys()
            for k, v in s.items():
                assert np.array_equal(v, before[id(p)][k])
    train(m, opt)
    assert all(np.isfinite(p.data).all() for p in m.parameters())


def test_a_jitted_step_after_a_parameter_is_removed_equals_eager():
    runs = []
    for use_jit in (False, True):
        m = model()
        opt = optim.Adam(m.parameters(), lr=0.1)

        def step(x, m=m, opt=opt):
            opt.zero_grad()
            loss = (m(x) ** 2).sum()
            loss.backward()
            opt.step()
            return loss
        f = tc.jit(step) if use_jit else step
        for i in range(4):
            if i == 2:
                del opt.param_groups[0]["params"][0]
            f(X)
        runs.append([p.data.copy() for p in m.parameters()])
    for a, b in zip(*runs):
        assert np.array_equal(a, b)
