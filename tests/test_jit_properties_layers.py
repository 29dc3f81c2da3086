"""tc.jit against eager on drawn training steps built from what test_jit_properties.py does not
draw: nn layers (Linear, Conv2d, MaxPool2d with and without return_indices, AvgPool2d,
BatchNorm1d/2d, LayerNorm, Embedding, Dropout/Dropout2d, MultiheadAttention, Sequential,
activations) in train or eval mode (switched between calls), the losses of nn.functional with
their options (cross_entropy's weight, ignore_index and label_smoothing, nll_loss,
binary_cross_entropy(_with_logits) with pos_weight, mse, huber, kl_div), models made float16,
float32 or float64 with model.to(...), gradient clipping, the five optimizers (foreach on and off,
weight decay) and learning-rate schedules stepped inside the step or between calls. Each drawn
step runs 4 calls eagerly and 4 jitted from the same weights and seed, with new inputs at every
call: the returned values, every parameter, buffer (running statistics), .grad, the optimizer's
state and the learning rate must be equal bit for bit (tobytes), dtypes included."""
import numpy as np
from hypothesis import given, strategies as st

import tinygrad_course as tc
from tinygrad_course import nn, optim
from test_jit_properties import _snapshot

C = 4  # classes, and the width of the dense layers
CAUSAL = tc.Tensor(np.triu(np.full((3, 3), -np.inf), 1))  # (a token sees the earlier ones)

_DENSE = {  # (m, C) -> (m, C)
    "linear": lambda: nn.Linear(C, C),
    "batchnorm": lambda: nn.BatchNorm1d(C),
    "layernorm": lambda: nn.LayerNorm(C),
    "dropout": lambda: nn.Dropout(keep_prob=0.75),
    "dropout_generator": lambda: nn.Dropout(keep_prob=0.75, generator=tc.random.Generator(7)),
    "sequential": lambda: nn.Sequential(nn.Linear(C, C), nn.Tanh()),
    "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1), "softplus": nn.Softplus, "elu": nn.ELU,
    "log_softmax": lambda: nn.LogSoftmax(axis=1),
}
_IMAGE = ["conv", "conv_strided", "conv_transpose", "batchnorm2d", "groupnorm", "dropout2d", "relu", "max_pool",
          "max_pool_indices", "avg_pool", "adaptive_pool"]
_TOKENS = ["attention", "attention_causal", "layernorm", "relu"]
_LOSSES = ["cross_entropy", "cross_entropy_options", "cross_entropy_soft", "cross_entropy_module",
           "nll_loss", "bce", "bce_with_logits",
           "bce_pos_weight", "mse", "huber", "kl_div", "kl_div_log_target"]
_OPTIMIZERS = ["SGD", "Momentum", "RMSprop", "Adam", "AdamW"]
_SCHEDULES = {
    "step": lambda opt: optim.StepLR(opt, step_size=2, gamma=0.5),
    "exponential": lambda opt: optim.ExponentialDecay(opt, base=0.9),
    "cosine": lambda opt: optim.CosineAnnealingLR(opt, T_max=4),
    "linear": lambda opt: optim.LinearLR(opt, total_iters=3),
    "one_cycle": lambda opt: optim.OneCycleLR(opt, max_lr=0.05, total_steps=12,  # (its momentum too)
                                              cycle_momentum=type(opt).momentum_key is not None),
    "warm_restarts": lambda opt: optim.CosineAnnealingWarmRestarts(opt, T_0=2),
    "lambda": lambda opt: optim.LambdaLR(opt, lambda epoch: 1.0 / (1 + epoch)),
    "sequential": lambda opt: optim.SequentialLR(
        opt, [optim.LinearLR(opt, 0.5, total_iters=2), optim.ExponentialLR(opt, gamma=0.8)],
        milestones=[2]),
    "chained": lambda opt: optim.ChainedScheduler(
        [optim.LinearLR(opt, 0.5, total_iters=2), optim.CosineAnnealingLR(opt, T_max=3)]),
}
_HOOKS = {  # on the body's last Linear; the backward one scales the gradient it passes on
    "forward": lambda m: m.register_forward_hook(lambda mod, args, out: out * 0.5),
    "forward_pre": lambda m: m.register_forward_pre_hook(lambda mod, args: args[0].tanh()),
    "backward": lambda m: m.register_full_backward_hook(
        lambda mod, grad_input, grad_output: tuple(None if g is None else g * 0.5
                                                   for g in grad_input)),
}


class Drawn(nn.Module):
    """An input layer for the drawn kind of input, drawn layers, a head to C outputs."""

    def __init__(self, kind: str, front: list, dense: list):
        super().__init__()
        layers = []
        if kind == "image":  # x (m, 2, 4, 4)
            side = 4
            for name in front:
                if name == "conv":
                    layers.append(nn.Conv2d(2, 2, 3, padding=1))
                elif name == "conv_strided" and side >= 2:  # (grouped, stride 2: half the side)
                    layers.append(nn.Conv2d(2, 2, 3, stride=2, padding=1, groups=2))
                    side = (side + 1) // 2
                elif name == "conv_transpose":
                    layers.append(nn.ConvTranspose2d(2, 2, 3, padding=1))
                elif name == "groupnorm":
                    layers.append(nn.GroupNorm(1, 2))
                elif name == "adaptive_pool":
                    layers.append(nn.AdaptiveAvgPool2d(side // 2 or 1))
                    side = side // 2 or 1
                elif name == "batchnorm2d":
                    layers.append(nn.BatchNorm2d(2))
                elif name == "dropout2d":
                    layers.append(nn.Dropout2d(keep_prob=0.75))
                elif name == "relu":
                    layers.append(nn.ReLU())
                elif side >= 2:  # a pooling layer halves the side
                    layers.append(nn.AvgPool2d(2) if name == "avg_pool" else
                                  nn.MaxPool2d(2, return_indices=name == "max_pool_indices"))
                    side //= 2
            layers += [nn.Flatten(), nn.Linear(2 * side * side, C)]
        elif kind == "tokens":  # ids (m, 3) in [0, 6), 0 pads
            layers.append(nn.Embedding(6, C, padding_idx=0))
            for name in front:
                layers.append(nn.MultiheadAttention(C, 2, batch_first=True) if name == "attention"
                              else nn.MultiheadAttention(C, 1) if name == "attention_causal"
                              else nn.LayerNorm(C) if name == "layernorm" else nn.ReLU())
        else:  # x (m, 3)
            layers.append(nn.Linear(3, C))
        self.front = nn.ModuleList(layers)
        self.body = nn.Sequential(*[_DENSE[name]() for name in dense], nn.Linear(C, C))

    def forward(self, x):
        extras = []  # max pool's indices and attention weights, returned by the step
        pad = x == 0 if x.dtype.kind in "iu" else None  # tokens: padding keys, by an op
        for layer in self.front:
            if isinstance(layer, nn.MultiheadAttention) and layer.batch_first:
                x, weights = layer(x, x, x, key_padding_mask=pad)
                extras.append(weights)
            elif isinstance(layer, nn.MultiheadAttention):  # (L, N, E), a float causal mask
                t = x.swapaxes(0, 1)
                x, weights = layer(t, t, t, attn_mask=CAUSAL, need_weights=False)
                x = x.swapaxes(0, 1)
            else:
                x = layer(x)
                if isinstance(x, tuple):  # MaxPool2d(return_indices=True)
                    x, idx = x
                    extras.append(idx)
        if x.ndim == 3:  # tokens: the mean over the sequence
            x = x.mean(axis=1)
        return self.body(x), extras


def _loss(name: str, z, labels, probs, binary, targets, weight, pos_weight, options):
    ignore_index, smoothing, reduction = options
    kw = {"reduction": reduction}
    if name == "cross_entropy":
        loss = nn.F.cross_entropy(z, labels, **kw)
    elif name == "cross_entropy_options":
        loss = nn.F.cross_entropy(z, labels, weight=weight, ignore_index=ignore_index,
                                  label_smoothing=smoothing, **kw)
    elif name == "cross_entropy_soft":
        loss = nn.F.cross_entropy(z, probs, weight=weight, label_smoothing=smoothing, **kw)
    elif name == "cross_entropy_module":
        loss = nn.CrossEntropyLoss(weight, ignore_index, reduction, smoothing)(z, labels)
    elif name == "nll_loss":
        loss = nn.F.nll_loss(tc.log_softmax(z, axis=1), labels, weight=weight,
                             ignore_index=ignore_index, **kw)
    elif name == "bce":
        loss = nn.F.binary_cross_entropy(tc.sigmoid(z), binary, **kw)
    elif name == "bce_with_logits":
        loss = nn.F.binary_cross_entropy_with_logits(z, binary, **kw)
    elif name == "bce_pos_weight":
        loss = nn.F.binary_cross_entropy_with_logits(z, binary, pos_weight=pos_weight, **kw)
    elif name == "mse":
        loss = nn.F.mse_loss(z, targets, **kw)
    elif name == "huber":
        loss = nn.F.huber_loss(z, targets, delta=0.5, **kw)
    elif name == "kl_div":
        loss = nn.F.kl_div(tc.log_softmax(z, axis=1), probs, **kw)
    else:
        loss = nn.F.kl_div(tc.log_softmax(z, axis=1), tc.log(probs), log_target=True, **kw)
    return loss.mean() if reduction == "none" else loss


def _optimizer(kind: str, foreach: bool, decay, params):
    decay, decay_all = decay  # (decay_all: biases and norms' gammas too, as PyTorch)
    return getattr(optim, kind)(params, lr=0.01, weight_decay=decay, foreach=foreach,
                                decay_filter=(lambda p: True) if decay_all else nn.F.is_weight)


def _inputs(kind: str, m: int, dtype, rng) -> tuple:
    """One call's inputs: x, integer labels, probability rows, 0/1 targets, regression targets."""
    if kind == "image":
        x = tc.Tensor(rng.standard_normal((m, 2, 4, 4)).astype(dtype))
    elif kind == "tokens":  # (the first id of a row is not padding: no row of all padding)
        x = tc.Tensor(np.concatenate([rng.integers(1, 6, (m, 1)), rng.integers(0, 6, (m, 2))], 1))
    else:
        x = tc.Tensor(rng.standard_normal((m, 3)).astype(dtype))
    labels = rng.integers(0, C, m)
    probs = rng.dirichlet(np.ones(C), m).astype(dtype)
    binary = rng.integers(0, 2, (m, C)).astype(dtype)
    targets = rng.standard_normal((m, C)).astype(dtype)
    return x, labels, probs, binary, targets


def _state(model, opt, schedule) -> list:
    """Every parameter (and its .grad), every buffer, the optimizer's state and learning rates."""
    out = _snapshot(*model.parameters()) + _snapshot(*model.buffers())
    for s in opt.state_dict()["state"]:
        for k in sorted(s):
            v = s[k]
            out.append((k, v.dtype, v.shape, v.tobytes()) if isinstance(v, np.ndarray) else (k, v))
    out.append([g["lr"] for g in opt.param_groups])
    if schedule is not None:
        out.append(schedule.get_last_lr())
    return out


def _between(model, opt, change: str, dtype) -> None:
    """What a user does between two calls: another dtype, a frozen layer, another lr."""
    if change == "to_float64":
        model.to(np.float64)
    elif change == "to_float32":
        model.to(np.float32)
    elif change == "freeze":
        model.body[-1].weight.requires_grad_(False)
    elif change == "lr":
        opt.param_groups[0]["lr"] = 0.003


def _run(case, use_jit: bool) -> list:
    (kind, front, dense, dtype, x_dtype, loss_name, options, opt_kind, foreach, decay,
     schedule_name, schedule_where, clip, twice, set_to_none, change, hooks, after, modes,
     sizes, seed) = case
    tc.manual_seed(seed)  # (the weights and dropout's masks: the same draws both ways)
    model = Drawn(kind, front, dense).to(dtype)
    for name in hooks:
        _HOOKS[name](model.body[-1])
    opt = _optimizer(opt_kind, foreach, decay, model.parameters())
    schedule = None if schedule_name is None else _SCHEDULES[schedule_name](opt)
    rng = np.random.default_rng(seed)
    weight = tc.Tensor(rng.uniform(0.5, 2.0, C).astype(dtype))  # class weights
    pos_weight = tc.Tensor(rng.uniform(0.5, 2.0, C).astype(dtype))

    def step(x, labels, probs, binary, targets):
        opt.zero_grad(set_to_none=set_to_none)
        z, extras = model(x)
        loss = _loss(loss_name, z, labels, probs, binary, targets, weight, pos_weight, options)
        loss.backward()
        if twice:  # a second micro-batch (the rows reversed) summed into the same .grad
            z2, _ = model(x[::-1])
            loss2 = _loss(loss_name, z2, labels[::-1], probs[::-1], binary[::-1],
                          targets[::-1], weight, pos_weight, options)
            loss2.backward()
            loss = loss + loss2
        if clip == "norm":
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        elif clip == "value":
            nn.utils.clip_grad_value_(model.parameters(), 0.05)
        opt.step()
        if schedule is not None and schedule_where == "inside":
            schedule.step()
        if after == "evaluate":  # the updated model once more, without a graph
            with tc.no_grad():
                v, _ = model(x)
            return (loss, z[:, 1:], v, *extras)  # (a view of z: its buffer must not be reused)
        return (loss, z, *extras)

    f = tc.jit(step) if use_jit else step
    seen, held = [], []
    for call, (m, training) in enumerate(zip(sizes, modes)):
        if call == 2 and change is not None:
            _between(model, opt, change, dtype)
        model.train(training)
        x, labels, probs, binary, targets = _inputs(kind, m, x_dtype or dtype,
                                                    np.random.default_rng(seed + 1 + call))
        if loss_name in ("cross_entropy_options", "cross_entropy_module", "nll_loss"):
            labels[1:] = np.where(labels[1:] == 1, options[0], labels[1:])  # some rows ignored
        try:
            out = f(x, tc.Tensor(labels), tc.Tensor(probs), tc.Tensor(binary), tc.Tensor(targets))
        except Exception as e:  # noqa: BLE001 (a replay must raise where eager raises)
            seen.append((call, [type(e).__name__, str(e)]))
            break
        if schedule is not None and schedule_where == "between":
            schedule.step()
        # .grad arrays kept from the last call must keep their values (a replay writes new ones)
        seen.append((call, _snapshot(*out) + _state(model, opt, schedule) + _snapshot(*held)))
        held = [p.grad for p in model.parameters() if p.grad is not None] if after == "hold" else []
    return seen


front_layers = st.sampled_from(["dense", "image", "tokens"]).flatmap(lambda kind: st.tuples(
    st.just(kind),
    st.lists(st.sampled_from(_IMAGE if kind == "image" else _TOKENS if kind == "tokens"
                             else ["none"]), max_size=3)))
cases = st.tuples(
    front_layers, st.lists(st.sampled_from(sorted(_DENSE)), max_size=3),
    st.sampled_from([np.float16, np.float32, np.float64]),
    st.sampled_from([None, None, None, np.float32, np.float64]),  # None: the model's dtype
    st.sampled_from(_LOSSES),
    st.tuples(st.sampled_from([-100, 1]), st.sampled_from([0.0, 0.1]),
              st.sampled_from(["mean", "mean", "sum", "none"])),
    st.sampled_from(_OPTIMIZERS), st.booleans(),
    st.tuples(st.sampled_from([0.0, 0.01]), st.booleans()),
    st.sampled_from([None, *sorted(_SCHEDULES)]), st.sampled_from(["inside", "between"]),
    st.sampled_from([None, "norm", "value"]), st.booleans(), st.booleans(),
    st.sampled_from([None, None, "to_float64", "to_float32", "freeze", "lr"]),
    st.lists(st.sampled_from(sorted(_HOOKS)), max_size=2, unique=True),
    st.sampled_from([None, "evaluate", "hold"]),
    st.lists(st.booleans(), min_size=4, max_size=4),
    st.lists(st.integers(2, 3), min_size=4, max_size=4),
    st.integers(0, 2 ** 16),
).map(lambda c: (c[0][0], c[0][1], *c[1:]))


@given(case=cases)
def test_drawn_layer_steps_replay_bit_for_bit(case):
    eager, jitted = _run(case, False), _run(case, True)
    for (call, a), (_, b) in zip(eager, jitted):
        assert len(a) == len(b), f"call {call}: {len(a)} values eagerly, {len(b)} jitted"
        for i, (x, y) in enumerate(zip(a, b)):
            assert x == y, (f"call {call}, value {i} (outputs, then parameters and .grads, "
                            "buffers, optimizer state, learning rates)")
