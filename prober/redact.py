"""Removing secrets from text that leaves the process.

Provider error bodies sometimes echo the request's key back; anything that
becomes a row, a log line or a metric passes through :func:`redact` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "redact", "shorten"]

REDACTED = "[redacted]"

# Shapes of credentials that may appear even when the exact key is unknown:
# bearer tokens and the common "sk-..." style API keys.
_PATTERNS = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|\b(sk|pk|rk|ak)-[A-Za-z0-9_-]{12,}"
    r"|(api[_-]?key[\"'=:\s]+)[A-Za-z0-9._-]{8,}"
)


def _replace(match: re.Match[str]) -> str:
    prefix = match.group(1) or match.group(3) or ""
    return prefix + REDACTED


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with every known secret and key-shaped string masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return _PATTERNS.sub(_replace, text)


def shorten(text: str, limit: int = 240) -> str:
    """Collapse whitespace and cut ``text`` to ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
