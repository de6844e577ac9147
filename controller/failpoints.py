"""Crash points for reliability tests: exit abruptly, as SIGKILL would, at a named step.

``DBBACKUP_FAILPOINT=<name>`` (optionally ``<name>:<n>`` to crash on the n-th hit) makes
:func:`FailPoints.hit` end the process with ``os._exit`` — no cleanup, no Lease release, no
flushing — exactly like a killed pod. Names used by the reconciler: ``after-create-job``
(Job created, status not yet written), ``after-status-write`` and ``mid-prune``; by the
restore reconciler: ``after-create-restore-job``.
Unset (production), ``hit`` is a no-op costing one comparison.
"""

from __future__ import annotations

import os
import threading

__all__ = ["FAILPOINT_ENV", "FAILPOINT_EXIT_CODE", "FailPoints"]

FAILPOINT_ENV = "DBBACKUP_FAILPOINT"
FAILPOINT_EXIT_CODE = 137  # what a SIGKILLed container reports (128 + 9)


class FailPoints:
    """Parsed once from the environment; thread-safe hit counting."""

    def __init__(self, spec: str | None = None) -> None:
        spec = os.environ.get(FAILPOINT_ENV, "") if spec is None else spec
        name, _, count = spec.partition(":")
        self._name = name.strip()
        self._remaining = int(count) if count else 1
        self._lock = threading.Lock()

    def hit(self, name: str) -> None:
        if not self._name or name != self._name:
            return
        with self._lock:
            self._remaining -= 1
            if self._remaining > 0:
                return
        os.write(2, f"failpoint {name} reached: exiting abruptly\n".encode())
        os._exit(FAILPOINT_EXIT_CODE)
