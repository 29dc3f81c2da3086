import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_course as tc
from tinygrad_course.optim import (SGD, Adam, ExponentialDecay, InverseSqrtDecay,
                                   InverseTimeDecay, ManualSchedule, Momentum,
                                   ScheduledInverseTimeDecay, StaircaseDecay)


def _opt(lr=0.5, cls=SGD):
    return cls([tc.Tensor(np.ones(2), requires_grad=True)], lr=lr)


def test_inverse_time_course_example_lr0_half_epoch_2_rate_1_gives_one_sixth():
    # The course's update_lr(0.5, 2, 1).
    assert InverseTimeDecay(_opt(0.5), decay_rate=1).lr_at(2) == pytest.approx(1 / 6, abs=1e-15)


def test_inverse_time_lecture_table_alpha0_0_2():
    sched = InverseTimeDecay(_opt(0.2), decay_rate=1.0)
    assert [sched.lr_at(e) for e in range(5)] == pytest.approx([0.2, 0.1, 0.2 / 3, 0.05, 0.04])


def test_scheduled_inverse_time_course_examples():
    # The course's schedule_lr_decay(0.5, epoch, 1, time_interval=100).
    sched = ScheduledInverseTimeDecay(_opt(0.5), decay_rate=1, time_interval=100)
    assert sched.lr_at(10) == 0.5
    assert sched.lr_at(99) == 0.5
    assert sched.lr_at(100) == 0.25
    assert sched.lr_at(250) == pytest.approx(0.5 / 3)


def test_scheduled_inverse_time_defaults_to_interval_1000():
    sched = ScheduledInverseTimeDecay(_opt(0.1))
    assert sched.lr_at(999) == 0.1 and sched.lr_at(1000) == 0.05


def test_exponential_decay_is_0_95_to_the_epoch_and_base_is_configurable():
    assert ExponentialDecay(_opt(0.2)).lr_at(3) == pytest.approx(0.95 ** 3 * 0.2, rel=1e-15)
    assert ExponentialDecay(_opt(0.2), base=0.5).lr_at(2) == pytest.approx(0.05, rel=1e-15)


def test_inverse_sqrt_decay_is_lr0_at_epoch_0_then_k_over_sqrt_epoch():
    sched = InverseSqrtDecay(_opt(0.3), k=2.0)
    assert sched.lr_at(0) == 0.3
    assert sched.lr_at(1) == pytest.approx(0.6)
    assert sched.lr_at(4) == pytest.approx(2.0 / 2.0 * 0.3)
    assert sched.lr_at(9) == pytest.approx(2.0 / 3.0 * 0.3)


def test_inverse_sqrt_by_batch_is_flagged_for_fit():
    assert InverseSqrtDecay(_opt(), by="batch").by == "batch"
    with pytest.raises(ValueError, match="by must be 'epoch' or 'batch', got 'iteration'"):
        InverseSqrtDecay(_opt(), by="iteration")


def test_staircase_cuts_by_factor_every_step_size_epochs():
    sched = StaircaseDecay(_opt(0.8), step_size=3, factor=0.5)
    assert [sched.lr_at(e) for e in range(8)] == [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2]


def test_manual_schedule_from_a_list_holds_the_last_value():
    sched = ManualSchedule(_opt(0.9), [0.3, 0.2, 0.1])
    assert [sched.lr_at(e) for e in range(5)] == [0.3, 0.2, 0.1, 0.1, 0.1]


def test_manual_schedule_from_a_dict_is_piecewise_constant_from_lr0():
    sched = ManualSchedule(_opt(0.9), {5: 0.1, 2: 0.3})
    assert [sched.lr_at(e) for e in range(7)] == [0.9, 0.9, 0.3, 0.3, 0.3, 0.1, 0.1]


def test_manual_schedule_from_a_function():
    sched = ManualSchedule(_opt(0.9), lambda e: 0.1 if e % 2 else 0.2)
    assert [sched.lr_at(e) for e in range(4)] == [0.2, 0.1, 0.2, 0.1]


def test_manual_schedule_rejects_bad_learning_rates():
    with pytest.raises(ValueError, match="lr of epoch 1 must be finite and >= 0, got -0.1"):
        ManualSchedule(_opt(), [0.1, -0.1])
    with pytest.raises(ValueError, match="epochs"):
        ManualSchedule(_opt(), {-1: 0.1})
    with pytest.raises(ValueError, match="empty"):
        ManualSchedule(_opt(), [])
    sched = ManualSchedule(_opt(), lambda e: math.nan if e == 2 else 0.1)
    sched.step()
    with pytest.raises(ValueError, match="lr of epoch 2 must be finite"):
        sched.step()


@pytest.mark.parametrize("cls", [SGD, Momentum, Adam])
def test_construction_sets_epoch_0_and_step_sets_each_next_epoch_on_any_optimizer(cls):
    opt = _opt(0.5, cls)
    sched = InverseTimeDecay(opt, decay_rate=1.0)
    seen = [opt.lr]
    for _ in range(3):
        assert sched.step() == opt.lr
        seen.append(opt.lr)
    assert seen == pytest.approx([0.5, 0.25, 0.5 / 3, 0.125])
    assert sched.epoch == 3 and sched.lr == opt.lr


def test_lr0_defaults_to_the_optimizers_lr_and_can_be_given():
    opt = _opt(0.5)
    assert InverseTimeDecay(opt, lr0=0.1).lr_at(0) == 0.1
    assert opt.lr == 0.1


@pytest.mark.parametrize("make", [
    lambda o: InverseTimeDecay(o, decay_rate=-1),
    lambda o: ScheduledInverseTimeDecay(o, time_interval=0),
    lambda o: ExponentialDecay(o, base=1.5),
    lambda o: InverseSqrtDecay(o, k=0),
    lambda o: StaircaseDecay(o, step_size=2, factor=0),
    lambda o: InverseTimeDecay(o, lr0=math.inf),
])
def test_bad_schedule_hyperparameters_raise_at_construction(make):
    with pytest.raises(ValueError, match="must be finite and"):
        make(_opt())


@pytest.mark.parametrize("epoch", [-1, 1.5, True])
def test_lr_at_needs_a_nonnegative_int_epoch(epoch):
    with pytest.raises(ValueError, match="epoch must be an int >= 0"):
        InverseTimeDecay(_opt()).lr_at(epoch)


@pytest.mark.parametrize("make", [
    lambda o: InverseTimeDecay(o, decay_rate=0.3),
    lambda o: ScheduledInverseTimeDecay(o, decay_rate=2, time_interval=3),
    lambda o: ExponentialDecay(o, base=0.9),
    lambda o: InverseSqrtDecay(o, k=1.5, by="batch"),
    lambda o: StaircaseDecay(o, step_size=2, factor=0.1),
    lambda o: ManualSchedule(o, [0.3, 0.2]),
])
def test_schedule_state_dict_round_trip(make):
    a = make(_opt(0.5))
    for _ in range(5):
        a.step()
    opt_b = _opt(0.7)
    b = make(opt_b)
    b.load_state_dict(a.state_dict())
    assert (b.epoch, b.lr0, b.by, opt_b.lr) == (5, 0.5, a.by, a.optimizer.lr)
    assert b.step() == a.step()


@pytest.mark.parametrize("key", ["epoch", "lr0", "by", "decay_rate", "schedule"])
def test_schedule_load_state_dict_names_a_missing_entry(key):
    saved = InverseTimeDecay(_opt(), decay_rate=0.5).state_dict()
    del saved[key]
    with pytest.raises(tc.StateDictError, match=f"InverseTimeDecay.load_state_dict: the state "
                                                f"has no '{key}'"):
        InverseTimeDecay(_opt()).load_state_dict(saved)


def test_schedule_load_state_dict_from_another_schedule_raises():
    with pytest.raises(ValueError, match="from 'ExponentialDecay', not InverseTimeDecay"):
        InverseTimeDecay(_opt()).load_state_dict(ExponentialDecay(_opt()).state_dict())


def test_repr_shows_the_formula_parameters():
    assert repr(StaircaseDecay(_opt(0.5), step_size=3)) == (
        "StaircaseDecay(lr0=0.5, step_size=3, factor=0.5, epoch=0)")


@given(st.floats(1e-6, 10), st.floats(0, 5), st.integers(0, 10_000))
def test_decay_schedules_never_grow_and_stay_positive(lr0, rate, epoch):
    opt = _opt(1.0)
    for sched in (InverseTimeDecay(opt, rate, lr0=lr0),
                  ScheduledInverseTimeDecay(opt, rate, time_interval=7, lr0=lr0),
                  ExponentialDecay(opt, lr0=lr0), InverseSqrtDecay(opt, lr0=lr0),
                  StaircaseDecay(opt, step_size=5, lr0=lr0)):
        assert 0 <= sched.lr_at(epoch + 1) <= sched.lr_at(epoch) <= lr0


def test_something_without_an_lr_instead_of_the_optimizer_is_refused():
    from tinygrad_course import nn

    with pytest.raises(TypeError, match=r"InverseTimeDecay: the first argument is the optimizer "
                                        r"whose lr it sets .* got Linear"):
        InverseTimeDecay(nn.Linear(2, 1))


# ---- parameter groups and PyTorch's schedulers ----------------------------------------------
# Expected values are worked from the formulas in PyTorch's documentation of each scheduler.

from tinygrad_course.optim import (AdamW, ChainedScheduler, CosineAnnealingLR,  # noqa: E402
                                   CosineAnnealingWarmRestarts, LinearLR, OneCycleLR,
                                   ReduceLROnPlateau, SequentialLR)


def _grouped(lrs=(0.1, 0.02), cls=SGD):
    return cls([{"params": [tc.Tensor(np.ones(2), requires_grad=True)], "lr": lr} for lr in lrs],
               lr=lrs[0])


def _run(sched, n):
    """Group 0's lr at epochs 0..n (construction sets epoch 0)."""
    return [sched.get_last_lr()[0]] + [sched.step() for _ in range(n)]


def test_a_course_schedule_sets_each_group_from_its_own_starting_lr():
    opt = _grouped((0.1, 0.02))
    sched = InverseTimeDecay(opt, decay_rate=1.0)
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.05, 0.01], rel=1e-15)
    assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()


def _cosine(base, eta_min, t, T):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T)) / 2


def test_cosine_annealing_follows_the_closed_form_for_two_periods():
    opt = _grouped((0.1, 0.02))
    sched = CosineAnnealingLR(opt, T_max=5, eta_min=0.001)
    lrs = [sched.get_last_lr()] + [(sched.step(), sched.get_last_lr())[1] for _ in range(12)]
    for t, (a, b) in enumerate(lrs):
        assert a == pytest.approx(_cosine(0.1, 0.001, t, 5), rel=1e-12)
        assert b == pytest.approx(_cosine(0.02, 0.001, t, 5), rel=1e-12)
    assert lrs[5][0] == pytest.approx(0.001, rel=1e-12)  # the trough at T_max


def test_cosine_warm_restarts_restart_and_lengthen_by_T_mult():
    sched = CosineAnnealingWarmRestarts(_opt(0.1), T_0=3, T_mult=2, eta_min=0.01)
    t_cur = [0, 1, 2, 0, 1, 2, 3, 4, 5, 0, 1]
    t_i = [3, 3, 3, 6, 6, 6, 6, 6, 6, 12, 12]
    expected = [_cosine(0.1, 0.01, c, i) for c, i in zip(t_cur, t_i)]
    assert _run(sched, 10) == pytest.approx(expected, rel=1e-12)


def test_cosine_warm_restarts_take_a_fractional_epoch():
    sched = CosineAnnealingWarmRestarts(_opt(0.1), T_0=3, T_mult=2)
    sched.step(4.5)  # in the second period (epochs 3..9): T_cur = 1.5, T_i = 6
    assert sched.get_last_lr()[0] == pytest.approx(_cosine(0.1, 0.0, 1.5, 6), rel=1e-12)
    assert (sched.T_cur, sched.T_i, sched.last_epoch) == (1.5, 6, 4)


def test_linear_warm_up_goes_from_start_factor_to_end_factor_then_holds():
    sched = LinearLR(_opt(0.2), start_factor=0.25, end_factor=1.0, total_iters=4)
    expected = [0.2 * (0.25 + 0.75 * min(t, 4) / 4) for t in range(7)]
    assert _run(sched, 6) == pytest.approx(expected, rel=1e-12)


def _one_cycle_expected(step, total, pct, max_lr, div, final_div, anneal):
    initial, low = max_lr / div, max_lr / div / final_div
    end1 = pct * total - 1
    if step <= end1:
        start, end, frac = initial, max_lr, step / end1
    else:
        start, end, frac = max_lr, low, (step - end1) / (total - 1 - end1)
    if anneal == "cos":
        return end + (start - end) / 2 * (math.cos(math.pi * frac) + 1)
    return start + (end - start) * frac


@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_one_cycle_rises_to_max_lr_then_anneals_to_the_minimum(anneal):
    sched = OneCycleLR(_opt(0.1, Adam), max_lr=1.0, total_steps=10, pct_start=0.3,
                       anneal_strategy=anneal)
    expected = [_one_cycle_expected(s, 10, 0.3, 1.0, 25.0, 1e4, anneal) for s in range(10)]
    assert _run(sched, 9) == pytest.approx(expected, rel=1e-12)
    assert expected[0] == pytest.approx(0.04) and expected[2] == pytest.approx(1.0)
    assert expected[9] == pytest.approx(0.04 / 1e4)
    with pytest.raises(ValueError, match="past total_steps=10"):
        sched.step(), sched.step()


def test_one_cycle_cycles_adams_beta1_against_the_lr():
    opt = _opt(0.1, Adam)
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.3)
    assert opt.beta1 == 0.95
    sched.step(), sched.step()  # step 2: the top of the lr, the bottom of the momentum
    assert opt.beta1 == pytest.approx(0.85)


def test_one_cycle_needs_cycle_momentum_false_without_a_momentum():
    with pytest.raises(ValueError, match="SGD has no momentum to cycle; pass cycle_momentum=False"):
        OneCycleLR(_opt(0.1), max_lr=1.0, total_steps=10)
    assert OneCycleLR(_opt(0.1), max_lr=1.0, epochs=2, steps_per_epoch=5,
                      cycle_momentum=False).total_steps == 10


def test_reduce_on_plateau_waits_patience_then_cuts_then_cools_down():
    # patience 2: the 3rd bad epoch in a row cuts; cooldown 1: the epoch after a cut counts no
    # bad epoch. Hand-worked from PyTorch's step(): bad counts 0,1,2,3->cut, cooldown, 1,2,3->cut.
    opt = _opt(1.0)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    lrs = [sched.step(1.0) for _ in range(12)]
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2]
    assert sched.get_last_lr() == [0.2] and opt.lr == 0.2


def test_reduce_on_plateau_threshold_rel_and_abs_in_mode_max():
    rel = ReduceLROnPlateau(_opt(1.0), mode="max", patience=0, threshold=0.1)
    rel.step(1.0)
    assert rel.step(1.05) == pytest.approx(0.1)  # 1.05 < 1.0 * 1.1: not better, cut at once
    abs_ = ReduceLROnPlateau(_opt(1.0), mode="max", patience=0, threshold=0.01,
                             threshold_mode="abs")
    abs_.step(1.0)
    assert abs_.step(1.05) == 1.0 and abs_.best == 1.05


def test_reduce_on_plateau_refuses_a_factor_of_one_or_more():
    with pytest.raises(ValueError, match="factor must be < 1"):
        ReduceLROnPlateau(_opt(), factor=1.0)


def test_chained_scheduler_multiplies_warm_up_and_cosine_as_pytorch():
    opt = _opt(0.1)
    sched = ChainedScheduler([LinearLR(opt, start_factor=0.5, total_iters=2),
                              CosineAnnealingLR(opt, T_max=4)])
    expected = [0.1 * (0.5 + 0.5 * min(t, 2) / 2) * (1 + math.cos(math.pi * t / 4)) / 2
                for t in range(5)]
    assert _run(sched, 4) == pytest.approx(expected, rel=1e-12)


def test_sequential_lr_warms_up_then_restarts_cosine_at_the_milestone():
    opt = _opt(0.1)
    sched = SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=3),
                               CosineAnnealingLR(opt, T_max=4)], milestones=[3])
    expected = [0.1 * (0.1 + 0.9 * t / 3) for t in range(3)] + [
        _cosine(0.1, 0.0, k, 4) for k in range(5)]
    assert _run(sched, 7) == pytest.approx(expected, rel=1e-12)


def test_sequential_lr_takes_a_course_schedule_after_warm_up():
    opt = _opt(0.1)
    sched = SequentialLR(opt, [LinearLR(opt, start_factor=0.5, total_iters=2),
                               InverseTimeDecay(opt, decay_rate=1.0)], milestones=[2])
    assert _run(sched, 4) == pytest.approx([0.05, 0.075, 0.1, 0.05, 0.1 / 3], rel=1e-12)


def test_combining_needs_one_optimizer_and_no_plateau():
    a, b = _opt(), _opt()
    with pytest.raises(ValueError, match="another optimizer"):
        ChainedScheduler([LinearLR(a), LinearLR(b)])
    with pytest.raises(TypeError, match="ReduceLROnPlateau steps on a metric"):
        SequentialLR(a, [LinearLR(a), ReduceLROnPlateau(a)], milestones=[2])
    with pytest.raises(TypeError, match="use SequentialLR|with SequentialLR"):
        ChainedScheduler([InverseTimeDecay(a)])


_PYTORCH_STYLE = [
    lambda o: CosineAnnealingLR(o, T_max=4, eta_min=0.01),
    lambda o: CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2),
    lambda o: LinearLR(o, start_factor=0.2, total_iters=4),
    lambda o: OneCycleLR(o, max_lr=1.0, total_steps=20),
    lambda o: ChainedScheduler([LinearLR(o, 0.5, total_iters=3), CosineAnnealingLR(o, 6)]),
    lambda o: SequentialLR(o, [LinearLR(o, 0.5, total_iters=2), CosineAnnealingLR(o, 6)], [2]),
]


@pytest.mark.parametrize("make", _PYTORCH_STYLE)
def test_pytorch_style_schedule_state_round_trips_and_continues_identically(make):
    opt_a = _grouped((0.1, 0.02), Adam)
    a = make(opt_a)
    for _ in range(3):
        a.step()
    opt_b = _grouped((0.1, 0.02), Adam)
    b = make(opt_b)
    opt_b.load_state_dict(opt_a.state_dict())
    b.load_state_dict(a.state_dict())
    assert b.get_last_lr() == a.get_last_lr()
    for _ in range(5):
        assert b.step() == a.step() and b.get_last_lr() == a.get_last_lr()


def test_reduce_on_plateau_state_round_trips():
    opt_a, opt_b = _opt(1.0), _opt(1.0)
    a = ReduceLROnPlateau(opt_a, patience=1, factor=0.5)
    b = ReduceLROnPlateau(opt_b, patience=1, factor=0.5)
    for v in (3.0, 2.0, 2.5):
        a.step(v)
    b.load_state_dict(a.state_dict())
    assert opt_b.lr == opt_a.lr and b.best == 2.0 and b.num_bad_epochs == 1
    assert [b.step(2.5) for _ in range(3)] == [a.step(2.5) for _ in range(3)]


@pytest.mark.parametrize("make, key", [
    (lambda o: CosineAnnealingLR(o, T_max=3), "T_max"),
    (lambda o: CosineAnnealingWarmRestarts(o, T_0=3), "T_cur"),
    (lambda o: ReduceLROnPlateau(o), "num_bad_epochs"),
    (lambda o: InverseTimeDecay(o), "base_lrs"),
])
def test_a_schedule_state_missing_an_entry_is_refused_naming_it(make, key):
    saved = make(_opt()).state_dict()
    del saved[key]
    with pytest.raises(tc.StateDictError, match=f"the state has no '{key}'"):
        make(_opt()).load_state_dict(saved)


def test_a_schedule_state_survives_a_checkpoint_file(tmp_path):
    opt = _opt(0.1, AdamW)
    sched = OneCycleLR(opt, max_lr=1.0, total_steps=10)
    sched.step()
    tc.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "c.npz")
    loaded = tc.load(tmp_path / "c.npz")
    opt2 = _opt(0.1, AdamW)
    sched2 = OneCycleLR(opt2, max_lr=1.0, total_steps=10)
    opt2.load_state_dict(loaded["opt"])
    sched2.load_state_dict(loaded["sched"])
    assert sched2.step() == sched.step() and opt2.beta1 == opt.beta1
