"""``python -m grafana.generator [--check]``: write or check the dashboards."""

from __future__ import annotations

import argparse
import sys

from grafana.generator import render_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grafana.generator")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a committed dashboard differs",
    )
    args = parser.parse_args(argv)
    stale = []
    for path, text in render_all().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text)
    verb = "differs from the generator" if args.check else "written"
    for path in stale:
        sys.stderr.write(f"{path}: {verb}\n")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
