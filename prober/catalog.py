"""The resolved catalog: models, their providers, and the probe tasks.

:func:`build_catalog` turns a validated :class:`~prober.config.Config` into
the objects the rest of prober uses, and checks what only makes sense once
everything is known: probe names, intervals, and provider keys.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, replace
from importlib import resources

from prober.client import Endpoint, Timeouts
from prober.config import (
    Config,
    MaintenanceWindow,
    ModelConfig,
    ProbeConfig,
    RetentionConfig,
    ScheduleConfig,
)
from prober.exceptions import ConfigError, SetupError

__all__ = [
    "CODING",
    "CONTEXT",
    "PING",
    "Catalog",
    "Model",
    "Provider",
    "Task",
    "build_catalog",
    "load_tasks",
    "parse_shard",
    "shard_index",
]

SIMULATOR = "simulator"
PING = "ping"
CONTEXT = "context"
CODING = "coding"
"""The name of each model's rotation over the coding tasks."""

_SHARD = re.compile(r"^([0-9]+)/([0-9]+)$")


@dataclass(frozen=True, slots=True)
class Task:
    """A fixed prompt a probe sends."""

    name: str
    title: str
    language: str
    prompt: str
    max_tokens: int
    temperature: float


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    base_url: str | None
    api_key_env: str | None
    max_concurrency: int
    requests_per_minute: float | None

    def api_key(self) -> str | None:
        """The key, read from the environment at the moment it is needed."""
        if not self.api_key_env:
            return None
        return os.environ.get(self.api_key_env) or None

    def endpoint(self) -> Endpoint:
        if self.base_url is None:
            raise SetupError(f"provider {self.name!r} has no base_url")
        return Endpoint(self.base_url, self.api_key())


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    display_name: str
    vendor: str
    category: str
    price_per_mtok: float | None
    input_price_per_mtok: float
    reference_quality: float | None
    reference_value: float | None
    reference_rank: int | None
    context_window: int
    provider: str

    def cost_usd(
        self, input_tokens: int | None, output_tokens: int | None
    ) -> float | None:
        """What a request cost at this model's catalog prices; ``None`` for a
        model without a price (one given only on the command line)."""
        if self.price_per_mtok is None:
            return None
        output_cost = (output_tokens or 0) * self.price_per_mtok
        input_cost = (input_tokens or 0) * self.input_price_per_mtok
        return (output_cost + input_cost) / 1e6


@dataclass(frozen=True, slots=True)
class Catalog:
    models: dict[str, Model]
    providers: dict[str, Provider]
    tasks: dict[str, Task]
    probes: dict[str, ProbeConfig]
    schedule: ScheduleConfig
    model_intervals: dict[str, dict[str, float]]
    retention: RetentionConfig = RetentionConfig()
    maintenance: tuple[MaintenanceWindow, ...] = ()

    def provider_of(self, model_id: str) -> Provider:
        return self.providers[self.models[model_id].provider]

    def timeouts(self, probe: str) -> Timeouts:
        settings = self.probes[probe].timeouts
        return Timeouts(
            connect_s=settings.connect_s,
            first_token_s=settings.first_token_s,
            stall_s=settings.stall_s,
            total_s=settings.total_s,
        )

    def max_tokens(self, probe: str) -> int:
        override = self.probes[probe].max_tokens
        return override if override is not None else self.tasks[probe].max_tokens

    def coding_tasks(self) -> list[str]:
        """Coding tasks in the rotation: every enabled task but ping and
        context, and but those given an interval of their own."""
        return [
            name
            for name, settings in self.probes.items()
            if name not in (PING, CONTEXT)
            and settings.enabled
            and settings.interval_s is None
        ]

    def interval(self, model_id: str, slot: str) -> float:
        """Seconds between runs of ``slot`` (a probe name or ``coding``)."""
        override = self.model_intervals.get(model_id, {}).get(slot)
        if override is not None:
            return override
        if slot == CODING:
            return self.schedule.coding_interval_s
        configured = self.probes[slot].interval_s
        if configured is not None:
            return configured
        if slot == CONTEXT:
            return self.schedule.context_interval_s
        return _DEFAULT_PING_INTERVAL_S

    def shard(self, spec: str | None) -> Catalog:
        """Only the models of shard ``K/N`` (see :func:`shard_index`)."""
        if spec is None:
            return self
        index, count = parse_shard(spec)
        models = {
            key: model
            for key, model in self.models.items()
            if shard_index(key, count) == index
        }
        return replace(self, models=models)

    def with_provider(self, name: str) -> Catalog:
        """The same catalog with every model moved to provider ``name``."""
        if name not in self.providers:
            known = ", ".join(sorted(self.providers))
            raise ConfigError(
                "--provider", None, f"unknown provider {name!r}; known: {known}"
            )
        models = {key: replace(m, provider=name) for key, m in self.models.items()}
        return replace(self, models=models)

    def with_target(
        self, base_url: str, api_key_env: str | None, ids: list[str]
    ) -> Catalog:
        """Send ``ids`` (catalog models or not) to an ad-hoc provider."""
        target = Provider("target", base_url, api_key_env, 16, None)
        models = {}
        for model_id in ids:
            known = self.models.get(model_id)
            models[model_id] = (
                replace(known, provider=target.name) if known else _adhoc(model_id)
            )
        return replace(
            self, models=models, providers={**self.providers, "target": target}
        )

    def with_base_url(self, provider: str, base_url: str) -> Catalog:
        providers = dict(self.providers)
        providers[provider] = replace(providers[provider], base_url=base_url)
        return replace(self, providers=providers)

    def require_keys(self) -> None:
        """Fail early when a provider in use needs a key that is not set."""
        for name in sorted({m.provider for m in self.models.values()}):
            provider = self.providers[name]
            if provider.api_key_env and provider.api_key() is None:
                raise SetupError(
                    f"provider {name!r} needs its key in the environment "
                    f"variable {provider.api_key_env}, which is not set"
                )


_DEFAULT_PING_INTERVAL_S = 60.0


def parse_shard(spec: str, source: str = "--shard") -> tuple[int, int]:
    """``"K/N"`` as ``(K, N)``, with 1 <= K <= N."""
    match = _SHARD.match(spec)
    if match is None:
        raise ConfigError(source, None, f"expected K/N such as 1/3, got {spec!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count:
        raise ConfigError(source, None, f"K must be between 1 and N in {spec!r}")
    return index, count


def shard_index(model_id: str, count: int) -> int:
    """The shard (1..count) that owns ``model_id``.

    A hash of the id alone, stable across processes, machines and Python
    versions (unlike :func:`hash`), so N probers agree without talking.
    """
    digest = hashlib.sha256(model_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def _adhoc(model_id: str) -> Model:
    return Model(
        id=model_id,
        display_name=model_id,
        vendor="",
        category="",
        price_per_mtok=None,
        input_price_per_mtok=0.0,
        reference_quality=None,
        reference_value=None,
        reference_rank=None,
        context_window=131072,
        provider="target",
    )


def load_tasks() -> dict[str, Task]:
    """The probe prompts shipped in ``prober/tasks/*.toml``."""
    tasks = {}
    folder = resources.files("prober") / "tasks"
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".toml"):
            continue
        with entry.open("rb") as handle:
            raw = tomllib.load(handle)
        task = Task(
            name=raw["name"],
            title=raw.get("title", raw["name"]),
            language=raw.get("language", "text"),
            prompt=raw["prompt"],
            max_tokens=int(raw.get("max_tokens", 2048)),
            temperature=float(raw.get("temperature", 0.3)),
        )
        tasks[task.name] = task
    return tasks


def build_catalog(config: Config, source: str = "configuration") -> Catalog:
    """Resolve ``config`` against the shipped tasks."""
    tasks = load_tasks()
    for probe in config.probes:
        if probe not in tasks:
            raise ConfigError(
                source, f"probes.{probe}", f"unknown probe; known: {', '.join(tasks)}"
            )
    providers = {
        name: Provider(
            name=name,
            base_url=p.base_url,
            api_key_env=p.api_key_env,
            max_concurrency=p.max_concurrency,
            requests_per_minute=p.requests_per_minute,
        )
        for name, p in config.providers.items()
    }
    models = {key: _model(key, m) for key, m in config.models.items() if m.enabled}
    probes = {name: config.probes.get(name, ProbeConfig()) for name in tasks}
    _check_intervals(config, models, probes, source)
    if config.prober.shard is not None:
        parse_shard(config.prober.shard, f"{source}: prober.shard")
    return Catalog(
        models=models,
        providers=providers,
        tasks=tasks,
        probes=probes,
        schedule=config.schedule,
        model_intervals={key: dict(config.models[key].intervals) for key in models},
        retention=config.retention,
        maintenance=tuple(config.maintenance),
    )


def _model(model_id: str, m: ModelConfig) -> Model:
    return Model(
        id=model_id,
        display_name=m.display_name,
        vendor=m.vendor,
        category=m.category,
        price_per_mtok=m.price_per_mtok,
        input_price_per_mtok=m.input_price_per_mtok,
        reference_quality=m.reference_quality,
        reference_value=m.reference_value,
        reference_rank=m.reference_rank,
        context_window=m.context_window,
        provider=m.provider,
    )


def _check_intervals(
    config: Config,
    models: dict[str, Model],
    probes: dict[str, ProbeConfig],
    source: str,
) -> None:
    for model_id in models:
        for slot in config.models[model_id].intervals:
            if slot not in probes and slot != CODING:
                raise ConfigError(
                    source,
                    f"models.{model_id}.intervals.{slot}",
                    f"unknown probe; known: {CODING}, {', '.join(probes)}",
                )
