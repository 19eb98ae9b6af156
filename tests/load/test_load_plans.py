"""Stage plans: every shape is bounded, ramps are linear, roles are marked."""

from __future__ import annotations

import pytest

from loadtests.plans import SHAPES, build_plan, plan_length_s, stage_at, users_at


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_ends_at_its_duration(shape: str) -> None:
    plan = build_plan(shape, base_users=2, multiple=5, duration_s=120, steps=6)
    assert plan_length_s(plan) == pytest.approx(120)
    assert users_at(plan, 119.9) is not None
    assert users_at(plan, 120.0) is None
    assert stage_at(plan, 500) is None


def test_peak_hour_is_quiet_ramp_peak_decline_recovery() -> None:
    plan = build_plan("peak-hour", base_users=2, multiple=5, duration_s=100, steps=1)
    assert [(s.name, s.users, s.role) for s in plan] == [
        ("quiet", 2, "quiet"),
        ("ramp-up", 10, None),
        ("peak", 10, "peak"),
        ("decline", 2, None),
        ("recovery", 2, None),
    ]
    # The ramp-up runs from 25 s to 40 s: half way, half way between 2 and 10.
    assert users_at(plan, 10) == 2
    assert users_at(plan, 32.5) == 6
    assert users_at(plan, 50) == 10
    # The decline runs from 70 s to 85 s.
    assert users_at(plan, 77.5) == 6
    assert users_at(plan, 90) == 2


def test_spike_jumps_without_a_ramp() -> None:
    plan = build_plan("spike", base_users=3, multiple=4, duration_s=50, steps=1)
    assert [(s.name, s.users, s.ramp) for s in plan] == [
        ("quiet", 3, False),
        ("spike", 12, False),
        ("recovery", 3, False),
    ]
    assert users_at(plan, 19.9) == 3
    assert users_at(plan, 20.0) == 12


def test_steps_climb_by_the_base_and_the_first_is_the_baseline() -> None:
    plan = build_plan("step", base_users=2, multiple=5, duration_s=60, steps=4)
    assert [(s.name, s.users, s.duration_s) for s in plan] == [
        ("step-1", 2, 15),
        ("step-2", 4, 15),
        ("step-3", 6, 15),
        ("step-4", 8, 15),
    ]
    assert plan[0].role == "quiet"


def test_a_small_multiple_still_adds_a_user_at_the_peak() -> None:
    plan = build_plan("spike", base_users=1, multiple=1.2, duration_s=10, steps=1)
    assert plan[1].users == 2


def test_unknown_shape_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="steady, peak-hour, spike, step"):
        build_plan("soak", 1, 2, 10, 1)
