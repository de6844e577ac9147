"""Injected time: wall-clock ``now()``, ``monotonic()`` for durations, and interruptible sleeps.

Every component that waits or reads the time takes a :class:`Clock`, so tests step a
:class:`FakeClock` instead of sleeping, and the sandbox runs a :class:`ScaledClock` that moves
faster than real time. ``now()`` is for schedules and timestamps written to the API;
``monotonic()`` is for timeouts and lease expiry (it never jumps when the wall clock does).
``sleep(seconds, stop)`` returns early, with ``True``, as soon as ``stop`` is set.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FakeClock", "RealClock", "ScaledClock"]


class Clock(Protocol):
    """A source of time. ``now()`` is timezone-aware UTC."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait ``seconds`` of this clock's time; return True if ``stop`` was set meanwhile."""
        ...


class RealClock:
    """The machine's clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is None:
            stop = threading.Event()
        return stop.wait(max(0.0, seconds))


@dataclass
class ScaledClock:
    """A clock running ``speed`` times faster than real time (the sandbox's and tests' clock).

    Virtual time is ``start + (real_now - origin) * speed`` where ``origin`` is a real Unix
    time: two processes given the same (start, origin, speed) agree on the time, so the API
    emulator and an operator subprocess can share one virtual clock. ``monotonic()`` is scaled
    too, so leases, backoffs and schedules keep their proportions; ``sleep(s)`` waits
    ``s / speed`` real seconds.
    """

    speed: float = 1.0
    start: datetime | None = None
    origin: float | None = None
    _origin: float = field(init=False)
    _virtual_start: datetime = field(init=False)

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError(f"clock speed must be positive, got {self.speed}")
        self._origin = time.time() if self.origin is None else self.origin
        self._virtual_start = self.start or datetime.fromtimestamp(self._origin, UTC)

    def _elapsed(self) -> float:
        return (time.time() - self._origin) * self.speed

    def now(self) -> datetime:
        return self._virtual_start + timedelta(seconds=self._elapsed())

    def monotonic(self) -> float:
        return time.monotonic() * self.speed

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is None:
            stop = threading.Event()
        return stop.wait(max(0.0, seconds) / self.speed)


class FakeClock:
    """A clock that only moves when a test calls :meth:`step` (or :meth:`set`).

    ``sleep`` blocks until enough fake time has passed or ``stop`` is set; stepping wakes
    every sleeper whose deadline was reached, so threaded code can be driven deterministically.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2025, 3, 27, 0, 0, 0, tzinfo=UTC)
        self._mono = 1000.0
        self._cond = threading.Condition()
        self._deadlines: list[float] = []  # one per thread inside ``sleep``

    def now(self) -> datetime:
        with self._cond:
            return self._now

    def monotonic(self) -> float:
        with self._cond:
            return self._mono

    def step(self, seconds: float) -> None:
        """Advance both clocks by ``seconds`` and wake sleepers that are now due."""
        with self._cond:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds
            self._cond.notify_all()

    def set(self, when: datetime) -> None:
        """Jump the wall clock (possibly backwards); the monotonic clock is untouched."""
        with self._cond:
            self._now = when
            self._cond.notify_all()

    def blocked(self) -> int:
        """How many threads sleep until a time not yet reached: a test that steps only while
        the code under test is blocked never moves time under a thread that is still working
        (which a loaded machine would otherwise let it do)."""
        with self._cond:
            return sum(1 for deadline in self._deadlines if deadline > self._mono)

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        with self._cond:
            deadline = self._mono + max(0.0, seconds)
            self._deadlines.append(deadline)
            try:
                while self._mono < deadline:
                    if stop is not None and stop.is_set():
                        return True
                    # Poll ``stop`` too: an Event cannot notify this condition.
                    self._cond.wait(0.01)
            finally:
                self._deadlines.remove(deadline)
        return stop is not None and stop.is_set()
