"""Every fault, switched on through the admin endpoint and seen by a client."""

import asyncio
import json
import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from sim_helpers import FAST, Serve, chat_body, profiles_of, read_stream

from simulator.admin import is_loopback, loopback_only

pytestmark = pytest.mark.timeout(30)

BODY = chat_body("fast", stream=True, max_tokens=20)


@pytest.fixture
async def url(serve: Serve) -> str:
    return await serve(profiles_of({"fast": FAST, "other": FAST}))


async def set_fault(
    http: aiohttp.ClientSession,
    url: str,
    kind: str,
    model: str = "fast",
    **settings: object,
) -> dict:
    async with http.put(f"{url}/admin/faults/{model}/{kind}", json=settings) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_server_error_is_a_json_5xx(
    url: str, http: aiohttp.ClientSession
) -> None:
    await set_fault(http, url, "server_error", probability=1.0, status=502)

    async with http.post(f"{url}/v1/chat/completions", json=BODY) as resp:
        error = (await resp.json())["error"]

    assert resp.status == 502 and error["type"] == "server_error"


async def test_gateway_html_is_an_html_page(
    url: str, http: aiohttp.ClientSession
) -> None:
    await set_fault(http, url, "gateway_html", probability=1.0, status=504)

    async with http.post(f"{url}/v1/chat/completions", json=BODY) as resp:
        page = await resp.text()

    assert resp.status == 504
    assert resp.content_type == "text/html"
    assert page.startswith("<html>") and "504 Gateway Time" in page


async def test_outage_schedule_opens_and_closes(
    url: str, http: aiohttp.ClientSession
) -> None:
    await set_fault(http, url, "outage", every_s=0.4, duration_s=0.2)

    statuses: set[int] = set()
    deadline = time.monotonic() + 5.0
    while statuses != {200, 503} and time.monotonic() < deadline:
        async with http.post(f"{url}/v1/chat/completions", json=BODY) as resp:
            await resp.read()
            statuses.add(resp.status)
        await asyncio.sleep(0.05)

    assert statuses == {200, 503}


async def test_connection_reset_before_the_response(
    url: str, http: aiohttp.ClientSession
) -> None:
    await set_fault(http, url, "connection_reset", probability=1.0)

    with pytest.raises(aiohttp.ClientError):
        await read_stream(http, url, BODY)


async def test_connection_reset_mid_stream(
    url: str, http: aiohttp.ClientSession
) -> None:
    await set_fault(http, url, "connection_reset", probability=1.0, after_chunks=5)
    received: list[bytes] = []

    with pytest.raises(aiohttp.ClientError):
        async with http.post(f"{url}/v1/chat/completions", json=BODY) as resp:
            assert resp.status == 200
            async for data in resp.content.iter_any():
                received.append(data)

    assert b"".join(received).count(b'"content":"') >= 5


async def test_stall_mid_stream(url: str, http: aiohttp.ClientSession) -> None:
    await set_fault(http, url, "stall", probability=1.0, after_chunks=4, delay_s=0.6)

    stream = await read_stream(http, url, BODY)

    times = stream.text_times()
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert max(gaps) >= 0.55
    assert gaps.index(max(gaps)) == 3
    assert stream.data[-1] == b"[DONE]"


async def test_error_object_inside_a_200_stream(
    url: str, http: aiohttp.ClientSession
) -> None:
    await set_fault(http, url, "stream_error", probability=1.0, after_chunks=3)

    stream = await read_stream(http, url, BODY)

    assert stream.status == 200
    last = json.loads(stream.data[-1])
    assert last["error"]["type"] == "server_error"
    assert b"[DONE]" not in stream.data
    assert len(stream.text_times()) == 3


async def test_malformed_chunk_is_not_json(
    url: str, http: aiohttp.ClientSession
) -> None:
    await set_fault(http, url, "malformed_chunk", probability=1.0, after_chunks=2)

    stream = await read_stream(http, url, BODY)

    broken = []
    for payload in stream.data:
        try:
            json.loads(payload) if payload != b"[DONE]" else None
        except json.JSONDecodeError:
            broken.append(payload)
    assert len(broken) == 1
    assert stream.data[-1] == b"[DONE]"


async def test_slow_response_headers(url: str, http: aiohttp.ClientSession) -> None:
    await set_fault(http, url, "slow_headers", probability=1.0, delay_s=0.5)

    started = time.perf_counter()
    async with http.post(f"{url}/v1/chat/completions", json=BODY) as resp:
        headers_after = time.perf_counter() - started
        await resp.read()

    assert headers_after >= 0.45


async def test_faults_short_answers_still_feel_before_the_finish(
    url: str, http: aiohttp.ClientSession
) -> None:
    await set_fault(http, url, "stream_error", probability=1.0, after_chunks=50)

    stream = await read_stream(http, url, chat_body("fast", stream=True, max_tokens=3))

    assert "error" in json.loads(stream.data[-1])


async def test_whole_answers_feel_stream_faults_too(
    url: str, http: aiohttp.ClientSession
) -> None:
    body = chat_body("fast", max_tokens=10)
    await set_fault(http, url, "stream_error", probability=1.0)
    async with http.post(f"{url}/v1/chat/completions", json=body) as resp:
        assert resp.status == 200 and "error" in await resp.json()

    await set_fault(http, url, "stream_error", probability=0.0)
    await set_fault(http, url, "malformed_chunk", probability=1.0)
    async with http.post(f"{url}/v1/chat/completions", json=body) as resp:
        with pytest.raises(json.JSONDecodeError):
            json.loads(await resp.text())


async def test_admin_lists_clears_and_resets_faults(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    profile = {**FAST, "faults": {"stall": {"probability": 0.5}}}
    url = await serve(profiles_of({"fast": profile, "other": FAST}))

    listed = await set_fault(http, url, "server_error", model="*", probability=1.0)
    assert listed["other"]["server_error"]["probability"] == 1.0
    assert listed["fast"]["stall"] == {"probability": 0.5, **zeros(), "active": False}

    async with http.delete(f"{url}/admin/faults/*/*") as resp:
        assert await resp.json() == {"fast": {}, "other": {}}
    async with http.post(f"{url}/admin/faults/reset") as resp:
        assert list((await resp.json())["fast"]) == ["stall"]
    async with http.post(f"{url}/v1/chat/completions", json=BODY) as resp:
        assert resp.status == 200


def zeros() -> dict[str, float]:
    return {"burst_s": 0.0, "every_s": 0.0, "duration_s": 0.0, "offset_s": 0.0}


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/admin/faults/fast/stall", {"status": 500}, 400, "status: unknown key"),
        ("/admin/faults/fast/stall", {"probability": "often"}, 400, "probability"),
        ("/admin/faults/fast/meltdown", {}, 404, "unknown fault"),
        ("/admin/faults/nope/stall", {}, 404, "unknown model"),
        ("/admin/background", {"day_length_s": -1}, 400, "day_length_s"),
    ],
)
async def test_admin_refuses_bad_settings_naming_the_key(
    url: str,
    http: aiohttp.ClientSession,
    path: str,
    body: dict,
    status: int,
    words: str,
) -> None:
    async with http.put(f"{url}{path}", json=body) as resp:
        assert resp.status == status
        assert words in (await resp.json())["error"]["message"]


async def test_admin_state_and_background_switch(
    url: str, http: aiohttp.ClientSession
) -> None:
    async with http.put(
        f"{url}/admin/background", json={"enabled": True, "start_hour": 14.0}
    ) as resp:
        state = await resp.json()

    assert state["background"]["enabled"] is True
    assert state["background"]["hour"] == pytest.approx(14.0, abs=0.01)
    model = state["models"]["fast"]
    assert model["background_streams"] == pytest.approx(200.0)
    assert model["load_factor"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("remote", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.20", False),
        ("203.0.113.9", False),
        ("::ffff:203.0.113.9", False),
        ("", False),
        (None, False),
        ("not-an-address", False),
    ],
)
def test_loopback_addresses(remote: str | None, allowed: bool) -> None:
    assert is_loopback(remote) is allowed


async def test_admin_refuses_a_request_from_a_non_loopback_peer() -> None:
    request = make_mocked_request("GET", "/admin/state").clone(remote="203.0.113.9")

    async def handler(request: web.Request) -> web.Response:
        raise AssertionError("the handler must not run")

    response = await loopback_only(request, handler)

    assert response.status == 403


async def test_admin_answers_on_loopback(url: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{url}/admin/state") as resp:
        assert resp.status == 200
        assert set((await resp.json())["models"]) == {"fast", "other"}
