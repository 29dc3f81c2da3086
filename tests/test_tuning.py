import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_course as tc
from tinygrad_course.tuning import (Choice, IntUniform, LogUniform, OneMinusLogUniform, Results, Trial,
                                    TrialFailed, Uniform, choice, coarse_to_fine, int_uniform,
                                    log_uniform, one_minus_log_uniform, random_search, uniform)

SPACE = {"lr": log_uniform(1e-4, 1), "beta": one_minus_log_uniform(0.9, 0.999),
         "hidden": int_uniform(10, 100), "act": choice(["relu", "tanh"])}


def objective(params, seed):
    """Best at lr = 1e-2; top-level, so a ProcessPoolExecutor can pickle it."""
    return {"dev_accuracy": 1 - (math.log10(params["lr"]) + 2) ** 2 / 10, "seed_echo": seed}


def file_objective(params, seed):
    """objective, but every call is appended to params["calls"], and the call whose lr is
    params["crash_lr"] raises while the file params["armed"] exists (a crash, across processes)."""
    with open(params["calls"], "a") as f:
        f.write(json.dumps(params["lr"]) + "\n")
    if os.path.exists(params["armed"]) and params["lr"] == params["crash_lr"]:
        raise MemoryError("simulated crash")
    return objective(params, seed)


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


def _same_trials(a: Results, b: Results):
    key = lambda t: t.index  # noqa: E731
    assert [(t.index, t.params, t.seed, t.metrics) for t in sorted(a, key=key)] == \
           [(t.index, t.params, t.seed, t.metrics) for t in sorted(b, key=key)]


# ---- distributions -----------------------------------------------------------------------------
def test_log_uniform_is_the_courses_ten_to_the_r():
    values = [log_uniform(1e-4, 1).sample(rng) for rng in [np.random.default_rng(7)] for _ in range(50)]
    rng = np.random.default_rng(7)
    expected = [10 ** rng.uniform(-4, 0) for _ in range(50)]
    assert values == expected


def test_log_uniform_puts_as_many_samples_in_each_decade():
    rng = np.random.default_rng(0)
    x = np.array([log_uniform(1e-4, 1).sample(rng) for _ in range(8000)])
    counts = np.histogram(np.log10(x), bins=[-4, -3, -2, -1, 0])[0] / x.size
    np.testing.assert_allclose(counts, 0.25, atol=0.02)  # uniform(1e-4, 1) would put 90% in [0.1, 1]


def test_one_minus_log_uniform_is_one_minus_ten_to_the_r_for_betas():
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    values = np.array([one_minus_log_uniform(0.9, 0.999).sample(rng_a) for _ in range(2000)])
    expected = 1 - 10 ** rng_b.uniform(-3, -1, size=2000)
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert values.min() >= 0.9 and values.max() <= 0.999
    assert abs((values < 0.99).mean() - 0.5) < 0.04  # as many in [0.9, 0.99] as in [0.99, 0.999]


def test_uniform_int_uniform_and_choice_cover_their_ranges():
    rng = np.random.default_rng(1)
    u = [uniform(-2, 3).sample(rng) for _ in range(500)]
    assert -2 <= min(u) < -1.9 and 2.9 < max(u) <= 3
    ints = {int_uniform(3, 6).sample(rng) for _ in range(200)}
    assert ints == {3, 4, 5, 6} and all(isinstance(i, int) for i in ints)
    assert {choice(["a", 2, None]).sample(rng) for _ in range(100)} == {"a", 2, None}


def test_log_uniform_zooms_in_log_space():
    z = log_uniform(1e-4, 1).zoom([1e-3, 1e-2], widen=0.5)
    assert isinstance(z, LogUniform)
    np.testing.assert_allclose(np.log10([z.low, z.high]), [-3.5, -1.5], rtol=1e-12)


def test_one_minus_log_uniform_zooms_in_the_log_of_one_minus_beta():
    z = one_minus_log_uniform(0.9, 0.999).zoom([0.99, 0.999], widen=0.25)
    assert isinstance(z, OneMinusLogUniform)
    np.testing.assert_allclose(np.log10([1 - z.high, 1 - z.low]), [-3, -1.75], rtol=1e-12)  # clipped at -3


def test_uniform_and_int_uniform_zoom_linearly_and_stay_inside():
    assert uniform(0, 10).zoom([4, 6], widen=0.5) == Uniform(3, 7)
    assert uniform(0, 10).zoom([0.5], widen=0.5) == Uniform(0, 1)  # one value: 5% of the range each side
    z = int_uniform(1, 100).zoom([40, 61], widen=0.5)
    assert isinstance(z, IntUniform) and (z.low, z.high) == (29, 72)  # [29.5, 71.5] rounded outwards
    assert int_uniform(1, 100).zoom([40, 43]) == IntUniform(35, 48)  # pad: at least 5% of 99


def test_choice_zoom_keeps_the_winning_options():
    assert choice(["relu", "tanh", "sigmoid"]).zoom(["tanh", "relu", "tanh"]) == Choice(["relu", "tanh"])


@given(a=st.floats(-6, -0.01), b=st.floats(-6, -0.01), widen=st.floats(0, 2))
def test_zoom_contains_the_values_and_never_leaves_the_range(a, b, widen):
    dist = log_uniform(1e-6, 1)
    z = dist.zoom([10 ** a, 10 ** b], widen)
    assert dist.low <= z.low <= min(10 ** a, 10 ** b) * (1 + 1e-12)
    assert max(10 ** a, 10 ** b) * (1 - 1e-12) <= z.high <= dist.high


@pytest.mark.parametrize("make, match", [
    (lambda: uniform(1, 0), "low=1, high=0"), (lambda: log_uniform(0, 1), "0 < low < high, got low=0"),
    (lambda: one_minus_log_uniform(0.9, 1.0), "high=1.0"), (lambda: int_uniform(1.5, 3), "low=1.5"),
    (lambda: int_uniform(5, 3), "low=5, high=3"), (lambda: choice([]), "at least one option"),
])
def test_bad_ranges_are_refused_with_the_values(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---- random search -----------------------------------------------------------------------------
def test_random_search_ranks_trials_best_first_and_is_reproducible():
    a = random_search(objective, SPACE, n_trials=12, seed=4)
    b = random_search(objective, SPACE, n_trials=12, seed=4)
    c = random_search(objective, SPACE, n_trials=12, seed=5)
    scores = [t.metrics["dev_accuracy"] for t in a]
    assert scores == sorted(scores, reverse=True) and a.best.metrics["dev_accuracy"] == max(scores)
    assert sorted(t.index for t in a) == list(range(12))
    _same_trials(a, b)
    assert [t.params for t in a] != [t.params for t in c]
    assert all(t.metrics["seed_echo"] == t.seed for t in a), "train_fn gets the trial's seed"


def test_seed_none_draws_the_search_seed_from_the_global_generator():
    tc.manual_seed(2)
    a = random_search(objective, SPACE, 5)
    tc.manual_seed(2)
    _same_trials(a, random_search(objective, SPACE, 5))
    tc.manual_seed(3)
    other = random_search(objective, SPACE, 5)
    assert {t.seed for t in other}.isdisjoint({t.seed for t in a})


def test_mode_min_ranks_the_smallest_first_and_nan_goes_last():
    values = iter([3.0, float("nan"), 1.0, 2.0])
    r = random_search(lambda p, s: next(values), {"x": uniform(0, 1)}, 4, seed=0, metric="dev_error",
                      mode="min")
    assert [t.metrics["dev_error"] for t in r][:3] == [1.0, 2.0, 3.0] and math.isnan(r.trials[-1].metrics["dev_error"])


def test_table_and_records_list_the_trials_best_first():
    r = random_search(objective, SPACE, 4, seed=0)
    lines = r.table().splitlines()
    assert lines[0].split() == ["rank", "trial", "lr", "beta", "hidden", "act", "dev_accuracy", "seed_echo"]
    assert [int(line.split()[1]) for line in lines[1:]] == [t.index for t in r]
    assert len(r.table(top=2).splitlines()) == 3
    rec = r.to_records()[0]
    assert rec["trial"] == r.best.index and rec["lr"] == r.best.params["lr"]
    assert rec["dev_accuracy"] == r.best.metrics["dev_accuracy"] and rec["seed"] == r.best.seed


def test_train_fn_must_return_the_metric():
    with pytest.raises(TrialFailed, match=r"\['loss'\].*metric='dev_accuracy'"):
        random_search(lambda p, s: {"loss": 1.0}, SPACE, 2, seed=0)
    with pytest.raises(TrialFailed, match="a number or a dict of numbers, got 'oops'"):
        random_search(lambda p, s: "oops", SPACE, 2, seed=0)


@pytest.mark.parametrize("kw, error, match", [
    ({"n_trials": 0}, ValueError, "n_trials must be an int >= 1, got 0"),
    ({"mode": "best"}, ValueError, "mode must be 'max' or 'min', got 'best'"),
    ({"seed": -1}, ValueError, "seed must be an int >= 0 or None, got -1"),
    ({"executor": "threads"}, TypeError, "Executor.*got str"),
])
def test_bad_search_arguments_are_refused(kw, error, match):
    with pytest.raises(error, match=match):
        random_search(objective, SPACE, **{"n_trials": 3, "seed": 0, **kw})


# ---- the log and resuming ----------------------------------------------------------------------
def test_each_trial_is_logged_and_fsynced_as_soon_as_it_finishes(tmp_path, monkeypatch):
    log = tmp_path / "trials.jsonl"
    synced, seen = [], []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))

    def train(params, seed):
        seen.append(len(_lines(log)))
        return objective(params, seed)

    r = random_search(train, SPACE, 5, seed=1, log=log)
    assert seen == [0, 1, 2, 3, 4] and len(synced) == 5
    records = [json.loads(line) for line in _lines(log)]
    assert [rec["trial"] for rec in records] == [0, 1, 2, 3, 4]
    by_index = {t.index: t for t in r}
    for rec in records:
        t = by_index[rec["trial"]]
        assert (rec["params"], rec["seed"], rec["metrics"], rec["search_seed"]) == (t.params, t.seed, t.metrics, 1)


def test_a_crashed_search_resumes_without_repeating_or_losing_trials(tmp_path):
    log = tmp_path / "trials.jsonl"
    calls, crash = [], [True]

    def train(params, seed):
        calls.append(params["lr"])
        if crash[0] and len(calls) == 6:
            raise MemoryError("out of memory")
        return objective(params, seed)

    with pytest.raises(TrialFailed, match=r"trial 5 .*MemoryError: out of memory.*resume"):
        random_search(train, SPACE, n_trials=10, seed=3, log=log)
    assert len(_lines(log)) == 5
    calls.clear()
    crash[0] = False
    resumed = random_search(train, SPACE, n_trials=10, seed=3, log=log)
    assert len(calls) == 5, "only trials 5..9 run again"
    assert sorted(json.loads(line)["trial"] for line in _lines(log)) == list(range(10))
    _same_trials(resumed, random_search(objective, SPACE, n_trials=10, seed=3))


def test_n_trials_is_the_total_not_the_number_still_to_run(tmp_path):
    log, calls = tmp_path / "trials.jsonl", []

    def train(params, seed):
        calls.append(seed)
        return objective(params, seed)

    random_search(train, SPACE, 4, seed=0, log=log)
    r = random_search(train, SPACE, 7, seed=0, log=log)
    assert len(calls) == 7 and len(r) == 7
    assert len(random_search(train, SPACE, 3, seed=0, log=log)) == 3 and len(calls) == 7


def test_resuming_with_seed_none_takes_the_logs_seed(tmp_path):
    log = tmp_path / "trials.jsonl"
    tc.manual_seed(11)
    first = random_search(objective, SPACE, 3, log=log)
    tc.manual_seed(99)
    calls = []
    r = random_search(lambda p, s: (calls.append(s), objective(p, s))[1], SPACE, 5, log=log)
    assert len(calls) == 2
    _same_trials(Results([t for t in r if t.index < 3], "dev_accuracy", "max"), first)


def test_a_torn_last_line_is_dropped_and_that_trial_runs_again(tmp_path):
    log = tmp_path / "trials.jsonl"
    random_search(objective, SPACE, 4, seed=2, log=log)
    with open(log, "ab") as f:
        f.write(b'{"trial": 4, "round": 0, "params": {"lr": 0.00')
    calls = []
    with pytest.warns(RuntimeWarning, match="line 5 of the log"):
        r = random_search(lambda p, s: (calls.append(s), objective(p, s))[1], SPACE, 6, seed=2, log=log)
    assert len(calls) == 2 and len(r) == 6
    assert [json.loads(line)["trial"] for line in _lines(log)] == [0, 1, 2, 3, 4, 5]


def test_a_corrupt_line_before_the_end_is_an_error_naming_it(tmp_path):
    log = tmp_path / "trials.jsonl"
    random_search(objective, SPACE, 2, seed=0, log=log)
    log.write_text("not json\n" + log.read_text())
    with pytest.raises(ValueError, match="line 1 of the log"):
        random_search(objective, SPACE, 3, seed=0, log=log)


def test_a_log_from_another_search_is_refused(tmp_path):
    log = tmp_path / "trials.jsonl"
    random_search(objective, SPACE, 2, seed=0, log=log)
    with pytest.raises(ValueError, match="trial 0 .*another search wrote it"):
        random_search(objective, SPACE, 3, seed=1, log=log)


# ---- executors ---------------------------------------------------------------------------------
def test_process_pool_gives_the_same_trials_and_resumes_after_a_crash(tmp_path):
    reference = random_search(objective, SPACE, 8, seed=6)
    crash_lr = next(t for t in reference if t.index == 5).params["lr"]
    calls, armed, log = tmp_path / "calls.txt", tmp_path / "armed", tmp_path / "trials.jsonl"
    armed.touch()
    space = {**SPACE, "calls": str(calls), "armed": str(armed), "crash_lr": crash_lr}
    with ProcessPoolExecutor(2) as pool:
        with pytest.raises(TrialFailed, match="trial 5 .*MemoryError"):
            random_search(file_objective, space, 8, seed=6, executor=pool, log=log)
        logged = {json.loads(line)["trial"] for line in _lines(log)}
        assert 5 not in logged and len(_lines(log)) == len(logged)
        armed.unlink()
        before = len(_lines(calls))
        resumed = random_search(file_objective, space, 8, seed=6, executor=pool, log=log)
    assert len(_lines(calls)) - before == 8 - len(logged)
    assert sorted(json.loads(line)["trial"] for line in _lines(log)) == list(range(8))
    assert [(t.index, t.params["lr"], t.seed, t.metrics) for t in resumed] == \
           [(t.index, t.params["lr"], t.seed, t.metrics) for t in reference]


def test_a_train_fn_a_process_pool_cannot_pickle_gets_the_remedy():
    with ProcessPoolExecutor(1) as pool:
        with pytest.raises(TrialFailed, match=r"trial 0 .*pickle.*defined at the top level of a "
                                              r"module, not a lambda"):
            random_search(lambda params, seed: 0.5, SPACE, 1, seed=0, executor=pool)


def test_dask_cluster_executor_runs_the_same_trials(tmp_path):
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        r = random_search(objective, SPACE, 6, seed=8, executor=client.get_executor(),
                          log=tmp_path / "trials.jsonl")
    _same_trials(r, random_search(objective, SPACE, 6, seed=8))
    assert len(_lines(tmp_path / "trials.jsonl")) == 6


# ---- coarse to fine ----------------------------------------------------------------------------
def test_coarse_to_fine_zooms_each_round_around_the_best_trials():
    r = coarse_to_fine(objective, {"lr": log_uniform(1e-4, 1)}, n_trials=[10, 6, 6], top=3, seed=0)
    assert len(r) == 22 and [len(s) for s in r.spaces] == [1, 1, 1]
    for k in (1, 2):
        prev, space = r.spaces[k - 1]["lr"], r.spaces[k]["lr"]
        assert prev.low <= space.low and space.high <= prev.high
        assert np.log10(space.high / space.low) < np.log10(prev.high / prev.low)
        earlier = Results([t for t in r if t.round < k], "dev_accuracy", "max").trials[:3]
        assert all(space.low <= t.params["lr"] <= space.high for t in earlier)
        assert all(space.low <= t.params["lr"] <= space.high for t in r if t.round == k)
    round0_best = max(t.metrics["dev_accuracy"] for t in r if t.round == 0)
    assert r.best.metrics["dev_accuracy"] >= round0_best
    assert abs(math.log10(r.best.params["lr"]) + 2) < 0.1


def test_coarse_to_fine_resumes_across_rounds(tmp_path):
    log, calls, crash = tmp_path / "trials.jsonl", [], [True]

    def train(params, seed):
        calls.append(seed)
        if crash[0] and len(calls) == 7:
            raise MemoryError("simulated crash in round 2")
        return objective(params, seed)

    with pytest.raises(TrialFailed, match="trial 6"):
        coarse_to_fine(train, SPACE, n_trials=4, rounds=3, seed=1, log=log)
    calls.clear()
    crash[0] = False
    resumed = coarse_to_fine(train, SPACE, n_trials=4, rounds=3, seed=1, log=log)
    assert len(calls) == 6
    _same_trials(resumed, coarse_to_fine(objective, SPACE, n_trials=4, rounds=3, seed=1))
    assert {t.round for t in resumed} == {0, 1, 2}


def test_trial_record_round_trips_through_json():
    t = Trial(3, {"lr": 0.1, "act": "relu"}, 42, {"dev_accuracy": 0.9}, round=1)
    assert json.loads(json.dumps(t.record(7))) == {"trial": 3, "round": 1, "search_seed": 7, "seed": 42,
                                                  "params": t.params, "metrics": t.metrics}


# ---- values, settings and the log's lines round-trip or are refused by name ------------------------
def test_a_resumed_coarse_to_fine_zooms_tuple_choices_as_the_uninterrupted_one(tmp_path):
    space = {"lr": log_uniform(1e-4, 1), "layers": choice([(8,), (16, 16), (32, 32, 32)])}
    log, seen, crash = tmp_path / "trials.jsonl", [], [True]

    def train(params, seed):
        seen.append(params)
        if crash[0] and len(seen) == 5:
            raise MemoryError("simulated crash in round 2")
        return objective(params, seed)

    with pytest.raises(TrialFailed, match="trial 4"):
        coarse_to_fine(train, space, n_trials=3, rounds=3, top=1, seed=4, log=log)
    crash[0] = False
    resumed = coarse_to_fine(train, space, n_trials=3, rounds=3, top=1, seed=4, log=log)
    assert [s["layers"] for s in resumed.spaces] == \
           [s["layers"] for s in coarse_to_fine(objective, space, n_trials=3, rounds=3, top=1, seed=4).spaces]
    assert all(type(p["layers"]) is tuple for p in seen)
    assert all(type(t.params["layers"]) is tuple for t in resumed)


def test_numpy_scalars_reach_train_fn_as_the_python_numbers_the_log_gives_back(tmp_path):
    seen = []
    space = {"width": choice(np.array([4, 8])), "lr": choice(np.float32([0.5])), "on": np.bool_(True)}
    r = random_search(lambda p, s: seen.append(p) or 0.5, space, 2, seed=0, log=tmp_path / "t.jsonl")
    assert [tuple(map(type, p.values())) for p in seen] == [(int, float, bool)] * 2
    assert [t.params for t in random_search(objective, space, 2, seed=0, log=tmp_path / "t.jsonl")] == \
           [t.params for t in r]


def test_a_value_the_json_log_cannot_hold_is_refused_before_any_trial_runs(tmp_path):
    calls = []
    with pytest.raises(TypeError, match="hyperparameter 'opt' = .*set.* JSON trial log"):
        random_search(lambda p, s: calls.append(p) or 0.5, {"opt": choice([{1, 2}])}, 2, seed=0,
                      log=tmp_path / "trials.jsonl")
    assert calls == []


def test_resuming_with_other_settings_is_refused_naming_the_setting(tmp_path):
    log = tmp_path / "trials.jsonl"
    random_search(objective, SPACE, 2, seed=0, log=log, settings={"dataset": "moons", "epochs": 2})
    with pytest.raises(ValueError, match=r"setting epochs=2, but this search has epochs=3"):
        random_search(objective, SPACE, 3, seed=0, log=log, settings={"dataset": "moons", "epochs": 3})
    assert len(random_search(objective, SPACE, 3, seed=0, log=log,
                             settings={"dataset": "moons", "epochs": np.int64(2)})) == 3


@pytest.mark.parametrize("line, problem", [
    ('{"trial": 5, "params": {}}', r"it has no search_seed, seed, metrics"),
    ('[1, 2, 3]', r"a JSON list, not an object"),
    ('{"trial": "5", "search_seed": 0, "seed": 1, "params": {}, "metrics": {"m": 1}}', r"bad trial"),
    ('{"trial": 5, "search_seed": 0, "seed": 1, "params": {}, "metrics": {"m": "high"}}', r"bad metrics.m"),
])
def test_a_json_line_that_is_not_a_trial_record_is_refused_naming_file_and_line(tmp_path, line, problem):
    log = tmp_path / "trials.jsonl"
    random_search(objective, SPACE, 2, seed=0, log=log)
    with open(log, "a") as f:
        f.write(line + "\n")
    with pytest.raises(ValueError, match=rf"line 3 of the log .*trials.jsonl is JSON but not a trial "
                                         rf"record \({problem}"):
        random_search(objective, SPACE, 3, seed=0, log=log)


def test_a_torn_last_line_is_skipped_with_a_warning_naming_file_and_line(tmp_path):
    log = tmp_path / "trials.jsonl"
    random_search(objective, SPACE, 2, seed=0, log=log)
    with open(log, "ab") as f:
        f.write(b'{"trial": 2, "round": 0, "par')
    with pytest.warns(RuntimeWarning, match=r"line 3 of the log .*trials.jsonl is cut short"):
        assert len(random_search(objective, SPACE, 3, seed=0, log=log)) == 3


def test_a_whole_last_line_that_lost_its_newline_is_kept(tmp_path):
    log = tmp_path / "trials.jsonl"
    random_search(objective, SPACE, 2, seed=0, log=log)
    log.write_text(log.read_text().rstrip("\n"))
    calls = []
    random_search(lambda p, s: (calls.append(s), objective(p, s))[1], SPACE, 3, seed=0, log=log)
    assert len(calls) == 1 and [json.loads(line)["trial"] for line in _lines(log)] == [0, 1, 2]


def dying_objective(params, seed):
    """objective, but the worker running lr == params["die_lr"] dies at once (os._exit, as when
    the system kills it) and the one running lr == params["slow_lr"] is still busy then."""
    if params["lr"] == params["die_lr"]:
        os._exit(1)
    if params["lr"] == params["slow_lr"]:
        time.sleep(0.5)
    return objective(params, seed)


def test_a_dead_process_pool_worker_is_charged_to_the_trial_it_was_running():
    lrs = {t.index: t.params["lr"] for t in random_search(objective, SPACE, 4, seed=6)}
    space = {**SPACE, "die_lr": lrs[1], "slow_lr": lrs[0]}
    with ProcessPoolExecutor(2) as pool:
        with pytest.raises(TrialFailed, match=r"^random_search: trial 1 .*BrokenProcessPool.*worker "
                                              r"process died while running it"):
            random_search(dying_objective, space, 4, seed=6, executor=pool)
