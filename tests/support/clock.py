"""A virtual clock that a test starts once its objects are set up, as the sandbox starts its own.

A test at 60x that creates a backup a minute before its slot, with the clock already running,
loses that slot whenever setting up (server, CRDs, Secrets, the backup) takes more than a real
second — which a loaded machine does. :class:`HeldClock` reads ``start`` until :meth:`run`,
so everything created before is stamped ``start``, then runs as the
:class:`~manager.clock.ScaledClock` whose ``origin`` the operator is given: the slot comes round
after the operator is launched, however slow the set-up was.
"""

from __future__ import annotations

import time
from datetime import datetime

from manager.clock import ScaledClock


class HeldClock:
    """``start`` until :meth:`run`, then ``ScaledClock(speed, start, origin=<run's time>)``."""

    def __init__(self, *, speed: float, start: datetime) -> None:
        self.speed = speed
        self.start = start
        self._running: ScaledClock | None = None

    def run(self) -> float:
        """Start the clock now (once); returns its origin, for the operator's --clock-origin."""
        if self._running is None:
            self._running = ScaledClock(speed=self.speed, start=self.start, origin=time.time())
        return self.origin

    @property
    def origin(self) -> float:
        if self._running is None or self._running.origin is None:
            raise RuntimeError("the clock has not been started (HeldClock.run)")
        return self._running.origin

    def now(self) -> datetime:
        running = self._running
        return self.start if running is None else running.now()
