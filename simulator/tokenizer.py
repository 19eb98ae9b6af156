"""The simulator's tokenizer: simple, deterministic and lossless.

A token is any run of whitespace followed by either one to four word characters
or a single other character; whitespace at the very end of a text is one more
token. So ``" flatten(x)"`` is ``" flat"``, ``"ten"``, ``"("``, ``"x"``, ``")"``.
Source code comes out at three to four characters per token, near what hosted
models' tokenizers give for code, and joining the tokens gives back the text
exactly, so the simulator can stream an answer token by token and report
usage counts that match what it sent.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*(?:\w{1,4}|[^\w\s])|\s+")


def split(text: str) -> list[str]:
    """Split text into tokens; ``"".join(split(text)) == text``."""
    return _TOKEN.findall(text)


def count(text: str) -> int:
    """Count the tokens in text."""
    return len(_TOKEN.findall(text))


def escape(token: str) -> bytes:
    """Encode a token as the inside of a JSON string (no quotes)."""
    return json.dumps(token)[1:-1].encode("ascii")


@dataclass(frozen=True, slots=True)
class TokenText:
    """A text split into tokens, each also kept JSON-escaped for streaming."""

    tokens: Sequence[str]
    escaped: Sequence[bytes]

    @classmethod
    def of(cls, text: str) -> "TokenText":
        tokens = split(text)
        return cls(tuple(tokens), tuple(escape(token) for token in tokens))

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def head(self, count: int) -> "TokenText":
        """The first ``count`` tokens."""
        if count >= len(self.tokens):
            return self
        return TokenText(self.tokens[:count], self.escaped[:count])


EMPTY = TokenText((), ())
