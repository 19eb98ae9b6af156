"""Latency that grows with load: capacity, queue, keep-alives, peak hours."""

import asyncio
import statistics
from pathlib import Path

import aiohttp
import pytest
from sim_helpers import FAST, Serve, chat_body, profiles_of, read_stream

pytestmark = pytest.mark.timeout(60)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def first_token_s(http: aiohttp.ClientSession, url: str, body: dict) -> float:
    stream = await read_stream(http, url, body)
    assert stream.status == 200
    return stream.text_times()[0]


async def test_at_four_times_capacity_p95_ttft_is_at_least_twice_idle(
    serve: Serve, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    # The built-in deepseek-v4-flash profile, with its capacity cut to 4 so
    # that four times capacity is a light load for the test machine.
    overlay = tmp_path / "small.toml"
    overlay.write_text("[models.deepseek-v4-flash]\ncapacity = 4\n")
    url = await serve(overlay)
    capacity = 4
    idle_body = chat_body("deepseek-v4-flash", stream=True, max_tokens=10)
    busy_body = chat_body("deepseek-v4-flash", stream=True, max_tokens=60)

    idle = [await first_token_s(http, url, idle_body) for _ in range(5)]

    async def client() -> list[float]:
        return [await first_token_s(http, url, busy_body) for _ in range(2)]

    rounds = await asyncio.gather(*(client() for _ in range(4 * capacity)))
    busy = [ttft for round_ in rounds for ttft in round_]

    print(f"idle median {statistics.median(idle):.3f}s, busy p95 {p95(busy):.3f}s")
    assert p95(busy) >= 2 * statistics.median(idle)


async def test_decode_slows_with_streams_beyond_capacity(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    model = {**FAST, "capacity": 2, "max_load": 4.0}
    model["decode"] = {**FAST["decode"], "median_tokens_per_s": 200.0}
    url = await serve(profiles_of({"fast": model}))
    body = chat_body("fast", stream=True, max_tokens=60)

    alone = await read_stream(http, url, body)
    crowd = await asyncio.gather(*(read_stream(http, url, body) for _ in range(8)))

    def decode_s(stream: object) -> float:
        times = stream.text_times()  # type: ignore[attr-defined]
        return times[-1] - times[0]

    assert statistics.median(decode_s(s) for s in crowd) > 2.5 * decode_s(alone)


async def test_queued_streams_get_keepalive_comments(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    model = {**FAST, "capacity": 1, "max_load": 1.0, "keepalive_s": 0.1}
    model["decode"] = {**FAST["decode"], "median_tokens_per_s": 100.0}
    url = await serve(profiles_of({"slow": model}))
    body = chat_body("slow", stream=True, max_tokens=60)

    first = asyncio.create_task(read_stream(http, url, body))
    await asyncio.sleep(0.1)
    second = await read_stream(http, url, body)
    await first

    assert len(second.comments) >= 3
    assert all(c == b": keep-alive" for c in second.comments)
    assert second.content()


async def test_a_full_queue_turns_requests_away_with_503(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    model = {**FAST, "capacity": 1, "max_load": 1.0, "queue": 1}
    model["decode"] = {**FAST["decode"], "median_tokens_per_s": 100.0}
    url = await serve(profiles_of({"tiny": model}))
    body = chat_body("tiny", stream=True, max_tokens=30)

    streams = await asyncio.gather(*(read_stream(http, url, body) for _ in range(3)))

    assert sorted(s.status for s in streams) == [200, 200, 503]


async def test_peak_hour_background_load_slows_answers_two_to_five_times(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    # Off-peak the model carries 2 background streams on capacity 10 (load
    # below 1, full speed); at peak 25, so every chunk comes 2.6 times slower.
    # The decode span, first token to last, is timed against the simulator's
    # absolute chunk schedule, so a busy test machine moves both ends alike.
    hour = 14.0
    model = {**FAST, "capacity": 10, "background": {"offpeak": 0.2, "peak": 2.5}}
    model["decode"] = {**FAST["decode"], "median_tokens_per_s": 100.0}

    async def decode_span(start_hour: float) -> float:
        curve = {"enabled": True, "start_hour": start_hour, "peak_hour": hour}
        url = await serve(profiles_of({"m": model}, background=curve))
        stream = await read_stream(
            http, url, chat_body("m", stream=True, max_tokens=41)
        )
        times = stream.text_times()
        assert len(times) >= 20, stream.data
        return times[-1] - times[0]

    offpeak = await decode_span((hour + 12.0) % 24.0)
    peak = await decode_span(hour)

    print(f"decode off-peak {offpeak:.3f}s, peak {peak:.3f}s")
    assert 2.0 <= peak / offpeak <= 5.0
