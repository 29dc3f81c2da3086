"""Issue 12 item 6: a trial seeded from its own seed reruns bit-identically on any executor, even
with random init and dropout drawn from the default generator."""
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.data import minibatches
from tinygrad_course.random import fork_rng
from tinygrad_course.tuning import choice, log_uniform, random_search

SPACE = {"lr": log_uniform(1e-3, 1e-1), "keep_prob": choice([0.6, 0.8])}
X = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
Y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def dropout_train_fn(params, seed):
    """Random init, dropout and shuffling, all from the default generator; top-level so a process
    pool can pickle it."""
    model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(params["keep_prob"]),
                          nn.Linear(32, 2, init="random", scale=0.1))
    opt = tc.optim.Adam(model.parameters(), lr=params["lr"])
    for _ in range(4):
        for xb, yb in minibatches(X, Y, batch_size=8):
            opt.zero_grad()
            cost = nn.F.cross_entropy(model(tc.tensor(xb)), tc.tensor(yb))
            cost.backward()
            opt.step()
    return float(cost.item())


def seeding_train_fn(params, seed):
    """The script habit: tc.manual_seed(seed) first, then as above."""
    tc.manual_seed(seed)
    return dropout_train_fn(params, seed)


def _metrics(results):
    return {t.index: t.metrics for t in results}


@pytest.mark.parametrize("train_fn", [dropout_train_fn, seeding_train_fn])
def test_trials_on_a_thread_pool_match_a_serial_run_exactly(train_fn):
    serial = random_search(train_fn, SPACE, 8, seed=3)
    with ThreadPoolExecutor(4) as pool:
        threaded = random_search(train_fn, SPACE, 8, seed=3, executor=pool)
    assert _metrics(threaded) == _metrics(serial)


def test_trials_on_a_process_pool_match_a_serial_run_exactly():
    serial = random_search(dropout_train_fn, SPACE, 4, seed=4)
    with ProcessPoolExecutor(2) as pool:
        processes = random_search(dropout_train_fn, SPACE, 4, seed=4, executor=pool)
    assert _metrics(processes) == _metrics(serial)


def test_trials_on_dask_match_a_serial_run_exactly():
    from distributed import Client, LocalCluster
    serial = random_search(dropout_train_fn, SPACE, 4, seed=5)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        on_dask = random_search(dropout_train_fn, SPACE, 4, seed=5, executor=client.get_executor())
    assert _metrics(on_dask) == _metrics(serial)


def test_a_trial_reruns_alone_under_fork_rng_of_its_seed():
    best = random_search(dropout_train_fn, SPACE, 3, seed=6, metric="cost", mode="min").best
    tc.manual_seed(99)  # whatever the default generator holds now
    with fork_rng(best.seed):
        assert dropout_train_fn(best.params, best.seed) == best.metrics["cost"]
