"""Exceptions raised by prober's own code (never for a target's failures).

    ProberError
    ├── ConfigError       a configuration file or option is wrong
    └── SetupError        the environment cannot run what was asked

A target's failures are not exceptions: they are measurements with an
:class:`~prober.outcome.ErrorType`.
"""

from __future__ import annotations

__all__ = ["ConfigError", "ProberError", "SetupError"]


class ProberError(Exception):
    """Base of prober's own exceptions."""


class ConfigError(ProberError):
    """A configuration value is wrong; names the file, the key and why."""

    def __init__(self, source: str, key: str | None, reason: str) -> None:
        self.source = source
        self.key = key
        self.reason = reason
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {reason}")


class SetupError(ProberError):
    """Something the command needs is missing or cannot start."""
