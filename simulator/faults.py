"""Injected faults: the closed set of kinds, their settings, and the draw.

A fault is set per model, in the profile file or at run time through the admin
endpoint. It fires on a request when any of its triggers holds:

- ``probability``: a per-request chance, drawn from the request's seeded RNG;
- ``burst_s``: once fired by chance, it stays on for this many seconds, so
  errors come in bursts as they do when a provider's backend falls over;
- ``every_s`` / ``duration_s`` / ``offset_s``: a schedule on the simulator's
  clock (seconds since start): on for ``duration_s`` out of every ``every_s``,
  the first window opening at ``offset_s``.

What the fault then does is fixed by its kind; see :class:`FaultKind`.
"""

import dataclasses
import enum
import random
from dataclasses import dataclass

from simulator.schema import SchemaError, build


class FaultKind(enum.StrEnum):
    """What a provider can do wrong, in the order a request meets them."""

    OUTAGE = "outage"  # every request answered with an error status
    SERVER_ERROR = "server_error"  # a JSON 5xx error
    GATEWAY_HTML = "gateway_html"  # a gateway's HTML error page
    CONNECTION_RESET = "connection_reset"  # TCP reset, before or mid-stream
    SLOW_HEADERS = "slow_headers"  # response headers held back
    STALL = "stall"  # the stream stops sending for a while, then goes on
    STREAM_ERROR = "stream_error"  # an error object inside a 200 stream
    MALFORMED_CHUNK = "malformed_chunk"  # a chunk whose JSON is cut short


_STATUS_DEFAULT = {
    FaultKind.OUTAGE: 503,
    FaultKind.SERVER_ERROR: 500,
    FaultKind.GATEWAY_HTML: 502,
}
_AFTER_CHUNKS_DEFAULT = {
    FaultKind.CONNECTION_RESET: 0,
    FaultKind.STALL: 3,
    FaultKind.STREAM_ERROR: 3,
    FaultKind.MALFORMED_CHUNK: 3,
}
_DELAY_DEFAULT = {FaultKind.SLOW_HEADERS: 5.0, FaultKind.STALL: 30.0}


@dataclass(frozen=True)
class FaultSpec:
    """When a fault fires, and the one or two settings its kind takes.

    ``status`` applies to outage, server_error and gateway_html;
    ``after_chunks`` (chunks of generated text sent before it strikes; 0 for
    a reset means before any response) to connection_reset, stall, stream_error and
    malformed_chunk; ``delay_s`` to slow_headers and stall.
    """

    probability: float = 0.0
    burst_s: float = 0.0
    every_s: float = 0.0
    duration_s: float = 0.0
    offset_s: float = 0.0
    status: int | None = None
    after_chunks: int | None = None
    delay_s: float | None = None

    def validate(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise SchemaError("probability", "must be between 0 and 1")
        for name in ("burst_s", "every_s", "duration_s", "offset_s"):
            if getattr(self, name) < 0:
                raise SchemaError(name, "must not be negative")
        if self.duration_s > 0 and self.every_s <= 0:
            raise SchemaError("every_s", "a schedule needs every_s > 0")
        if self.status is not None and not 500 <= self.status <= 599:
            raise SchemaError("status", "must be a 5xx status")
        if self.after_chunks is not None and self.after_chunks < 0:
            raise SchemaError("after_chunks", "must not be negative")
        if self.delay_s is not None and self.delay_s < 0:
            raise SchemaError("delay_s", "must not be negative")

    def scheduled(self, clock_s: float) -> bool:
        """Whether a schedule window is open at ``clock_s``."""
        if self.every_s <= 0 or self.duration_s <= 0 or clock_s < self.offset_s:
            return False
        return (clock_s - self.offset_s) % self.every_s < self.duration_s


def check_settings(kind: FaultKind, spec: FaultSpec) -> None:
    """Reject settings that ``kind`` does not take, naming the setting."""
    takes = {
        "status": kind in _STATUS_DEFAULT,
        "after_chunks": kind in _AFTER_CHUNKS_DEFAULT,
        "delay_s": kind in _DELAY_DEFAULT,
    }
    for name, taken in takes.items():
        if getattr(spec, name) is not None and not taken:
            raise SchemaError(name, f"unknown key for fault {kind.value}")


def parse_spec(kind: FaultKind, table: object) -> FaultSpec:
    """Build one fault's spec from a table, as the admin endpoint receives it."""
    spec = build(FaultSpec, table)
    check_settings(kind, spec)
    return spec


@dataclass(frozen=True)
class FaultPlan:
    """What the faults drawn for one request will do to it."""

    reject_status: int | None = None
    reject_html: bool = False
    reset_after: int | None = None
    header_delay_s: float = 0.0
    stall_after: int | None = None
    stall_s: float = 0.0
    error_after: int | None = None
    malformed_after: int | None = None

    @property
    def in_stream(self) -> bool:
        """Whether anything is due to happen once the stream has begun."""
        return (
            self.reset_after is not None
            or self.stall_after is not None
            or self.error_after is not None
            or self.malformed_after is not None
        )


CLEAN = FaultPlan()


class FaultBoard:
    """One model's faults as they stand now, and the draw for each request."""

    def __init__(self, specs: dict[FaultKind, FaultSpec]) -> None:
        self._specs: dict[FaultKind, FaultSpec] = {}
        self._burst_until: dict[FaultKind, float] = {}
        self.replace(specs)

    def replace(self, specs: dict[FaultKind, FaultSpec]) -> None:
        self._specs = dict(specs)
        self._burst_until.clear()

    def set(self, kind: FaultKind, spec: FaultSpec) -> None:
        self._specs[kind] = spec
        self._burst_until.pop(kind, None)

    def clear(self, kind: FaultKind) -> None:
        self._specs.pop(kind, None)
        self._burst_until.pop(kind, None)

    def describe(self, clock_s: float) -> dict[str, dict[str, object]]:
        """The settings of each fault, with whether it is on right now."""
        return {
            kind.value: {
                **{k: v for k, v in dataclasses.asdict(spec).items() if v is not None},
                "active": self._forced_on(kind, spec, clock_s),
            }
            for kind, spec in self._specs.items()
        }

    def draw(self, clock_s: float, rng: random.Random) -> FaultPlan:
        """Decide which faults strike one request."""
        if not self._specs:
            return CLEAN
        fired = {
            kind: spec
            for kind in FaultKind
            if (spec := self._specs.get(kind)) and self._fires(kind, spec, clock_s, rng)
        }
        return _plan(fired) if fired else CLEAN

    def _fires(
        self, kind: FaultKind, spec: FaultSpec, clock_s: float, rng: random.Random
    ) -> bool:
        if self._forced_on(kind, spec, clock_s):
            return True
        if spec.probability <= 0 or rng.random() >= spec.probability:
            return False
        if spec.burst_s > 0:
            self._burst_until[kind] = clock_s + spec.burst_s
        return True

    def _forced_on(self, kind: FaultKind, spec: FaultSpec, clock_s: float) -> bool:
        return spec.scheduled(clock_s) or self._burst_until.get(kind, -1.0) > clock_s


def _plan(fired: dict[FaultKind, FaultSpec]) -> FaultPlan:
    for kind in (FaultKind.OUTAGE, FaultKind.SERVER_ERROR, FaultKind.GATEWAY_HTML):
        if kind in fired:
            status = fired[kind].status or _STATUS_DEFAULT[kind]
            html = kind is FaultKind.GATEWAY_HTML
            return FaultPlan(reject_status=status, reject_html=html)

    def after(kind: FaultKind) -> int | None:
        if kind not in fired:
            return None
        value = fired[kind].after_chunks
        return _AFTER_CHUNKS_DEFAULT[kind] if value is None else value

    def delay(kind: FaultKind) -> float:
        if kind not in fired:
            return 0.0
        value = fired[kind].delay_s
        return _DELAY_DEFAULT[kind] if value is None else value

    return FaultPlan(
        reset_after=after(FaultKind.CONNECTION_RESET),
        header_delay_s=delay(FaultKind.SLOW_HEADERS),
        stall_after=after(FaultKind.STALL),
        stall_s=delay(FaultKind.STALL),
        error_after=after(FaultKind.STREAM_ERROR),
        malformed_after=after(FaultKind.MALFORMED_CHUNK),
    )
