"""A Hypothesis state machine that grows random graphs (shared subexpressions, leaves reused by
many nodes, broadcasting, repeated indices, in-place ops on non-leaves) and checks, at random
points, the forward against plain NumPy and every leaf's gradient against numerical differences."""
import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, precondition, rule

import tinygrad_course as tc
from tinygrad_course.testing import tensors

SHAPES = [(2, 3), (3,), (1, 3), (2, 1), ()]  # all broadcast together
EPS = 1e-6


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


# Smooth ops whose values stay moderate, so centered differences are accurate anywhere.
# Each is (on Tensors, on ndarrays).
UNARY = {
    "tanh": (tc.tanh, np.tanh),
    "sigmoid": (tc.sigmoid, np_sigmoid),
    "neg": (lambda x: -x, lambda x: -x),
    "exp_tanh": (lambda x: tc.exp(tc.tanh(x)), lambda x: np.exp(np.tanh(x))),
    "log1p_square": (lambda x: tc.log(1 + x * x), lambda x: np.log(1 + x * x)),
    "smooth_abs": (lambda x: tc.sqrt(x * x + 1), lambda x: np.sqrt(x * x + 1)),
    "tanh_squared": (lambda x: tc.tanh(x) ** 2, lambda x: np.tanh(x) ** 2),
}
ROW = {  # need at least one axis
    "log_softmax": (lambda x: tc.log_softmax(x, axis=-1), np_log_softmax),
    "softmax_times_x": (lambda x: tc.softmax(x, axis=-1) * x,
                        lambda x: np.exp(np_log_softmax(x)) * x),
    "sum_keepdims": (lambda x: x.sum(axis=0, keepdims=True), lambda x: x.sum(axis=0, keepdims=True)),
    "mean_keepdims": (lambda x: x.mean(axis=-1, keepdims=True), lambda x: x.mean(axis=-1, keepdims=True)),
    "var_keepdims": (lambda x: x.var(axis=0, keepdims=True), lambda x: x.var(axis=0, keepdims=True)),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul_tanh": (lambda a, b: a * tc.tanh(b), lambda a, b: a * np.tanh(b)),
    "div_soft": (lambda a, b: a / (1 + b * b), lambda a, b: a / (1 + b * b)),
}
REPEATS = np.array([0, 0, 2])  # repeated indices accumulate their gradients


class GraphMachine(RuleBasedStateMachine):
    """Nodes are recipes over earlier nodes; evaluating them in order rebuilds the whole graph,
    with every shared node computed once and then used by all its consumers."""

    nodes = Bundle("nodes")

    def __init__(self):
        super().__init__()
        self.leaves = []   # the drawn arrays (strided views included)
        self.recipes = []  # ("leaf", i) or (kind, name, input node ids)
        self.shapes = []

    def _add(self, recipe, shape):
        self.recipes.append(recipe)
        self.shapes.append(shape)
        return len(self.recipes) - 1

    @initialize(w=tensors(shape=(3, 3), elements=st.floats(-1, 1)))
    def add_matrix(self, w):
        """A (3, 3) leaf for matmul; node 0, kept out of the bundle (it does not broadcast)."""
        self.leaves.append(w.data)
        self._add(("leaf", 0), (3, 3))

    @precondition(lambda self: len(self.leaves) < 6)
    @rule(target=nodes, x=tensors(shape=st.sampled_from(SHAPES), elements=st.floats(-2, 2)))
    def add_leaf(self, x):
        self.leaves.append(x.data)
        return self._add(("leaf", len(self.leaves) - 1), x.shape)

    @rule(target=nodes, a=nodes, name=st.sampled_from(sorted(UNARY) + sorted(ROW)))
    def unary(self, a, name):
        if name in ROW and self.shapes[a] == ():
            name = "tanh"
        return self._add(("unary", name, (a,)), self._shape_of(("unary", name, (a,))))

    @rule(target=nodes, a=nodes, b=nodes, name=st.sampled_from(sorted(BINARY)))
    def binary(self, a, b, name):
        recipe = ("binary", name, (a, b))
        return self._add(recipe, self._shape_of(recipe))

    @rule(target=nodes, a=nodes, b=nodes)
    def in_place_add(self, a, b):
        """h = a * 1.0; h += b, when b broadcasts to a's shape (else a plain a + b)."""
        if np.broadcast_shapes(self.shapes[a], self.shapes[b]) != self.shapes[a]:
            return self.binary(a, b, "add")
        return self._add(("iadd", None, (a, b)), self.shapes[a])

    @rule(target=nodes, a=nodes)
    def repeated_index_or_matmul(self, a):
        if self.shapes[a][-1:] != (3,):
            return self.unary(a, "tanh")
        kind = "index" if len(self.recipes) % 2 else "matmul"
        return self._add((kind, None, (a, 0)), self.shapes[a])

    @rule(out=nodes)
    def check_forward_and_every_leaf_gradient(self, out):
        rng = np.random.default_rng(out)
        upstream = rng.uniform(0.5, 1.5, self.shapes[out]) * rng.choice([-1, 1], self.shapes[out])
        leaves = [tc.Tensor._wrap(a).requires_grad_() for a in self.leaves]
        y = self._evaluate(leaves, out, tc)
        np.testing.assert_allclose(y.data, self._evaluate(self.leaves, out, np), rtol=1e-10, atol=1e-12)
        y.backward(upstream, retain_graph=True)
        first = [None if t.grad is None else t.grad.data.copy() for t in leaves]
        y.backward(upstream)  # a second call accumulates
        for i, (t, g) in enumerate(zip(leaves, first)):
            numeric = self._numeric_gradient(i, out, upstream)
            got = np.zeros_like(numeric) if g is None else g
            np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-6,
                                       err_msg=f"leaf {i} of {self.recipes[:out + 1]}")
            if g is not None:
                # Summation order differs between the passes, so terms that cancel leave
                # rounding of the terms' size, not of the (tiny) result's: hence the atol.
                np.testing.assert_allclose(t.grad.data, 2 * g, rtol=1e-12, atol=1e-12)

    def teardown(self):
        # The whole graph, at its deepest node, is checked at least once per run.
        if len(self.recipes) > 1:
            self.check_forward_and_every_leaf_gradient(len(self.recipes) - 1)

    def _shape_of(self, recipe):
        ins = [np.zeros(self.shapes[i]) + 0.5 for i in recipe[2]]
        return np.shape(self._apply(recipe, ins, np))

    def _apply(self, recipe, ins, lib):
        kind, name, _ = recipe
        on_tensors = lib is tc
        if kind == "unary":
            return {**UNARY, **ROW}[name][0 if on_tensors else 1](ins[0])
        if kind == "binary":
            return BINARY[name][0 if on_tensors else 1](*ins)
        if kind == "iadd":
            h = ins[0] * 1.0
            h += ins[1]
            return h
        if kind == "index":
            return ins[0][..., REPEATS]
        return ins[0] @ ins[1]

    def _evaluate(self, leaves, upto, lib):
        values = []
        for recipe in self.recipes[:upto + 1]:
            if recipe[0] == "leaf":
                values.append(leaves[recipe[1]])
            else:
                values.append(self._apply(recipe, [values[i] for i in recipe[2]], lib))
        return values[upto]

    def _numeric_gradient(self, leaf, out, upstream):
        base = [np.array(a, dtype=np.float64, order="C") for a in self.leaves]
        num = np.zeros_like(base[leaf])
        flat = base[leaf].reshape(-1)
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + EPS
            plus = np.sum(self._evaluate(base, out, np) * upstream)
            flat[k] = orig - EPS
            minus = np.sum(self._evaluate(base, out, np) * upstream)
            flat[k] = orig
            num.reshape(-1)[k] = (plus - minus) / (2 * EPS)
        return num


GraphMachine.TestCase.settings = settings(settings.default, stateful_step_count=40)
TestGraphMachine = GraphMachine.TestCase
