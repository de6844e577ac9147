"""SIGTERM / SIGINT handling for the operator process (controller-runtime's ``signals``).

:func:`setup_signal_handler` installs handlers for SIGTERM and SIGINT and returns a
``threading.Event``:

* the first signal sets the Event: the Manager stops taking work, drains running reconciles
  within its grace period, releases the Lease and returns 0;
* a second signal ends the process at once with exit code 1 via ``os._exit`` — for an operator
  stuck in its shutdown. This handler is the **only** place in the library allowed to end the
  process (everything else returns and lets the CLI choose the exit code).

Non-goals: other signals (SIGHUP reload and the like), running off the main thread (Python
only lets the main thread install signal handlers; a ``ValueError`` says so).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

__all__ = ["SHUTDOWN_SIGNALS", "setup_signal_handler"]

log = logging.getLogger(__name__)

SHUTDOWN_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)
_FORCED_EXIT_CODE = 1  # controller-runtime's second-signal os.Exit(1)

_installed = False
_installed_lock = threading.Lock()


def setup_signal_handler(
    signals: tuple[signal.Signals, ...] = SHUTDOWN_SIGNALS,
    *,
    exit_now: Callable[[int], object] = os._exit,
) -> threading.Event:
    """Install the handlers and return the Event the first signal sets.

    May be called once per process, from the main thread (controller-runtime panics on a
    second call; this raises ``RuntimeError``). ``exit_now`` exists for tests of the handler
    logic in a child process; production code keeps ``os._exit``.
    """
    global _installed
    with _installed_lock:
        if _installed:
            raise RuntimeError("setup_signal_handler may be called only once per process")
        _installed = True
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            # Logging from a signal handler may deadlock on a handler's lock held by the
            # interrupted frame; a raw write cannot.
            os.write(2, f"second {name} received: exiting now\n".encode())
            exit_now(_FORCED_EXIT_CODE)
            return
        stop.set()
        log.info("shutdown signal received, stopping gracefully", extra={"signal": name})

    for sig in signals:
        signal.signal(sig, handle)
    return stop
