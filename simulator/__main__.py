"""``python -m simulator``: serve the simulator until SIGTERM or SIGINT.

Prints exactly one line to stdout, ``listening on http://HOST:PORT``, once the
server accepts connections; everything else goes to stderr as log lines.
"""

import argparse
import logging
import sys

from simulator.banks import BankError
from simulator.profiles import ProfileError
from simulator.server import run_server


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        run_server(
            args.host, args.port, args.profiles, args.seed, on_listening=_announce
        )
    except (ProfileError, BankError) as exc:
        logging.getLogger("simulator").error("%s", exc)
        return 2
    except OSError as exc:
        logging.getLogger("simulator").error(
            "cannot listen on %s port %d: %s", args.host, args.port, exc
        )
        return 1
    return 0


def _announce(url: str) -> None:
    # The one line of stdout: whoever started us reads the port from it.
    print(f"listening on {url}", flush=True)  # noqa: T201


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Serve an OpenAI-compatible simulator of prober's models.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to bind (default %(default)s); 0 picks a free one",
    )
    parser.add_argument(
        "--profiles", metavar="FILE", help="profile file laid over the built-in one"
    )
    parser.add_argument("--seed", type=int, help="seed for a repeatable run")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level on stderr",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
