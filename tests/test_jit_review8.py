"""Eighth review of tc.jit: the fixed backward schedule (7ebfca1, jit._Backward._schedule with
each op's Lowered.bind) and softmax's one np.divide (ae57b98).

Pinned here, bit for bit against eager from the same seed: random graphs of the ops that bind
(linear, relu, tanh, add, mul, a scalar mul, sum, cross_entropy mean/sum) with parameters and
step inputs reached several times, replayed with the gradients reset or accumulated and every
gradient kept (the Tensor, its array, a slice, a transpose); optimizers with homes (Adam,
Momentum, RMSprop, SGD foreach) and without (SGD), buckets split, weight decay, clipping, a
step that steps twice, frozen layers, load_state_dict and p.data replaced between calls,
retain_graph and two backward() calls, float16, ignore_index rows (all of them too) and an
out-of-range label at replay only, eval/train switches, a 0-d parameter and a broadcast gain
(routed), gradient accumulation over micro-batches, separate models trained in threads, the
gradient arrays reused once let go of; and that the fixed schedule does run in these steps.

Bugs found, now fixed: the root gradient of `backward(gradient=...)` was recorded as the array it
was at the first call: a gradient tensor whose .data is replaced, or an array of another dtype
changed in place, replayed its first value; check=True did not compare it; a NaN put into it
was replayed where eager raises."""
import importlib
import warnings

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.nn import functional as F

from tinygrad_course.inplace import BackwardError

from jit_helpers import assert_same, compare

jit_module = importlib.import_module("tinygrad_course.jit")
RNG = np.random.default_rng(8)
CALLS = [(tc.Tensor(RNG.standard_normal((6, 4)).astype(np.float32)),
          tc.Tensor(RNG.integers(0, 3, 6))) for _ in range(5)]


@pytest.fixture
def fixed_runs(monkeypatch):
    """[replays the fixed schedule ran, replays it sent back to routing]."""
    counts = [0, 0]
    schedule = jit_module._Backward._schedule

    def counted(self, homes):
        run = schedule(self, homes)
        if run is None:
            return None

        def count(args):
            ran = run(args)
            counts[0 if ran else 1] += 1
            return ran
        return count
    monkeypatch.setattr(jit_module._Backward, "_schedule", counted)
    return counts


def mlp():
    return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))


def trained(make_opt, zero=True, loss_fn=None):
    """A training step: zero_grad (unless not), loss, backward, the optimizer's step."""
    def make_step(model):
        opt = make_opt(model.parameters())

        def step(x, y):
            if zero:
                opt.zero_grad()
            loss = (F.cross_entropy(model(x), y) if loss_fn is None else loss_fn(model, x, y))
            loss.backward()
            opt.step()
            return loss
        return step
    return make_step


def kept_run(make_step, make_model, keep, between=None, input_grad=False):
    """Eager then jitted: every call's gradients (copies), the parameters at the end, and which
    of the kept gradients (keep(p.grad) after each call) changed since it was kept."""
    runs = []
    for use_jit in (False, True):
        tc.manual_seed(0)
        model = make_model()
        step = make_step(model)
        f = tc.jit(step) if use_jit else step
        kept, grads = [], []
        for i, (x, y) in enumerate(CALLS):
            if between is not None and i:
                between(model, i)
            if input_grad:
                x = tc.Tensor(x.data.copy(), requires_grad=True)
            f(x, y)
            gs = [p.grad for p in model.parameters()] + ([x.grad] if input_grad else [])
            for g in gs:
                if g is not None:
                    k = keep(g)
                    kept.append((k, np.array(getattr(k, "data", k))))
            grads.append([None if g is None else g.data.copy() for g in gs])
        changed = [j for j, (k, v) in enumerate(kept)
                   if not np.array_equal(np.asarray(getattr(k, "data", k)), v, equal_nan=True)]
        runs.append((grads, [p.data.copy() for p in model.parameters()], changed))
    return runs


def assert_kept_same(runs, zero=True):
    (eg, ep, ec), (jg, jp, jc) = runs
    for a, b in zip(eg, jg):
        for x, y in zip(a, b):
            assert (x is None) == (y is None) and (x is None or np.array_equal(x, y))
    for x, y in zip(ep, jp):
        assert np.array_equal(x, y)
    assert ec == jc  # (eager adds into a kept .grad in place without zero_grad, as PyTorch)
    if zero:
        assert jc == []


OPTIMIZERS = {
    "adam": lambda ps: optim.Adam(ps, lr=0.05),
    "momentum": lambda ps: optim.Momentum(ps, lr=0.1, beta=0.9),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01),
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "sgd_foreach": lambda ps: optim.SGD(ps, lr=0.1, foreach=True),
}
KEEPS = {"tensor": lambda g: g, "array": lambda g: g.data, "slice": lambda g: g.data[1:],
         "transpose": lambda g: g.data.T}


def _freeze_first_layer_on_odd_calls(model, i):
    for p in model[0].parameters():
        p.requires_grad = i % 2 == 0


def _load_halved_state(model, i):
    model.load_state_dict({k: v * 0.5 for k, v in model.state_dict().items()})


def _replace_a_weight(model, i):
    model[0].weight.data = model[0].weight.data * 0.9


BETWEEN = {"nothing": None, "freeze": _freeze_first_layer_on_odd_calls,
           "load_state_dict": _load_halved_state, "replace_data": _replace_a_weight}


# ---- what holds ------------------------------------------------------------------------------

@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("keep", sorted(KEEPS))
def test_kept_gradients_never_change_and_equal_eager(opt, keep, fixed_runs):
    for input_grad in (False, True):
        assert_kept_same(kept_run(trained(OPTIMIZERS[opt]), mlp, KEEPS[keep],
                                  input_grad=input_grad))
    assert fixed_runs[0] > 0


@pytest.mark.parametrize("opt", ["adam", "sgd"])
@pytest.mark.parametrize("between", sorted(BETWEEN))
def test_kept_gradients_hold_across_model_changes(opt, between):
    for keep in ("tensor", "slice"):
        assert_kept_same(kept_run(trained(OPTIMIZERS[opt]), mlp, KEEPS[keep], BETWEEN[between]))


@pytest.mark.parametrize("opt", ["momentum", "sgd"])
def test_without_zero_grad_gradients_accumulate_into_the_kept_one_as_in_eager(opt, fixed_runs):
    runs = kept_run(trained(OPTIMIZERS[opt], zero=False), mlp, KEEPS["tensor"])
    assert_kept_same(runs, zero=False)
    assert runs[1][2]  # (eager changes them too: in-place accumulation, as PyTorch)
    assert fixed_runs == [0, 4]


def test_split_buckets_and_a_parameter_stepped_alone_keep_their_gradients():
    def make_opt(ps):
        opt = optim.Adam(ps, lr=0.05)
        opt.foreach_bucket_size = 16  # (the 5x4 weight steps alone, the rest in two buckets)
        return opt
    for keep in ("tensor", "slice"):
        assert_kept_same(kept_run(trained(make_opt), mlp, KEEPS[keep], input_grad=True))


def test_weight_decay_and_clipping_of_homed_gradients_replay_as_eager(fixed_runs):
    def make_step(model):
        opt = optim.Momentum(model.parameters(), lr=0.5, beta=0.9, weight_decay=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y, reduction="sum")
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            opt.step()
            return loss
        return step
    assert_kept_same(kept_run(make_step, mlp, KEEPS["tensor"]))
    assert fixed_runs[0] > 0


def test_a_step_that_steps_twice_writes_the_homes_twice_as_eager(fixed_runs):
    def make_step(model):
        opt = optim.Adam(model.parameters(), lr=0.05)

        def step(x, y):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            opt.zero_grad()
            loss = F.cross_entropy(model(x * 0.5), y)
            loss.backward()
            opt.step()
            return loss
        return step
    assert_kept_same(kept_run(make_step, mlp, KEEPS["slice"]))
    assert fixed_runs[0] > 0


def test_zero_grad_to_zeros_routes_and_adds_in_place_as_eager(fixed_runs):
    def make_step(model):
        opt = optim.Adam(model.parameters(), lr=0.05)

        def step(x, y):
            model.zero_grad(set_to_none=False)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step
    assert_kept_same(kept_run(make_step, mlp, KEEPS["tensor"]), zero=False)
    assert fixed_runs[0] == 0


def _build_graph(seed):
    """A random step over the ops with bound backwards: values from 1-2 inputs, 1-3 weights and
    2 biases, each op reading any earlier value (so leaves and nodes are reached several times)."""
    r = np.random.default_rng(seed)
    n_in, n_w = int(r.integers(1, 3)), int(r.integers(1, 4))
    ws = [(r.standard_normal((3, 3)) * 0.5).astype(np.float32) for _ in range(n_w)]
    bs = [(r.standard_normal(3) * 0.1).astype(np.float32) for _ in range(2)]
    prog, n = [], n_in
    for _ in range(int(r.integers(2, 9))):
        prog.append((str(r.choice(["linear", "relu", "tanh", "add", "mul", "half"])),
                     int(r.integers(0, n)), int(r.integers(0, n)), int(r.integers(0, n_w)),
                     int(r.integers(-1, 2))))
        n += 1
    final = str(r.choice(["sum", "mean", "summed"]))
    needs = [bool(r.integers(0, 2)) for _ in range(n_in)]
    calls = [([r.standard_normal((4, 3)).astype(np.float32) for _ in range(n_in)],
              r.integers(0, 3, 4)) for _ in range(4)]
    return ws + bs, n_w, prog, final, needs, calls


def _graph_step(params, n_w, prog, final):
    def step(*args):
        *vals, y = args
        vals = list(vals)
        for op, a, b, w, bias in prog:
            x, z = vals[a], vals[b]
            vals.append(tc.linear(x, params[w], None if bias < 0 else params[n_w + bias])
                        if op == "linear" else x.relu() if op == "relu" else x.tanh()
                        if op == "tanh" else x + z if op == "add" else x * z if op == "mul"
                        else x * 0.75)
        out = vals[-1]
        loss = (out.sum() if final == "sum"
                else F.cross_entropy(out, y, reduction="sum" if final == "summed" else "mean"))
        loss.backward()
        return loss
    return step


def _graph_run(seed, use_jit, fresh_inputs, reset):
    arrays, n_w, prog, final, needs, calls = _build_graph(seed)
    params = [tc.Tensor(a.copy(), requires_grad=True) for a in arrays]
    step = _graph_step(params, n_w, prog, final)
    f = tc.jit(step) if use_jit else step
    same_inputs = [tc.Tensor(a.copy(), requires_grad=nd) for a, nd in zip(calls[0][0], needs)]
    out, kept = [], []
    for xs, y in calls:
        if reset:
            for p in params:
                p.grad = None
        xs = [tc.Tensor(a, requires_grad=nd) for a, nd in zip(xs, needs)] if fresh_inputs \
            else same_inputs
        if reset:
            for x in xs:
                x.grad = None
        if not any(needs) and not prog:
            return None
        try:
            loss = f(*xs, tc.Tensor(y))
        except BackwardError:
            return None  # (a graph that reaches no leaf that requires grad)
        grads = [t.grad for t in (*params, *xs)]
        out.append([loss.data.copy()] + [None if g is None else g.data.copy() for g in grads])
        kept += [(g, g.data.copy(), g.data[1:]) for g in grads if g is not None]
    changed = [j for j, (g, v, rows) in enumerate(kept)
               if not (np.array_equal(g.data, v) and np.array_equal(rows, v[1:]))]
    return out, changed


@pytest.mark.parametrize("seed", range(0, 600, 10))
def test_random_graphs_of_bound_ops_replay_eager_bits_with_gradients_kept(seed, fixed_runs):
    for fresh_inputs in (True, False):
        for reset in (True, False):
            eager = _graph_run(seed, False, fresh_inputs, reset)
            jitted = _graph_run(seed, True, fresh_inputs, reset)
            if eager is None:
                assert jitted is None
                continue
            (eo, ec), (jo, jc) = eager, jitted
            for a, b in zip(eo, jo):
                for x, y in zip(a, b):
                    assert (x is None) == (y is None) and (x is None or np.array_equal(x, y))
            assert ec == jc and (ec == [] or not reset)


def test_random_graphs_run_the_fixed_schedule(fixed_runs):
    for seed in range(0, 600, 10):
        _graph_run(seed, True, True, True)
    assert fixed_runs[0] >= 50  # (a returned sum runs its own functions: no schedule)


def test_ignored_rows_at_replay_only_even_all_of_them_replay_as_eager():
    labels = [np.array([0, 1, 2, 1, 0, 2]), np.full(6, -100), np.array([0, -100, 2, 1, -100, 2]),
              np.array([1, 1, 2, 0, 0, 2]), np.full(6, -100)]
    calls = [(CALLS[i][0], tc.Tensor(y)) for i, y in enumerate(labels)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (all rows ignored: 0/0, as PyTorch)
        for reduction in ("mean", "sum"):
            (eo, ep, eg), (jo, jp, jg) = compare(trained(
                OPTIMIZERS["adam"], loss_fn=lambda m, x, y: F.cross_entropy(
                    m(x), y, reduction=reduction)), calls, mlp)
            for a, b in zip([*sum(eo, []), *ep, *eg], [*sum(jo, []), *jp, *jg]):
                assert np.array_equal(a, b, equal_nan=True)


def test_an_out_of_range_label_at_replay_raises_and_the_next_replay_is_eager(fixed_runs):
    model = mlp()
    twin = mlp()
    twin.load_state_dict(model.state_dict())
    steps = [trained(OPTIMIZERS["momentum"])(m) for m in (model, twin)]
    f = tc.jit(steps[0])
    f(*CALLS[0])
    steps[1](*CALLS[0])
    with pytest.raises(Exception, match="out of range"):
        f(CALLS[1][0], tc.Tensor(np.array([0, 1, 3, 1, 0, 2])))
    with pytest.raises(Exception, match="out of range"):
        steps[1](CALLS[1][0], tc.Tensor(np.array([0, 1, 3, 1, 0, 2])))
    for x, y in CALLS[2:]:
        assert np.array_equal(f(x, y).data, steps[1](x, y).data)
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(p.data, q.data) and np.array_equal(p.grad.data, q.grad.data)
    assert fixed_runs[0] == 3


def test_retain_graph_and_two_backwards_in_a_step_replay_as_eager():
    def retained(model):
        opt = optim.Adam(model.parameters(), lr=0.05)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward(retain_graph=True)
            loss.backward()  # (adds to the first: the routing path)
            opt.step()
            return loss
        return step

    def disjoint(model):
        opt = optim.Adam(model.parameters(), lr=0.05)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model[2](model[1](model[0](x).detach())), y)
            loss.backward()
            (model[0](x) * model[0](x)).sum().backward()  # (other leaves: fixed again)
            opt.step()
            return loss
        return step
    for make_step in (retained, disjoint):
        assert_same(compare(make_step, CALLS, mlp))


def test_a_float16_model_replays_as_eager(fixed_runs):
    calls = [(tc.Tensor(x.data.astype(np.float16)), y) for x, y in CALLS]
    for opt in ("adam", "sgd"):
        assert_same(compare(trained(OPTIMIZERS[opt]), calls, lambda: mlp().to(np.float16)))
    assert fixed_runs[0] == 8


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_softmax_cross_entropy_divides_rows_as_the_column_loop_did(dtype):
    """ae57b98: one np.divide gives the bits of dividing column by column (the old kernel)."""
    z = RNG.standard_normal((300, 3)).astype(dtype)
    shifted = z - z.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    total = p.sum(axis=1, keepdims=True)
    by_columns = p.copy()
    for j in range(3):
        np.divide(by_columns[:, j], total[:, 0], out=by_columns[:, j])
    assert np.array_equal(np.divide(p, total), by_columns)
    y = RNG.integers(0, 3, 300)
    zt = tc.Tensor(z, requires_grad=True)
    F.cross_entropy(zt, tc.Tensor(y), reduction="sum").backward()
    onehot = np.eye(3, dtype=dtype)[y]
    assert np.array_equal(zt.grad.data, by_columns - onehot)


def test_eval_train_switches_with_dropout_replay_as_eager():
    def model():
        return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Dropout(0.5), nn.Linear(5, 3))
    assert_same(compare(trained(OPTIMIZERS["adam"]), CALLS, model,
                        between=lambda m, i: m.train(i % 2 == 0)))


def test_a_0d_parameter_and_a_broadcast_bias_route_as_eager_with_kept_gradients():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 3), nn.Linear(3, 3)
            self.scale = nn.Parameter(np.array(0.5, np.float32))  # (0-d)
            self.gain = nn.Parameter(np.ones(3, np.float32))  # (broadcast over the rows)

        def forward(self, x):
            return self.b((self.a(x) * self.gain).tanh() * self.scale)
    for opt in ("adam", "sgd"):
        for keep in ("tensor", "transpose"):
            assert_kept_same(kept_run(trained(OPTIMIZERS[opt]), Scaled, KEEPS[keep],
                                      input_grad=True))


def test_gradient_accumulation_over_micro_batches_replays_as_eager(fixed_runs):
    """backward() jitted alone, the optimizer's step every third call outside it: the first
    micro-batch writes the homes (fixed), the others add to them (routing)."""
    for name in ("adam", "sgd"):
        results = []
        for use_jit in (False, True):
            tc.manual_seed(0)
            model = mlp()
            opt = OPTIMIZERS[name](model.parameters())

            def accumulate(x, y, model=model):
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                return loss
            f = tc.jit(accumulate) if use_jit else accumulate
            kept = []
            for i, (x, y) in enumerate(CALLS * 2):
                f(x, y)
                if i % 3 == 2:
                    kept += [(p.grad, p.grad.data.copy()) for p in model.parameters()]
                    opt.step()
                    opt.zero_grad()
            assert all(np.array_equal(g.data, v) for g, v in kept)
            results.append([p.data.copy() for p in model.parameters()] + [v for _, v in kept])
        assert all(np.array_equal(a, b) for a, b in zip(*results))
    assert fixed_runs[0] >= 4 and fixed_runs[1] >= 4


def test_a_gradient_let_go_of_is_written_again_so_memory_stays_bounded(fixed_runs):
    for name in ("adam", "sgd"):
        tc.manual_seed(0)
        model = mlp()
        f = tc.jit(trained(OPTIMIZERS[name])(model))
        seen = set()
        for x, y in CALLS * 2:
            f(x, y)
            seen.add(id(model[0].weight.grad.data.base))
        assert len(seen) <= 2  # (the recording's own, then the schedule's)
    assert fixed_runs == [18, 0]


def test_jitted_steps_of_separate_models_in_threads_give_eager_bits():
    import threading

    def train(model, opt, use_jit, out):
        f = tc.jit(trained(lambda ps: opt)(model)) if use_jit else trained(lambda ps: opt)(model)
        kept = []
        for x, y in CALLS * 3:
            f(x, y)
            kept.append((model[0].weight.grad, model[0].weight.grad.data.copy()))
        out.append(([p.data.copy() for p in model.parameters()],
                    all(np.array_equal(g.data, v) for g, v in kept)))

    def made():
        tc.manual_seed(0)  # (the process-wide generator: models are made before the threads)
        model = mlp()
        return model, optim.Momentum(model.parameters(), lr=0.1, beta=0.9)
    eager = []
    train(*made(), False, eager)
    outs = [[] for _ in range(3)]
    threads = [threading.Thread(target=train, args=(*made(), True, out)) for out in outs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (params, held), in outs:
        assert held and all(np.array_equal(a, b) for a, b in zip(eager[0][0], params))


# ---- bugs ------------------------------------------------------------------------------------

W = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
X = np.ones((2, 4), np.float32)


def _seeded_grads(step, weight, calls, change):
    """Eager, then jitted: weight.grad after each call, change(i) run before call i."""
    out = []
    for use_jit in (False, True):
        f = tc.jit(step) if use_jit else step
        grads = []
        for i in range(calls):
            change(i)
            weight.grad = None
            f(tc.Tensor(X))
            grads.append(weight.grad.data.copy())
        out.append(grads)
    return out


def test_a_gradient_tensor_whose_data_is_replaced_is_read_again():
    w = tc.Tensor(W, requires_grad=True)
    seed = tc.Tensor(np.ones((2, 3), np.float32))

    def step(x):
        (x @ w.T).tanh().backward(gradient=seed)

    def change(i):
        seed.data = np.full((2, 3), i + 1.0, np.float32)
    eager, jitted = _seeded_grads(step, w, 3, change)
    assert all(np.array_equal(a, b) for a, b in zip(eager, jitted))


def test_a_converted_gradient_array_changed_in_place_is_read_again():
    w = tc.Tensor(W, requires_grad=True)
    seed = np.ones((2, 3))  # float64

    def step(x):
        (x @ w.T).tanh().backward(gradient=seed)

    def change(i):
        seed[...] = i + 1.0
    eager, jitted = _seeded_grads(step, w, 3, change)
    assert all(np.array_equal(a, b) for a, b in zip(eager, jitted))


def test_a_gradient_array_of_the_outputs_dtype_changed_in_place_is_read_again():
    w = tc.Tensor(W, requires_grad=True)
    seed = np.ones((2, 3), np.float32)

    def step(x):
        (x @ w.T).tanh().backward(gradient=seed)

    def change(i):
        seed[...] = i + 1.0
    eager, jitted = _seeded_grads(step, w, 3, change)
    assert all(np.array_equal(a, b) for a, b in zip(eager, jitted))


def test_check_true_notices_a_changed_root_gradient():
    w = tc.Tensor(W, requires_grad=True)
    scale = [1.0]

    def step(x):  # (a Python number: its value is read when recording, like any in the step)
        (x @ w.T).tanh().sum().backward(gradient=scale[0])

    f = tc.jit(step, check=True)
    f(tc.Tensor(X))
    scale[0] = 2.0
    with pytest.raises(tc.jit.JitError, match="gets the gradient 2.0 now, 1.0 when recorded"):
        f(tc.Tensor(X))


def test_a_gradient_the_step_makes_without_an_op_is_refused():
    w = tc.Tensor(W, requires_grad=True)

    def step(x):
        (x @ w.T).tanh().sum().backward(gradient=tc.Tensor(np.float32(2.0)))

    with pytest.raises(tc.jit.JitError, match="made without an op"):
        tc.jit(step)(tc.Tensor(X))


def test_a_gradient_computed_in_the_step_or_passed_in_replays_its_new_value():
    w = tc.Tensor(W, requires_grad=True)

    def step(x, g):
        (x @ w.T).tanh().backward(gradient=g * 2.0)  # (an op's value: its slot)
        (x @ w.T).tanh().backward(gradient=g)  # (a step input, float64: converted every call)

    grads = []
    for f in (step, tc.jit(step)):
        out = []
        for i in range(3):
            w.grad = None
            f(tc.Tensor(X), tc.Tensor(np.full((2, 3), i + 1.0)))
            out.append(w.grad.data.copy())
        grads.append(out)
    assert all(np.array_equal(a, b) for a, b in zip(*grads))


def test_a_nan_put_into_the_root_gradient_is_refused_at_replay():
    w = tc.Tensor(W, requires_grad=True)
    seed = np.ones((2, 3), np.float32)

    def step(x):
        (x @ w.T).tanh().backward(gradient=seed)

    f = tc.jit(step)
    f(tc.Tensor(X))
    seed[0, 0] = np.nan
    w.grad = None
    with pytest.raises(ValueError, match="NaN"):
        f(tc.Tensor(X))


@pytest.mark.parametrize("number", [0, 1, 2, 0.5])
def test_a_python_number_as_the_gradient_replays_as_eager(number):
    # A whole number was once taken for a slot of the step: gradient=1 read the step's second
    # value at every replay.
    grads = []
    for use_jit in (False, True):
        w = tc.Tensor(np.float32(3.0), requires_grad=True)

        def step(x, w=w):
            (x * w).backward(gradient=number)
        f = tc.jit(step) if use_jit else step
        out = []
        for _ in range(3):
            w.grad = None
            f(tc.Tensor(np.float32(5.0)))
            out.append(w.grad.data.copy())
        grads.append(out)
    assert all(np.array_equal(a, b) for a, b in zip(*grads))
    assert grads[0][0] == 5.0 * number
