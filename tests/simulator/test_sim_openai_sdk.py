"""The official openai SDK talks to the simulator unmodified."""

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from sim_helpers import FAST, Serve, profiles_of

pytestmark = pytest.mark.timeout(30)

PING = "nonce: 1f2e\n\nReply with the single word: pong"


def client(url: str, key: str = "sk-test") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=10
    )


async def test_streaming_with_usage(serve: Serve) -> None:
    url = await serve(profiles_of({"fast": FAST}))

    async with client(url) as sdk:
        stream = await sdk.chat.completions.create(
            model="fast",
            messages=[{"role": "user", "content": "Say something"}],
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=25,
        )
        chunks = [chunk async for chunk in stream]

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert text
    assert finish[-1] == "length"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 25


async def test_not_streaming(serve: Serve) -> None:
    url = await serve(profiles_of({"fast": FAST}))

    async with client(url) as sdk:
        completion = await sdk.chat.completions.create(
            model="fast", messages=[{"role": "user", "content": PING}], max_tokens=16
        )

    assert completion.choices[0].message.content == "pong"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 1
    assert completion.model == "fast"


async def test_reasoning_content_reaches_the_sdk(serve: Serve) -> None:
    model = {**FAST, "reasoning": {"median_tokens": 40.0, "sigma": 0.0}}
    url = await serve(profiles_of({"thinker": model}))

    async with client(url) as sdk:
        stream = await sdk.chat.completions.create(
            model="thinker",
            messages=[{"role": "user", "content": PING}],
            stream=True,
            max_tokens=16,
        )
        deltas = [c.choices[0].delta async for c in stream if c.choices]

    reasoning = "".join(getattr(d, "reasoning_content", None) or "" for d in deltas)
    content = "".join(d.content or "" for d in deltas)
    assert reasoning and content == "pong"


async def test_models_and_errors_map_to_the_sdk_types(serve: Serve) -> None:
    limited = {**FAST, "rate_limit": {"requests_per_minute": 1}}
    url = await serve(profiles_of({"fast": FAST, "limited": limited}))
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]

    async with client(url) as sdk:
        models = [m.id async for m in sdk.models.list()]
        with pytest.raises(openai.NotFoundError):
            await sdk.chat.completions.create(model="nope", messages=messages)
        await sdk.chat.completions.create(
            model="limited", messages=messages, max_tokens=1
        )
        with pytest.raises(openai.RateLimitError) as caught:
            await sdk.chat.completions.create(model="limited", messages=messages)

    assert models == ["fast", "limited"]
    assert int(caught.value.response.headers["retry-after"]) >= 1
