"""Reading a chat completion request: the fields the simulator acts on.

Only what changes the answer or its timing is read; other OpenAI parameters
(temperature, top_p, tools...) are accepted and ignored, as a provider that
does not support them would. A malformed request raises :class:`BadRequest`,
which the handler answers with a 400 in OpenAI's error shape.
"""

from dataclasses import dataclass
from typing import Any

from simulator import tokenizer


class BadRequest(ValueError):
    """The request body is not a usable chat completion request."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    user_text: str
    prompt_tokens: int
    max_tokens: int | None
    stream: bool
    include_usage: bool


def parse_chat_request(body: Any) -> ChatRequest:
    """Check a decoded JSON body and take out what the simulator needs."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array", "messages")
    texts = [_message_text(message, index) for index, message in enumerate(messages)]

    return ChatRequest(
        model=model,
        user_text=_first_user_text(messages, texts),
        prompt_tokens=sum(tokenizer.count(text) for text in texts),
        max_tokens=_max_tokens(body),
        stream=_flag(body, "stream"),
        include_usage=_include_usage(body),
    )


def _message_text(message: Any, index: int) -> str:
    param = f"messages[{index}]"
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise BadRequest(f"{param} must be an object with a role", param)
    content = message.get("content")
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    raise BadRequest(f"{param}.content must be a string or an array", param)


def _first_user_text(messages: list[dict[str, Any]], texts: list[str]) -> str:
    for message, text in zip(messages, texts, strict=True):
        if message["role"] == "user":
            return text
    return ""


def _max_tokens(body: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BadRequest(f"'{name}' must be a positive integer", name)
        return value
    return None


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"'{name}' must be a boolean", name)
    return value


def _include_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise BadRequest("'stream_options' must be an object", "stream_options")
    return bool(options.get("include_usage", False))
