"""Loading and validating configuration: the default catalog plus a user file.

The default catalog (``prober/data/catalog.toml``) ships the ten models, the
two built-in providers and the default probe schedule. A user TOML file is
laid over it key by key: it can add providers and models, override prices and
intervals, and move a model to another provider. The merged result is
validated once, at load; an error names the file, the key and the reason.

API keys are never read from a file: a provider names the environment
variable that holds its key (``api_key_env``).
"""

from __future__ import annotations

import copy
import tomllib
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from prober.exceptions import ConfigError
from storage.engine import database_backend

__all__ = [
    "Config",
    "ContextProbeConfig",
    "GradingConfig",
    "MaintenanceWindow",
    "ModelConfig",
    "ProbeConfig",
    "ProviderConfig",
    "RetentionConfig",
    "ScheduleConfig",
    "ServiceConfig",
    "load_config",
]

DEFAULT_CATALOG = "prober/data/catalog.toml"
_SECRET_KEYS = {"api_key", "key", "token", "secret", "password", "bearer"}
_NAMED_TABLES = {("models",), ("providers",), ("probes",)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeoutsConfig(_Strict):
    connect_s: float = Field(10.0, gt=0)
    first_token_s: float = Field(60.0, gt=0)
    stall_s: float = Field(30.0, gt=0)
    total_s: float = Field(300.0, gt=0)


class ProviderConfig(_Strict):
    base_url: str | None = None
    api_key_env: str | None = None
    max_concurrency: int = Field(8, ge=1)
    requests_per_minute: float | None = Field(None, gt=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class ModelConfig(_Strict):
    display_name: str
    vendor: str = ""
    category: str = ""
    price_per_mtok: float = Field(ge=0)
    input_price_per_mtok: float = Field(0.0, ge=0)
    reference_quality: float | None = Field(None, ge=0, le=10)
    reference_value: float | None = Field(None, ge=0)
    reference_rank: int | None = Field(None, ge=1)
    context_window: int = Field(131072, gt=0)
    provider: str = "simulator"
    enabled: bool = True
    # Per probe, so an error's location ends in the probe's name.
    intervals: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)


class ProbeConfig(_Strict):
    # Unset for a coding task: it runs in each model's coding rotation.
    # Set: the probe gets its own schedule at this interval.
    interval_s: float | None = Field(None, gt=0)
    jitter_s: float | None = Field(None, ge=0)
    enabled: bool = True
    max_tokens: int | None = Field(None, ge=1)
    timeouts: TimeoutsConfig = TimeoutsConfig()


DEFAULT_LADDER = (1024, 4096, 16384, 32768, 65536, 131072)
DEFAULT_DEPTHS = (0.1, 0.5, 0.9)


class ContextProbeConfig(ProbeConfig):
    """``[probes.context]``: the context sweep's ladder, on top of the keys
    every probe has. Lengths are prompt tokens; depths are the needle's
    position as a share of the padding (0 at the top, 1 at the bottom)."""

    ladder: tuple[int, ...] = Field(DEFAULT_LADDER, min_length=1, max_length=12)
    depths: tuple[float, ...] = Field(DEFAULT_DEPTHS, min_length=1, max_length=10)
    headroom: float = Field(0.05, ge=0, lt=0.5)
    keep_ratio: float = Field(0.9, gt=0, le=1)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)

    @field_validator("ladder")
    @classmethod
    def _lengths(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for length in value:
            if not 256 <= length <= 2_097_152:
                raise ValueError(f"length {length} is not between 256 and 2097152")
        _ascending(value)
        return value

    @field_validator("depths")
    @classmethod
    def _depths(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        for depth in value:
            if not 0 <= depth <= 1:
                raise ValueError(f"depth {depth} is not between 0 and 1")
        _ascending(value)
        return value


def _ascending(values: tuple[float, ...]) -> None:
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise ValueError("must be in ascending order without repeats")


class ServiceConfig(_Strict):
    database: str = "sqlite:///prober.db"
    listen: str = "127.0.0.1:9464"
    vantage: str = Field("local", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    drain_grace_s: float = Field(30.0, ge=0)
    shard: str | None = Field(None, pattern=r"^[0-9]+/[0-9]+$")
    daily_budget_usd: float | None = Field(None, gt=0)
    allow_remote: bool = False  # listen off loopback (as --allow-remote)

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        database_backend(value)
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError("expected HOST:PORT such as 127.0.0.1:9464")
        return value


class ScheduleConfig(_Strict):
    coding_interval_s: float = Field(600.0, gt=0)
    context_interval_s: float = Field(86400.0, gt=0)
    misfire_grace_s: float = Field(60.0, gt=0)
    # Added to a probe's total timeout to give the hard limit of one job,
    # so that a job that hangs anyway is cut and cannot block the next run.
    job_timeout_margin_s: float = Field(30.0, gt=0)


class RetentionConfig(_Strict):
    raw_days: float = Field(30.0, gt=0)
    rollup_days: float = Field(400.0, gt=0)

    @model_validator(mode="after")
    def _rollups_outlive_rows(self) -> RetentionConfig:
        if self.rollup_days < self.raw_days:
            raise ValueError("rollup_days must be at least raw_days")
        return self


class MaintenanceWindow(_Strict):
    """A planned outage: probes inside it are left out of uptime."""

    start: datetime
    end: datetime
    models: list[str] = Field(default_factory=list)  # empty: every model
    reason: str = Field("", max_length=200)

    @field_validator("start", "end")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class GradingConfig(_Strict):
    """How answers are graded; the sandbox's limits are documented in
    :class:`prober.grading.GradingSettings`, whose fields this mirrors."""

    workers: int = Field(2, ge=1, le=16)
    execute: bool = True
    sandbox: Literal["on", "required", "off"] = "on"
    wall_timeout_s: float = Field(10.0, gt=0)
    cpu_limit_s: int = Field(8, gt=0)
    memory_limit_mib: int = Field(1024, ge=64)
    max_processes: int = Field(64, gt=0)
    max_file_mib: int = Field(16, ge=1)
    typecheck: bool = True


class Config(_Strict):
    prober: ServiceConfig = ServiceConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    retention: RetentionConfig = RetentionConfig()
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    providers: dict[str, ProviderConfig]
    models: dict[str, ModelConfig]
    probes: dict[str, ProbeConfig] = Field(default_factory=dict)
    grading: GradingConfig = GradingConfig()

    @field_validator("probes", mode="before")
    @classmethod
    def _context_keys(cls, value: Any) -> Any:
        """``[probes.context]`` has keys of its own: check it as such, keeping
        the table's name in the location of any error."""
        if not isinstance(value, dict) or not isinstance(value.get("context"), dict):
            return value
        try:
            context = ContextProbeConfig.model_validate(value["context"])
        except ValidationError as exc:
            details: list[Any] = [
                {
                    "type": error["type"],
                    "loc": ("context", *error["loc"]),
                    "input": error["input"],
                    **({"ctx": error["ctx"]} if "ctx" in error else {}),
                }
                for error in exc.errors()
            ]
            raise ValidationError.from_exception_data(exc.title, details) from None
        return {**value, "context": context}


def load_config(path: str | Path | None = None) -> Config:
    """Read the default catalog, lay ``path`` over it, and validate."""
    catalog = _read_toml(resources.files("prober") / "data" / "catalog.toml")
    user: dict[str, Any] = {}
    user_name = None
    if path is not None:
        user_name = str(path)
        user = _read_toml(Path(path), user_name)
        _reject_secrets(user, user_name)
    merged = _merge(catalog, user)
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        raise _config_error(exc, user, user_name) from None
    _check_references(config, user, user_name)
    return config


def _read_toml(source: Any, name: str | None = None) -> dict[str, Any]:
    name = name or DEFAULT_CATALOG
    try:
        with source.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(name, None, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(name, None, f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(name, None, f"cannot read: {exc.strerror}") from None


def _reject_secrets(table: Any, name: str, path: tuple[str, ...] = ()) -> None:
    """Refuse a key-shaped setting anywhere in the file, before validation
    could echo its value or call it merely unknown."""
    if isinstance(table, list):
        for index, item in enumerate(table):
            _reject_secrets(item, name, (*path, str(index)))
        return
    if not isinstance(table, dict):
        return
    for key, value in table.items():
        # Under [models], [providers] and [probes] a key is a name, not a setting.
        if path == ("prober",) and key.lower() in _SECRET_KEYS | {"api_token"}:
            raise ConfigError(
                name,
                f"prober.{key}",
                "the API token is read from the environment only; set PROBER_API_TOKEN",
            )
        if path not in _NAMED_TABLES and key.lower() in _SECRET_KEYS:
            raise ConfigError(
                name,
                ".".join((*path, key)),
                "keys are read from the environment only; "
                "name the variable with api_key_env",
            )
        _reject_secrets(value, name, (*path, key))


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _config_error(
    exc: ValidationError, user: dict[str, Any], user_name: str | None
) -> ConfigError:
    error = exc.errors()[0]
    location = [str(part) for part in error["loc"]]
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    message = message.removeprefix("Value error, ")
    origin = _origin(location, user, user_name)
    return ConfigError(origin, ".".join(location), message)


def _origin(location: list[str], user: dict[str, Any], user_name: str | None) -> str:
    """The file a key came from: the user's file if it sets that key's table."""
    node: Any = user
    for part in location[:2]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return DEFAULT_CATALOG
    return user_name or DEFAULT_CATALOG


def _check_references(
    config: Config, user: dict[str, Any], user_name: str | None
) -> None:
    for model_id, model in config.models.items():
        if model.provider not in config.providers:
            key = ["models", model_id, "provider"]
            raise ConfigError(
                _origin(key, user, user_name),
                ".".join(key),
                f"unknown provider {model.provider!r}; "
                f"known: {', '.join(sorted(config.providers))}",
            )
