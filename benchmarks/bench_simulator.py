"""How many concurrent streams one simulator process sustains on one core.

Starts ``python -m simulator`` pinned to one CPU with a benchmark model whose
timing has no randomness (first token after 0.2 s, then one token per chunk at
a fixed speed, no load slowdown, no faults), opens N concurrent streams from
this process pinned to another CPU, and reports for each N:

- chunks/s: chunks of generated text delivered per second, all streams;
- added TTFT: measured time to first token minus the profile's 0.2 s;
- added e2e: measured end-to-end minus what the profile asks for;
- server CPU: the simulator process's CPU use while the streams ran.

The client speaks raw HTTP/1.1 over asyncio streams and only counts bytes, so
it costs far less than the server and does not bound what is measured.

    python benchmarks/bench_simulator.py --quick     # under a minute
    python benchmarks/bench_simulator.py --levels 500,1000,2000
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MODEL = "bench"
FIRST_TOKEN_S = 0.2
_CONTENT = b'"delta":{"content":"'
_DONE = b"data: [DONE]"

PROFILE = f"""
[models.{MODEL}]
capacity = 1000000
queue = 0
prefill_tokens_per_s = 1e12
ttft = {{ median_s = {FIRST_TOKEN_S}, sigma = 0.0 }}
decode = {{ median_tokens_per_s = TOKENS_PER_S, sigma = 0.0, chunk_jitter = 0.0 }}
"""


@dataclass
class StreamResult:
    ok: bool
    ttft_s: float = 0.0
    e2e_s: float = 0.0
    chunks: int = 0


@dataclass
class LevelResult:
    streams: int
    failed: int
    chunks_per_s: float
    added_ttft_ms: tuple[float, float, float]
    added_e2e_ms: tuple[float, float, float]
    server_cpu: float


async def one_stream(port: int, body: bytes, start_at: float) -> StreamResult:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start_at - loop.time()))
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nAuthorization: Bearer bench\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return StreamResult(ok=False)
    started = time.perf_counter()
    writer.write(request)
    first = 0.0
    chunks = 0
    tail = b""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                return StreamResult(ok=False)
            found = data.count(_CONTENT)
            if found and not first:
                first = time.perf_counter()
            chunks += found
            if _DONE in tail + data:
                break
            tail = data[-16:]
    except OSError:
        return StreamResult(ok=False)
    finally:
        writer.close()
    ended = time.perf_counter()
    return StreamResult(
        ok=True, ttft_s=first - started, e2e_s=ended - started, chunks=chunks
    )


async def run_level(
    port: int, pid: int, streams: int, tokens: int, tokens_per_s: float, ramp_s: float
) -> LevelResult:
    body = json.dumps(
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": "benchmark"}],
            "stream": True,
            "max_tokens": tokens,
        }
    ).encode()
    loop = asyncio.get_running_loop()
    begin = loop.time() + 0.1
    cpu_before, wall_before = process_cpu_s(pid), time.perf_counter()
    results = await asyncio.gather(
        *(one_stream(port, body, begin + ramp_s * i / streams) for i in range(streams))
    )
    cpu_used, wall = process_cpu_s(pid) - cpu_before, time.perf_counter() - wall_before

    good = [r for r in results if r.ok]
    expected_e2e = FIRST_TOKEN_S + (tokens - 1) / tokens_per_s
    return LevelResult(
        streams=streams,
        failed=len(results) - len(good),
        chunks_per_s=sum(r.chunks for r in good) / wall,
        added_ttft_ms=spread([(r.ttft_s - FIRST_TOKEN_S) * 1000 for r in good]),
        added_e2e_ms=spread([(r.e2e_s - expected_e2e) * 1000 for r in good]),
        server_cpu=cpu_used / wall,
    )


def spread(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return statistics.median(ordered), p95, ordered[-1]


def triple(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.0f}" for value in values)


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_simulator(profile_path: str) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "simulator", "--port", "0", "--seed", "1"]
    command += ["--profiles", profile_path, "--log-level", "WARNING"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, preexec_fn=pin_to(0)
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return process, int(line.rsplit(":", 1)[1])


def pin_to(cpu: int) -> Callable[[], None]:
    cpus = sorted(os.sched_getaffinity(0))

    def pin() -> None:
        if len(cpus) > 1:
            os.sched_setaffinity(0, {cpus[cpu]})

    return pin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="two levels, short streams"
    )
    parser.add_argument("--levels", default="250,500,1000,1500", help="stream counts")
    parser.add_argument("--tokens", type=int, default=240, help="tokens per stream")
    parser.add_argument("--tokens-per-s", type=float, default=40.0, help="decode speed")
    args = parser.parse_args()
    levels = [250, 500] if args.quick else [int(x) for x in args.levels.split(",")]
    tokens = 120 if args.quick else args.tokens

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as file:
        file.write(PROFILE.replace("TOKENS_PER_S", str(args.tokens_per_s)))
    process, port = start_simulator(file.name)
    pin_to(1)()
    print(
        f"simulator pid {process.pid} on one CPU; {tokens} tokens per stream at "
        f"{args.tokens_per_s:g} tokens/s, 1 token per chunk, first token at "
        f"{FIRST_TOKEN_S}s"
    )
    print(
        f"{'streams':>8} {'failed':>6} {'chunks/s':>9} {'server CPU':>10} "
        f"{'added TTFT ms p50/p95/max':>27} {'added e2e ms p50/p95/max':>26}"
    )
    try:
        for streams in levels:
            result = asyncio.run(
                run_level(port, process.pid, streams, tokens, args.tokens_per_s, 1.0)
            )
            print(
                f"{result.streams:>8} {result.failed:>6} {result.chunks_per_s:>9.0f} "
                f"{result.server_cpu:>9.0%} "
                f"{triple(result.added_ttft_ms):>27} {triple(result.added_e2e_ms):>26}",
                flush=True,
            )
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.unlink(file.name)


if __name__ == "__main__":
    main()
