import numpy as np
import pytest

import tinygrad_course as tc


def _run(opt, param, grads):
    """Feed `grads` (one per step) to `opt`; return the parameter after each step."""
    out = []
    for g in grads:
        param.grad = tc.Tensor(g)
        opt.step()
        out.append(param.data.copy())
    return out


@pytest.fixture
def run():
    return _run


@pytest.fixture
def grads():
    """Five different, non-trivial float64 gradients of shape (3, 4), some entries negative."""
    rng = np.random.default_rng(1)
    return [rng.normal(scale=s, size=(3, 4)) for s in (1.0, 0.3, 2.0, 0.05, 1.5)]


@pytest.fixture
def w0():
    return np.random.default_rng(2).normal(size=(3, 4))
