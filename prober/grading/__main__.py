"""``python -m prober.grading``: install the npm packages the grader uses.

The setup step for hosts and CI; the CLI exposes the same as a subcommand.
Exits 1 with the reason when npm is missing or ``npm ci`` fails.
"""

import logging
import sys

from prober.grading.npm import NodeSetupError, install_node_packages

logger = logging.getLogger("prober.grading")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        install_node_packages()
    except NodeSetupError as exc:
        logger.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
