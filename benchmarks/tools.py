"""How each tool in the fidelity benchmark is run and read back.

Every tool runs in its own process against the truth server and yields a
list of :class:`Measured`: the tool's own TTFT and ITL for one request, and
the key that finds the server's record of the same request (``tag``, from
the prompt or the ``X-Request-ID`` header, or ``seq``, from the response id
``chatcmpl-truth-N``).

* ``prober`` and ``openai`` run :mod:`benchmarks.fidelity_client` in this
  environment.
* ``guidellm`` and ``aiperf`` run their own command-line tools from the
  virtual environments ``benchmarks/peers/install.sh`` makes under
  ``benchmarks/.peers/``; they are never prober dependencies. Neither can
  fetch a tokenizer here (no network beyond package registries), so guidellm
  gets its prompts as an in-memory list and aiperf gets a word-level
  tokenizer built locally with the ``tokenizers`` package it ships with.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import ROOT

PEERS = ROOT / "benchmarks" / ".peers"
_TIMEOUT_S = 900


@dataclass(frozen=True, slots=True)
class Measured:
    key: str
    ok: bool
    ttft_s: float | None
    itl_s: float | None


@dataclass(frozen=True, slots=True)
class Run:
    """What a tool measured at one concurrency level."""

    key_kind: str  # "tag" or "seq"
    measured: list[Measured]
    notes: str = ""
    client_cpu: float | None = None  # share of one core, where known


class Tool:
    name = ""

    def status(self) -> str | None:
        """``None`` when runnable, else why not."""
        return None

    def version(self) -> str:
        return ""

    def run(
        self, url: str, concurrency: int, requests: int, tokens: int, workdir: Path
    ) -> Run:
        raise NotImplementedError


class InProcessClient(Tool):
    """prober's client or the openai SDK, via benchmarks.fidelity_client."""

    def __init__(self, name: str) -> None:
        self.name = name

    def version(self) -> str:
        from importlib.metadata import version

        return version(self.name)

    def run(
        self, url: str, concurrency: int, requests: int, tokens: int, workdir: Path
    ) -> Run:
        out = workdir / f"{self.name}-{concurrency}.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.fidelity_client",
            f"--client={self.name}",
            f"--url={url}",
            f"--concurrency={concurrency}",
            f"--requests={requests}",
            f"--tokens={tokens}",
            f"--tag-prefix={self.name}-",
            f"--out={out}",
        ]
        subprocess.run(command, check=True, cwd=ROOT, timeout=_TIMEOUT_S)
        result = json.loads(out.read_text())
        measured = [
            Measured(s["tag"], s["ok"], s["ttft_s"], s["itl_s"])
            for s in result["samples"]
        ]
        clock = result["clock"]
        notes = (
            f"clock check: {clock['rounds']} rounds, server reading outside "
            f"the client's bracket by at most {clock['largest_outside_us']:.1f} us"
        )
        return Run("tag", measured, notes, result["client_cpu"])


class PeerTool(Tool):
    """A tool installed in its own environment under benchmarks/.peers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.home = PEERS / name
        self.bin = self.home / "venv" / "bin"

    def status(self) -> str | None:
        if (self.home / "version").exists() and (self.bin / self.name).exists():
            return None
        log = self.home / "install.log"
        if log.exists():
            lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
            reason = lines[-1][:160] if lines else "empty install log"
            return f"install failed: {reason}"
        return "not installed (run benchmarks/peers/install.sh)"

    def version(self) -> str:
        path = self.home / "version"
        return path.read_text().strip() if path.exists() else ""

    def _call(self, command: list[str], workdir: Path, label: str) -> None:
        """Run the tool in its own session; whatever it leaves running (both
        tools start worker processes) is ended before the next tool starts."""
        log = workdir / f"{label}.log"
        with log.open("w") as handle:
            process = subprocess.Popen(
                command,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=_peer_env(),
                start_new_session=True,
            )
            try:
                returncode = process.wait(timeout=_TIMEOUT_S)
            finally:
                _end_session(process.pid)
        if returncode != 0:
            tail = log.read_text().strip().splitlines()[-5:]
            raise RuntimeError(f"{self.name} failed ({log}): " + " | ".join(tail))


class GuideLLM(PeerTool):
    def __init__(self) -> None:
        super().__init__("guidellm")

    def run(
        self, url: str, concurrency: int, requests: int, tokens: int, workdir: Path
    ) -> Run:
        out = workdir / f"guidellm-{concurrency}.json"
        # One prompt per request: guidellm stops when its data runs out.
        prompts = [
            {"prompt": f"Write a haiku about latency, {n}."} for n in range(requests)
        ]
        scenario = {
            "spec": {
                "backend": {
                    "kind": "openai_http",
                    "target": url,
                    "model": "truth",
                    "max_tokens": tokens,
                    "http2": False,
                },
                "profile": {"kind": "concurrent", "streams": [concurrency]},
                "constraints": [{"kind": "max_requests", "count": requests}],
                "data": [{"kind": "in_memory_dict_list", "data": prompts}],
                "outputs": [{"kind": "json", "path": str(out)}],
            }
        }
        path = workdir / f"guidellm-{concurrency}-scenario.json"
        path.write_text(json.dumps(scenario))
        command = [
            str(self.bin / "guidellm"),
            "run",
            "--scenario",
            str(path),
            "--disable-console",
        ]
        self._call(command, workdir, f"guidellm-{concurrency}")
        report = json.loads(out.read_text())
        measured = []
        for benchmark in report["benchmarks"]:
            groups = benchmark["requests"]
            for group in ("successful", "errored", "incomplete"):
                for stats in groups.get(group) or []:
                    seq = (stats.get("response_id") or "").rsplit("-", 1)[-1]
                    ttft = stats.get("time_to_first_token_ms")
                    itl = stats.get("inter_token_latency_ms")
                    measured.append(
                        Measured(
                            seq,
                            group == "successful" and ttft is not None,
                            ttft / 1000 if ttft is not None else None,
                            itl / 1000 if itl is not None else None,
                        )
                    )
        return Run("seq", measured)


class AIPerf(PeerTool):
    def __init__(self) -> None:
        super().__init__("aiperf")

    def run(
        self, url: str, concurrency: int, requests: int, tokens: int, workdir: Path
    ) -> Run:
        tokenizer = self._tokenizer()
        artifacts = workdir / f"aiperf-{concurrency}"
        command = [
            str(self.bin / "aiperf"),
            "profile",
            "--model=truth",
            f"--url={url}",
            "--endpoint-type=chat",
            "--streaming",
            f"--concurrency={concurrency}",
            f"--request-count={requests}",
            f"--tokenizer={tokenizer}",
            f"--output-tokens-mean={tokens}",
            "--synthetic-input-tokens-mean=16",
            "--use-server-token-count",
            "--export-level=records",
            f"--artifact-dir={artifacts}",
            "--ui=none",
            "--no-server-metrics",
        ]
        self._call(command, workdir, f"aiperf-{concurrency}")
        measured = []
        with (artifacts / "profile_export.jsonl").open() as handle:
            for line in handle:
                record = json.loads(line)
                metrics = record.get("metrics") or {}
                ttft = (metrics.get("time_to_first_token") or {}).get("value")
                itl = (metrics.get("inter_token_latency") or {}).get("value")
                measured.append(
                    Measured(
                        record["metadata"]["x_request_id"],
                        ttft is not None and not record.get("error"),
                        ttft / 1000 if ttft is not None else None,
                        itl / 1000 if itl is not None else None,
                    )
                )
        return Run("tag", measured, "tokenizer: local word-level (no network)")

    def _tokenizer(self) -> Path:
        """A word-level tokenizer made here: aiperf's own choices all download."""
        path = self.home / "tokenizer"
        if (path / "tokenizer.json").exists():
            return path
        script = _TOKENIZER_SCRIPT.format(path=str(path))
        subprocess.run(
            [str(self.bin / "python"), "-c", script], check=True, env=_peer_env()
        )
        return path


_TOKENIZER_SCRIPT = """
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
words = ["[UNK]"] + [f"w{{n}}" for n in range(100)] + "Write a haiku about".split()
vocab = {{word: number for number, word in enumerate(dict.fromkeys(words))}}
core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
core.pre_tokenizer = pre_tokenizers.Whitespace()
PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]").save_pretrained(
    {path!r}
)
"""


def _end_session(leader: int) -> None:
    """SIGTERM, then SIGKILL, to processes left in the session ``leader`` led."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(leader, sig)
        except ProcessLookupError:
            return
        time.sleep(1.0)


def _peer_env() -> dict[str, str]:
    # HF_HUB_OFFLINE is not set on purpose: with it, aiperf 0.13 refuses a
    # local tokenizer path as an invalid repository id.
    env = dict(os.environ)
    env.update(NO_COLOR="1")
    return env


TOOLS: dict[str, Tool] = {
    "prober": InProcessClient("prober"),
    "aiohttp": InProcessClient("aiohttp"),
    "openai": InProcessClient("openai"),
    "guidellm": GuideLLM(),
    "aiperf": AIPerf(),
}
