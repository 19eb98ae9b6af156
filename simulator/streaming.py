"""Writing one streamed answer, chunk by chunk, on time.

A stream is the role chunk, then reasoning chunks (reasoning models), content
chunks, the finish chunk, the usage chunk when asked for, and ``[DONE]``.

Each stream is one coroutine with one timer at a time: it sleeps until its
next chunk is due, on an absolute timeline. When the event loop falls behind
(thousands of chunks a second), every chunk already due goes out in a single
write, so the timeline the client sees stays true and the loop catches up
rather than drifting. Faults drawn for the request strike at the chunk their
``after_chunks`` names, or before the finish chunk if the answer is shorter.
"""

import asyncio
import enum
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from simulator.answers import Answer
from simulator.faults import FaultPlan
from simulator.latency import ChunkClock
from simulator.sse import DONE, ChunkEncoder, error_event


class _Strike(enum.Enum):
    """The in-stream faults, in the order they apply at the same chunk."""

    STALL = "stall"
    MALFORMED = "malformed"
    ERROR = "error"
    RESET = "reset"


class StreamWriter:
    """Sends one answer over a prepared SSE response."""

    __slots__ = (
        "_response",
        "_encoder",
        "_clock",
        "_plan",
        "_reset",
        "_loop",
        "_due",
        "_sent",
        "_strikes",
        "_strike_at",
    )

    def __init__(
        self,
        response: web.StreamResponse,
        encoder: ChunkEncoder,
        clock: ChunkClock,
        plan: FaultPlan,
        reset: Callable[[], None],
    ) -> None:
        self._response = response
        self._encoder = encoder
        self._clock = clock
        self._plan = plan
        self._reset = reset
        self._loop = asyncio.get_running_loop()
        self._due = 0.0
        self._sent = 0
        self._strikes = _strikes(plan)
        self._strike_at = self._strikes[0][0] if self._strikes else -1

    async def send(
        self, answer: Answer, first_token_s: float, usage: dict[str, Any] | None
    ) -> bool:
        """Send the whole stream; False when a fault cut it short."""
        encoder = self._encoder
        self._due = self._loop.time() + first_token_s
        await self._response.write(encoder.role())
        phases = (
            (encoder.reasoning_open, answer.reasoning.escaped),
            (encoder.content_open, answer.content.escaped),
        )
        for opening, tokens in phases:
            if tokens and not await self._phase(opening, tokens):
                return False

        if self._strikes and not await self._strike_before_finish():
            return False
        tail = encoder.finish(answer.finish_reason)
        if usage is not None:
            tail += encoder.usage(usage)
        await self._response.write(tail + DONE)
        return True

    async def _phase(self, opening: bytes, tokens: Sequence[bytes]) -> bool:
        loop, clock, close = self._loop, self._clock, self._encoder.close
        index, total = 0, len(tokens)
        while index < total:
            delay = self._due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)

            batch: list[bytes] = []
            now = loop.time()
            while index < total and self._due <= now:
                if self._sent == self._strike_at:
                    ending = self._strike(batch, opening)
                    if ending is not None:
                        await self._end(batch, ending)
                        return False
                if self._due > now:
                    break
                size = clock.chunk_tokens()
                if size == 1:
                    piece = tokens[index]
                else:
                    piece = b"".join(tokens[index : index + size])
                batch.append(opening + piece + close)
                index += size
                self._sent += 1
                self._due += clock.gap_s(size)
            if batch:
                await self._response.write(b"".join(batch))
        return True

    def _strike(self, batch: list[bytes], opening: bytes) -> _Strike | None:
        """Apply the faults due at this chunk; the one that ends it, if any."""
        while self._strikes and self._strikes[0][0] == self._sent:
            _, strike = self._strikes.pop(0)
            if strike is _Strike.STALL:
                self._due += self._plan.stall_s
            elif strike is _Strike.MALFORMED:
                batch.append(self._encoder.malformed(opening, b"def broken("))
            else:
                return strike
        self._strike_at = self._strikes[0][0] if self._strikes else -1
        return None

    async def _strike_before_finish(self) -> bool:
        # The answer ended before the faults' chunk came: they strike now.
        self._strikes = [(self._sent, strike) for _, strike in self._strikes]
        batch: list[bytes] = []
        ending = self._strike(batch, self._encoder.content_open)
        if ending is not None:
            await self._end(batch, ending)
            return False
        delay = self._due - self._loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if batch:
            await self._response.write(b"".join(batch))
        return True

    async def _end(self, batch: list[bytes], ending: _Strike) -> None:
        if ending is _Strike.ERROR:
            batch.append(_STREAM_ERROR)
        if batch:
            await self._response.write(b"".join(batch))
        if ending is _Strike.RESET:
            self._reset()


_STREAM_ERROR = error_event(
    "The model backend failed while generating the response.", "server_error", 500
)


def _strikes(plan: FaultPlan) -> list[tuple[int, _Strike]]:
    if not plan.in_stream:
        return []
    candidates = (
        (plan.stall_after, _Strike.STALL),
        (plan.malformed_after, _Strike.MALFORMED),
        (plan.error_after, _Strike.ERROR),
        (plan.reset_after, _Strike.RESET),
    )
    order = list(_Strike)
    due = [(at, strike) for at, strike in candidates if at is not None]
    return sorted(due, key=lambda item: (item[0], order.index(item[1])))
