"""What the tc.jit test files share: running a step eagerly and jitted from the same seed and
comparing what comes out, bit for bit, and the small models several of them train; and a
misbehaving custom op the engine's tests use too."""
import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn


def compare(make_step, calls, make_model, between=None):
    """Run make_step(model) eagerly and jitted from the same seed; calls: one argument tuple
    per call; between(model, i), if given, runs before call i > 0. Returns ((outputs,
    parameters, grads) eager, (...) jitted)."""
    runs = []
    for use_jit in (False, True):
        tc.manual_seed(0)
        model = make_model()
        step = make_step(model)
        f = tc.jit(step) if use_jit else step
        outs = []
        for i, args in enumerate(calls):
            if between is not None and i:
                between(model, i)
            r = f(*args)
            rs = r if isinstance(r, (tuple, list)) else (r,)
            outs.append([np.array(getattr(v, "data", v), dtype=np.float64) for v in rs])
        params = [p.data.copy() for p in model.parameters()]
        grads = [None if p.grad is None else p.grad.data.copy() for p in model.parameters()]
        runs.append((outs, params, grads))
    return runs


def assert_same(runs):
    """compare()'s two runs are equal bit for bit: every output, parameter and gradient."""
    (eo, ep, eg), (jo, jp, jg) = runs
    for call, (a, b) in enumerate(zip(eo, jo)):
        for k, (x, y) in enumerate(zip(a, b)):
            assert np.array_equal(x, y, equal_nan=True), \
                f"call {call}, output {k}: eager {x.ravel()[:4]}, jit {y.ravel()[:4]}"
    for k, (x, y) in enumerate(zip(ep, jp)):
        assert np.array_equal(x, y), f"parameter {k} differs"
    for k, (x, y) in enumerate(zip(eg, jg)):
        assert (x is None) == (y is None) and (x is None or np.array_equal(x, y)), \
            f"gradient {k} differs"


class Embed(nn.Module):
    """Mean of the embeddings of a row of ids (id 0 pads), then a linear layer to 3 classes."""

    def __init__(self):
        super().__init__()
        self.emb, self.out = nn.Embedding(10, 4, padding_idx=0), nn.Linear(4, 3)

    def forward(self, ids):
        return self.out(self.emb(ids).mean(axis=1))


class DoublesGInPlace(tc.Function):
    """y = 2 x, with a backward that (wrongly, but as a user's rule may) doubles g in place and
    returns it."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        g *= 2
        return g
