"""Answer code cannot read the grader's environment through /proc.

Scrubbing the sandbox's own environment is not enough: a process can read
another's start-up environment from ``/proc/PID/environ``. A grader process
is started here with a canary in its environment, runs a scan of every
readable ``/proc/*/environ`` in the sandbox, and runs the same scan outside
it as a control that must find the canary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from prober.grading import SandboxMode
from prober.grading.runtimes import switches_user

pytestmark = pytest.mark.timeout(60)

CANARY = "sk-canary-" + uuid.uuid4().hex

SCAN = """\
import os
found = []
for name in os.listdir('/proc'):
    if name.isdigit():
        try:
            with open(f'/proc/{name}/environ', 'rb') as handle:
                found.append(handle.read().decode('latin-1'))
        except OSError:
            pass
print(len(found))
print('\\n'.join(found))
"""

# The grader: a fresh process whose start-up environment holds the canary.
GRADER = """\
import json, subprocess, sys
from prober.grading import GradingSettings, SandboxMode, sandbox
from prober.grading.sandbox import Job

scan = sys.stdin.read()
settings = GradingSettings(sandbox=SandboxMode(sys.argv[1]), wall_timeout_s=8.0)
python = sandbox.runtimes.python_executable(settings)
boxed = sandbox.run(Job(argv=(python, "-I", "scan.py"), files={"scan.py": scan}),
                    settings)
control = subprocess.run([python, "-I", "-c", scan], env={}, capture_output=True,
                         text=True, timeout=20, check=True)
print(json.dumps({"outcome": boxed.outcome.value, "boxed": boxed.stdout,
                  "isolation": boxed.isolation, "control": control.stdout}))
"""


def _scan(mode: SandboxMode) -> dict[str, str]:
    env = {**os.environ, "PROBER_TEST_SECRET": CANARY}
    done = subprocess.run(
        [sys.executable, "-c", GRADER, mode.value],
        input=SCAN,
        env=env,
        capture_output=True,
        text=True,
        timeout=45,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.fixture(params=[SandboxMode.ON, SandboxMode.OFF], ids=["bwrap", "rlimits"])
def mode(request: pytest.FixtureRequest) -> SandboxMode:
    if request.param is SandboxMode.ON:
        request.getfixturevalue("bwrap_ready")
    elif not switches_user():
        pytest.skip(
            "the limits-only sandbox runs as the caller's user id without root, "
            "and can then read the caller's environment (a documented limit)"
        )
    return request.param


def test_the_graders_environment_is_not_readable_through_proc(
    mode: SandboxMode,
) -> None:
    scanned = _scan(mode)

    assert CANARY in scanned["control"], "the scan cannot find a leak"
    assert scanned["outcome"] == "ok"
    assert int(scanned["boxed"].split("\n", 1)[0]) >= 1, "the scan read nothing"
    assert CANARY not in scanned["boxed"]
