"""Third review of tc.jit (after test_jit_review.py and test_jit_review2.py): memory a replay
keeps between calls, fit(jit=True) with every option, check=True on the library's modules, and
the eager behaviour of the ops that now run through the no-gradient op (comparisons, factories)
and of the fused cross_entropy that ignores -100 itself."""
import gc
import os
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import callbacks as cb
from tinygrad_course import nn, optim
from tinygrad_course.jit import JitError
from tinygrad_course.nn import functional as F
from tinygrad_course.nn.batchnorm import batch_norm
from tinygrad_course.nn.dropout import dropout2d
from tinygrad_course.nn.embedding import embedding
from tinygrad_course.nn.norm import group_norm, layer_norm

from jit_helpers import Embed

RNG = np.random.default_rng(3)


def held_after_calls(f, args, calls: int = 3) -> int:
    """Bytes still allocated after `calls` calls of f(*args) whose results were dropped (the
    function's parameters and optimizer state are made before, so they do not count)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(calls):
            r = f(*args)
        del r
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def adam_step(model):
    """zero_grad, cross-entropy, backward, an Adam step; returns the loss."""
    opt = optim.Adam(model.parameters(), lr=0.01)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


# ---- memory ------------------------------------------------------------------------------------

BIG_X = tc.Tensor(RNG.standard_normal((256, 64)).astype(np.float32))


def big_mlp():
    tc.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 512),
                         nn.Tanh(), nn.Linear(512, 3))


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "grad_no_backward"])
def test_a_jitted_forward_without_backward_keeps_no_activations_between_calls(grad):
    def predict(x):
        if grad:
            return model(x).softmax(axis=1)
        with tc.no_grad():
            return model(x).softmax(axis=1)
    model = big_mlp().eval()
    eager = held_after_calls(predict, (BIG_X,))
    model = big_mlp().eval()
    jitted = tc.jit(predict)
    after_3, after_8 = held_after_calls(jitted, (BIG_X,)), held_after_calls(jitted, (BIG_X,), 5)
    # The replay keeps its kernels' output buffers (written again at every call, see
    # lowering.py), nothing else: at most the forward's activations once, and no growth.
    activations = 256 * 512 * (4 * 4 + 1)  # 4 float32 layer outputs and a ReLU mask
    assert eager < 100_000
    assert after_3 < activations + 100_000, f"the jitted forward keeps {after_3} bytes"
    assert after_8 < 50_000, f"the jitted forward kept {after_8} more bytes in 5 more calls"


def test_a_replay_does_not_keep_the_input_batch_alive():
    w = tc.Tensor(np.ones(4, np.float32), requires_grad=True)

    def step(x):
        w.grad = None
        loss = (x * w + x).sum()  # add reads two step values: the general kernel path
        loss.backward()
        return loss
    f = tc.jit(step)
    for _ in range(3):
        f(tc.Tensor(RNG.standard_normal((3, 4)).astype(np.float32)))
    x = tc.Tensor(RNG.standard_normal((3, 4)).astype(np.float32))
    f(x)
    data = weakref.ref(x.data)
    del x
    gc.collect()
    assert data() is None, "the jitted step still holds the last batch's array"


def test_replays_do_not_grow_memory_with_dropout_batchnorm_shape_changes_and_check():
    # 200 replays of an MLP step with dropout and batch norm; two batch shapes alternating with
    # cache_size=2; three alternating with cache_size=2 (a recording at every call); check=True.
    xs = [tc.Tensor(RNG.standard_normal((n, 6)).astype(np.float32)) for n in (32, 20, 10)]
    ys = [tc.Tensor(RNG.integers(0, 3, n)) for n in (32, 20, 10)]
    for shapes, kwargs, calls in [(1, {}, 200), (2, {"cache_size": 2}, 200),
                                  (3, {"cache_size": 2}, 60), (1, {"check": True}, 60)]:
        tc.manual_seed(0)
        f = tc.jit(adam_step(nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                           nn.Dropout(0.8), nn.Linear(16, 3))), **kwargs)
        for i in range(3 * shapes):
            f(xs[i % shapes], ys[i % shapes])
        # Measured between two points both traced (a recording made before tracing started
        # is not counted, one made after is: with three shapes the cache's entries change).
        tracemalloc.start()
        try:
            for i in range(calls):
                f(xs[i % shapes], ys[i % shapes])
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            for i in range(calls):
                f(xs[i % shapes], ys[i % shapes])
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert grown < 60_000, f"{kwargs}, {shapes} shapes: {grown} bytes kept after {calls} calls"


# ---- fit(jit=True) with everything ----------------------------------------------------------

FX = RNG.standard_normal((53, 6)).astype(np.float32)  # batches of 16: the last one has 5
FY = RNG.integers(0, 3, 53)
DX = RNG.standard_normal((20, 6)).astype(np.float32)
DY = RNG.integers(0, 3, 20)


def accuracy(z, y):
    return float((z.data.argmax(axis=1) == y.data).mean())


def fit_everything(use_jit, schedule, loader, epochs=7, checkpoint=None, resume=False):
    tc.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.8),
                          nn.Linear(16, 3))
    opt = optim.Adam(model.parameters(), lr=0.05)
    sched = {"batch": lambda: optim.OneCycleLR(opt, max_lr=0.1, total_steps=epochs * 4),
             "epoch": lambda: optim.StepLR(opt, step_size=2, gamma=0.5),
             "plateau": lambda: optim.ReduceLROnPlateau(opt, patience=0, factor=0.5)}[schedule]()
    clip = cb.GradientClipping(0.5)
    callbacks = [clip, cb.EarlyStopping(monitor="dev_cost", patience=2, restore_best=True),
                 cb.TerminateOnNaN()]
    data = tc.data.DataLoader(FX, FY, batch_size=16, seed=5) if loader else (FX, FY)
    h = tc.fit(model, F.cross_entropy, opt, data, epochs, schedule=sched, dev=(DX, DY),
               metrics={"acc": accuracy}, callbacks=callbacks, batch_size=16, seed=1, jit=use_jit,
               progress=False, checkpoint=checkpoint, resume=resume)
    history = (h.costs, h.epoch_costs, h.lrs, h.train, h.dev, h.stopped_early, clip.norms)
    return history, [np.array(v) for v in model.state_dict().values()]


@pytest.mark.parametrize("schedule, loader", [("batch", False), ("epoch", True),
                                              ("plateau", False)])
def test_fit_with_jit_and_every_option_equals_eager_bit_for_bit(schedule, loader):
    (he, we), (hj, wj) = fit_everything(False, schedule, loader), fit_everything(True, schedule, loader)
    assert he == hj
    assert all(np.array_equal(a, b) for a, b in zip(we, wj))


def test_fit_with_jit_resumed_from_a_checkpoint_equals_eager(tmp_path):
    results = []
    for use_jit in (False, True):
        path = os.fspath(tmp_path / f"run_{use_jit}.npz")
        fit_everything(use_jit, "plateau", True, epochs=3, checkpoint=path)
        results.append(fit_everything(use_jit, "plateau", True, checkpoint=path, resume=True))
    (he, we), (hj, wj) = results
    assert he == hj and all(np.array_equal(a, b) for a, b in zip(we, wj))


# ---- check=True on the library's modules -------------------------------------------------------

def images():
    return [tc.Tensor(RNG.standard_normal((4, 2, 6, 6)).astype(np.float32)) for _ in range(3)]


def sequences():
    return [tc.Tensor(RNG.standard_normal((4, 3, 4)).astype(np.float32)) for _ in range(3)]


class _Attend(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn, self.out = nn.MultiheadAttention(4, 2, batch_first=True), nn.Linear(4, 3)

    def forward(self, x):
        h, _ = self.attn(x, x, x)
        return self.out(h.mean(axis=1))


@pytest.mark.parametrize("make, inputs", [
    pytest.param(lambda: nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=2, dilation=2),
                                       nn.Flatten(), nn.Linear(27, 3)), images, id="conv"),
    pytest.param(lambda: nn.Sequential(nn.ConvTranspose2d(2, 3, 3, stride=2),
                                       nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 3)),
                 images, id="conv_transpose_adaptive_pool"),
    pytest.param(lambda: nn.Sequential(nn.AvgPool2d(2), nn.Flatten(), nn.Linear(18, 3)), images,
                 id="avg_pool"),
    pytest.param(lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),
                                       nn.Flatten(), nn.Linear(48, 3)), images, id="batchnorm2d"),
    pytest.param(lambda: nn.Sequential(nn.Conv2d(2, 4, 3), nn.GroupNorm(2, 4), nn.Flatten(),
                                       nn.Linear(64, 3)), images, id="groupnorm"),
    pytest.param(lambda: nn.Sequential(nn.LayerNorm(4), nn.Flatten(), nn.Linear(12, 3)),
                 sequences, id="layernorm"),
    pytest.param(_Attend, sequences, id="attention"),
    pytest.param(Embed, lambda: [tc.Tensor(RNG.integers(0, 10, (4, 3))) for _ in range(3)],
                 id="embedding_padding_idx"),
    pytest.param(lambda: nn.Sequential(nn.Dropout2d(0.7), nn.Flatten(), nn.Linear(72, 3)), images,
                 id="dropout2d"),
])
def test_check_true_has_no_false_alarm_on_library_modules_in_train_and_eval(make, inputs):
    tc.manual_seed(0)
    model = make()
    f = tc.jit(adam_step(model), check=True)
    xs, ys = inputs(), [tc.Tensor(RNG.integers(0, 3, 4)) for _ in range(3)]
    for i in range(4):
        f(xs[i % 3], ys[i % 3])
    model.eval()
    for i in range(3):
        f(xs[i % 3], ys[i % 3])


POS = [tc.Tensor(np.abs(RNG.standard_normal((2, 2, 6, 6))).astype(np.float32)) for _ in range(2)]
NEG = tc.Tensor(-np.abs(RNG.standard_normal((2, 2, 6, 6))).astype(np.float32))
SEQ_POS = [tc.Tensor(np.abs(RNG.standard_normal((2, 3, 4))).astype(np.float32)) for _ in range(2)]
SEQ_NEG = tc.Tensor(-np.abs(RNG.standard_normal((2, 3, 4))).astype(np.float32))
IDS = [tc.Tensor(np.array([[1, 2, 3], [4, 5, 6]])), tc.Tensor(np.array([[2, 2, 3], [4, 5, 6]])),
       tc.Tensor(np.array([[7, 2, 3], [4, 5, 6]]))]
CONVS = [nn.Conv2d(2, 3, 3), nn.Conv2d(2, 3, 3)]
MHA = nn.MultiheadAttention(4, 2, batch_first=True)
CAUSAL, ANTI = np.triu(np.ones((3, 3), bool), 1), np.tril(np.ones((3, 3), bool), -1)
EMBS = [nn.Embedding(10, 4), nn.Embedding(10, 4)]
LN = nn.LayerNorm(4)
BN_GAMMA, BN_BETA = tc.ones(36, requires_grad=True), tc.zeros(36, requires_grad=True)


def up(x) -> bool:  # a planted value-dependent branch (x.data is not refused while recording)
    return bool(x.data.mean() > 0) if x.data.dtype.kind == "f" else bool(x.data[0, 0] < 5)


@pytest.mark.parametrize("fn, inputs", [
    pytest.param(lambda x: F.conv2d(x, CONVS[0].weight, CONVS[0].bias,
                                    padding=1 if up(x) else 0).sum(), POS + [NEG], id="conv_padding"),
    pytest.param(lambda x: CONVS[0 if up(x) else 1](x).sum(), POS + [NEG], id="conv_weights"),
    pytest.param(lambda x: (F.max_pool2d(x, 2) if up(x) else F.avg_pool2d(x, 2)).sum(),
                 POS + [NEG], id="pool_kind"),
    pytest.param(lambda x: F.max_pool2d(x, 2 if up(x) else 3).sum(), POS + [NEG], id="pool_size"),
    pytest.param(lambda x: batch_norm(x.reshape(4, 36), None, None, BN_GAMMA, BN_BETA,
                                      eps=1e-5 if up(x) else 0.1).sum(), POS + [NEG], id="batch_norm_eps"),
    pytest.param(lambda x: layer_norm(x, (4,), LN.weight, LN.bias, eps=1e-5 if up(x) else 0.1).sum(),
                 SEQ_POS + [SEQ_NEG], id="layer_norm_eps"),
    pytest.param(lambda x: group_norm(x, 1 if up(x) else 2).sum(), POS + [NEG], id="group_norm_groups"),
    pytest.param(lambda x: MHA(x, x, x, attn_mask=CAUSAL if up(x) else ANTI)[0].sum(),
                 SEQ_POS + [SEQ_NEG], id="attention_mask"),
    pytest.param(lambda t: EMBS[0 if up(t) else 1](t).sum(), IDS, id="embedding_table"),
    pytest.param(lambda t: (embedding(t, EMBS[0].weight, padding_idx=2 if up(t) else 3)
                            * tc.arange(4.0)).sum(), IDS, id="embedding_padding_idx"),
    pytest.param(lambda x: dropout2d(x, 0.5 if up(x) else 0.9).sum(), POS + [NEG], id="dropout2d"),
])
def test_check_true_catches_a_planted_branch_in_each_module_family(fn, inputs):
    tc.manual_seed(0)
    f = tc.jit(fn, check=True)
    f(inputs[0])
    f(inputs[1])
    with pytest.raises(JitError, match="call 3"):
        f(inputs[2])


LIN = nn.Linear(4, 3)
OPT_A, OPT_B = optim.SGD(LIN.parameters(), lr=0.1), optim.SGD(LIN.parameters(), lr=0.5)
ROWS_POS = [tc.Tensor(np.abs(RNG.standard_normal((4, 4))).astype(np.float32)) for _ in range(2)]
ROWS_NEG = tc.Tensor(-np.abs(RNG.standard_normal((4, 4))).astype(np.float32))


def _step_choosing_an_optimizer(x):
    OPT_A.zero_grad()
    loss = LIN(x).sum()
    loss.backward()
    (OPT_A if up(x) else OPT_B).step()
    return loss


def _step_choosing_a_clipping_norm(x):
    OPT_A.zero_grad()
    loss = LIN(x).sum()
    loss.backward()
    nn.utils.clip_grad_norm_(LIN.parameters(), 1.0 if up(x) else 100.0)
    OPT_A.step()
    return loss


@pytest.mark.parametrize("step", [_step_choosing_an_optimizer, _step_choosing_a_clipping_norm],
                         ids=["which_optimizer", "clip_max_norm"])
def test_check_true_catches_a_branch_in_the_arguments_of_a_replayed_call(step):
    f = tc.jit(step, check=True)
    f(ROWS_POS[0])
    f(ROWS_POS[1])
    with pytest.raises(JitError, match="call 3"):
        f(ROWS_NEG)


# ---- eager behaviour of the ops that now run through NoGrad -------------------------------------

W3 = tc.Tensor(np.ones(3, np.float32), requires_grad=True)


@pytest.mark.parametrize("call", [
    lambda: W3 > tc.ones(4),
    lambda: tc.isclose(W3, tc.ones(4)),
    lambda: tc.logical_and(W3 > 0, tc.ones(4)),
    lambda: tc.uniform(1.0, 0.0, size=3),
    lambda: tc.arange(0, np.inf),
], ids=["greater", "isclose", "logical_and", "uniform", "arange"])
def test_bad_arguments_to_no_grad_ops_do_not_name_the_internal_op(call):
    with pytest.raises(ValueError) as e:
        call()
    assert "no_grad_op" not in str(e.value), str(e.value)


def test_factories_and_comparisons_skip_apply_outside_a_recording(monkeypatch):
    # Only tc.jit's recording needs them to run through apply (which made tc.tensor, zeros and
    # comparisons 4-9x slower); outside one they call NumPy directly. (No timing in the tests.)
    from tinygrad_course.ops import common
    calls = []
    monkeypatch.setattr(common.NoGrad, "apply", classmethod(lambda cls, *a, **k: calls.append(a)))
    t = tc.Tensor(np.ones(4, np.float32))
    tc.tensor([1.0, 2.0]), t > 0, tc.zeros(3), tc.arange(3), tc.randn(2), t == t
    assert calls == []


@pytest.mark.parametrize("make", [
    lambda g: tc.randn(2, 3, generator=g), lambda g: tc.rand(4, generator=g),
    lambda g: tc.randint(0, 10, (5,), generator=g), lambda g: tc.normal(1.0, 2.0, (3,), generator=g),
    lambda g: tc.uniform(-1.0, 1.0, (3,), generator=g),
    lambda g: tc.randn_like(tc.zeros(2, dtype=np.float16), generator=g),
], ids=["randn", "rand", "randint", "normal", "uniform", "randn_like_float16"])
def test_random_factories_draw_the_same_from_manual_seed_and_a_generator(make):
    # The same stream as numpy's Generator(PCG64(seed)), whichever way it is given.
    tc.manual_seed(7)
    a = make(None)
    b = make(tc.random.Generator(7))
    assert a.dtype == b.dtype and np.array_equal(a.data, b.data)
    tc.manual_seed(7)
    with tc.no_grad():
        assert np.array_equal(make(None).data, a.data)


def test_factories_of_a_tensor_that_requires_grad_are_leaves():
    for t in (tc.tensor(W3), tc.tensor(W3 * 2, requires_grad=True), tc.zeros_like(W3),
              tc.full_like(W3, 2.0, requires_grad=True), tc.normal(W3, 1.0, requires_grad=True)):
        assert t.is_leaf and t.grad_fn is None
    t = tc.tensor(W3, requires_grad=True)
    (t * 2).sum().backward()
    assert np.array_equal(t.grad.data, np.full(3, 2, np.float32)) and W3.grad is None


def test_full_refuses_a_string_fill_value_as_tensor_does():
    with pytest.raises(TypeError, match="cannot make a tensor"):
        tc.full((2,), "x")


def test_randint_refuses_a_range_its_dtype_cannot_hold():
    with pytest.raises(ValueError, match="randint"):
        tc.randint(2 ** 40, size=(2,), dtype=np.int8)


def test_functional_batch_norm_without_gamma_and_beta_normalizes_only():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    out = batch_norm(tc.Tensor(x), None, None, None, None)
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)


# ---- the fused cross_entropy ignoring -100 --------------------------------------------------

Z = np.random.default_rng(0).standard_normal((5, 4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_cross_entropy_ignoring_minus_100_matches_dropping_the_row(reduction, dtype):
    labels = np.array([0, 1, -100, 3, 2])
    z = tc.Tensor(Z.astype(dtype), requires_grad=True)
    loss = F.cross_entropy(z, tc.Tensor(labels), reduction=reduction)
    loss.sum().backward()
    keep = labels != -100
    z2 = tc.Tensor(Z[keep].astype(dtype), requires_grad=True)
    ref = F.cross_entropy(z2, tc.Tensor(labels[keep]), reduction=reduction)
    ref.sum().backward()
    assert loss.dtype == dtype and z.grad.dtype == dtype
    expected = ref.data if reduction != "none" else np.insert(ref.data, 2, 0)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-6)
    np.testing.assert_allclose(z.grad.data[keep], z2.grad.data, rtol=1e-6)
    assert not z.grad.data[~keep].any()
    tc.gradgradcheck(lambda a: F.cross_entropy(a, tc.Tensor(labels), reduction=reduction) * 1.0,
                     [tc.Tensor(Z, requires_grad=True)])


@pytest.mark.parametrize("labels, bad", [([0, 1, -1, 3, 2], -1), ([0, 1, 4, 3, 2], 4),
                                         ([0, 1, -101, 3, -100], -101)])
def test_fused_cross_entropy_out_of_range_labels_raise_naming_the_label(labels, bad):
    with pytest.raises(ValueError, match=rf"cross_entropy: label {bad} is out of range for 4 "
                                         r"classes \(0\.\.3\)"):
        F.cross_entropy(tc.Tensor(Z), tc.Tensor(np.array(labels)))


LOSSES_OF_LABELS = {
    "cross_entropy": lambda z, y: F.cross_entropy(z, y),
    "cross_entropy smoothed": lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1),
    "nll_loss": lambda z, y: F.nll_loss(z.log_softmax(axis=1), y),
}


@pytest.mark.parametrize("loss", LOSSES_OF_LABELS)
@pytest.mark.parametrize("bad_label", [4, 7, -1])
def test_a_replayed_loss_refuses_an_out_of_range_label_of_a_new_batch(loss, bad_label):
    # The call's own checks are Python a replay skips; the label check runs in a kernel, so a
    # label of C (the next row's logit) or -1 (the last class) raises instead of a wrong loss.
    model = nn.Linear(3, 4)
    step = tc.jit(lambda x, y: LOSSES_OF_LABELS[loss](model(x), y))
    x = tc.Tensor(RNG.standard_normal((5, 3)).astype(np.float32))
    step(x, tc.Tensor(np.array([0, 1, 2, 3, 0])))
    step(x, tc.Tensor(np.array([3, 2, 1, 0, 0])))
    assert step.recordings == 1
    with pytest.raises(ValueError, match=rf"(label|target) {bad_label} is out of range"):
        step(x, tc.Tensor(np.array([0, 1, bad_label, 3, 0])))


@pytest.mark.parametrize("labels, message", [
    ([0, 1, -1, 3], r"one_hot: labels must be in 0\.\.3, got values from -1 to 3"),
    ([0, 1, 4, 3], r"one_hot: labels must be in 0\.\.3, got values from 0 to 4")])
def test_a_replayed_one_hot_refuses_labels_out_of_range(labels, message):
    step = tc.jit(lambda y: F.one_hot(y, 4).sum(axis=0))
    for good in ([0, 1, 2, 3], [3, 2, 1, 0]):
        step(tc.Tensor(np.array(good)))
    with pytest.raises(ValueError, match=message):
        step(tc.Tensor(np.array(labels)))


def test_a_replayed_one_hot_without_num_classes_refuses_a_batch_of_another_width():
    # Eager one_hot takes the width from the largest label; a replay cannot change a shape.
    step = tc.jit(lambda y: F.one_hot(y).sum(axis=0))
    np.testing.assert_array_equal(step(tc.Tensor(np.array([0, 3, 1]))).data, [1, 1, 0, 1])
    np.testing.assert_array_equal(step(tc.Tensor(np.array([3, 3, 2]))).data, [0, 0, 1, 2])
    with pytest.raises(ValueError, match=r"was 4 when tc\.jit recorded the step and is 3 in this "
                                         r"batch; pass num_classes"):
        step(tc.Tensor(np.array([0, 2, 1])))


@pytest.mark.parametrize("loss", [F.binary_cross_entropy_with_logits,
                                  lambda z, t: F.binary_cross_entropy(z.sigmoid(), t)])
@pytest.mark.parametrize("bad", [2.0, -0.5])
def test_a_replayed_binary_cross_entropy_refuses_targets_outside_0_1(loss, bad):
    z = tc.Tensor(RNG.standard_normal(4).astype(np.float32), requires_grad=True)
    step = tc.jit(lambda t: loss(z, t))
    for good in ([0, 1, 0, 1], [1, 1, 0, 0.5]):
        step(tc.Tensor(np.array(good, np.float32)))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 1\]"):
        step(tc.Tensor(np.array([0, bad, 0, 1], np.float32)))


def test_a_replayed_binary_cross_entropy_refuses_probabilities_outside_0_1():
    # The check is in the kernel: a step that feeds it logits some batch raises then too.
    target = tc.Tensor(np.array([0, 1, 0, 1], np.float32))
    step = tc.jit(lambda a: F.binary_cross_entropy(a, target))
    for good in ([0.1, 0.9, 0.2, 0.7], [0.5, 0.5, 0.5, 0.5]):
        step(tc.Tensor(np.array(good, np.float32), requires_grad=True))
    with pytest.raises(ValueError, match=r"probabilities must be in \[0, 1\], got values from "
                                         r"-0\.5 to 0\.9"):
        step(tc.Tensor(np.array([0.1, 0.9, -0.5, 0.7], np.float32), requires_grad=True))


@pytest.mark.parametrize("bad", [5, -6])
def test_a_replayed_embedding_names_an_id_out_of_range(bad):
    table = nn.Embedding(5, 2)
    step = tc.jit(lambda ids: table(ids).sum())
    for good in ([0, 1, 4], [4, -5, 2]):
        step(tc.Tensor(np.array(good)))
    with pytest.raises(IndexError, match=rf"embedding: id {bad} is out of range for an "
                                         r"embedding table of 5 rows"):
        step(tc.Tensor(np.array([0, bad, 1])))


INDEXING_OPS = {
    "gather": lambda x, i: tc.gather(x, 1, i.reshape(-1, 1)),
    "take_along_axis": lambda x, i: tc.take_along_axis(x, i.reshape(-1, 1), 1),
    "index_select": lambda x, i: tc.index_select(x, 1, i),
}


@pytest.mark.parametrize("op", INDEXING_OPS)
@pytest.mark.parametrize("bad", [5, -6])
def test_a_replayed_gather_names_an_index_out_of_range(op, bad):
    # The range check runs in the op that reshapes the index, so a replay names the op the
    # user called, as eager does, not NumPy's indexing deep inside.
    x = tc.Tensor(RNG.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    step = tc.jit(lambda i: INDEXING_OPS[op](x, i).sum())
    for good in ([0, 1, 4, -5], [4, 3, 2, 1]):
        step(tc.Tensor(np.array(good)))
    assert step.recordings == 1
    with pytest.raises(IndexError, match=rf"{op}: index {bad} is out of range for axis 1 of size 5"):
        step(tc.Tensor(np.array([0, bad, 1, 2])))


def test_a_step_comparing_a_parameter_replays_as_eager_when_the_optimizer_moves_the_weights():
    # The first optimizer step (recorded) moves the weights into its flat buffer; the comparison
    # must read the weight through its tensor, not keep the array it had when it was recorded.
    x = tc.Tensor(RNG.standard_normal((4, 3)).astype(np.float32))

    def run(use_jit):
        tc.manual_seed(0)
        m = nn.Linear(3, 2)
        opt = optim.Momentum(m.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = m(x).sum() + tc.where(m.weight > 0, m.weight, 0.0).sum()
            loss.backward()
            opt.step()
            return loss
        step = tc.jit(step) if use_jit else step
        return [float(step(x).item()) for _ in range(4)], m.weight.data.copy()
    (eager, w_eager), (jitted, w_jitted) = run(False), run(True)
    assert eager == jitted and np.array_equal(w_eager, w_jitted)


def test_reading_a_gradient_backward_made_in_the_step_is_refused():
    # A gradient norm computed in the step from p.grad would be the first step's at every replay.
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)

    @tc.jit
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        norm = sum((p.grad * p.grad).sum() for p in model.parameters())
        opt.step()
        return loss, norm
    with pytest.raises(JitError, match=r"reads a \.grad that backward\(\) made in the step"):
        step(tc.Tensor(np.ones((4, 3), np.float32)), tc.Tensor(np.array([0, 1, 0, 1])))


def test_a_replayed_slogdet_computes_the_sign_of_each_batch():
    step = tc.jit(lambda a: (lambda r: r.sign * r.logabsdet.exp())(tc.linalg.slogdet(a)))
    first = np.stack([np.eye(2), np.diag([1.0, -1.0])]).astype(np.float32)
    then = np.stack([np.diag([-1.0, 1.0]), np.diag([2.0, 2.0])]).astype(np.float32)
    step(tc.Tensor(first))
    step(tc.Tensor(first))
    np.testing.assert_array_equal(step(tc.Tensor(then)).data, [-1.0, 4.0])
    assert step.recordings == 1


def test_a_replayed_clip_refuses_bounds_that_cross():
    step = tc.jit(lambda x, lo, hi: tc.clip(x, lo, hi))
    x = tc.Tensor(np.linspace(-1, 1, 4).astype(np.float32))
    half = np.full(4, 0.5, np.float32)
    for _ in range(2):
        step(x, tc.Tensor(-half), tc.Tensor(half))
    with pytest.raises(ValueError, match="clip: min .* is greater than max"):
        step(x, tc.Tensor(half), tc.Tensor(-half))


@pytest.mark.parametrize("read", ["accuracy", "allclose", "total_grad_norm"])
def test_functions_returning_values_read_from_tensors_are_refused_in_a_step(read):
    # They read .data directly, so the jit's patched .item()/float() never sees them; a replay
    # would return the first value.
    model = nn.Linear(3, 2)
    calls = {"accuracy": lambda z, y: F.accuracy(z, y), "allclose": lambda z, y: tc.allclose(z, z),
             "total_grad_norm": lambda z, y: nn.utils.total_grad_norm(model.parameters())}

    @tc.jit
    def step(x, y):
        z = model(x)
        z.sum().backward()
        return z, calls[read](z, y)
    with pytest.raises(JitError, match=rf"{read}\(\) returns values read from tensors"):
        step(tc.Tensor(np.ones((4, 3), np.float32)), tc.Tensor(np.array([0, 1, 0, 1])))


CONVERTED_INPUTS = {
    # (step, first input, later input): each converts its input inside the library (an int32
    # index to int64, a float64 target or mask to float32, a column of labels to a row), which
    # must happen in an op, or the step is refused as one that makes an array without an op.
    "int32 gather index": (lambda x, i: x.gather(1, i).sum(),
                           np.array([[0], [1], [2]], np.int32), np.array([[3], [2], [1]], np.int32)),
    "float64 ndarray target": (lambda x, t: F.mse_loss(x, t), np.full((3, 4), 0.5), np.eye(3, 4)),
    "ndarray column of labels": (lambda x, y: F.cross_entropy(x, y),
                                 np.array([[0], [1], [2]]), np.array([[3], [3], [0]])),
    "float64 attention mask": (
        lambda x, m: nn.attention.scaled_dot_product_attention(x[:, :3], x[:, :3], x[:, :3], m)[0].sum(),
        np.zeros((3, 3)), np.triu(np.full((3, 3), -1e9), 1)),
}


@pytest.mark.parametrize("case", CONVERTED_INPUTS)
def test_inputs_the_library_converts_are_converted_again_at_every_replay(case):
    f, first, then = CONVERTED_INPUTS[case]
    x = tc.Tensor(RNG.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    step = tc.jit(lambda a: f(x, a))
    step(first)
    step(first)
    got, want = step(then).data, f(x, then).data
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes() and step.recordings == 1


def test_a_replay_lets_go_of_what_a_kernel_keeps_on_its_node_besides_saved():
    # The fused loss keeps its labels and their flat positions on ctx (1.7 MB here); after a
    # replay they are freed, as eager's backward frees them.
    rows = 100_000
    z = tc.Tensor(RNG.standard_normal((rows, 3)).astype(np.float32), requires_grad=True)
    labels = RNG.integers(0, 3, rows)
    labels[::7] = -100  # the op's own path, which keeps them on ctx
    labels = tc.Tensor(labels)

    def f(y):
        loss = F.cross_entropy(z, y)
        loss.backward()
        return loss
    step = tc.jit(f)
    step(labels)
    z.grad = None
    held = held_after_calls(lambda y: (step(y), setattr(z, "grad", None))[0], (labels,))
    assert held < 100_000, f"a replay keeps {held} bytes"


def test_repeat_interleave_with_tensor_counts_and_norm_0_replay_as_eager():
    x = tc.Tensor(np.arange(3, dtype=np.float32), requires_grad=True)
    repeat = tc.jit(lambda r: tc.repeat_interleave(x, r).sum())
    counts = [np.array(c) for c in ([1, 2, 0], [2, 1, 0], [0, 0, 3])]
    assert [repeat(tc.Tensor(c)).item() for c in counts] == [
        tc.repeat_interleave(x, tc.Tensor(c)).sum().item() for c in counts]
    with pytest.raises(JitError, match="its shape depends on values"):
        repeat(tc.Tensor(np.array([1, 1, 2])))  # another length: a replay cannot follow
    count = tc.jit(lambda a: tc.linalg.norm(a, 0) * 1.0)
    values = [np.array(v, np.float32) for v in ([0, 1, 2], [0, 0, 1], [3, 1, 2])]
    assert [count(tc.Tensor(v)).item() for v in values] == [2.0, 1.0, 3.0]
