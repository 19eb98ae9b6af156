"""Hostile answers are contained, graded low, and leave the grader working.

Each hostile answer is a flatten answer (Python always runs) or a
race-condition answer (Node) whose code attacks at load time.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from prober.grading import GradingSettings, SandboxMode, grade, sandbox
from prober.grading.sandbox import Job, RunOutcome

CANARY = "sk-canary-" + uuid.uuid4().hex
GOOD = """```python
def flatten(items: list) -> list:
    \"\"\"Flatten any depth with an explicit stack.\"\"\"
    out, stack = [], [iter(items)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out
```
"""


def hostile(code: str) -> str:
    return f"```python\n{code}\n\ndef flatten(x):\n    return x\n```\n"


def assert_still_grading(settings: GradingSettings) -> None:
    started = time.perf_counter()
    result = grade("flatten", GOOD, settings)
    assert result.correctness == 10.0
    assert time.perf_counter() - started < 5.0


def sandbox_processes(settings: GradingSettings) -> list[int]:
    """Live (not zombie) processes under the sandbox user ids, after giving
    killed ones a moment to exit."""
    low, high = settings.sandbox_uid, settings.sandbox_uid + 10_000
    deadline = time.monotonic() + 2.0
    while True:
        pids = [pid for pid in _pids_of(low, high) if not _zombie(pid)]
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def _pids_of(low: int, high: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if low <= entry.stat().st_uid < high:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.fixture(params=[SandboxMode.ON, SandboxMode.OFF], ids=["bwrap", "rlimits"])
def mode_settings(request: pytest.FixtureRequest, quick: GradingSettings):
    if request.param is SandboxMode.ON:
        request.getfixturevalue("bwrap_ready")
    return GradingSettings(
        wall_timeout_s=quick.wall_timeout_s,
        cpu_limit_s=quick.cpu_limit_s,
        sandbox=request.param,
    )


@pytest.mark.parametrize(
    ("name", "code", "bound_s"),
    [
        ("infinite-loop", "while True:\n    pass", 8.0),
        ("sleep-forever", "import time\ntime.sleep(3600)", 8.0),
        ("memory-hog", "x = []\nwhile True:\n    x.append(' ' * 10**7)", 8.0),
        ("huge-allocation", "x = bytearray(64 * 1024**3)", 8.0),
        (
            "fork-bomb",
            "import os\nwhile True:\n    try:\n        os.fork()\n"
            "    except OSError:\n        pass",
            8.0,
        ),
        ("kill-everything", "import os, signal\nos.kill(-1, signal.SIGKILL)", 8.0),
        (
            "kill-parent",
            "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
            "os.killpg(0, signal.SIGKILL)",
            8.0,
        ),
        (
            "escaped-daemon",
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)",
            8.0,
        ),
        (
            "huge-output",
            "import sys\nwhile True:\n    sys.__stdout__.write('x' * 65536)",
            8.0,
        ),
        (
            "big-file",
            "with open('big', 'wb') as f:\n"
            "    while True:\n        f.write(b'x' * 2**20)",
            8.0,
        ),
    ],
)
def test_hostile_python_is_contained(
    name: str, code: str, bound_s: float, mode_settings: GradingSettings
) -> None:
    started = time.perf_counter()
    result = grade("flatten", hostile(code), mode_settings)
    elapsed = time.perf_counter() - started

    assert result.quality < 4.0, name
    assert elapsed < bound_s, f"{name} took {elapsed:.1f}s"
    assert not sandbox_processes(mode_settings), f"{name} left processes behind"
    assert_still_grading(mode_settings)


def test_writes_outside_the_work_directory_fail(
    mode_settings: GradingSettings, tmp_path: Path
) -> None:
    target = tmp_path / "escaped"
    code = f"open({str(target)!r}, 'w').write('x')"
    grade("flatten", hostile(code), mode_settings)
    assert not target.exists()


def test_private_tmp_under_bubblewrap(
    bwrap_ready: None, settings: GradingSettings
) -> None:
    target = Path("/tmp") / f"prober-escape-{uuid.uuid4().hex}"
    grade("flatten", hostile(f"open({str(target)!r}, 'w').write('x')"), settings)
    assert not target.exists()


def test_environment_is_scrubbed(
    mode_settings: GradingSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOBAL_API_KEY", CANARY)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    python = sandbox.runtimes.python_executable(mode_settings)
    assert python is not None
    job = Job(
        argv=(python, "-I", "leak.py"),
        files={"leak.py": "import os\nprint(sorted(os.environ.items()))"},
    )
    result = sandbox.run(job, mode_settings)
    assert result.outcome is RunOutcome.OK
    assert CANARY not in result.stdout
    assert "API_KEY" not in result.stdout
    leaky = hostile("import os\nflatten = lambda x: [os.environ.get('GLOBAL_API_KEY')]")
    assert CANARY not in str(grade("flatten", leaky, mode_settings).to_dict())


def test_no_network_under_bubblewrap(
    bwrap_ready: None, settings: GradingSettings
) -> None:
    accepted = threading.Event()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(3)
        port = server.getsockname()[1]

        def accept() -> None:
            try:
                server.accept()[0].close()
                accepted.set()
            except OSError:
                pass

        watcher = threading.Thread(target=accept)
        watcher.start()
        code = (
            "import socket\n"
            f"socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
        )
        grade("flatten", hostile(code), settings)
        watcher.join(timeout=5)
    assert not accepted.is_set()


def test_hostile_node_answer_is_contained(
    node_ready: None, quick: GradingSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLOBAL_API_KEY", CANARY)
    answer = (
        "```js\n"
        "console.log(process.env.GLOBAL_API_KEY);\n"
        "require('fs').writeFileSync('/tmp/prober-node-escape', 'x');\n"
        "while (true) {}\n"
        "```\n"
    )
    started = time.perf_counter()
    result = grade("race-condition", answer, quick)
    assert time.perf_counter() - started < 8.0
    assert result.quality < 3.0
    assert CANARY not in str(result.to_dict())
    assert_still_grading(quick)


def test_required_sandbox_without_bwrap_grades_statically(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    sandbox.forget_probe()
    try:
        result = grade("flatten", GOOD, GradingSettings(sandbox=SandboxMode.REQUIRED))
    finally:
        monkeypatch.undo()
        sandbox.forget_probe()
    assert result.method.value == "static"
    assert result.notes == ("static checks only: bubblewrap required but unusable",)
