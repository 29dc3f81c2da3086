"""tc.jit against eager on drawn training steps: what test_jit.py's random graphs (float32, one
shape, no optimizer) leave out. A step mixes float32 and float64 parameters and inputs (and int
tensors where an op takes them), broadcasts against (1, h), (h,) and 0-d tensors, uses a
parameter twice, reduces with axis/keepdims, runs the lowered ops (linear, relu, tanh, +, *, sum,
cross_entropy with integer labels) next to unlowered ones (sigmoid, exp, log_softmax, matmul,
getitem, concatenate, where, mean, max), then backward and an optimizer step (SGD, Momentum,
Adam, foreach on and off). Each drawn step runs 4 calls eagerly and 4 jitted, with new inputs
at every call from the same starting weights: the losses, every parameter and every .grad must
be equal bit for bit (tobytes), dtypes included."""
import numpy as np
from hypothesis import given, strategies as st

import tinygrad_course as tc
from tinygrad_course import nn, optim

F32, F64 = np.float32, np.float64
dtypes = st.sampled_from([F32, F64])

# Ops on the running value a (m, h); p is a drawn parameter (row (1, h), vector (h,), 0-d or
# matrix (h, h)), b an earlier value of the pool, k an int64 input (m, h), t a 0-d float input.
_UNARY = {
    "relu": lambda a: a.relu(),
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: tc.sigmoid(a),
    "exp": lambda a: tc.exp(a.tanh()),  # (bounded: no overflow after a few draws)
    "log_softmax": lambda a: tc.log_softmax(a, axis=1),
    "flip_columns": lambda a: a[:, ::-1],
    "flip_rows": lambda a: a[::-1],
    "scale": lambda a: a * 0.5,
    "numpy_scalars": lambda a: a * np.float64(0.5) + np.float32(0.25),  # (do not upcast)
    "dropout": lambda a: nn.F.dropout(a, keep_prob=0.75),  # (a new mask at every call)
    "neg": lambda a: -a,
    "twice": lambda a: a + a,
    "center_rows": lambda a: a - a.mean(axis=1, keepdims=True),
    "center_columns": lambda a: a - a.mean(axis=0),
    "sum_columns": lambda a: a.sum(axis=0) * 0.1 + a,
    "sum_rows": lambda a: a.sum(axis=1, keepdims=True) * 0.1 + a,
    "max_rows": lambda a: a - a.max(axis=1, keepdims=True),
    "max_columns": lambda a: a * a.max(axis=0).tanh(),  # (products bounded: no overflow)
}
_WITH_PARAMETER = {
    "add": lambda a, p: a + p,
    "mul": lambda a, p: a * p,
    "sub": lambda a, p: p - a,
    "where": lambda a, p: tc.where(a > 0, a, p),
}
_THROUGH = {  # an op on the parameter itself, whose gradient then goes to the leaf
    "tanh": lambda a, p: a + p.tanh(),
    "relu": lambda a, p: a * p.relu(),
    "sigmoid": lambda a, p: a - tc.sigmoid(p),
    "exp": lambda a, p: a * tc.exp(p * 0.5),
}
_WITH_VALUE = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b.tanh(),
    "concatenate_columns": lambda a, b: tc.concatenate([a, b], axis=1)[:, 1:1 + a.shape[1]],
    "concatenate_rows": lambda a, b: tc.concatenate([b, a], axis=0)[a.shape[0]:],
    "where": lambda a, b: tc.where(a > b, a, b),
}
_WITH_INT = {
    "mul": lambda a, k: a * k,
    "add": lambda a, k: k + a,
    "where": lambda a, k: tc.where(k > 0, a, a * 0.25),
}
_LOSSES = {
    "cross_entropy": lambda a, labels, m: nn.F.cross_entropy(a, labels),
    "cross_entropy_sum": lambda a, labels, m: nn.F.cross_entropy(a, labels, reduction="sum"),
    "classifier": lambda a, labels, m: nn.F.cross_entropy(
        tc.linear(a, m.head_weight, m.head_bias), labels),
    "soft_targets": None,  # cross_entropy against probability rows, a step input (see step)
    "sum": lambda a, labels, m: a.sum(),
    "mean_square": lambda a, labels, m: (a * a).mean(),
    "max": lambda a, labels, m: a.max(),
}

ops = st.one_of(
    st.tuples(st.just("unary"), st.sampled_from(sorted(_UNARY))),
    st.tuples(st.just("parameter"), st.sampled_from(sorted(_WITH_PARAMETER)),
              st.sampled_from(["row", "vector", "scalar"])),
    st.tuples(st.just("matrix"), st.sampled_from(["matmul", "linear"])),
    st.tuples(st.just("value"), st.sampled_from(sorted(_WITH_VALUE)), st.integers(0, 7)),
    st.tuples(st.just("int"), st.sampled_from(sorted(_WITH_INT))),
    st.tuples(st.just("input_scalar"), st.sampled_from(["mul", "add"])),
    st.tuples(st.just("input_again"), st.sampled_from(["mul", "add"])),
    st.tuples(st.just("through"), st.sampled_from(sorted(_THROUGH)),
              st.sampled_from(["row", "vector", "scalar"])),
    st.tuples(st.just("index"), st.sampled_from(["columns", "rows"])),
)


class Drawn(nn.Module):
    """The parameters a drawn step may use, each of its own drawn dtype."""

    def __init__(self, n: int, h: int, kinds: dict, rng):
        super().__init__()
        shapes = {"weight": (h, n), "bias": (h,), "row": (1, h), "vector": (h,), "scalar": (),
                  "matrix": (h, h), "head_weight": (h, h), "head_bias": (h,)}
        for name, shape in shapes.items():
            value = rng.standard_normal(shape) * 0.5
            setattr(self, name, nn.Parameter(np.asarray(value, kinds[name])))


def _optimizer(kind: str, foreach: bool, decay: float, params):
    if kind == "SGD":
        return optim.SGD(params, lr=0.01, weight_decay=decay, foreach=foreach)
    if kind == "Momentum":
        return optim.Momentum(params, lr=0.01, beta=0.9, weight_decay=decay, foreach=foreach)
    return optim.Adam(params, lr=0.01, weight_decay=decay, foreach=foreach)


def _make_step(model, opt, program, loss_name, reuse, zero_grad, scale, returns_value, second,
               clip):
    def step(x, k, labels, t, columns, rows, soft):
        if zero_grad is not None:
            opt.zero_grad(set_to_none=zero_grad == "none")
        a = tc.linear(x, model.weight, model.bias)
        pool = [a]
        for op in program:
            kind = op[0]
            if kind == "unary":
                a = _UNARY[op[1]](a)
            elif kind == "parameter":
                a = _WITH_PARAMETER[op[1]](a, getattr(model, op[2]))
            elif kind == "matrix":
                a = a @ model.matrix if op[1] == "matmul" else tc.linear(a, model.matrix,
                                                                        model.vector)
            elif kind == "value":
                a = _WITH_VALUE[op[1]](a, pool[op[2] % len(pool)])
            elif kind == "int":
                a = _WITH_INT[op[1]](a, k)
            elif kind == "through":
                a = _THROUGH[op[1]](a, getattr(model, op[2]))
            elif kind == "index":  # by int arrays the step gets (new at every call)
                a = a * a[:, columns].tanh() if op[1] == "columns" else a + a[rows]
            elif kind == "input_scalar":
                a = a * t if op[1] == "mul" else t + a
            else:  # x used a second time (a step input that may require grad)
                r = x.sum(axis=1, keepdims=True)
                a = a * r if op[1] == "mul" else a + r
            pool.append(a)
        loss = (nn.F.cross_entropy(a, soft) if loss_name == "soft_targets"
                else _LOSSES[loss_name](a, labels, model))
        if reuse is not None:  # a parameter used a second time, in a penalty
            p = getattr(model, reuse)
            loss = loss + (p * p).sum() * 0.01
        if scale:  # 0-d times 0-d, of two drawn dtypes
            loss = loss * model.scalar
        loss.backward(retain_graph=second == "retained")
        if second == "retained":  # a second backward through the same graph
            (a * a).mean().backward()
        elif second == "separate":  # a second backward of another graph, into the same .grad
            (model.row * model.vector).sum().backward()
        if clip == "norm":
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        elif clip == "value":
            nn.utils.clip_grad_value_(model.parameters(), 0.5)
        opt.step()
        return (loss, a) if returns_value else loss
    return step


def _snapshot(*tensors) -> list:
    """Each tensor's (and its .grad's) dtype and bytes."""
    out = []
    for t in tensors:
        for v in (t, t.grad):
            out.append(None if v is None else (v.data.dtype, v.data.shape, v.data.tobytes()))
    return out


def _run(case, use_jit: bool) -> list:
    (sizes, n, h, kinds, x_dtype, x_grad, t_dtype, t_grad, int_dtype, ignored, program, loss_name, reuse, scale,
     returns_value, second, clip, zero_grad, opt_kind, foreach, decay, hold, seed) = case
    tc.manual_seed(seed)  # (dropout's masks: the same draws eagerly and jitted)
    model = Drawn(n, h, kinds, np.random.default_rng(seed))
    params = list(model.parameters())
    opt = _optimizer(opt_kind, foreach, decay, params)
    step = _make_step(model, opt, program, loss_name, reuse, zero_grad, scale, returns_value,
                      second, clip)
    f = tc.jit(step) if use_jit else step
    seen, held = [], []
    for call, m in enumerate(sizes):  # (another batch size records again)
        rng = np.random.default_rng(seed + 1 + call)  # new input values at every call
        x = tc.Tensor(rng.standard_normal((m, n)).astype(x_dtype) if x_dtype != np.int64 else
                      rng.integers(-2, 3, (m, n)), requires_grad=x_grad and x_dtype != np.int64)
        k = tc.Tensor(rng.integers(0, 3, (m, h)).astype(int_dtype))
        labels = rng.integers(0, h, m).astype(int_dtype)
        if call in ignored and m > 1:  # ignore_index: that batch runs the loss's own kernels
            labels[0] = -100  # (not every row: a mean over no rows is NaN)
        labels = tc.Tensor(labels)
        t = tc.Tensor(np.asarray(rng.standard_normal(), t_dtype), requires_grad=t_grad)
        columns, rows = (tc.Tensor(rng.integers(0, size, size).astype(int_dtype))
                         for size in (h, m))
        soft = tc.Tensor(rng.dirichlet(np.ones(h), m).astype(t_dtype))
        out = f(x, k, labels, t, columns, rows, soft)
        out = out if isinstance(out, tuple) else (out,)
        # .grad arrays kept from the last call (a replay must not write into them where eager
        # makes new ones, nor make new ones where eager sums into them)
        seen.append((call, _snapshot(*out, x, t, *params) + _snapshot(*held)))
        held = [p.grad for p in params if p.grad is not None] if hold else []
    return seen


cases = st.tuples(
    st.lists(st.integers(1, 3), min_size=4, max_size=4).filter(lambda s: len(set(s)) <= 2),
    st.integers(1, 3), st.integers(2, 3),
    st.fixed_dictionaries({name: dtypes for name in ("weight", "bias", "row", "vector", "scalar",
                                                     "matrix", "head_weight", "head_bias")}),
    st.sampled_from([F32, F64, np.int64]), st.booleans(), dtypes, st.booleans(),
    st.sampled_from([np.int64, np.int32]),
    st.sets(st.integers(0, 3), max_size=2),
    st.lists(ops, min_size=0, max_size=6),
    st.sampled_from(sorted(_LOSSES)),
    st.sampled_from([None, "weight", "row", "scalar", "matrix"]), st.booleans(), st.booleans(),
    st.sampled_from([None, "retained", "separate"]), st.sampled_from([None, "norm", "value"]),
    st.sampled_from([None, "none", "zeros"]),
    st.sampled_from(["SGD", "Momentum", "Adam"]), st.booleans(), st.sampled_from([0.0, 0.01]),
    st.booleans(),
    st.integers(0, 2 ** 16))


@given(case=cases)
def test_drawn_training_steps_replay_bit_for_bit_with_their_dtypes(case):
    eager, jitted = _run(case, False), _run(case, True)
    for (call, a), (_, b) in zip(eager, jitted):
        for i, (x, y) in enumerate(zip(a, b)):
            assert x == y, f"call {call}, value {i} (outputs, x, t, then parameters; each then its .grad)"


def test_a_float64_gradient_sums_into_a_float32_parameter_as_eager():
    # Found by the property: eager casts each gradient to the leaf's dtype, then adds it to
    # .grad in float32; a replay added the float64 gradient into the float32 .grad (one rounding,
    # not two), so w.grad differed in its last bit from the second gradient on.
    w = tc.Tensor(np.array([0.3, -1.2, 0.7], F32), requires_grad=True)

    def step(x):
        loss = (w * x).sum() + (w * x * x).sum()  # float64: two gradients to sum into w.grad
        loss.backward()
        return loss

    grads = []
    for f in (step, tc.jit(step)):
        w.grad = None
        for call in range(3):
            f(tc.Tensor(np.random.default_rng(call).standard_normal(3)))
        grads.append((w.grad.data.dtype, w.grad.data.tobytes()))
    assert grads[0] == grads[1]
