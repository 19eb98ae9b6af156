"""POST /v1/chat/completions: one request, from its body to its last byte.

The handler is a list of steps: read the request, find the model, check the
context window, charge the rate limit, draw the faults, compose the answer,
wait for a slot in the model's load, then stream the answer or send it whole.
Every refusal on the way is an answer in the shape providers give it.
"""

import asyncio
import json
import logging
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from simulator import latency, sse
from simulator.answers import Answer
from simulator.chat_request import BadRequest, ChatRequest, parse_chat_request
from simulator.errors import api_error, gateway_page, server_error
from simulator.faults import FaultPlan
from simulator.load import QueueFull
from simulator.runtime import SIMULATOR, ModelRuntime, Simulator
from simulator.streaming import StreamWriter

logger = logging.getLogger(__name__)

ANONYMOUS_KEY = "anonymous"
_BACKEND_FAILED = "The model backend failed while generating the response."


@dataclass(frozen=True, slots=True)
class Turn:
    """One admitted request: what it asked, what it gets, and how."""

    model: ModelRuntime
    chat: ChatRequest
    answer: Answer
    plan: FaultPlan
    first_token_s: float
    clock: latency.ChunkClock
    headers: dict[str, str]
    completion_id: str
    created: int


async def chat_completions(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIMULATOR]
    try:
        chat = parse_chat_request(await _json_body(request))
    except BadRequest as exc:
        return api_error(400, str(exc), "invalid_request_error", param=exc.param)
    model = sim.models.get(chat.model)
    if model is None:
        return _model_not_found(chat.model)
    refusal = _check_context(model, chat)
    if refusal is not None:
        return refusal

    cost = chat.prompt_tokens + (chat.max_tokens or sim.profiles.default_max_tokens)
    verdict = sim.limiter.admit(
        api_key(request), model.name, model.profile.rate_limit, cost, time.monotonic()
    )
    if not verdict.allowed:
        return _rate_limited(verdict.headers)

    turn = _turn(sim, model, chat, verdict.headers)
    return await _serve(request, turn)


def api_key(request: web.Request) -> str:
    """The bearer key of a request; every key is accepted, none is anonymous."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    return ANONYMOUS_KEY


def _turn(
    sim: Simulator, model: ModelRuntime, chat: ChatRequest, headers: dict[str, str]
) -> Turn:
    rng = model.request_rng()
    plan = model.faults.draw(sim.clock(), rng)
    answer = sim.answerer.answer(
        model.profile, chat.user_text, chat.max_tokens, rng, chat.prompt_tokens
    )
    logger.debug(
        "model=%s answer=%s stream=%s faults=%s",
        model.name,
        answer.source,
        chat.stream,
        plan,
    )
    return Turn(
        model=model,
        chat=chat,
        answer=answer,
        plan=plan,
        first_token_s=latency.first_token_s(model.profile, chat.prompt_tokens, rng),
        clock=latency.ChunkClock(model.profile, model.load, rng),
        headers=headers,
        completion_id=f"chatcmpl-{rng.getrandbits(96):024x}",
        created=int(time.time()),
    )


async def _serve(request: web.Request, turn: Turn) -> web.StreamResponse:
    plan = turn.plan
    if plan.reject_status is not None:
        if plan.reject_html:
            return gateway_page(plan.reject_status, turn.headers)
        return server_error(plan.reject_status, turn.headers)
    if plan.reset_after == 0:
        reset_connection(request)
        return web.Response()
    if plan.header_delay_s > 0:
        await asyncio.sleep(plan.header_delay_s)
    if turn.chat.stream:
        return await _stream(request, turn)
    return await _respond_whole(request, turn)


async def _stream(request: web.Request, turn: Turn) -> web.StreamResponse:
    response = web.StreamResponse(headers={**sse.HEADERS, **turn.headers})
    load = turn.model.load
    try:
        await _admit(request, turn, response)
    except QueueFull:
        return _overloaded(turn)
    except ConnectionResetError:
        return response

    try:
        if not response.prepared:
            await response.prepare(request)
        encoder = sse.ChunkEncoder(
            turn.completion_id, turn.created, turn.model.name, turn.model.fingerprint
        )
        writer = StreamWriter(
            response, encoder, turn.clock, turn.plan, lambda: reset_connection(request)
        )
        usage = _usage(turn) if turn.chat.include_usage else None
        await writer.send(turn.answer, turn.first_token_s * load.factor, usage)
    except ConnectionResetError:
        logger.debug("client left a %s stream early", turn.model.name)
    finally:
        load.release()
    return response


async def _respond_whole(request: web.Request, turn: Turn) -> web.StreamResponse:
    load = turn.model.load
    try:
        await _admit(request, turn, None)
    except QueueFull:
        return _overloaded(turn)
    try:
        tokens = len(turn.answer.reasoning) + len(turn.answer.content)
        duration = turn.first_token_s * load.factor + turn.clock.decode_s(tokens)
        if turn.plan.stall_after is not None:
            duration += turn.plan.stall_s
        await asyncio.sleep(duration)
    finally:
        load.release()
    return _whole_answer(request, turn)


def _whole_answer(request: web.Request, turn: Turn) -> web.StreamResponse:
    plan = turn.plan
    if plan.reset_after is not None:
        reset_connection(request)
        return web.Response()
    if plan.error_after is not None:
        body = sse.error_body(_BACKEND_FAILED, "server_error", 500)
        return web.json_response(body, headers=turn.headers)
    text = json.dumps(_completion(turn), separators=(",", ":"))
    if plan.malformed_after is not None:
        text = text[: len(text) // 2]
    return web.Response(
        text=text, content_type="application/json", headers=turn.headers
    )


async def _admit(
    request: web.Request, turn: Turn, response: web.StreamResponse | None
) -> None:
    """Take a slot in the model's load, waiting in its queue if need be.

    A streaming request to a model whose profile sets ``keepalive_s`` gets its
    headers at once and an SSE comment every ``keepalive_s`` while it waits,
    as some providers send to keep proxies from closing an idle connection.
    """
    load = turn.model.load
    if load.try_admit():
        return
    waiter = load.enqueue()
    keepalive_s = turn.model.profile.keepalive_s
    if response is None or keepalive_s <= 0:
        await load.wait(waiter)
        return

    async def keep_alive() -> None:
        if not response.prepared:
            await response.prepare(request)
        await response.write(sse.KEEPALIVE)

    await load.wait(waiter, keepalive_s, keep_alive)


def reset_connection(request: web.Request) -> None:
    """Drop the connection with a TCP reset, as a crashing proxy would."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # A zero linger time makes the close send RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _usage(turn: Turn) -> dict[str, Any]:
    reasoning = len(turn.answer.reasoning)
    completion = reasoning + len(turn.answer.content)
    prompt = turn.chat.prompt_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def _completion(turn: Turn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.answer.content.text}
    if turn.answer.reasoning:
        message["reasoning_content"] = turn.answer.reasoning.text
    return {
        "id": turn.completion_id,
        "object": "chat.completion",
        "created": turn.created,
        "model": turn.model.name,
        "system_fingerprint": turn.model.fingerprint,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": turn.answer.finish_reason,
            }
        ],
        "usage": _usage(turn),
    }


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from exc


def _check_context(model: ModelRuntime, chat: ChatRequest) -> web.Response | None:
    window = model.profile.context_window
    asked = chat.prompt_tokens + (chat.max_tokens or 0)
    if asked <= window:
        return None
    message = (
        f"This model's maximum context length is {window} tokens. However, you "
        f"requested {asked} tokens ({chat.prompt_tokens} in the messages, "
        f"{chat.max_tokens or 0} in the completion)."
    )
    return api_error(
        400, message, "invalid_request_error", "context_length_exceeded", "messages"
    )


def _model_not_found(name: str) -> web.Response:
    message = f"The model `{name}` does not exist or you do not have access to it."
    return api_error(404, message, "invalid_request_error", "model_not_found", "model")


def _rate_limited(headers: dict[str, str]) -> web.Response:
    message = "Rate limit reached for this key and model. Please try again later."
    return api_error(
        429, message, "rate_limit_exceeded", "rate_limit_exceeded", headers=headers
    )


def _overloaded(turn: Turn) -> web.Response:
    logger.debug("queue of %s is full; turning a request away", turn.model.name)
    return server_error(503, turn.headers)
