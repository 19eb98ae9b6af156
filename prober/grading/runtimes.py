"""Where the interpreters that run answers live, and whether a sandbox user
can reach them.

When prober runs as root each sandboxed run gets an unprivileged user id, so
every file the run needs (the interpreter, its standard library, the npm
packages) must be readable by anyone. A Python installed under a private home
(pyenv under /root, say) is not; a system ``python3`` is then used instead.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

from prober.grading.settings import GradingSettings

_SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3")


def switches_user() -> bool:
    """True when sandboxed runs get their own user id (prober runs as root)."""
    return os.geteuid() == 0


def python_executable(settings: GradingSettings) -> str | None:
    """An interpreter, at least Python 3.8, that a sandboxed run can execute."""
    if settings.python_path:
        return settings.python_path
    candidates = [sys.executable, *_SYSTEM_PYTHONS]
    for candidate in candidates:
        path = os.path.realpath(candidate)
        if os.path.isfile(path) and reachable(path):
            return path
    return None


def node_executable(settings: GradingSettings) -> str | None:
    """The ``node`` executable, when there is one a sandboxed run can execute."""
    found = settings.node_path or shutil.which("node")
    if found is None:
        return None
    path = os.path.realpath(found)
    return path if os.path.isfile(path) and reachable(path) else None


def install_prefix(executable: str) -> Path:
    """The tree an interpreter needs besides /usr: /opt/node for
    /opt/node/bin/node, the prefix of a Python."""
    path = Path(os.path.realpath(executable))
    if path == Path(os.path.realpath(sys.executable)):
        return Path(os.path.realpath(sys.base_prefix))
    return path.parent.parent


def reachable(path: str | Path) -> bool:
    """Whether a sandbox user could read ``path``: every directory on the way
    searchable and the file readable by others, when runs switch user."""
    if not switches_user():
        return os.access(path, os.R_OK)
    current = Path(os.path.realpath(path))
    try:
        if not current.stat().st_mode & stat.S_IROTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in current.parents)
    except OSError:
        return False
