import json
import threading

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.data import DataLoader, minibatches
from tinygrad_course.random import fork_rng


# ---- the Generator -----------------------------------------------------------------------------
def test_generator_draws_what_numpys_generator_draws_from_the_same_seed():
    g, ref = tc.Generator(7), np.random.default_rng(7)
    np.testing.assert_array_equal(g.standard_normal((3, 2)), ref.standard_normal((3, 2)))
    np.testing.assert_array_equal(g.random(4, np.float32), ref.random(4, np.float32))
    np.testing.assert_array_equal(g.permutation(10), ref.permutation(10))
    np.testing.assert_array_equal(g.integers(0, 5, 6), ref.integers(0, 5, 6))


def test_get_state_then_set_state_continues_exactly():
    g = tc.Generator(3)
    g.random(5)
    state = g.get_state()
    expected = g.standard_normal(100)
    g.random(7)  # move on, then go back
    g.set_state(json.loads(json.dumps(state)))  # the state is plain JSON
    np.testing.assert_array_equal(g.standard_normal(100), expected)
    np.testing.assert_array_equal(tc.Generator().set_state(state).standard_normal(100), expected)


def test_get_state_is_a_copy():
    g = tc.Generator(0)
    state = g.get_state()
    g.random(3)
    assert state != g.get_state()


def test_get_rng_state_and_set_rng_state_round_trip_the_default_generator():
    tc.manual_seed(4)
    state = tc.get_rng_state()
    a = tc.randn(5).data
    tc.set_rng_state(state)
    np.testing.assert_array_equal(tc.randn(5).data, a)


@pytest.mark.parametrize("state", [None, {}, {"bit_generator": "print"},
                                   {"bit_generator": "PCG64", "state": {"state": 1}}])
def test_set_state_refuses_what_get_state_did_not_give(state):
    with pytest.raises(ValueError, match="set_state"):
        tc.Generator(0).set_state(state)


def test_manual_seed_restarts_the_stream_and_returns_the_generator():
    g = tc.Generator(1)
    a = g.random(3)
    assert g.manual_seed(1) is g
    np.testing.assert_array_equal(g.random(3), a)


def test_spawned_children_are_reproducible_and_independent():
    a, b = tc.Generator(5).spawn(2)
    a2, _ = tc.Generator(5).spawn(2)
    x = a.random(50)
    np.testing.assert_array_equal(a2.random(50), x)
    assert not np.array_equal(b.random(50), x)


# ---- the default generator ---------------------------------------------------------------------
def test_manual_seed_makes_every_consumer_reproducible():
    def draw():
        layer = nn.Linear(3, 4)
        out = nn.Dropout(0.5)(tc.ones(4, 4)).data
        batches = [xb for xb, _ in minibatches(np.arange(10.0)[:, None], np.arange(10), 3)]
        return layer.weight.data, out, tc.rand(3).data, batches[0]

    tc.manual_seed(9)
    first = draw()
    tc.manual_seed(9)
    for a, b in zip(first, draw()):
        np.testing.assert_array_equal(a, b)


def test_fork_rng_with_a_seed_draws_that_seeds_stream_and_leaves_the_outer_one_alone():
    tc.manual_seed(0)
    expected_outer = tc.Generator(0).standard_normal(3)
    with fork_rng(12) as g:
        assert tc.default_generator() is g
        np.testing.assert_array_equal(tc.randn(4, dtype=np.float64).data,
                                      tc.Generator(12).standard_normal(4))
    np.testing.assert_array_equal(tc.randn(3, dtype=np.float64).data, expected_outer)


def test_fork_rng_without_a_seed_forks_the_current_state_like_pytorch():
    tc.manual_seed(2)
    with fork_rng():
        inside = tc.randn(3).data
    np.testing.assert_array_equal(tc.randn(3).data, inside)  # the outer stream did not move


def test_manual_seed_inside_a_fork_reseeds_only_the_fork():
    tc.manual_seed(1)
    with fork_rng(5):
        tc.manual_seed(6)
        np.testing.assert_array_equal(tc.rand(2, dtype=np.float64).data, tc.Generator(6).random(2))
    np.testing.assert_array_equal(tc.rand(2, dtype=np.float64).data, tc.Generator(1).random(2))


def test_use_generator_nests_and_restores():
    outer, inner = tc.Generator(1), tc.Generator(2)
    default = tc.default_generator()
    with tc.use_generator(outer):
        with tc.use_generator(inner):
            assert tc.default_generator() is inner
        assert tc.default_generator() is outer
    assert tc.default_generator() is default


def test_fork_rng_is_thread_local():
    """Two threads, each in its own fork, interleave their draws step by step and still get
    exactly the streams of their seeds; the main thread's default is untouched."""
    steps, barrier, out = 50, threading.Barrier(2), {}

    def worker(seed):
        with fork_rng(seed):
            draws = []
            for _ in range(steps):
                barrier.wait()  # both threads draw between the same two barriers
                draws.append(tc.randn(3, dtype=np.float64).data)
            out[seed] = np.stack(draws)

    main = tc.default_generator()
    threads = [threading.Thread(target=worker, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed in (1, 2):
        np.testing.assert_array_equal(out[seed], tc.Generator(seed).standard_normal((steps, 3)))
    assert tc.default_generator() is main


# ---- explicit generators in every consumer -----------------------------------------------------
def test_every_consumer_draws_from_an_explicit_generator_not_the_default():
    x = np.arange(12.0).reshape(6, 2)
    state = tc.get_rng_state()
    w = tc.Tensor(np.empty((4, 6)))
    got = {
        "he_normal_": nn.init.he_normal_(w, generator=tc.Generator(1)).data.copy(),
        "Linear": nn.Linear(6, 4, init="he", generator=tc.Generator(1)).weight.data,
        "randn": tc.randn(4, 6, dtype=np.float64, generator=tc.Generator(1)).data * np.sqrt(2 / 6),
        "dropout": nn.F.dropout(tc.ones(4, 6), 0.5, generator=tc.Generator(1)).data,
        "Dropout": nn.Dropout(0.5, generator=tc.Generator(1))(tc.ones(4, 6)).data,
        "minibatches": next(iter(minibatches(x, None, 6, generator=tc.Generator(1)))),
        "DataLoader": next(iter(DataLoader(x, None, 6, generator=tc.Generator(1)))),
    }
    assert tc.get_rng_state() == state  # the default generator never moved
    he = np.random.default_rng(1).standard_normal((4, 6)) * np.sqrt(2 / 6)
    for name in ("he_normal_", "Linear", "randn"):
        np.testing.assert_allclose(got[name], he, rtol=1e-6, err_msg=name)
    mask = (np.random.default_rng(1).random((4, 6), dtype=np.float32) < 0.5) * 2.0
    np.testing.assert_array_equal(got["dropout"], mask)
    np.testing.assert_array_equal(got["Dropout"], mask)
    order = np.random.default_rng(1).permutation(6)
    np.testing.assert_array_equal(got["minibatches"], x[order])
    np.testing.assert_array_equal(got["DataLoader"], x[order])


def test_initialize_draws_every_layer_from_the_generator():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    nn.init.initialize_(model, "xavier", generator=tc.Generator(3))
    a = [p.data.copy() for p in model.parameters()]
    nn.init.initialize_(model, "xavier", generator=tc.Generator(3))
    for p, q in zip(a, model.parameters()):
        np.testing.assert_array_equal(p, q.data)


def _fit_once(seed_or_generator, key: str):
    X, y = np.random.default_rng(0).standard_normal((40, 3), np.float32), np.arange(40) % 2
    model = nn.Sequential(nn.Linear(3, 8, generator=tc.Generator(0)), nn.ReLU(), nn.Dropout(0.7),
                          nn.Linear(8, 2, generator=tc.Generator(1)))
    tc.manual_seed(int(tc.default_generator().integers(1000)))  # whatever the default holds
    tc.fit(model, nn.F.cross_entropy, tc.optim.Adam(model.parameters(), lr=0.01), (X, y), 3,
           batch_size=8, **{key: seed_or_generator})
    return [p.data.copy() for p in model.parameters()]


@pytest.mark.parametrize("key, make", [("seed", lambda: 5), ("generator", lambda: tc.Generator(5))])
def test_fit_draws_shuffling_and_dropout_from_its_seed_or_generator(key, make):
    a, b = _fit_once(make(), key), _fit_once(make(), key)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)


# ---- bad seeds ---------------------------------------------------------------------------------
BAD_SEEDS = [(-1, ValueError, "got -1"), (1.5, TypeError, "got float"),
             ("7", TypeError, "got str"), (True, TypeError, "got bool")]
CONSUMERS = {
    "manual_seed": tc.manual_seed,
    "Generator": tc.Generator,
    "fork_rng": lambda s: fork_rng(s).__enter__(),
    "minibatches": lambda s: minibatches(np.zeros((3, 1)), None, seed=s),
    "DataLoader": lambda s: DataLoader(np.zeros((3, 1)), None, seed=s),
}


@pytest.mark.parametrize("bad, error, text", BAD_SEEDS)
@pytest.mark.parametrize("where", sorted(CONSUMERS))
def test_a_bad_seed_is_refused_naming_seed_and_what_is_accepted(where, bad, error, text):
    with pytest.raises(error, match=rf"{where}: seed must be an int.*{text}.*seed accepts an int >= 0"):
        CONSUMERS[where](bad)


def test_seed_and_generator_together_are_refused():
    with pytest.raises(ValueError, match="minibatches: pass seed or generator, not both"):
        minibatches(np.zeros((3, 1)), None, seed=1, generator=tc.Generator(1))
