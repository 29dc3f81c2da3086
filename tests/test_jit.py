"""tc.jit: a recorded step replays to exactly what eager computes, redraws and updates what changes
between steps, records again where the signature changes, and refuses what it cannot replay."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.jit import JitError
from tinygrad_course.nn import functional as F

from jit_helpers import DoublesGInPlace

RNG = np.random.default_rng(0)
X = RNG.standard_normal((32, 6)).astype(np.float32)
Y = RNG.integers(0, 3, 32)


def mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))


def train(make_model, make_opt, use_jit: bool, steps: int = 100, batches=None, between=None,
          loss_fn=F.cross_entropy, check: bool = False):
    """`steps` steps of zero_grad, loss, backward, step (jitted or eager, with check=True if
    asked) from the same seed: the losses and the final parameters."""
    tc.manual_seed(0)
    model = make_model()
    opt = make_opt(model.parameters())
    batches = batches or [(tc.Tensor(X), tc.Tensor(Y))]

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = tc.jit(step, check=check) if use_jit else step
    losses = []
    for i in range(steps):
        x, y = batches[i % len(batches)]
        losses.append(run(x, y).data.copy())
        if between is not None:
            between(opt, i)
    if use_jit and not check:  # the steps after the first of each signature were replays
        assert run.recordings <= len({tuple(b[0].shape) for b in batches}) < steps
    return losses, [p.data.copy() for p in model.parameters()], model, run


def assert_same(a, b):
    la, pa = a[:2]
    lb, pb = b[:2]
    assert all(np.array_equal(x, y) for x, y in zip(la, lb)), "losses differ"
    assert len(pa) == len(pb) and all(np.array_equal(x, y) for x, y in zip(pa, pb)), "weights differ"


class Residual(nn.Module):
    """h is used twice and `mid` twice (a tied weight): gradients meet at a node and at a leaf."""

    def __init__(self):
        super().__init__()
        self.inp, self.mid, self.out = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x):
        h = self.inp(x).tanh()
        h = h + self.mid(h).relu()
        return self.out(h + self.mid(h))


MODELS = {
    "mlp": mlp,
    "residual": Residual,
    "dropout": lambda: nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.8), nn.Linear(16, 3)),
    "batchnorm": lambda: nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.Tanh(),
                                       nn.Linear(16, 3)),
}
OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "momentum_l2": lambda p: optim.Momentum(p, lr=0.05, beta=0.9, weight_decay=0.01),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adamw": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_100_jitted_steps_equal_eager_bit_for_bit(model, opt):
    # The same kernels run in the same order on the same arrays, so nothing may differ at all.
    assert_same(train(MODELS[model], OPTIMIZERS[opt], False),
                train(MODELS[model], OPTIMIZERS[opt], True))


def test_a_step_is_recorded_once_and_replayed_after():
    *_, run = train(mlp, OPTIMIZERS["adam"], True, steps=10)
    assert run.recordings == 1 and run.calls == 10


def test_a_schedule_setting_lr_between_steps_takes_effect():
    def decay(opt, i):
        opt.lr = 0.1 / (1 + i)

    eager = train(mlp, OPTIMIZERS["sgd"], False, steps=30, between=decay)
    jitted = train(mlp, OPTIMIZERS["sgd"], True, steps=30, between=decay)
    assert_same(eager, jitted)
    frozen = train(mlp, OPTIMIZERS["sgd"], True, steps=30)
    assert not np.array_equal(frozen[1][0], jitted[1][0])


def test_a_schedule_stepped_inside_the_step_is_replayed():
    def run(use_jit):
        tc.manual_seed(0)
        model = mlp()
        opt = optim.Adam(model.parameters(), lr=0.05)
        sched = optim.StepLR(opt, step_size=3, gamma=0.5)

        def step(x, y):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            sched.step()
        f = tc.jit(step) if use_jit else step
        for _ in range(10):
            f(tc.Tensor(X), tc.Tensor(Y))
        return opt.lr, [p.data.copy() for p in model.parameters()]
    (lr_e, pe), (lr_j, pj) = run(False), run(True)
    assert lr_e == lr_j == pytest.approx(0.05 * 0.5 ** 3)
    assert all(np.array_equal(a, b) for a, b in zip(pe, pj))


def test_dropout_draws_a_new_mask_at_every_replay():
    tc.manual_seed(0)
    drop = nn.Dropout(0.5)
    f = tc.jit(lambda x: drop(x))
    x = tc.ones(1000)
    a, b = f(x).data, f(x).data
    assert not np.array_equal(a, b)
    tc.manual_seed(0)
    assert np.array_equal(drop(x).data, a) and np.array_equal(drop(x).data, b)


def test_batchnorm_running_statistics_update_at_every_replay():
    _, _, eager, _ = train(MODELS["batchnorm"], OPTIMIZERS["adam"], False, steps=20)
    _, _, jitted, _ = train(MODELS["batchnorm"], OPTIMIZERS["adam"], True, steps=20)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert np.array_equal(getattr(eager[1], name).data, getattr(jitted[1], name).data)
    assert int(jitted[1].num_batches_tracked.data) == 20


def test_a_new_batch_size_records_again_and_the_cache_keeps_both():
    b1 = (tc.Tensor(X), tc.Tensor(Y))
    b2 = (tc.Tensor(X[:7]), tc.Tensor(Y[:7]))
    eager = train(MODELS["dropout"], OPTIMIZERS["adam"], False, steps=12, batches=[b1, b1, b2])
    jitted = train(MODELS["dropout"], OPTIMIZERS["adam"], True, steps=12, batches=[b1, b1, b2])
    assert_same(eager, jitted)
    assert jitted[3].recordings == 2


def test_gradient_accumulation_without_zero_grad_adds_as_eager():
    def run(use_jit):
        tc.manual_seed(0)
        model = mlp()

        def step(x, y):
            F.cross_entropy(model(x), y).backward()
        f = tc.jit(step) if use_jit else step
        for _ in range(3):
            f(tc.Tensor(X), tc.Tensor(Y))
        return [p.grad.data.copy() for p in model.parameters()]
    assert all(np.array_equal(a, b) for a, b in zip(run(False), run(True)))


def test_train_and_eval_mode_are_part_of_the_signature():
    tc.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), nn.Dropout(0.5))
    f = tc.jit(lambda x: model(x))
    x = tc.Tensor(X)
    model.eval()
    a = f(x).data
    model.train()
    b = f(x).data
    model.eval()
    c = f(x).data
    assert f.recordings == 2
    assert np.array_equal(a, c) and not np.array_equal(a, b)
    with tc.no_grad():
        assert np.array_equal(model(x).data, a)


def test_grad_mode_is_part_of_the_signature():
    model = mlp()
    f = tc.jit(lambda x: model(x))
    x = tc.Tensor(X)
    f(x)
    with tc.no_grad():
        f(x)
    assert f.recordings == 2


def test_a_parameter_set_between_steps_is_read_by_the_replay():
    model = mlp()
    f = tc.jit(lambda x: model(x))
    x = tc.Tensor(X)
    f(x)
    model[0].weight.data[...] = 0.0
    replayed = f(x).data
    assert f.recordings == 1 and np.array_equal(replayed, model(x).data)


def test_buffers_replaced_between_steps_are_read_by_the_replay():
    model = MODELS["batchnorm"]()
    model.eval()
    f = tc.jit(lambda x: model(x))
    x = tc.Tensor(X)
    f(x)
    bn = model[1]
    bn.running_mean.data = np.full(16, 0.5, np.float32)  # a new array, as load_state_dict may give
    bn.running_var.data = np.full(16, 2.0, np.float32)
    replayed = f(x).data
    assert f.recordings == 1 and np.array_equal(replayed, model(x).data)


def test_a_module_attribute_set_between_steps_records_again():
    drop = nn.Dropout(0.5)
    f = tc.jit(lambda x: drop(x))
    x = tc.ones(10000)
    f(x)
    drop.keep_prob = 0.9  # a Python value the dropout kernel was recorded with
    kept = float((f(x).data > 0).mean())
    assert f.recordings == 2 and kept == pytest.approx(0.9, abs=0.02)
    model = mlp()
    g = tc.jit(lambda x: model(x))
    g(tc.Tensor(X))
    model[0].weight = nn.Parameter(np.ones((16, 6), np.float32))  # a new parameter
    with tc.no_grad():
        expected = model(tc.Tensor(X)).data
    assert np.array_equal(g(tc.Tensor(X)).data, expected) and g.recordings == 2


@pytest.mark.parametrize("frozen_first", [False, True])
def test_freezing_or_unfreezing_a_parameter_between_steps_records_again(frozen_first):
    def run(use_jit):
        tc.manual_seed(0)
        model = mlp()
        opt = optim.SGD(model.parameters(), lr=0.1)
        w = model[0].weight

        def step(x, y):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        f = tc.jit(step) if use_jit else step
        for frozen in [frozen_first] * 2 + [not frozen_first] * 2:
            w.requires_grad = not frozen
            f(tc.Tensor(X), tc.Tensor(Y))
        return [p.data.copy() for p in model.parameters()]
    assert all(np.array_equal(a, b) for a, b in zip(run(False), run(True)))


def test_the_step_returns_detached_tensors_in_the_same_structure():
    model = mlp()
    f = tc.jit(lambda x: {"out": model(x), "pair": (model(x).sum(), None)})
    for _ in range(2):
        r = f(tc.Tensor(X))
        assert set(r) == {"out", "pair"} and isinstance(r["pair"], tuple) and r["pair"][1] is None
        assert r["out"].shape == (32, 3) and r["out"].grad_fn is None


def test_the_cnn_and_attention_ops_replay_bit_for_bit():
    def cnn():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    imgs = (tc.Tensor(RNG.standard_normal((8, 1, 8, 8)).astype(np.float32)), tc.Tensor(Y[:8]))
    assert_same(train(cnn, OPTIMIZERS["adam"], False, steps=20, batches=[imgs]),
                train(cnn, OPTIMIZERS["adam"], True, steps=20, batches=[imgs]))

    class Attend(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(6, 2)
            self.out = nn.Linear(6, 3)

        def forward(self, x):
            h, _ = self.attn(x, x, x)
            return self.out(h.mean(axis=1))
    seqs = (tc.Tensor(RNG.standard_normal((8, 5, 6)).astype(np.float32)), tc.Tensor(Y[:8]))
    assert_same(train(Attend, OPTIMIZERS["adam"], False, steps=20, batches=[seqs]),
                train(Attend, OPTIMIZERS["adam"], True, steps=20, batches=[seqs]))


@given(sizes=st.lists(st.integers(1, 9), min_size=1, max_size=3), batch=st.integers(2, 12),
       act=st.sampled_from([nn.ReLU, nn.Tanh, nn.Sigmoid]), opt=st.sampled_from(list(OPTIMIZERS)),
       seed=st.integers(0, 2 ** 16))
def test_random_small_models_replay_bit_for_bit(sizes, batch, act, opt, seed):
    rng = np.random.default_rng(seed)
    x = tc.Tensor(rng.standard_normal((batch, 4)).astype(np.float32))
    y = tc.Tensor(rng.integers(0, 2, batch))

    def make():
        dims = [4, *sizes]
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), act()]
        return nn.Sequential(*layers, nn.Linear(dims[-1], 2))
    assert_same(train(make, OPTIMIZERS[opt], False, steps=5, batches=[(x, y)]),
                train(make, OPTIMIZERS[opt], True, steps=5, batches=[(x, y)]))


def test_fit_with_jit_gives_the_same_history_and_weights():
    def run(use_jit):
        tc.manual_seed(0)
        model = MODELS["dropout"]()
        opt = optim.Adam(model.parameters(), lr=0.01)
        h = tc.fit(model, F.cross_entropy, opt, (X, Y), epochs=3, batch_size=10, seed=1,
                   jit=use_jit, progress=False)
        return h.costs, [p.data.copy() for p in model.parameters()]
    (ce, pe), (cj, pj) = run(False), run(True)
    assert ce == cj and all(np.array_equal(a, b) for a, b in zip(pe, pj))


def test_keyword_tensors_are_inputs_and_containers_of_tensors_are_refused():
    model = mlp()
    f = tc.jit(lambda x, *, scale: model(x) * scale)
    for k in range(3):
        s = tc.Tensor(np.full((32, 3), k, np.float32))
        with tc.no_grad():
            expected = model(tc.Tensor(X)).data * k
        assert np.array_equal(f(tc.Tensor(X), scale=s).data, expected)
    assert f.recordings == 1
    with pytest.raises(JitError, match="a list of tensors.*argument of its own"):
        tc.jit(lambda xs: xs[0] * 2)([tc.Tensor(X)])


def test_a_jitted_method_and_a_user_replayed_function():
    calls = []

    @tc.jit.replayed
    def log_step(n):
        calls.append(n)

    class Trainer:
        def __init__(self):
            self.model = mlp()

        @tc.jit
        def step(self, x):
            self.model.zero_grad()
            self.model(x).sum().backward()
            log_step(1)

    t = Trainer()
    for _ in range(3):
        t.step(tc.Tensor(X))
    assert calls == [1, 1, 1] and Trainer.step.recordings == 1
    x = tc.Tensor(X)  # Module.zero_grad is replayed: the gradient is one step's, not three
    t.model.zero_grad()
    t.model(x).sum().backward()
    expected = t.model[0].weight.grad.data.copy()
    t.step(x)
    assert np.array_equal(t.model[0].weight.grad.data, expected)


# ---- check=True --------------------------------------------------------------------------

def test_check_catches_a_branch_on_a_tensor_value():
    model = mlp()

    @tc.jit(check=True)
    def step(x):
        h = model(x)
        if x.data.mean() > 0:  # a value-dependent branch, taken one way when recorded
            return h * 2.0
        return h * 3.0
    step(tc.Tensor(np.abs(X)))
    step(tc.Tensor(np.abs(X) + 1))
    with pytest.raises(JitError, match=r"call 3.*`mul`.*argument 1 is 3\.0 now, 2\.0 when recorded"):
        step(tc.Tensor(-np.abs(X)))


def test_check_catches_python_state_that_changes_the_ops():
    model = mlp()
    count = [0]

    @tc.jit(check=True)
    def step(x):
        count[0] += 1
        h = model(x)
        return h.relu() if count[0] < 3 else h.tanh()
    step(tc.Tensor(X))
    step(tc.Tensor(X))
    with pytest.raises(JitError, match="call 3.*`tanh`.*recorded `relu`"):
        step(tc.Tensor(X))


def test_check_has_no_false_alarm_on_a_tuple_index_of_step_values():
    model = mlp()

    @tc.jit(check=True)
    def step(x, y):
        lp = tc.log_softmax(model(x), axis=1)
        return -lp[tc.arange(y.shape[0]), y].mean()
    for k in range(3):
        step(tc.Tensor(X + k), tc.Tensor(np.roll(Y, k)))


def test_check_passes_a_step_that_replays_faithfully():
    # Every call re-traces and compares: dropout, Adam and batch statistics raise no false alarm.
    for model in ("dropout", "batchnorm"):
        assert_same(train(MODELS[model], OPTIMIZERS["adam"], False, steps=10),
                    train(MODELS[model], OPTIMIZERS["adam"], True, steps=10, check=True))


# ---- refusals ----------------------------------------------------------------------------

@pytest.mark.parametrize("read, what", [
    (lambda t: t.item(), r"t\.item\(\)"),
    (lambda t: t.numpy(), r"t\.numpy\(\)"),
    (lambda t: float(t), r"float\(t\)"),
    (lambda t: bool(t > 0), r"if t: / bool\(t\)"),
    (lambda t: np.asarray(t), r"np\.asarray\(t\)"),
])
def test_reading_a_value_inside_the_step_is_refused(read, what):
    f = tc.jit(lambda x: read((x * 2).sum()))
    with pytest.raises(JitError, match=what + ".*Return the tensor"):
        f(tc.Tensor(X))
    assert float((tc.Tensor(X) * 2).sum()) == pytest.approx(float(X.sum() * 2), rel=1e-5)


def test_an_in_place_change_inside_the_step_is_refused():
    model = mlp()

    def step(x):
        h = model(x)
        h += 1.0
        return h.sum()
    with pytest.raises(JitError, match=r"changed a tensor in place.*h = h \+ 1"):
        tc.jit(step)(tc.Tensor(X))


def test_a_raw_update_of_a_parameter_inside_the_step_is_refused_and_replayed_works():
    model = mlp()

    def step(x, y):
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        for p in model.parameters():  # the course's update, written on the arrays
            p.data -= 0.1 * p.grad.data
    with pytest.raises(JitError, match=r"changed `?.*without an op or a @replayed call.*"
                                       r"W.data -= lr \* W.grad.data"):
        tc.jit(step)(tc.Tensor(X), tc.Tensor(Y))

    @tc.jit.replayed
    def update(params):
        for p in params:
            p.data -= 0.1 * p.grad.data

    def good(x, y):
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        update(list(model.parameters()))
    f = tc.jit(good)
    before = model[0].weight.data.copy()
    for _ in range(3):
        f(tc.Tensor(X), tc.Tensor(Y))
    assert f.recordings == 1 and not np.array_equal(model[0].weight.data, before)


@pytest.mark.parametrize("call", [
    lambda x, w: tc.grad((x * w).sum(), [w]),
    lambda x, w: (x * w).sum().backward(create_graph=True),
])
def test_tc_grad_and_create_graph_are_refused(call):
    w = tc.Tensor(np.ones(6, np.float32), requires_grad=True)
    with pytest.raises(JitError, match="create_graph.*without tc.jit"):
        tc.jit(lambda x: call(x, w))(tc.Tensor(X))


def test_a_tensor_made_inside_the_step_without_an_op_is_refused():
    def step(x):
        noise = tc.Tensor(np.random.default_rng().standard_normal(x.shape).astype(np.float32))
        return (x + noise).sum()
    with pytest.raises(JitError, match="`add`.*made without an op.*pass it in"):
        tc.jit(step)(tc.Tensor(X))


def test_a_numpy_array_computed_inside_the_step_is_refused():
    def step(x):
        return tc.mul(x, np.full(x.shape, float(np.random.default_rng().random()), np.float32))
    with pytest.raises(JitError, match="`mul`.*array the step made without an op"):
        tc.jit(step)(tc.Tensor(X))
    scale = np.full(X.shape, 3.0, np.float32)  # made outside: read by reference, fine
    f = tc.jit(lambda x: tc.mul(x, scale))
    f(tc.Tensor(X))
    scale[...] = 4.0
    assert np.array_equal(f(tc.Tensor(X)).data, X * 4.0)


def test_a_tensor_made_in_the_step_around_an_array_held_outside_reads_that_array():
    mask = np.ones(X.shape, np.float32)
    f = tc.jit(lambda x: x * tc.Tensor._wrap(mask))
    f(tc.Tensor(X))
    mask[:, 0] = 0.0
    assert np.array_equal(f(tc.Tensor(X)).data, X * mask) and f.recordings == 1


def test_one_hot_float64_targets_of_a_float32_model_convert_at_every_replay():
    onehot = [tc.Tensor(np.eye(3)[np.roll(Y, i)]) for i in range(3)]  # float64, three batches
    batches = [(tc.Tensor(X), t) for t in onehot]
    assert_same(train(mlp, OPTIMIZERS["adam"], False, steps=9, batches=batches),
                train(mlp, OPTIMIZERS["adam"], True, steps=9, batches=batches))


def test_a_numpy_view_of_a_step_value_is_refused():
    def step(x):
        h = x * 2
        return h + tc.Tensor._wrap(h.data[:, :1])
    with pytest.raises(JitError, match="NumPy view of a value computed in the step"):
        tc.jit(step)(tc.Tensor(X))


def test_backward_into_a_graph_made_outside_the_step_is_refused():
    w = tc.Tensor(np.ones(6, np.float32), requires_grad=True)
    outside = w * 2
    with pytest.raises(JitError, match="outside the step.*detach"):
        tc.jit(lambda x: (x * outside).sum().backward())(tc.Tensor(X))


def test_a_step_that_keeps_a_tensor_it_made_is_refused_and_returning_it_works():
    # losses.append(loss) inside the step would append once, at the recording, and never again.
    model, losses, holder = mlp(), [], type("Holder", (), {})()

    def appending(x):
        loss = model(x).sum()
        losses.append(loss)
        return loss

    def storing(x):
        holder.hidden = model[0](x)
        return holder.hidden.sum()
    for step in (appending, storing):
        with pytest.raises(JitError, match=r"keeps a tensor it made.*losses\.append\(step\(X, y\)\)"):
            tc.jit(step)(tc.Tensor(X))
    step = tc.jit(lambda x: model(x).sum())
    kept = [step(tc.Tensor(X * k)) for k in (1.0, 2.0, 3.0)]
    assert [float(t.item()) for t in kept] == pytest.approx(
        [float(model(tc.Tensor(X * k)).sum().item()) for k in (1.0, 2.0, 3.0)], rel=1e-6)


def test_a_step_that_keeps_a_detached_value_is_refused_and_a_detached_parameter_is_not():
    model, losses = mlp(), []

    def appending(x):
        loss = model(x).sum()
        losses.append(loss.detach())  # a PyTorch habit: the replay would not append
        return loss
    with pytest.raises(JitError, match=r"keeps a tensor it made.*from `detach\(\)`"):
        tc.jit(appending)(tc.Tensor(X))
    frozen = []

    def target_net(x):  # detached inside and used by ops, or a parameter detached: both fine
        h = model(x)
        frozen.append(model[0].weight.detach())
        return (h - h.detach() * 0.5).sum()
    f = tc.jit(target_net)
    for k in (1.0, 2.0):
        h = model(tc.Tensor(X * k))
        assert float(f(tc.Tensor(X * k)).item()) == pytest.approx(
            float((h - h.detach() * 0.5).sum().item()), rel=1e-6)


def test_a_tensor_the_step_names_and_also_gets_as_an_argument_is_pinned_to_it():
    # The ops read w through the closure and through the argument alike (one array): a call
    # with another tensor there must compute with both, as eager does, not replay w's route.
    w = tc.Tensor(np.full(6, 2.0, np.float32))

    def step(x, v):
        return (x * w + v).sum()
    f = tc.jit(step)
    x, other = tc.Tensor(X), tc.Tensor(np.full(6, 5.0, np.float32))
    assert float(f(x, w).item()) == pytest.approx(float(step(x, w).item()), rel=1e-6)
    assert float(f(x, other).item()) == pytest.approx(float(step(x, other).item()), rel=1e-6)
    assert f.recordings == 2


def test_new_batches_bound_to_a_global_name_are_not_pinned():
    # A script's loop at module level rebinds its batch to a global at every step: the step does
    # not name it, so each new batch replays
    f = tc.jit(_sum_of_squares)
    for k in range(4):
        globals()["_BATCH"] = tc.Tensor(X * (k + 1))
        assert float(f(_BATCH).item()) == pytest.approx(float(((X * (k + 1)) ** 2).sum()), rel=1e-5)
    assert f.recordings == 1


def _sum_of_squares(x):
    return (x * x).sum()


def test_a_float32_layer_under_a_float64_op_replays_eagers_bits():
    # Eager's backward casts a gradient to its input's dtype before the node that made the
    # input: the float32 layer's rule runs on float32, and so must the replay's.
    w64 = tc.Tensor(np.linspace(0.1, 1.7, 3))

    def grads(jitted: bool) -> list:
        lin = nn.Linear(6, 3)
        lin.weight.data[...] = np.arange(18, dtype=np.float32).reshape(3, 6) / 7

        def step(x):
            loss = (lin(x).tanh() * w64).sum()
            loss.backward()
            return loss
        f = tc.jit(step) if jitted else step
        out = []
        for k in (1.0, 2.0, 3.0):
            lin.weight.grad = lin.bias.grad = None
            f(tc.Tensor(X * k))
            out.append(lin.weight.grad.data.copy())
        return out
    for eager, replayed in zip(grads(False), grads(True)):
        assert eager.dtype == replayed.dtype == np.float32
        assert eager.tobytes() == replayed.tobytes()


def test_a_reference_cycle_of_the_steps_own_is_not_a_kept_tensor():
    model = mlp()

    def step(x):
        h = model(x)
        cycle = [h]
        cycle.append(cycle)  # dies with the step, after a collection
        return h.sum()
    f = tc.jit(step)
    f(tc.Tensor(X))
    assert float(f(tc.Tensor(X * 2)).item()) == pytest.approx(
        float(model(tc.Tensor(X * 2)).sum().item()), rel=1e-6)


def test_nested_jit_and_odd_return_values_are_refused():
    inner = tc.jit(lambda x: x * 2)
    with pytest.raises(JitError, match="jit the outer step only"):
        tc.jit(lambda x: inner(x))(tc.Tensor(X))
    with pytest.raises(JitError, match="returns a set"):
        tc.jit(lambda x: {1, 2})(tc.Tensor(X))


# ---- random graphs ---------------------------------------------------------------------------

_UNARY = [lambda a: a.tanh(), lambda a: a * 0.5, lambda a: -a, lambda a: a.relu(),
          lambda a: a.T.T, lambda a: a.sum(axis=1, keepdims=True) + a, lambda a: a[:, ::-1],
          lambda a: tc.where(a > 0, a, a * 0.1)]
_BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b,
           lambda a, b: a + b.mean(axis=0), lambda a, b: tc.concatenate([a, b], axis=0)[:a.shape[0]],
           lambda a, b: (a @ b.T) @ b * 0.1]


@given(program=st.lists(st.tuples(st.booleans(), st.integers(0, 7), st.integers(0, 63),
                                  st.integers(0, 63)), min_size=1, max_size=12),
       seed=st.integers(0, 2 ** 16))
def test_random_graphs_replay_their_gradients_bit_for_bit(program, seed):
    # Values used several times, broadcasting, views and masks: the backward plan must route
    # and sum every gradient as the eager engine does, for new inputs at every call.
    rng = np.random.default_rng(seed)
    w = tc.Tensor(rng.standard_normal((4, 3)), requires_grad=True)

    def step(x, y):
        pool = [x, y, w]
        for binary, op, i, j in program:
            a, b = pool[i % len(pool)], pool[j % len(pool)]
            pool.append(_BINARY[op % len(_BINARY)](a, b) if binary else _UNARY[op](a))
        loss = (pool[-1] * pool[-1]).sum() + pool[-2].sum() + w.sum()  # w: always a graph
        loss.backward()
        return loss

    def run(use_jit):
        w.grad = None
        f = tc.jit(step) if use_jit else step
        out = []
        for k in range(3):
            x = tc.Tensor(rng_k(k, (4, 3)), requires_grad=True)
            y = tc.Tensor(rng_k(k + 10, (4, 3)))
            loss = f(x, y)
            out += [loss.data.copy(), x.grad.data.copy() if x.grad is not None else None]
        return out + [w.grad.data.copy() if w.grad is not None else None]

    def rng_k(k, shape):
        return np.random.default_rng(seed + k).standard_normal(shape)
    for a, b in zip(run(False), run(True)):
        assert (a is None and b is None) or np.array_equal(a, b)


def test_a_users_rule_that_changes_g_in_place_replays_as_eager():
    # Eager hands a user's rule a copy of g (Add sends the same g to both its inputs); a replay
    # must too, or the other input's gradient doubles as well.
    def run(use_jit):
        w = tc.Tensor(np.ones(3, np.float32), requires_grad=True)

        def step(x):
            y = x * w
            (DoublesGInPlace.apply(y) + y).sum().backward()
        f = tc.jit(step) if use_jit else step
        grads = []
        for i in range(3):
            w.grad = None  # (outside the step: a replay does not run its Python)
            f(tc.Tensor(np.full(3, i + 1.0, np.float32)))
            grads.append(w.grad.data.copy())
        return grads
    eager, jitted = run(False), run(True)
    np.testing.assert_array_equal(eager, [[3.0] * 3, [6.0] * 3, [9.0] * 3])
    np.testing.assert_array_equal(jitted, eager)
