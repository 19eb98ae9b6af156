"""The scheduler on a real event loop: lag is measured, a run never overlaps
itself, and a hung run is cut so later runs go on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from prober.metrics import ProberMetrics
from prober.plan import Job
from prober.scheduler import FIRST_RUNS_PER_S, ProbeScheduler, SlotTrigger


def _job(interval_s: float, timeout_s: float = 5.0) -> Job:
    return Job("glm-5", "ping", ("ping",), interval_s, 0.0, timeout_s)


def _value(metrics: ProberMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return found or 0.0


async def _until(reached: asyncio.Event) -> None:
    await asyncio.wait_for(reached.wait(), timeout=10.0)


async def test_runs_repeat_and_their_lag_is_measured() -> None:
    metrics = ProberMetrics()
    runs: list[float] = []
    reached = asyncio.Event()

    async def run(job: Job) -> None:
        runs.append(asyncio.get_running_loop().time())
        if len(runs) >= 3:
            reached.set()

    scheduler = ProbeScheduler(run, metrics)
    scheduler.add(_job(0.3))
    scheduler.start()
    try:
        await _until(reached)
    finally:
        scheduler.shutdown()
    count = _value(metrics, "prober_scheduler_lag_seconds_count", probe="ping")
    total = _value(metrics, "prober_scheduler_lag_seconds_sum", probe="ping")
    assert count >= 3
    assert 0 <= total / count < 0.5


async def test_a_slow_run_is_never_overlapped() -> None:
    metrics = ProberMetrics()
    running = peak = 0
    done = 0
    reached = asyncio.Event()

    async def run(job: Job) -> None:
        nonlocal running, peak, done
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.9)
        running -= 1
        done += 1
        if done >= 2:
            reached.set()

    scheduler = ProbeScheduler(run, metrics)
    scheduler.add(_job(0.2))
    scheduler.start()
    try:
        await _until(reached)
    finally:
        scheduler.shutdown()
    assert peak == 1
    skipped = _value(
        metrics, "prober_scheduler_skipped_runs_total", probe="ping", reason="overlap"
    )
    assert skipped >= 1


async def test_a_hung_run_is_cut_and_the_next_one_runs() -> None:
    metrics = ProberMetrics()
    started = 0
    reached = asyncio.Event()

    async def run(job: Job) -> None:
        nonlocal started
        started += 1
        if started >= 3:
            reached.set()
        await asyncio.Event().wait()  # never returns by itself

    scheduler = ProbeScheduler(run, metrics, cut_slack_s=0.0)
    scheduler.add(_job(0.2, timeout_s=0.3))
    scheduler.start()
    try:
        await _until(reached)
    finally:
        scheduler.shutdown()
    assert _value(metrics, "prober_job_timeouts_total", probe="ping") >= 2


async def test_a_restart_resumes_after_the_last_run() -> None:
    ran: list[str] = []

    async def run(job: Job) -> None:
        ran.append(job.id)

    scheduler = ProbeScheduler(run, ProberMetrics())
    now = datetime.now(UTC)
    recent = Job("glm-5", "context", ("context",), 3600.0, 0.0, 5.0)
    stale = Job("qwen3-32b", "context", ("context",), 3600.0, 0.0, 5.0)
    scheduler.add(recent, last_run=now - timedelta(minutes=10))
    scheduler.add(stale, last_run=now - timedelta(hours=2))
    scheduler.add(_job(3600.0))
    scheduler.start()
    try:
        await asyncio.sleep(6.0)  # past the first-run spread of five seconds
    finally:
        scheduler.shutdown()
    # The sweep that ran ten minutes ago waits out its hour; the others run.
    assert sorted(ran) == ["context:qwen3-32b", "ping:glm-5"]


async def test_first_runs_are_spread_evenly_over_the_start_up_window() -> None:
    async def run(job: Job) -> None:
        return None

    scheduler = ProbeScheduler(run, ProberMetrics())
    count = 200  # at FIRST_RUNS_PER_S, a window of count / 20 = 10 s
    for number in range(count):
        scheduler.add(Job(f"model-{number}", "ping", ("ping",), 3600.0, 0.0, 5.0))
    before = datetime.now(UTC)
    scheduler.start()
    try:
        firsts = sorted(job.next_run_time for job in scheduler._scheduler.get_jobs())
    finally:
        scheduler.shutdown()
    window_s = count / FIRST_RUNS_PER_S
    slot_s = window_s / count
    # One first run in each slot of the window: no burst, no gap (slack for
    # the time scheduling itself takes on a busy machine).
    for slot, first in enumerate(firsts):
        offset_s = (first - before).total_seconds()
        assert slot * slot_s <= offset_s < (slot + 1) * slot_s + 0.2


def test_jitter_moves_each_run_within_its_slot_and_never_adds_up() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    trigger = SlotTrigger(60.0, 6.0, start)
    runs = [start]
    for _ in range(1_000):
        runs.append(trigger.get_next_fire_time(runs[-1], runs[-1]))

    offsets = [
        (run - start).total_seconds() - 60.0 * slot for slot, run in enumerate(runs)
    ]
    assert min(offsets) >= 0.0
    assert max(offsets) <= 6.0
    assert len({round(offset, 3) for offset in offsets}) > 900
    # 1,000 runs span 1,000 intervals: no half-jitter added to each period.
    assert 60_000 <= (runs[-1] - start).total_seconds() <= 60_006


def test_without_jitter_runs_fall_on_the_interval() -> None:
    # 0.3 s is not exact in binary and times are kept to the microsecond:
    # each run must still land in the next slot, never repeat one.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    trigger = SlotTrigger(0.3, 0.0, start)
    runs = [start]
    for _ in range(1_000):
        runs.append(trigger.get_next_fire_time(runs[-1], runs[-1]))

    steps = {round((b - a).total_seconds(), 5) for a, b in pairwise(runs)}
    assert steps == {0.3}


def test_a_late_run_does_not_shift_the_slots_after_it() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    trigger = SlotTrigger(60.0, 0.0, start)
    late = start + timedelta(seconds=60 + 45)

    assert trigger.get_next_fire_time(late, late) == start + timedelta(seconds=120)
