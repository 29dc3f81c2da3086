"""Review of tc.jit: steps whose replay once differed from eager (stale masks, indices, returned
values, aliased inputs, value-dependent kernels, threads) or that were refused though eager runs
them. Each test compares a jitted step with the same step run eagerly, or checks the refusal."""
import threading

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.jit import JitError
from tinygrad_course.nn import functional as F

from jit_helpers import compare

RNG = np.random.default_rng(1)
X = RNG.standard_normal((8, 5)).astype(np.float32)
LABELS = [np.array([0, 1, 0, 1, 0, 1, 0, 1]), np.array([2, 2, 0, 1, 2, 1, 0, 2]),
          np.array([1, 0, 2, 2, 1, 0, 2, 1])]
BATCHES = [(tc.Tensor(X + i), tc.Tensor(y)) for i, y in enumerate(LABELS)]


def mlp():
    return nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 3))


def run_both(make_step, batches=BATCHES, steps=4, make_model=mlp):
    """make_step(model) -> step(x, y); run it eagerly and jitted from the same seed over
    `batches`: for each, the step's outputs as float arrays per call and the final parameters."""
    calls = [batches[i % len(batches)] for i in range(steps)]
    return [(outs, params) for outs, params, _ in compare(make_step, calls, make_model)]


def assert_same(results):
    (eo, ep), (jo, jp) = results
    for call, (a, b) in enumerate(zip(eo, jo)):
        for k, (x, y) in enumerate(zip(a, b)):
            assert np.array_equal(x, y), f"call {call}, output {k}: eager {x.ravel()[:4]}, jit {y.ravel()[:4]}"
    for k, (x, y) in enumerate(zip(ep, jp)):
        assert np.array_equal(x, y), f"parameter {k} differs"


def training(loss_fn, ret=None):
    """A training step make_step: zero_grad, loss, backward, Adam step; returns the loss (or ret)."""
    def make_step(model):
        opt = optim.Adam(model.parameters(), lr=0.01)

        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss if ret is None else ret(model, loss)
        return step
    return make_step


# ---- values computed in the step outside a kernel are replayed stale -------------------------

def test_where_on_a_mask_compared_in_the_step():
    assert_same(run_both(lambda m: lambda x, y: tc.where(y > 0, m(x)[:, 0], 0.0)))


def test_returned_predictions_and_correct_flags():
    assert_same(run_both(lambda m: lambda x, y: (m(x).argmax(axis=1), m(x).argmax(axis=1) == y)))


def test_accuracy_computed_in_the_step():
    assert_same(run_both(lambda m: lambda x, y: (m(x).argmax(axis=1) == y).astype(np.float32).mean()))


def test_hand_written_nll_with_a_label_index():
    assert_same(run_both(training(lambda z, y: -tc.log_softmax(z, axis=1)[tc.arange(8), y].mean())))


def test_slice_and_tensor_index():
    assert_same(run_both(lambda m: lambda x, y: m(x)[:, y[:3]]))


@pytest.mark.parametrize("pick", [
    pytest.param(lambda lp, y: lp.gather(1, y.reshape(-1, 1)), id="gather"),
    pytest.param(lambda lp, y: tc.take_along_axis(lp, y.reshape(-1, 1), axis=1), id="take_along_axis"),
    pytest.param(lambda lp, y: tc.index_select(lp, 0, y), id="index_select"),
])
def test_gather_family_with_step_indices(pick):
    assert_same(run_both(training(lambda z, y: -pick(tc.log_softmax(z, axis=1), y).mean())))


def test_cross_entropy_ignore_index_present_only_in_a_later_batch():
    assert_same(run_both(lambda m: lambda x, y: F.cross_entropy(m(x), y, ignore_index=2)))


def test_cross_entropy_default_ignore_index_first_seen_at_replay():
    # The fused kernel ignores -100 itself, so the kernel a step records does not depend on
    # whether the first batch had an ignored label.
    labels = [LABELS[0], np.where(LABELS[1] == 2, -100, LABELS[1])]
    batches = [(tc.Tensor(X + i), tc.Tensor(y)) for i, y in enumerate(labels)]
    assert_same(run_both(training(F.cross_entropy), batches=batches))


# ---- returned values that are not kernel outputs -----------------------------------------------

def test_returning_a_gradient_is_refused():
    # A parameter's .grad is no op's output: a replay could only return the first one.
    with pytest.raises(JitError, match="no op in it made.*Read it outside the step"):
        run_both(training(F.cross_entropy, ret=lambda m, loss: (loss, m[0].weight.grad)))


def test_returning_the_norm_from_clip_grad_norm():
    def make_step(model):
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            return loss, norm
        return step
    assert_same(run_both(make_step))


# ---- the signature ---------------------------------------------------------------------------

def test_the_same_tensor_passed_twice_then_two_tensors():
    a, b, c = (tc.Tensor(X + i) for i in range(3))
    results = run_both(lambda m: lambda u, v: (m(u) * m(v)).sum(), batches=[(a, a), (b, c), (c, b)])
    assert_same(results)


def test_input_gradients_when_an_argument_aliased_at_recording():
    w = tc.Tensor(np.ones(5, np.float32))

    def step(u, v):
        ((u * w) * (v + 1.0)).sum().backward()
    grads = []
    for use_jit in (False, True):
        f = tc.jit(step) if use_jit else step
        a = tc.Tensor(X, requires_grad=True)
        f(a, a)
        b, c = tc.Tensor(X + 1, requires_grad=True), tc.Tensor(X + 2, requires_grad=True)
        f(b, c)
        grads.append((None if b.grad is None else b.grad.data, None if c.grad is None else c.grad.data))
    (eb, ec), (jb, jc) = grads
    assert jb is not None and np.array_equal(eb, jb) and np.array_equal(ec, jc)


# ---- threads -----------------------------------------------------------------------------------

class _Meet(tc.Function):
    """identity whose forward waits a while for the other thread (to interleave two replays if
    the jit lets them run at once; it does not, so the wait runs out and the replays take turns)."""
    barrier = None

    @staticmethod
    def forward(ctx, x):
        if _Meet.barrier is not None:
            try:
                _Meet.barrier.wait()
            except threading.BrokenBarrierError:
                pass
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def test_a_step_replayed_from_two_threads_at_once():
    w = tc.Tensor(np.ones(5, np.float32))

    def step(x):
        _Meet.apply((x * w).tanh()).sum().backward()  # tanh saves its output for backward
    f = tc.jit(step)
    f(tc.Tensor(X, requires_grad=True))
    xs = [tc.Tensor(X * 0.1, requires_grad=True), tc.Tensor(X * 3, requires_grad=True)]
    errors = []

    def run(x):
        try:
            f(x)
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)
    _Meet.barrier = threading.Barrier(2, timeout=0.5)
    try:
        threads = [threading.Thread(target=run, args=(x,)) for x in xs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        _Meet.barrier = None
    assert not errors, errors
    for x in xs:
        expected = tc.Tensor(x.data, requires_grad=True)
        step(expected)
        assert np.array_equal(x.grad.data, expected.grad.data)


# ---- the library's own losses are refused --------------------------------------------------------

W3 = tc.Tensor(np.array([1.0, 2.0, 3.0], np.float32))
FLOAT_BATCHES = [(tc.Tensor(X + i), tc.Tensor(RNG.standard_normal((8, 3)).astype(np.float32)))
                 for i in range(3)]
BINARY_BATCHES = [(tc.Tensor(X + i), tc.Tensor(RNG.integers(0, 2, (8, 3)).astype(np.float32)))
                  for i in range(3)]
PROB_BATCHES = [(x, tc.Tensor(np.abs(t.data) / np.abs(t.data).sum(axis=1, keepdims=True)))
                for x, t in FLOAT_BATCHES]


@pytest.mark.parametrize("loss, batches", [
    pytest.param(lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1), BATCHES, id="ce_label_smoothing"),
    pytest.param(lambda z, y: F.cross_entropy(z, y, weight=W3), BATCHES, id="ce_weight"),
    pytest.param(lambda z, y: F.nll_loss(tc.log_softmax(z, axis=1), y), BATCHES, id="nll_loss"),
    pytest.param(lambda z, y: F.cross_entropy(z, y.reshape(-1, 1)), BATCHES, id="ce_column_labels"),
    pytest.param(F.huber_loss, FLOAT_BATCHES, id="huber"),
    pytest.param(F.smooth_l1_loss, FLOAT_BATCHES, id="smooth_l1"),
    pytest.param(lambda z, y: F.binary_cross_entropy_with_logits(z, y, pos_weight=W3),
                 BINARY_BATCHES, id="bce_pos_weight"),
    pytest.param(lambda z, y: F.kl_div(tc.log_softmax(z, axis=1), y, reduction="batchmean"),
                 PROB_BATCHES, id="kl_div"),
    pytest.param(lambda z, y: -(tc.log_softmax(z, axis=1) * F.one_hot(y, 3)).sum(), BATCHES,
                 id="one_hot_targets"),
    pytest.param(lambda z, y: tc.masked_fill(z, y.reshape(-1, 1) > 0, 0.0).sum(), BATCHES,
                 id="masked_fill"),
])
def test_library_losses_with_options_replay(loss, batches):
    assert_same(run_both(training(loss), batches=batches))


# ---- what works (kept as regression tests) ------------------------------------------------------

@pytest.mark.parametrize("loss, batches", [
    pytest.param(F.cross_entropy, BATCHES, id="ce_changing_labels"),
    pytest.param(F.mse_loss, FLOAT_BATCHES, id="mse"),
    pytest.param(F.l1_loss, FLOAT_BATCHES, id="l1"),
    pytest.param(F.binary_cross_entropy_with_logits, BINARY_BATCHES, id="bce_logits"),
    pytest.param(lambda z, y: F.binary_cross_entropy_with_logits(z, y, weight=W3), BINARY_BATCHES,
                 id="bce_logits_weight"),
])
def test_losses_that_replay(loss, batches):
    assert_same(run_both(training(loss), batches=batches))


def test_views_concat_stack_broadcast_and_no_grad_regions_replay():
    def make_step(model):
        def step(x, y):
            h = model(x)
            with tc.no_grad():
                t = h.softmax(axis=1)
            s = tc.stack([h, h * 2]).sum() + tc.concatenate([h, x], axis=1).sum()
            v = (h.reshape(4, 6).T @ h[:4, :2]).sum() + (h + x.sum(axis=1, keepdims=True)).sum()
            loss = F.cross_entropy(h, y) + (t * h).sum() + 0.01 * (s + v)
            model.zero_grad()
            loss.backward(retain_graph=True)
            loss.backward()
            return loss, h
        return step
    assert_same(run_both(make_step))


def test_frozen_then_unfrozen_parameter_records_again():
    def run(use_jit):
        tc.manual_seed(0)
        model = mlp()
        step = training(F.cross_entropy)(model)
        f = tc.jit(step) if use_jit else step
        out = []
        for i in range(4):
            model[0].weight.requires_grad = i % 2 == 0
            out.append([f(*BATCHES[i % 3]).data.copy()])
        return out, [p.data.copy() for p in model.parameters()]
    assert_same([run(False), run(True)])


# ---- more found later: hooks, modules refused, check=True false alarm, a leak ------------------

def test_a_full_backward_hook_that_changes_the_gradient():
    def make():
        model = mlp()
        model[2].register_full_backward_hook(
            lambda mod, gin, gout: tuple(None if g is None else g * 0.5 for g in gin))
        return model
    assert_same(run_both(training(F.cross_entropy), make_model=make))


class _Attend(nn.Module):
    # The masks are made once, outside the step: an array made in the step would be refused
    # (the jit cannot tell a constant from a value computed from the batch).
    def __init__(self, mask_kind):
        super().__init__()
        self.attn, self.out, self.mask_kind = nn.MultiheadAttention(4, 2, batch_first=True), \
            nn.Linear(4, 3), mask_kind
        self.causal = np.triu(np.ones((3, 3), bool), 1)
        self.padding = np.array([[False, False, True]] * 4)

    def forward(self, x):
        if self.mask_kind == "causal":
            h, _ = self.attn(x, x, x, attn_mask=self.causal)
        else:
            h, _ = self.attn(x, x, x, key_padding_mask=self.padding)
        return self.out(h.mean(axis=1))


SEQS = [(tc.Tensor(RNG.standard_normal((4, 3, 4)).astype(np.float32)), tc.Tensor(y[:4]))
        for y in LABELS]
IMAGES = [(tc.Tensor(RNG.standard_normal((4, 2, 6, 6)).astype(np.float32)), tc.Tensor(y[:4]))
          for y in LABELS]


@pytest.mark.parametrize("make, batches", [
    pytest.param(lambda: _Attend("causal"), SEQS, id="mha_causal_attn_mask"),
    pytest.param(lambda: _Attend("padding"), SEQS, id="mha_key_padding_mask"),
    pytest.param(lambda: nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.AvgPool2d(3),
                                       nn.Flatten(), nn.Linear(3, 3)), IMAGES, id="avg_pool2d"),
    pytest.param(lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                       nn.Linear(3, 3)), IMAGES, id="adaptive_avg_pool2d"),
])
def test_library_modules_replay(make, batches):
    assert_same(run_both(training(F.cross_entropy), batches=batches, make_model=make))


def test_check_true_has_no_false_alarm_on_a_cnn_with_max_pooling():
    tc.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 3))
    step = tc.jit(training(F.cross_entropy)(model), check=True)
    for x, y in IMAGES:
        step(x, y)


def test_replaying_max_pooling_does_not_grow_memory():
    import tracemalloc
    tc.manual_seed(0)
    model = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    step = tc.jit(training(F.cross_entropy)(model))
    x, y = tc.Tensor(RNG.standard_normal((8, 4, 16, 16)).astype(np.float32)), tc.Tensor(LABELS[1])
    for _ in range(3):
        step(x, y)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(40):
            step(x, y)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, f"{grown} bytes kept after 40 replays"  # one index array is 16 kB


def test_max_pool_indices_returned_by_the_step():
    assert_same(run_both(lambda m: lambda x, y: F.max_pool2d(x, 2, return_indices=True),
                         batches=IMAGES))


def test_returning_the_lr_from_a_schedule_step():
    def make_step(model):
        opt = optim.SGD(model.parameters(), lr=0.1)
        sched = optim.StepLR(opt, step_size=1, gamma=0.5)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss, sched.step()
        return step
    assert_same(run_both(make_step))


@pytest.mark.parametrize("opt", ["SGD", "Momentum", "RMSprop", "Adam", "AdamW"])
@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_param_groups_weight_decay_and_dtypes_replay(opt, dtype):
    def make():
        return mlp().to(dtype)

    def make_step(model):
        o = getattr(optim, opt)([{"params": model[0].parameters(), "lr": 0.05, "weight_decay": 0.1},
                                 {"params": model[2].parameters()}], lr=0.01)

        def step(x, y):
            o.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            o.step()
            return loss
        return step
    batches = [(tc.Tensor(x.data.astype(dtype)), y) for x, y in BATCHES]
    assert_same(run_both(make_step, batches=batches, make_model=make))
