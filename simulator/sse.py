"""Server-sent events in the shape of OpenAI's chat completion chunks.

Everything that repeats within a stream is encoded once per stream: a chunk
of generated text is written as ``opening + escaped tokens + closing``, three
byte strings of which only the middle one changes.
"""

import json
from typing import Any

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"

HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


class ChunkEncoder:
    """The pre-encoded parts of one stream's chunks."""

    __slots__ = ("_head", "_usage_head", "content_open", "reasoning_open", "close")

    def __init__(
        self, completion_id: str, created: int, model: str, fingerprint: str
    ) -> None:
        envelope = (
            f'data: {{"id":"{completion_id}","object":"chat.completion.chunk",'
            f'"created":{created},"model":{json.dumps(model)},'
            f'"system_fingerprint":"{fingerprint}","choices":'
        ).encode()
        self._head = envelope + b'[{"index":0,"delta":{'
        self._usage_head = envelope + b'[],"usage":'
        self.content_open = self._head + b'"content":"'
        self.reasoning_open = self._head + b'"reasoning_content":"'
        self.close = b'"},"logprobs":null,"finish_reason":null}]}\n\n'

    def role(self) -> bytes:
        """The first chunk: the role, and no text."""
        return (
            self._head
            + b'"role":"assistant","content":""},"logprobs":null,'
            + b'"finish_reason":null}]}\n\n'
        )

    def finish(self, reason: str) -> bytes:
        return (
            self._head
            + b'},"logprobs":null,"finish_reason":"'
            + reason.encode()
            + b'"}]}\n\n'
        )

    def usage(self, usage: dict[str, Any]) -> bytes:
        """The chunk with empty choices that include_usage asks for."""
        return (
            self._usage_head
            + json.dumps(usage, separators=(",", ":")).encode()
            + b"}\n\n"
        )

    def malformed(self, opening: bytes, piece: bytes) -> bytes:
        """A text chunk whose JSON is cut off before it closes."""
        whole = opening + piece + self.close
        return whole[: len(whole) // 2] + b"\n\n"


def error_body(message: str, error_type: str, code: int | str) -> dict[str, Any]:
    """The error object some providers send with status 200."""
    return {"error": {"message": message, "type": error_type, "code": code}}


def error_event(message: str, error_type: str, code: int | str) -> bytes:
    """An error object sent as an event inside a stream that began with 200."""
    body = error_body(message, error_type, code)
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
