"""Running untrusted answer code: one process tree, boxed in, then gone.

Each run gets a fresh work directory and, when prober runs as root, a user id
of its own. It starts in a new session (so its process group can be killed
whole) through a small launcher that sets the resource limits and then execs:

- under bubblewrap (``sandbox`` on or required, when bwrap works here): a new
  user, PID, network, IPC and UTS namespace; /usr and the runtimes read-only;
  a private /tmp; the work directory as /sandbox; no network but loopback;
  dies with its parent; no new user namespaces inside;
- or, where bubblewrap is missing or cannot create namespaces, under the
  limits alone (a warning is logged once): the run then sees the host's files
  as its user id does, and the network.

Limits: CPU seconds, address space and data segment, file size, and process
count. RLIMIT_NPROC counts every task of a real user id, which is why a root
prober gives each run its own id: otherwise the limit would count all of
root's processes and bind nothing. The environment is replaced by a minimal
PATH, LANG and HOME, so no API key or other secret of the parent is visible.
When the wall timeout expires the process group is killed, and every process
left under the run's user id is swept as well (without a PID namespace a
process can leave the group with setsid; with one, the namespace's teardown
after its init dies is asynchronous).

A run's result is data with a closed set of outcomes; nothing here raises for
anything the code under test does.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO

from prober.grading import runtimes
from prober.grading.settings import GradingSettings, SandboxMode

logger = logging.getLogger(__name__)

SANDBOX_DIR = "/sandbox"
MAX_OUTPUT_BYTES = 1024 * 1024
_UID_SPAN = 10_000
_PATH = "/usr/local/bin:/usr/bin:/bin"

# Runs in the launcher interpreter (isolated mode, no site): apply the limits
# to itself, then become the command. Nothing of the parent survives the exec.
_LAUNCHER = """\
import os, resource, sys, json
for name, (soft, hard) in json.loads(sys.argv[1]).items():
    resource.setrlimit(getattr(resource, name), (soft, hard))
os.execv(sys.argv[2], sys.argv[2:])
"""
_SWEEPER = """\
import os, signal
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
"""


class RunOutcome(StrEnum):
    """How a sandboxed run ended."""

    OK = "ok"  # exited 0
    FAILED = "failed"  # exited non-zero
    KILLED = "killed"  # ended by a signal: CPU or file-size limit, a crash
    TIMEOUT = "timeout"  # wall timeout; the process group was killed
    UNAVAILABLE = "unavailable"  # could not be started under the settings


class Isolation(StrEnum):
    BWRAP = "bwrap"
    RLIMITS = "rlimits"


@dataclass(frozen=True)
class Job:
    """What to run: ``argv[0]`` is an absolute executable, and relative paths
    in the arguments resolve in the work directory, which holds ``files``.
    ``read_only`` host paths are visible at the same path inside."""

    argv: tuple[str, ...]
    files: Mapping[str, str] = field(default_factory=dict)
    read_only: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    # V8 reserves far more address space than it touches; Node runs get a
    # larger RLIMIT_AS, while RLIMIT_DATA still holds them to the limit.
    address_space_factor: int = 1


@dataclass(frozen=True)
class RunResult:
    outcome: RunOutcome
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    isolation: Isolation | None
    reason: str = ""


def run(job: Job, settings: GradingSettings) -> RunResult:
    """Run ``job`` under the sandbox the settings and the host allow."""
    isolation = _isolation(settings)
    launcher = runtimes.python_executable(settings)
    if isolation is None or launcher is None:
        reason = (
            "bubblewrap required but unusable"
            if isolation is None
            else ("no Python the sandbox user can execute")
        )
        return RunResult(RunOutcome.UNAVAILABLE, None, "", "", 0.0, None, reason)
    uid = _UIDS.acquire(settings.sandbox_uid) if runtimes.switches_user() else None
    try:
        with tempfile.TemporaryDirectory(prefix="prober-sandbox-") as workdir:
            _prepare(Path(workdir), job, uid)
            argv = _command(job, settings, Path(workdir), isolation, launcher)
            return _execute(argv, job, settings, Path(workdir), isolation, uid)
    finally:
        if uid is not None:
            _UIDS.release(uid)


def isolation_available(settings: GradingSettings) -> Isolation | None:
    """The isolation a run would get now, or None when none is allowed."""
    return _isolation(settings)


def _isolation(settings: GradingSettings) -> Isolation | None:
    if settings.sandbox is SandboxMode.OFF:
        return Isolation.RLIMITS
    if _bwrap_flags() is not None:
        return Isolation.BWRAP
    if settings.sandbox is SandboxMode.REQUIRED:
        return None
    _warn_once()
    return Isolation.RLIMITS


def _prepare(workdir: Path, job: Job, uid: int | None) -> None:
    for name, text in job.files.items():
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o644)
    if uid is not None:
        os.chown(workdir, uid, uid)
    workdir.chmod(0o700)


def _command(
    job: Job,
    settings: GradingSettings,
    workdir: Path,
    isolation: Isolation,
    launcher: str,
) -> list[str]:
    limits = json.dumps(_limits(settings, job.address_space_factor))
    inner = list(job.argv)
    if isolation is Isolation.BWRAP:
        inner = _bwrap_argv(job, workdir) + inner
    return [launcher, "-I", "-S", "-c", _LAUNCHER, limits, *inner]


def _limits(settings: GradingSettings, factor: int) -> dict[str, tuple[int, int]]:
    memory = settings.memory_limit_bytes
    address_space = memory * factor
    processes = settings.max_processes
    if not runtimes.switches_user():
        # The limit counts every task of this user, the caller's included.
        processes += _tasks_of_user(os.getuid())
    return {
        "RLIMIT_CPU": (settings.cpu_limit_s, settings.cpu_limit_s + 1),
        "RLIMIT_AS": (address_space, address_space),
        "RLIMIT_DATA": (memory, memory),
        "RLIMIT_FSIZE": (settings.max_file_bytes, settings.max_file_bytes),
        "RLIMIT_NPROC": (processes, processes),
        "RLIMIT_CORE": (0, 0),
    }


def _bwrap_argv(job: Job, workdir: Path) -> list[str]:
    argv = ["bwrap", *(_bwrap_flags() or ())]
    argv += _system_binds()
    for path in job.read_only:
        argv += ["--ro-bind", str(path), str(path)]
    argv += ["--bind", str(workdir), SANDBOX_DIR, "--chdir", SANDBOX_DIR]
    argv += ["--setenv", "HOME", SANDBOX_DIR, "--"]
    argv[0] = shutil.which("bwrap") or "bwrap"
    return argv


def _system_binds() -> list[str]:
    binds = ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            binds += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            binds += ["--ro-bind", top, top]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives"):
        binds += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return binds


def _execute(
    argv: list[str],
    job: Job,
    settings: GradingSettings,
    workdir: Path,
    isolation: Isolation,
    uid: int | None,
) -> RunResult:
    home = SANDBOX_DIR if isolation is Isolation.BWRAP else str(workdir)
    env = {"PATH": _PATH, "LANG": "C.UTF-8", "HOME": home, **job.env}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=workdir,
                env=env,
                start_new_session=True,
                user=uid,
                group=uid,
                extra_groups=[] if uid is not None else None,
                close_fds=True,
            )
        except OSError as exc:
            reason = f"could not start: {exc}"
            return RunResult(RunOutcome.UNAVAILABLE, None, "", "", 0.0, None, reason)
        timed_out = _wait(process, settings.wall_timeout_s)
        duration = time.perf_counter() - started
        if uid is not None:
            _sweep(uid, argv[0])
        outcome = _outcome(process.returncode, timed_out, isolation)
        return RunResult(
            outcome,
            process.returncode,
            _read(out),
            _read(err),
            duration,
            isolation,
        )


def _wait(process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    try:
        process.wait(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    # Children left behind after a normal exit go the same way as on expiry.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    return timed_out


def _outcome(returncode: int, timed_out: bool, isolation: Isolation) -> RunOutcome:
    if timed_out:
        return RunOutcome.TIMEOUT
    if returncode == 0:
        return RunOutcome.OK
    # bwrap reports a child killed by signal N as exit status 128 + N.
    if returncode < 0 or (isolation is Isolation.BWRAP and returncode > 128):
        return RunOutcome.KILLED
    return RunOutcome.FAILED


def _read(stream: IO[bytes]) -> str:
    stream.seek(0)
    return stream.read(MAX_OUTPUT_BYTES).decode("utf-8", errors="replace")


def _sweep(uid: int, launcher: str) -> None:
    """Kill every process of the run's user id, escaped sessions included."""
    subprocess.run(
        [launcher, "-I", "-S", "-c", _SWEEPER],
        user=uid,
        group=uid,
        extra_groups=[],
        env={"PATH": _PATH},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=10,
        check=False,
    )


def _tasks_of_user(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return count


class _UidPool:
    """Hands each concurrent run of this process a distinct user id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[int] = set()

    def acquire(self, base: int) -> int:
        with self._lock:
            offset = secrets.randbelow(_UID_SPAN)
            while base + offset in self._busy:
                offset = (offset + 1) % _UID_SPAN
            self._busy.add(base + offset)
            return base + offset

    def release(self, uid: int) -> None:
        with self._lock:
            self._busy.discard(uid)


_UIDS = _UidPool()
_probe_lock = threading.Lock()
_probed: dict[str, tuple[str, ...] | None] = {}
_warned = threading.Event()


def _bwrap_flags() -> tuple[str, ...] | None:
    """The namespace flags bwrap accepts here, found once by trying them."""
    with _probe_lock:
        if "flags" not in _probed:
            _probed["flags"] = _probe_bwrap()
        return _probed["flags"]


def _probe_bwrap() -> tuple[str, ...] | None:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        logger.info("bubblewrap not found on PATH")
        return None
    base = ("--unshare-all", "--unshare-user", "--die-with-parent", "--new-session")
    for extra in (("--disable-userns",), ()):
        flags = (*base, *extra, "--hostname", "sandbox")
        if _bwrap_runs(bwrap, flags):
            logger.info("sandbox: bubblewrap works with %s", " ".join(flags))
            return flags
    return None


def _bwrap_runs(bwrap: str, flags: tuple[str, ...]) -> bool:
    uid = 65534 if runtimes.switches_user() else None
    argv = [bwrap, *flags, *_system_binds(), "--", "/bin/true"]
    try:
        completed = subprocess.run(
            argv,
            user=uid,
            group=uid,
            extra_groups=[] if uid is not None else None,
            env={"PATH": _PATH},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.info("sandbox: bubblewrap probe failed: %s", exc)
        return False
    if completed.returncode != 0:
        logger.info(
            "sandbox: bubblewrap probe exited %d: %s",
            completed.returncode,
            completed.stderr.decode(errors="replace").strip()[:200],
        )
    return completed.returncode == 0


def _warn_once() -> None:
    if not _warned.is_set():
        _warned.set()
        logger.warning(
            "sandbox: bubblewrap is unavailable; answer code runs under resource "
            "limits only, with the host's files and network visible to it"
        )


def forget_probe() -> None:
    """Probe bubblewrap again on the next run (after installing it, say)."""
    with _probe_lock:
        _probed.clear()
    _warned.clear()
