"""The ``dbbackup-runner`` console script's first step: a clear line when the runner's own
dependencies are missing.

The project ships one distribution, so the operator image (which installs it without the
``runner`` extra) has this script too. Run there, it must not crash with a traceback: it says
which dependency is missing and how to get it, and exits with the contract's configuration
code. Everything else is :func:`runner.cli.main`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from api.v1alpha1.contract import EXIT_CONFIG

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Import the runner, then run it; a missing third-party module is a configuration error."""
    try:
        from runner.cli import main as run
    except ModuleNotFoundError as err:
        print(
            f"dbbackup-runner: missing Python module {err.name!r}: this install lacks the "
            "runner's dependencies (use the runner image, or pip install "
            "'dbbackup-operator[runner]')",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    return run(argv)
