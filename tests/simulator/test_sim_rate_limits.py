"""Per-key rate limits over HTTP: 429, a usable Retry-After, x-ratelimit-*."""

import asyncio

import aiohttp
import pytest
from sim_helpers import FAST, Serve, chat_body, profiles_of

pytestmark = pytest.mark.timeout(30)


async def post(
    http: aiohttp.ClientSession, url: str, key: str | None
) -> aiohttp.ClientResponse:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = chat_body("limited", max_tokens=1)
    async with http.post(
        f"{url}/v1/chat/completions", json=body, headers=headers
    ) as resp:
        await resp.read()
        return resp


async def test_a_limited_key_gets_429_and_may_retry_after_retry_after(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    limited = {**FAST, "rate_limit": {"requests_per_minute": 30}}
    url = await serve(profiles_of({"limited": limited}))

    allowed = await asyncio.gather(*(post(http, url, "key-a") for _ in range(30)))
    refused = await post(http, url, "key-a")
    other_key = await post(http, url, "key-b")

    assert [r.status for r in allowed] == [200] * 30
    assert allowed[0].headers["x-ratelimit-limit-requests"] == "30"
    assert refused.status == 429
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 2
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert other_key.status == 200

    await asyncio.sleep(retry_after)
    assert (await post(http, url, "key-a")).status == 200


async def test_requests_without_a_key_share_the_anonymous_bucket(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    limited = {**FAST, "rate_limit": {"requests_per_minute": 1}}
    url = await serve(profiles_of({"limited": limited}))

    first, second = await post(http, url, None), await post(http, url, None)

    assert (first.status, second.status) == (200, 429)


async def test_token_limits_count_prompt_and_max_tokens(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    limited = {**FAST, "rate_limit": {"tokens_per_minute": 100}}
    url = await serve(profiles_of({"limited": limited}))
    body = chat_body("limited", "hi", max_tokens=60)

    statuses = []
    for _ in range(2):
        async with http.post(f"{url}/v1/chat/completions", json=body) as resp:
            statuses.append(resp.status)
            remaining = resp.headers["x-ratelimit-remaining-tokens"]

    assert statuses == [200, 429]
    assert remaining == "39"
