"""The npm packages the grader runs answers with, installed ahead of time.

``typescript`` transpiles and type-checks TypeScript answers; ``express``
lets Express answers start. Both are pinned in ``node/package.json`` and
``node/package-lock.json`` beside this module, and installed with ``npm ci``
(exact versions from the lock, no install scripts) into
``<cache>/node-<lock hash>/node_modules``, so a new lock file installs beside
the old one instead of over it. Nothing is installed while grading: without
the packages, TypeScript and Express answers are graded statically.

Run ``python -m prober.grading`` (or the CLI's setup step, which calls
:func:`install_node_packages`) once per host and in CI.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from prober.grading.settings import GradingSettings

logger = logging.getLogger(__name__)

PACKAGES = ("typescript", "express")
_MANIFESTS = ("package.json", "package-lock.json")
_STAMP = ".prober-installed"


class NodeSetupError(RuntimeError):
    """npm is missing or ``npm ci`` failed."""


def packages_dir(settings: GradingSettings | None = None) -> Path:
    """Where the pinned packages live (or will) for these settings."""
    settings = settings or GradingSettings()
    digest = hashlib.sha256(_manifest("package-lock.json")).hexdigest()[:12]
    return settings.resolved_cache_dir() / f"node-{digest}"


def installed_modules(settings: GradingSettings | None = None) -> Path | None:
    """The ``node_modules`` directory when the install finished, else None."""
    target = packages_dir(settings)
    if not (target / _STAMP).is_file():
        return None
    return target / "node_modules"


def install_node_packages(
    settings: GradingSettings | None = None, npm: str | None = None
) -> Path:
    """Install the pinned packages with ``npm ci``; returns ``node_modules``.

    Idempotent: an existing complete install is kept. Raises
    :class:`NodeSetupError` when npm is missing or fails.
    """
    settings = settings or GradingSettings()
    done = installed_modules(settings)
    if done is not None:
        logger.info("npm packages already installed in %s", done)
        return done
    npm = npm or shutil.which("npm")
    if npm is None:
        raise NodeSetupError("npm not found on PATH; install Node.js 18 or later")
    target = packages_dir(settings)
    _write_manifests(target)
    _npm_ci(npm, target)
    _open_up(target)
    (target / _STAMP).write_text("ok\n", encoding="utf-8")
    logger.info("npm packages installed in %s", target / "node_modules")
    return target / "node_modules"


def _manifest(name: str) -> bytes:
    return (
        resources.files("prober.grading").joinpath("node").joinpath(name).read_bytes()
    )


def _write_manifests(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in _MANIFESTS:
        (target / name).write_bytes(_manifest(name))


def _npm_ci(npm: str, target: Path) -> None:
    command = [
        npm,
        "ci",
        "--omit=dev",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]
    logger.info("running %s in %s", " ".join(command), target)
    try:
        completed = subprocess.run(
            command,
            cwd=target,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NodeSetupError(f"npm ci failed: {exc}") from exc
    if completed.returncode != 0:
        tail = completed.stderr.strip()[-2000:]
        raise NodeSetupError(f"npm ci exited {completed.returncode}: {tail}")


def _open_up(target: Path) -> None:
    """Make the install readable by sandbox users whatever the umask was:
    runs under their own user id read these files (see sandbox.py)."""
    for directory in (target.parent, target):
        directory.chmod(directory.stat().st_mode | 0o755)
    for root, dirs, files in os.walk(target):
        for name in dirs:
            path = Path(root, name)
            path.chmod(path.stat().st_mode | 0o555)
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444)
