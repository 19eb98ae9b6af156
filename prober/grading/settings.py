"""How grading may run code: the sandbox mode, limits and runtime locations.

Settings are typed, defaulted and checked when built; :meth:`from_mapping`
rejects unknown keys with the key's name, so a config file's typo fails at
load instead of silently loosening a limit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any


class SandboxMode(StrEnum):
    """Whether answer code runs under bubblewrap.

    ``on``: under bubblewrap when it works here, else under resource limits
    alone with one warning in the log. ``required``: under bubblewrap or not
    at all (grades fall back to static checks). ``off``: limits alone.
    """

    ON = "on"
    REQUIRED = "required"
    OFF = "off"


MIB = 1024 * 1024


@dataclass(frozen=True)
class GradingSettings:
    """Limits and locations for running answer code.

    Attributes:
        execute: run answer code at all; when false every grade is static.
        sandbox: see :class:`SandboxMode`.
        wall_timeout_s: wall time for one sandboxed run; the whole process
            group is killed when it expires.
        cpu_limit_s: CPU seconds for one run (RLIMIT_CPU).
        memory_limit_bytes: address space of each process (RLIMIT_AS) and
            its data segment (RLIMIT_DATA).
        max_processes: processes and threads the run may add (RLIMIT_NPROC).
        max_file_bytes: largest file a run may write (RLIMIT_FSIZE).
        sandbox_uid: first user id of the range runs are given when prober
            runs as root; each concurrent run gets its own id so the
            per-user process limit and the final sweep apply to it alone.
        python_path: interpreter for Python answers; default: this one, or
            a system ``python3`` the sandbox user can read.
        node_path: ``node`` executable; default: ``node`` on PATH.
        cache_dir: where npm packages are installed (see ``prober.grading.npm``);
            default: $PROBER_CACHE_DIR, else /var/cache/prober for root, else
            ~/.cache/prober.
        typecheck: type-check TypeScript answers (about half a second each).
    """

    execute: bool = True
    sandbox: SandboxMode = SandboxMode.ON
    wall_timeout_s: float = 10.0
    cpu_limit_s: int = 8
    memory_limit_bytes: int = 1024 * MIB
    max_processes: int = 64
    max_file_bytes: int = 16 * MIB
    sandbox_uid: int = 620_000
    python_path: str | None = None
    node_path: str | None = None
    cache_dir: Path | None = None
    typecheck: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "sandbox", SandboxMode(self.sandbox))
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        _require_positive(self, "wall_timeout_s", "cpu_limit_s", "max_processes")
        _require_at_least(self, "memory_limit_bytes", 64 * MIB)
        _require_at_least(self, "max_file_bytes", 1 * MIB)
        if not 1000 <= self.sandbox_uid < 2**31 - 10_000:
            raise ValueError("sandbox_uid must be between 1000 and 2**31 - 10000")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GradingSettings:
        """Build settings from a config table, rejecting unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown grading setting(s): {', '.join(unknown)}")
        return cls(**values)

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        if env := os.environ.get("PROBER_CACHE_DIR"):
            return Path(env)
        if os.geteuid() == 0:
            # The sandbox user must read the packages; /root is private.
            return Path("/var/cache/prober")
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(xdg) / "prober"


def _require_positive(settings: GradingSettings, *names: str) -> None:
    for name in names:
        if getattr(settings, name) <= 0:
            raise ValueError(f"{name} must be positive, got {getattr(settings, name)}")


def _require_at_least(settings: GradingSettings, name: str, floor: int) -> None:
    if getattr(settings, name) < floor:
        raise ValueError(f"{name} must be at least {floor}")
