"""Fault triggers and plans, without a server."""

import random

import pytest

from simulator.faults import CLEAN, FaultBoard, FaultKind, FaultSpec, parse_spec
from simulator.schema import SchemaError

pytestmark = pytest.mark.timeout(10)


def test_no_faults_draw_a_clean_plan() -> None:
    assert FaultBoard({}).draw(0.0, random.Random(1)) is CLEAN


def test_a_schedule_opens_windows_on_the_simulator_clock() -> None:
    spec = FaultSpec(every_s=60.0, duration_s=10.0, offset_s=30.0)

    opened = [t for t in range(0, 200, 5) if spec.scheduled(float(t))]

    assert opened == [30, 35, 90, 95, 150, 155]


def test_a_fired_fault_with_a_burst_stays_on_for_the_burst() -> None:
    board = FaultBoard(
        {FaultKind.SERVER_ERROR: FaultSpec(probability=0.2, burst_s=5.0)}
    )
    rng = random.Random(11)
    clock = 0.0
    while board.draw(clock, rng).reject_status is None:
        clock += 0.1

    during = [board.draw(clock + dt, rng).reject_status for dt in (0.5, 2.0, 4.9)]

    assert during == [500, 500, 500]


def test_probability_fires_about_that_often() -> None:
    board = FaultBoard({FaultKind.GATEWAY_HTML: FaultSpec(probability=0.1)})
    rng = random.Random(3)

    fired = sum(board.draw(0.0, rng).reject_html for _ in range(5000))

    assert 400 < fired < 600


def test_rejections_take_precedence_and_carry_their_status() -> None:
    board = FaultBoard(
        {
            FaultKind.OUTAGE: FaultSpec(probability=1.0),
            FaultKind.SERVER_ERROR: FaultSpec(probability=1.0, status=502),
            FaultKind.STALL: FaultSpec(probability=1.0),
        }
    )

    plan = board.draw(0.0, random.Random(1))

    assert plan.reject_status == 503 and not plan.in_stream


def test_stream_faults_get_their_kind_defaults() -> None:
    board = FaultBoard(
        {
            FaultKind.STALL: FaultSpec(probability=1.0),
            FaultKind.STREAM_ERROR: FaultSpec(probability=1.0, after_chunks=7),
            FaultKind.SLOW_HEADERS: FaultSpec(probability=1.0, delay_s=0.5),
        }
    )

    plan = board.draw(0.0, random.Random(1))

    assert (plan.stall_after, plan.stall_s) == (3, 30.0)
    assert plan.error_after == 7
    assert plan.header_delay_s == 0.5
    assert plan.reset_after is None and plan.reject_status is None


def test_set_and_clear_change_the_board_at_run_time() -> None:
    board = FaultBoard({})
    board.set(FaultKind.CONNECTION_RESET, FaultSpec(probability=1.0))

    assert board.draw(0.0, random.Random(1)).reset_after == 0
    assert board.describe(0.0)["connection_reset"]["probability"] == 1.0

    board.clear(FaultKind.CONNECTION_RESET)
    assert board.draw(0.0, random.Random(1)) is CLEAN


@pytest.mark.parametrize(
    ("kind", "table", "key"),
    [
        (FaultKind.STALL, {"status": 500}, "status"),
        (FaultKind.OUTAGE, {"delay_s": 1.0}, "delay_s"),
        (FaultKind.SERVER_ERROR, {"status": 404}, "status"),
        (FaultKind.SERVER_ERROR, {"probabilty": 0.1}, "probabilty"),
        (FaultKind.OUTAGE, {"duration_s": 5.0}, "every_s"),
    ],
)
def test_bad_settings_name_the_key(kind: FaultKind, table: dict, key: str) -> None:
    with pytest.raises(SchemaError) as caught:
        parse_spec(kind, table)

    assert caught.value.key == key
