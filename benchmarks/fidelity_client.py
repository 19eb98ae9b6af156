"""One client's side of the fidelity benchmark, run as its own process.

    python -m benchmarks.fidelity_client --client prober --url URL \
        --concurrency 50 --requests 200 --tokens 32 --out samples.json

Keeps ``--concurrency`` streams open at once (a closed loop: each worker
starts its next request when the last one ends) until ``--requests`` have
run, and writes every :class:`~benchmarks.clients.Sample` plus a clock check
against the server as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from pathlib import Path

from benchmarks.clients import CLIENTS, Sample, clock_check, make_client


async def run(
    name: str, url: str, concurrency: int, requests: int, tokens: int, prefix: str
) -> dict[str, object]:
    clock = await clock_check(url)
    numbers = itertools.count()
    samples: list[Sample] = []
    wall, cpu = time.perf_counter(), time.process_time()

    async with make_client(name, url + "/v1") as client:

        async def worker() -> None:
            while (number := next(numbers)) < requests:
                tag = f"{prefix}{number}"
                try:
                    samples.append(await client.stream(tag, tokens))
                except Exception as exc:  # a failure is a result here
                    samples.append(Sample(tag, False, error=repr(exc)[:200]))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "clock": clock,
        "client_cpu": cpu / wall,
        "samples": [s.as_dict() for s in samples],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fidelity_client")
    parser.add_argument("--client", choices=sorted(CLIENTS), required=True)
    parser.add_argument("--url", required=True, help="truth server base URL")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--tag-prefix", default="", help="prefix of request tags")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = asyncio.run(
        run(
            args.client,
            args.url,
            args.concurrency,
            args.requests,
            args.tokens,
            args.tag_prefix,
        )
    )
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
