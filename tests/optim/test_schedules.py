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
