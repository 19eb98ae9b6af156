"""The admin endpoint answers loopback peers only, whatever the simulator
listens on and whatever forwarding headers a request carries."""

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from sim_helpers import FAST, TIMEOUT, profiles_of

from simulator import create_app, start
from simulator.admin import loopback_only

pytestmark = pytest.mark.timeout(30)

# Every header a proxy might use to name the client, each claiming loopback.
SPOOFED = {
    "X-Forwarded-For": "127.0.0.1",
    "Forwarded": "for=127.0.0.1;proto=http",
    "X-Real-IP": "127.0.0.1",
    "X-Client-IP": "::1",
}


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine off loopback, or None. Connecting a
    UDP socket sends nothing; it only picks the source address a route
    would use."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@pytest.fixture
async def wildcard_port() -> AsyncIterator[int]:
    """A simulator listening on every IPv4 address, on a free port."""
    app = create_app(profiles_of({"fast": FAST}), seed=7)
    serving = await start(app, "0.0.0.0", 0)
    yield serving.port
    await serving.close()


async def test_admin_answers_loopback_when_listening_everywhere(
    wildcard_port: int,
) -> None:
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as http,
        http.get(f"http://127.0.0.1:{wildcard_port}/admin/state") as resp,
    ):
        assert resp.status == 200
        assert set((await resp.json())["models"]) == {"fast"}


async def test_a_non_loopback_peer_is_refused_despite_forwarding_headers(
    wildcard_port: int,
) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no IPv4 address off loopback")
    base = f"http://{address}:{wildcard_port}"
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        async with http.get(f"{base}/health") as resp:
            assert resp.status == 200  # reachable: the refusal is the admin's
        for path in ("/admin/state", "/admin/faults"):
            async with http.get(base + path, headers=SPOOFED) as resp:
                assert resp.status == 403, path
        async with http.put(
            f"{base}/admin/faults/fast/outage",
            json={"every_s": 1, "duration_s": 1},
            headers=SPOOFED,
        ) as resp:
            assert resp.status == 403
        async with http.get(f"http://127.0.0.1:{wildcard_port}/admin/faults") as resp:
            assert (await resp.json())["fast"] == {}, "the refused PUT took effect"


async def test_forwarding_headers_claiming_loopback_grant_nothing() -> None:
    request = make_mocked_request("GET", "/admin/state", headers=SPOOFED).clone(
        remote="203.0.113.9"
    )

    async def handler(request: web.Request) -> web.Response:
        raise AssertionError("the handler must not run")

    response = await loopback_only(request, handler)

    assert response.status == 403
