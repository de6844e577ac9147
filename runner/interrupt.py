"""SIGTERM and SIGINT as an exception that a library on the way cannot swallow.

Kubernetes stops a Job's pod with SIGTERM (the Job was deleted, or its deadline passed), and
the run must end cleanly: the partial upload aborted, the temporary file removed, exit code
``EXIT_INTERNAL`` with "interrupted by signal SIGTERM". The handler raises :class:`Interrupted`
wherever the signal lands. But botocore wraps any exception raised while it sends a request
into a retryable ``HTTPClientError`` and sends the request again: a SIGTERM that lands there is
lost, and the run goes on, reading a dump whose producer may never close its pipe. So the
signal is also remembered, and the storage layer calls :func:`raise_if_interrupted` after every
call into such a library (docs/design.md §7).
"""

from __future__ import annotations

import signal
from types import FrameType

from runner.errors import RunnerError

__all__ = ["Interrupted", "on_signal", "raise_if_interrupted"]

_received: list[str] = []  # the signals' names, in arrival order


class Interrupted(RunnerError):
    """SIGTERM or SIGINT arrived (the Job was deleted or its deadline passed)."""


def on_signal(signum: int, frame: FrameType | None) -> None:
    """The handler for SIGTERM and SIGINT: remember the signal, then raise."""
    name = signal.Signals(signum).name
    _received.append(name)
    raise Interrupted(f"interrupted by signal {name}")


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` if a signal arrived, even one whose exception was lost."""
    if _received:
        raise Interrupted(f"interrupted by signal {_received[0]}")
