"""prober: a monitor for hosted LLM coding models.

The names below are the library surface; everything else is internal.
"""

from prober.client import ChatRequest, Endpoint, StreamingClient, Timeouts
from prober.measurement import Measurement
from prober.outcome import ErrorType
from prober.sse import SSEDecoder, SSEEvent

__all__ = [
    "ChatRequest",
    "Endpoint",
    "ErrorType",
    "Measurement",
    "SSEDecoder",
    "SSEEvent",
    "StreamingClient",
    "Timeouts",
]
