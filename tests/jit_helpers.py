"""What the tc.jit test files share: running a step eagerly and jitted from the same seed and
comparing what comes out, bit for bit, and the small models several of them train."""
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


class Embed(nn.Module):
    """Mean of the embeddings of a row of ids (id 0 pads), then a linear layer to 3 classes."""

    def __init__(self):
        super().__init__()
        self.emb, self.out = nn.Embedding(10, 4, padding_idx=0), nn.Linear(4, 3)

    def forward(self, ids):
        return self.out(self.emb(ids).mean(axis=1))
