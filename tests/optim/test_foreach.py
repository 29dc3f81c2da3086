"""foreach (fused) optimizer steps: each group's update runs once over flat buffers, and the
weights, the state and the step counts come out bit for bit as from the per-parameter path."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.optim import SGD, Adam, AdamW, CosineAnnealingLR, Momentum, RMSprop

ALL = [SGD, Momentum, RMSprop, Adam, AdamW]


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _twins(arrays):
    """Two lists of parameters with the same starting values: one per path."""
    return [[tc.Tensor(a.copy(), requires_grad=True) for a in arrays] for _ in range(2)]


def _groups(params, split, hypers):
    return [{"params": params[:split], **hypers[0]}, {"params": params[split:], **hypers[1]}] \
        if 0 < split < len(params) else [{"params": params, **hypers[0]}]


def _assert_same_optimizers(fused, plain):
    for p, q in zip(fused.params, plain.params):
        assert _same_bits(p.data, q.data)
    for s, r in zip(fused.state_dict()["state"], plain.state_dict()["state"]):
        assert s.keys() == r.keys()
        for k in s:
            if isinstance(s[k], np.ndarray):
                assert _same_bits(s[k], r[k]), k
            else:
                assert s[k] == r[k], k


def _step_both(opts, params, grads):
    for opt, ps in zip(opts, params):
        for p, g in zip(ps, grads):
            p.grad = None if g is None else tc.Tensor(g.copy())
        opt.step()


# ---- the property: random models, groups, decay, schedules, skipped gradients ----------------

@st.composite
def _runs(draw):
    shapes = draw(st.lists(st.lists(st.integers(1, 4), max_size=3).map(tuple),
                           min_size=1, max_size=5))
    dtypes = draw(st.lists(st.sampled_from([np.float32, np.float32, np.float64, np.float16]),
                           min_size=len(shapes), max_size=len(shapes)))
    n_steps = draw(st.integers(1, 4))
    # per step, per parameter: a gradient or None (skipped this step)
    has_grad = draw(st.lists(st.lists(st.booleans(), min_size=len(shapes),
                                      max_size=len(shapes)), min_size=n_steps, max_size=n_steps))
    lrs = draw(st.lists(st.sampled_from([0.1, 0.03, 1e-3]), min_size=n_steps,
                        max_size=n_steps))
    return {
        "cls": draw(st.sampled_from(ALL)), "shapes": shapes, "dtypes": dtypes,
        "split": draw(st.integers(0, len(shapes))), "has_grad": has_grad, "lrs": lrs,
        "decays": [draw(st.sampled_from([0.0, 0.1])) for _ in range(2)],
        "decay_all": draw(st.booleans()), "seed": draw(st.integers(0, 2**16)),
    }


@given(_runs())
def test_fused_steps_are_bit_identical_to_per_parameter_steps(run):
    rng = np.random.default_rng(run["seed"])
    arrays = [rng.normal(size=s).astype(dt) for s, dt in zip(run["shapes"], run["dtypes"])]
    params = _twins(arrays)
    hypers = [{"weight_decay": run["decays"][0], "lr": 0.05}, {"weight_decay": run["decays"][1]}]
    kwargs = {"decay_filter": (lambda p: True)} if run["decay_all"] else {}
    opts = [run["cls"](_groups(ps, run["split"], hypers), lr=0.01, foreach=fe, **kwargs)
            for ps, fe in zip(params, (True, False))]
    for has_grad, lr in zip(run["has_grad"], run["lrs"]):
        for opt in opts:  # a schedule sets the first group's lr between steps
            opt.param_groups[0]["lr"] = lr
        grads = [None if not h else rng.normal(size=a.shape).astype(a.dtype)
                 for h, a in zip(has_grad, arrays)]
        _step_both(opts, params, grads)
        _assert_same_optimizers(*opts)


# ---- what the fused path keeps as the per-parameter path had it ---------------------------

@pytest.mark.parametrize("cls", [Momentum, RMSprop, Adam, AdamW])
def test_state_entries_are_views_of_one_flat_buffer(cls):
    params = _twins([np.ones((3, 2), np.float32), np.ones(2, np.float32)])[0]
    opt = cls(params, lr=0.1)
    _step_both([opt], [params], [np.ones((3, 2), np.float32), np.ones(2, np.float32)])
    key = cls.state_keys[0]
    a, b = opt.state[0][key], opt.state[1][key]
    assert a.shape == (3, 2) and b.shape == (2,) and a.base is not None and a.base is b.base


def test_sgd_fuses_only_when_asked():
    assert not SGD([tc.Tensor(np.ones(2), requires_grad=True)], lr=0.1).foreach
    assert SGD([tc.Tensor(np.ones(2), requires_grad=True)], lr=0.1, foreach=True).foreach
    assert Adam([tc.Tensor(np.ones(2), requires_grad=True)], lr=0.1).foreach


@pytest.mark.parametrize("cls", ALL)
def test_fused_step_writes_into_the_parameters_own_arrays_and_bumps_versions(cls):
    params = _twins([np.ones((2, 2), np.float32), np.ones(2, np.float32)])[0]
    held = [p.data for p in params]
    versions = [p.version for p in params]
    opt = cls(params, lr=0.1, foreach=True)
    for _ in range(2):
        _step_both([opt], [params], [np.ones((2, 2), np.float32), np.ones(2, np.float32)])
    assert all(p.data is h for p, h in zip(params, held))
    assert all(p.version > v for p, v in zip(params, versions))
    assert not np.array_equal(held[0], np.ones((2, 2)))


@pytest.mark.parametrize("cls", [Momentum, RMSprop, Adam])
def test_writing_the_state_in_place_changes_the_next_fused_step_as_per_parameter(cls):
    params = _twins([np.ones((2, 3)), np.full(3, 0.5)])
    opts = [cls(ps, lr=0.1, foreach=fe) for ps, fe in zip(params, (True, False))]
    grads = [np.full((2, 3), 0.3), np.full(3, -0.2)]
    _step_both(opts, params, grads)
    for opt in opts:
        opt.state[1][cls.state_keys[0]] *= 2.0
    _step_both(opts, params, grads)
    _assert_same_optimizers(*opts)


@pytest.mark.parametrize("cls", [Momentum, RMSprop, Adam, AdamW])
def test_replacing_a_state_entry_or_loading_a_state_dict_is_picked_up(cls):
    params = _twins([np.ones((2, 3)), np.full(3, 0.5)])
    opts = [cls(ps, lr=0.1, foreach=fe) for ps, fe in zip(params, (True, False))]
    grads = [np.full((2, 3), 0.3), np.full(3, -0.2)]
    _step_both(opts, params, grads)
    saved = opts[1].state_dict()
    for opt in opts:
        key = cls.state_keys[0]
        opt.state[0][key] = np.full((2, 3), 0.25)
    _step_both(opts, params, grads)
    _assert_same_optimizers(*opts)
    for opt in opts:
        opt.load_state_dict(saved)
    _step_both(opts, params, grads)
    _assert_same_optimizers(*opts)


def test_adam_step_counts_stay_per_parameter_when_one_skips_steps():
    params = _twins([np.ones(3), np.full(3, 2.0), np.full(2, -1.0)])
    opts = [Adam(ps, lr=0.1, foreach=fe) for ps, fe in zip(params, (True, False))]
    g = [np.full(3, 0.5), np.full(3, -0.1), np.full(2, 0.2)]
    for skip in (None, 1, None, None, 2, None):
        _step_both(opts, params, [None if i == skip else x for i, x in enumerate(g)])
        _assert_same_optimizers(*opts)
    assert [s["t"] for s in opts[0].state] == [6, 5, 5]


@pytest.mark.parametrize("cls", ALL)
def test_float16_and_float64_in_a_float32_group_agree_with_per_parameter(cls):
    # float16 master weights go one by one; float64 gets a bucket of its own.
    params = _twins([np.ones((2, 2), np.float32), np.full(3, 0.5, np.float16),
                     np.full(2, 0.25, np.float64), np.full(2, 3.0, np.float32)])
    opts = [cls(ps, lr=0.01, foreach=fe) for ps, fe in zip(params, (True, False))]
    for k in range(3):
        _step_both(opts, params, [np.full(p.shape, 0.1 * (k + 1), p.dtype) for p in params[0]])
        _assert_same_optimizers(*opts)


@pytest.mark.parametrize("cls", ALL)
def test_a_parameter_that_changes_dtype_or_gets_a_gradient_of_another_dtype(cls):
    params = _twins([np.ones((2, 2), np.float32), np.full(3, 0.5, np.float32)])
    opts = [cls(ps, lr=0.01, foreach=fe) for ps, fe in zip(params, (True, False))]
    g = [np.full((2, 2), 0.3, np.float32), np.full(3, -0.2, np.float32)]
    _step_both(opts, params, g)
    for ps in params:  # as Module.to(float64) does
        ps[0].data = ps[0].data.astype(np.float64)
    _step_both(opts, params, [g[0].astype(np.float64), g[1]])
    _assert_same_optimizers(*opts)
    _step_both(opts, params, [g[0].astype(np.float32), g[1].astype(np.float64)])
    _assert_same_optimizers(*opts)
    assert params[0][0].dtype == np.float64 and params[0][1].dtype == np.float32


@pytest.mark.parametrize("cls", [Momentum, Adam])
def test_a_schedule_changing_lr_between_fused_steps(cls):
    params = _twins([np.ones((3, 2)), np.full(2, 0.5)])
    opts = [cls(ps, lr=0.1, weight_decay=0.05, foreach=fe) for ps, fe in zip(params, (True, False))]
    schedules = [CosineAnnealingLR(opt, T_max=4) for opt in opts]
    for k in range(5):
        _step_both(opts, params, [np.full((3, 2), 0.2 - 0.1 * k), np.full(2, 0.1 * k)])
        for s in schedules:
            s.step()
        _assert_same_optimizers(*opts)
    assert opts[0].lr == opts[1].lr != 0.1


def test_a_parameter_swapped_in_a_group_is_stepped_as_the_new_one():
    params = _twins([np.ones(2), np.ones(3)])
    opts = [Momentum(ps, lr=0.1, foreach=fe) for ps, fe in zip(params, (True, False))]
    _step_both(opts, params, [np.ones(2), np.ones(3)])
    new = [tc.Tensor(np.full(3, 4.0), requires_grad=True) for _ in opts]
    for opt, ps, q in zip(opts, params, new):
        opt.param_groups[0]["params"][1] = ps[1] = q
    _step_both(opts, params, [np.ones(2), np.ones(3)])
    _assert_same_optimizers(*opts)
    assert not np.array_equal(new[0].data, np.full(3, 4.0))


@pytest.mark.parametrize("cls", [Momentum, RMSprop, Adam])
def test_a_state_entry_set_to_another_dtype_is_used_as_the_per_parameter_path_uses_it(cls):
    params = _twins([np.ones((2, 3), np.float32), np.full(3, 0.5, np.float32)])
    opts = [cls(ps, lr=0.1, foreach=fe) for ps, fe in zip(params, (True, False))]
    grads = [np.full((2, 3), 0.3, np.float32), np.full(3, -0.2, np.float32)]
    _step_both(opts, params, grads)
    for opt in opts:
        key = cls.state_keys[0]
        opt.state[0][key] = opt.state[0][key].astype(np.float64) + 1e-9
    for _ in range(2):
        _step_both(opts, params, grads)
        _assert_same_optimizers(*opts)


@pytest.mark.parametrize("cls", [Momentum, Adam])
def test_buckets_stop_at_foreach_bucket_size_and_larger_parameters_step_alone(cls):
    shapes = [(3, 2), (2,), (4,), (5, 3), (3,)]
    params = _twins([np.full(s, 0.5) for s in shapes])
    opts = [cls(ps, lr=0.1, foreach=fe) for ps, fe in zip(params, (True, False))]
    opts[0].foreach_bucket_size = 8  # (3, 2) + (2,) fill one bucket, (4,) + (3,) another
    for k in range(3):
        _step_both(opts, params, [np.full(s, 0.1 * k - 0.1) for s in shapes])
        _assert_same_optimizers(*opts)
    v = [s[cls.state_keys[0]] for s in opts[0].state]
    assert v[0].base is v[1].base and v[2].base is v[4].base is not v[0].base
    assert v[3].base is None  # 15 elements: stepped by itself


def test_a_replaced_adam_step_count_is_picked_up_by_the_fused_step():
    params = _twins([np.ones((2, 3)), np.full(3, 0.5)])
    opts = [Adam(ps, lr=0.1, foreach=fe) for ps, fe in zip(params, (True, False))]
    grads = [np.full((2, 3), 0.3), np.full(3, -0.2)]
    _step_both(opts, params, grads)
    for opt in opts:
        opt.state[1]["t"] = 7
    for _ in range(2):
        _step_both(opts, params, grads)
        _assert_same_optimizers(*opts)
    assert [s["t"] for s in opts[0].state] == [3, 9]


def test_a_gradient_of_the_wrong_shape_is_not_broadcast_by_the_fused_step():
    params = [tc.Tensor(np.ones((2, 3), np.float32), requires_grad=True),
              tc.Tensor(np.ones(3, np.float32), requires_grad=True)]
    opt = Momentum(params, lr=0.1)
    for p in params:
        p.grad = tc.Tensor(np.ones(p.shape, np.float32))
    opt.step()  # builds the buckets
    params[0].grad = tc.Tensor(np.ones(3, np.float32))  # a broadcastable but wrong shape
    with pytest.raises(ValueError, match=r"params\[0\] has shape \(2, 3\) but its .grad has shape \(3,\)"):
        opt.step()
    with pytest.raises(ValueError, match="params.0. has shape"):
        SGD(params, lr=0.1).step()  # the per-parameter path checks it too


# ---- flat weights: parameters whose arrays no one else holds become views of one buffer ------

def _model(n: int = 3):
    rng = np.random.default_rng(0)
    return [tc.Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
            for _ in range(n)]


def _grads(n: int = 3, seed: int = 1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(n)]


@pytest.mark.parametrize("cls", [Momentum, RMSprop, Adam, AdamW])
def test_parameters_no_one_else_holds_become_views_of_one_flat_buffer(cls):
    params = _model()
    values = [p.data.copy() for p in params]
    opt = cls(params, lr=0.1)
    _step_both([opt], [params], _grads())
    (bucket,) = opt._plans[0].buckets
    assert bucket.w is not None
    assert all(p.data.base is bucket.w for p in params)
    assert all(not np.array_equal(p.data, v) for p, v in zip(params, values))


@pytest.mark.parametrize("cls", [Momentum, RMSprop, Adam, AdamW])
def test_flat_weights_step_bit_for_bit_as_the_per_parameter_path(cls):
    flat, plain = _model(), _model()
    opts = [cls(flat, lr=0.05, weight_decay=0.1), cls(plain, lr=0.05, weight_decay=0.1, foreach=False)]
    for seed in range(4):
        _step_both(opts, [flat, plain], _grads(seed=seed))
    assert opts[0]._plans[0].buckets[0].w is not None
    _assert_same_optimizers(*opts)


def test_a_held_array_is_written_in_place_and_the_bucket_keeps_per_parameter_weights():
    params = _model()
    held = params[1].data  # a user's reference: moving the parameter would leave it stale
    opt = Adam(params, lr=0.1)
    _step_both([opt], [params], _grads())
    assert opt._plans[0].buckets[0].w is None
    assert params[1].data is held and not np.array_equal(held, _model()[1].data)


def test_flat_weights_bump_every_parameters_version_and_views_of_them_see_the_step():
    params = _model()
    opt = Momentum(params, lr=0.1)
    _step_both([opt], [params], _grads())
    versions = [p.version for p in params]
    view = params[2].data  # taken after the move: the flat buffer's slice
    before = view.copy()
    _step_both([opt], [params], _grads(seed=2))
    assert all(p.version > v for p, v in zip(params, versions))
    assert params[2].data is view and not np.array_equal(view, before)


def test_a_parameter_replaced_after_the_move_is_stepped_as_the_new_array():
    params, twins = _model(), _model()
    opts = [Adam(params, lr=0.1), Adam(twins, lr=0.1, foreach=False)]
    _step_both(opts, [params, twins], _grads())
    for ps in (params, twins):
        ps[0].data = np.full((4, 3), 2.0, np.float32)
    _step_both(opts, [params, twins], _grads(seed=3))
    _assert_same_optimizers(*opts)


@pytest.mark.parametrize("cls", [Momentum, Adam])
def test_a_deep_copy_of_flat_parameters_and_their_optimizer_steps_the_copies(cls):
    # deepcopy copies the flat buffer and its views apart: the copy must still move its weights.
    import copy
    params = _model()
    opt = cls(params, lr=0.1)
    _step_both([opt], [params], _grads())
    twins, twin_opt = copy.deepcopy((params, opt))
    for ps, o in ((params, opt), (twins, twin_opt)):
        _step_both([o], [ps], _grads(seed=5))
    for p, q in zip(params, twins):
        assert _same_bits(p.data, q.data)
