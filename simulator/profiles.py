"""Model profiles: how each simulated model behaves, loaded from TOML.

The built-in profiles live in ``simulator/data/profiles.toml``. A user file
(``--profiles FILE``) has the same schema and is laid over the built-in one key
by key, so it may hold only what it changes, or add models of its own. Unknown
keys are rejected and every error names the file and the key.
"""

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.faults import FaultKind, FaultSpec, check_settings
from simulator.schema import SchemaError, build, merge

BUILTIN_PROFILES = Path(__file__).parent / "data" / "profiles.toml"


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names file and key."""


@dataclass(frozen=True)
class TTFT:
    """Time to first token before prefill and load: scheduling and network.

    Log-normal around ``median_s``; with ``spike_probability`` a request's
    TTFT is multiplied by ``spike_factor`` (the unpredictable spikes).
    """

    median_s: float = 0.5
    sigma: float = 0.2
    spike_probability: float = 0.0
    spike_factor: float = 1.0

    def validate(self) -> None:
        _positive(self, "median_s")
        _not_negative(self, "sigma")
        _probability(self, "spike_probability")
        if self.spike_factor < 1.0:
            raise SchemaError("spike_factor", "must be at least 1")


@dataclass(frozen=True)
class Decode:
    """Decode speed at full capacity and the shape of the chunk stream.

    Each request draws its speed log-normally around ``median_tokens_per_s``;
    each chunk's gap varies by up to ``chunk_jitter`` either way, and with
    ``hiccup_probability`` a chunk is held back ``hiccup_s`` longer.
    """

    median_tokens_per_s: float = 60.0
    sigma: float = 0.1
    chunk_jitter: float = 0.1
    hiccup_probability: float = 0.0
    hiccup_s: float = 0.0
    min_tokens_per_chunk: int = 1
    max_tokens_per_chunk: int = 1

    def validate(self) -> None:
        _positive(self, "median_tokens_per_s")
        _not_negative(self, "sigma")
        if not 0.0 <= self.chunk_jitter < 1.0:
            raise SchemaError("chunk_jitter", "must be at least 0 and below 1")
        _probability(self, "hiccup_probability")
        _not_negative(self, "hiccup_s")
        _positive(self, "min_tokens_per_chunk")
        if self.max_tokens_per_chunk < self.min_tokens_per_chunk:
            raise SchemaError("max_tokens_per_chunk", "is below min_tokens_per_chunk")


@dataclass(frozen=True)
class Reasoning:
    """Reasoning text streamed before the answer; 0 tokens: no reasoning."""

    median_tokens: float = 0.0
    sigma: float = 0.3

    def validate(self) -> None:
        _not_negative(self, "median_tokens")
        _not_negative(self, "sigma")


@dataclass(frozen=True)
class RateLimit:
    """Per API key limits on this model; 0 means unlimited."""

    requests_per_minute: int = 0
    tokens_per_minute: int = 0

    def validate(self) -> None:
        _not_negative(self, "requests_per_minute")
        _not_negative(self, "tokens_per_minute")


@dataclass(frozen=True)
class BackgroundLoad:
    """Other tenants' streams, in multiples of capacity, off-peak and at peak."""

    offpeak: float = 0.2
    peak: float = 2.0

    def validate(self) -> None:
        _not_negative(self, "offpeak")
        if self.peak < self.offpeak:
            raise SchemaError("peak", "is below offpeak")


@dataclass(frozen=True)
class ModelProfile:
    """Everything that makes one simulated model behave as it does."""

    owned_by: str = "simulator"
    reference_quality: float = 8.0
    context_window: int = 131072
    effective_context: int = 131072
    capacity: int = 32
    max_load: float = 3.0
    queue: int = 256
    prefill_tokens_per_s: float = 8000.0
    keepalive_s: float = 0.0
    ttft: TTFT = field(default_factory=TTFT)
    decode: Decode = field(default_factory=Decode)
    reasoning: Reasoning = field(default_factory=Reasoning)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    background: BackgroundLoad = field(default_factory=BackgroundLoad)
    task_quality: dict[str, float] = field(default_factory=dict)
    faults: dict[FaultKind, FaultSpec] = field(default_factory=dict)

    def validate(self) -> None:
        if not 0.0 <= self.reference_quality <= 10.0:
            raise SchemaError("reference_quality", "must be between 0 and 10")
        for task, quality in self.task_quality.items():
            if not 0.0 <= quality <= 10.0:
                raise SchemaError(f"task_quality.{task}", "must be between 0 and 10")
        _positive(self, "context_window")
        _positive(self, "effective_context")
        if self.effective_context > self.context_window:
            raise SchemaError("effective_context", "exceeds context_window")
        _positive(self, "capacity")
        if self.max_load < 1.0:
            raise SchemaError("max_load", "must be at least 1")
        _not_negative(self, "queue")
        _positive(self, "prefill_tokens_per_s")
        _not_negative(self, "keepalive_s")
        for kind, spec in self.faults.items():
            try:
                check_settings(kind, spec)
            except SchemaError as exc:
                raise SchemaError(
                    f"faults.{kind.value}.{exc.key}", exc.problem
                ) from None

    @property
    def reasons(self) -> bool:
        return self.reasoning.median_tokens > 0


@dataclass(frozen=True)
class DayCurve:
    """The time-of-day curve of background load, off unless enabled.

    A simulated day lasts ``day_length_s`` (86400 for realism, a few minutes
    for a demo) and starts at ``start_hour`` (negative: the UTC hour when the
    simulator starts). Load follows a cosine from each model's off-peak
    level, twelve hours from ``peak_hour``, up to its peak level.
    """

    enabled: bool = False
    day_length_s: float = 86400.0
    start_hour: float = -1.0
    peak_hour: float = 14.0

    def validate(self) -> None:
        _positive(self, "day_length_s")
        if self.start_hour >= 24.0:
            raise SchemaError("start_hour", "must be below 24")
        if not 0.0 <= self.peak_hour < 24.0:
            raise SchemaError("peak_hour", "must be at least 0 and below 24")


@dataclass(frozen=True)
class Profiles:
    """The whole profile file."""

    default_max_tokens: int = 512
    background: DayCurve = field(default_factory=DayCurve)
    models: dict[str, ModelProfile] = field(default_factory=dict)

    def validate(self) -> None:
        _positive(self, "default_max_tokens")
        if not self.models:
            raise SchemaError("models", "no models defined")


def load_profiles(path: str | os.PathLike[str] | None = None) -> Profiles:
    """Load the built-in profiles, with the file at ``path`` laid over them."""
    table = _read(BUILTIN_PROFILES)
    source = BUILTIN_PROFILES
    if path is not None:
        source = Path(path)
        table = merge(table, _read(source))
    return parse_profiles(table, source)


def parse_profiles(table: dict[str, Any], source: str | Path = "<table>") -> Profiles:
    """Build profiles from an already parsed table; errors name ``source``."""
    try:
        return build(Profiles, table)
    except SchemaError as exc:
        raise ProfileError(f"{source}: {exc}") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc


def _positive(table: object, name: str) -> None:
    if getattr(table, name) <= 0:
        raise SchemaError(name, "must be positive")


def _not_negative(table: object, name: str) -> None:
    if getattr(table, name) < 0:
        raise SchemaError(name, "must not be negative")


def _probability(table: object, name: str) -> None:
    if not 0.0 <= getattr(table, name) <= 1.0:
        raise SchemaError(name, "must be between 0 and 1")
