"""The OpenAI-compatible API over a real server: streams, answers, errors."""

import json
from pathlib import Path

import aiohttp
import pytest
from sim_helpers import FAST, Serve, chat_body, profiles_of, read_stream

from simulator import tokenizer

pytestmark = pytest.mark.timeout(30)

PING = "nonce: 5eed\n\nReply with the single word: pong"
FLATTEN = (
    "nonce: 77aa\n\nWrite a Python function that flattens a nested list of arbitrary "
    "depth. Example: flatten([1, [2, [3, 4]], 5]) returns [1, 2, 3, 4, 5]."
)


async def test_models_lists_the_ten_catalog_models(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    url = await serve()

    async with http.get(f"{url}/v1/models") as resp:
        listing = await resp.json()
    async with http.get(f"{url}/v1/models/kimi-k2.5") as resp:
        one = await resp.json()

    assert [m["id"] for m in listing["data"]][:2] == [
        "qwen3-coder-30b",
        "deepseek-v4-flash",
    ]
    assert len(listing["data"]) == 10
    assert one["owned_by"] == "Moonshot" and one["object"] == "model"


async def test_a_stream_has_role_text_finish_usage_and_done(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    url = await serve(profiles_of({"fast": FAST}))
    body = chat_body("fast", stream=True, stream_options={"include_usage": True})

    stream = await read_stream(http, url, {**body, "max_tokens": 40})

    assert stream.status == 200
    assert stream.headers["Content-Type"] == "text/event-stream"
    chunks = stream.json_chunks()
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == []
    assert stream.data[-1] == b"[DONE]"
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}
    assert all(c["model"] == "fast" for c in chunks)
    usage = chunks[-1]["usage"]
    assert usage["completion_tokens"] == 40 == tokenizer.count(stream.content())
    assert usage["prompt_tokens"] == tokenizer.count("hello")
    assert usage["total_tokens"] == usage["prompt_tokens"] + 40
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}


async def test_no_usage_chunk_unless_asked(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    url = await serve(profiles_of({"fast": FAST}))

    stream = await read_stream(http, url, chat_body("fast", stream=True, max_tokens=5))

    assert all(c["choices"] for c in stream.json_chunks())


async def test_several_tokens_per_chunk_when_the_profile_says_so(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    model = {**FAST, "decode": {**FAST["decode"], "min_tokens_per_chunk": 3}}
    model["decode"]["max_tokens_per_chunk"] = 3
    url = await serve(profiles_of({"chunky": model}))
    body = chat_body("chunky", stream=True, stream_options={"include_usage": True})

    stream = await read_stream(http, url, {**body, "max_tokens": 30})

    texts = [c["choices"][0]["delta"]["content"] for c in stream.json_chunks()[1:-2]]
    assert len(texts) == 10
    assert all(tokenizer.count(t) <= 3 for t in texts)
    assert stream.json_chunks()[-1]["usage"]["completion_tokens"] == 30


async def test_the_reasoning_model_reasons_before_it_answers(
    serve: Serve, http: aiohttp.ClientSession, example_banks: Path
) -> None:
    model = {**FAST, "reasoning": {"median_tokens": 50.0, "sigma": 0.0}}
    url = await serve(profiles_of({"thinker": model}), answers_dir=example_banks)
    body = chat_body("thinker", FLATTEN, stream=True, max_tokens=20)
    body["stream_options"] = {"include_usage": True}

    stream = await read_stream(http, url, body)

    deltas = [c["choices"][0]["delta"] for c in stream.json_chunks() if c["choices"]]
    kinds = [
        "reasoning" if "reasoning_content" in d else "content" for d in deltas[1:-1]
    ]
    usage = stream.json_chunks()[-1]["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 50
    answer_tokens = usage["completion_tokens"] - 50
    assert kinds == ["reasoning"] * 50 + ["content"] * answer_tokens
    assert answer_tokens == tokenizer.count(stream.content())


async def test_ping_is_answered_pong(serve: Serve, http: aiohttp.ClientSession) -> None:
    url = await serve(profiles_of({"fast": FAST}))

    stream = await read_stream(
        http, url, chat_body("fast", PING, stream=True, max_tokens=16)
    )

    assert stream.content() == "pong"


async def test_a_task_with_a_bank_is_answered_from_it(
    serve: Serve, http: aiohttp.ClientSession, example_banks: Path
) -> None:
    model = {**FAST, "reference_quality": 9.5}
    url = await serve(profiles_of({"fast": model}), answers_dir=example_banks)

    stream = await read_stream(http, url, chat_body("fast", FLATTEN, stream=True))

    assert stream.content().startswith("```python\ndef flatten(items: list)")


async def test_a_whole_answer_when_not_streaming(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    model = {**FAST, "reasoning": {"median_tokens": 30.0, "sigma": 0.0}}
    url = await serve(profiles_of({"thinker": model}))

    async with http.post(
        f"{url}/v1/chat/completions", json=chat_body("thinker", PING, max_tokens=16)
    ) as resp:
        answer = await resp.json()

    assert resp.status == 200
    assert answer["object"] == "chat.completion"
    message = answer["choices"][0]["message"]
    assert message["content"] == "pong"
    assert tokenizer.count(message["reasoning_content"]) == 3
    assert answer["usage"]["completion_tokens"] == 4
    assert answer["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (chat_body("no-such-model"), 404, "model_not_found"),
        ({"model": "fast"}, 400, None),
        (chat_body("fast", max_tokens=0), 400, None),
        (chat_body("fast", stream="yes"), 400, None),
        (
            chat_body("fast", "word " * 5000, max_tokens=10),
            400,
            "context_length_exceeded",
        ),
    ],
)
async def test_bad_requests_get_openai_style_errors(
    serve: Serve, http: aiohttp.ClientSession, body: dict, status: int, code: str | None
) -> None:
    url = await serve(
        profiles_of(
            {"fast": {**FAST, "context_window": 4096, "effective_context": 4096}}
        )
    )

    async with http.post(f"{url}/v1/chat/completions", json=body) as resp:
        error = (await resp.json())["error"]

    assert resp.status == status
    assert error["code"] == code
    assert error["message"] and error["type"] == "invalid_request_error"


async def test_a_body_that_is_not_json_is_a_400(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    url = await serve(profiles_of({"fast": FAST}))

    async with http.post(f"{url}/v1/chat/completions", data=b"{nope") as resp:
        error = (await resp.json())["error"]

    assert resp.status == 400 and "not valid JSON" in error["message"]


async def test_prefill_time_grows_with_prompt_length(
    serve: Serve, http: aiohttp.ClientSession
) -> None:
    model = {**FAST, "prefill_tokens_per_s": 20000.0}
    url = await serve(profiles_of({"fast": model}))
    long_prompt = "lorem " * 8000

    short = await read_stream(http, url, chat_body("fast", stream=True, max_tokens=2))
    long = await read_stream(
        http, url, chat_body("fast", long_prompt, stream=True, max_tokens=2)
    )

    assert long.text_times()[0] - short.text_times()[0] > 0.3


async def test_seeded_runs_repeat(serve: Serve, http: aiohttp.ClientSession) -> None:
    profiles = profiles_of({"fast": FAST})
    first, second = await serve(profiles, seed=42), await serve(profiles, seed=42)
    body = chat_body("fast", max_tokens=30)

    answers = []
    for url in (first, second, first):
        async with http.post(f"{url}/v1/chat/completions", json=body) as resp:
            answers.append(json.loads(await resp.text()))

    assert answers[0]["id"] == answers[1]["id"] != answers[2]["id"]
    assert answers[0]["choices"] == answers[1]["choices"]
