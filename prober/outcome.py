"""The closed set of ways a probe can fail.

Every layer (database, metrics, reports, status page) uses these values and no
others, so a failure counted in one place is the same failure everywhere.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorType"]


class ErrorType(StrEnum):
    """Why a probe did not produce a complete answer."""

    CONNECT_TIMEOUT = "connect_timeout"
    """No connection within the connect timeout."""
    FIRST_TOKEN_TIMEOUT = "first_token_timeout"
    """Connected, but no token within the first-token timeout."""
    STALL_TIMEOUT = "stall_timeout"
    """Tokens started, then no bytes for longer than the stall timeout."""
    TOTAL_TIMEOUT = "total_timeout"
    """The whole request exceeded its total timeout."""
    CONNECTION_ERROR = "connection_error"
    """Refused, reset, DNS or TLS failure."""
    RATE_LIMITED = "rate_limited"
    """HTTP 429."""
    HTTP_4XX = "http_4xx"
    """Any other 4xx status."""
    HTTP_5XX = "http_5xx"
    """Any 5xx status, gateway HTML error pages included."""
    STREAM_ERROR = "stream_error"
    """An error inside a 200 stream, or the stream cut before it finished."""
    PROTOCOL_ERROR = "protocol_error"
    """Not valid SSE, not valid JSON where JSON is due, or over a size cap."""
    EMPTY_RESPONSE = "empty_response"
    """The stream finished with no generated text."""
