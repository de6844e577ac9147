"""How many of this machine's cores were busy over a span of time: ``/proc/stat``, sampled.

Role: the real-server benchmark (:mod:`bench.real`) on a machine that the API server and etcd
share with the program measured. There the server is bound by the cores it gets, not by its
requests in flight (docs/performance.md): every core is busy in the herd and in the floors
alike, and what the operator (or the floor's client) and the benchmark itself do not use is
what the server and etcd are left with. :class:`MachineCpu` samples the machine's busy time and
this process's own CPU time in the background, so a span known only afterwards (the floor's
child reports when it began and ended) can still be measured. Guarantees: spans are measured
between the samples that enclose them (at most :data:`SAMPLE_INTERVAL` wider on each side);
a span without enclosing samples, or a machine without ``/proc/stat``, gives None. Non-goals:
which process used the cores (the caller knows the program's CPU time); other operating
systems.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SAMPLE_INTERVAL", "Busy", "MachineCpu", "busy_ticks"]

SAMPLE_INTERVAL = 0.25  # seconds between samples; a span is measured to within one each side
PROC_STAT = Path("/proc/stat")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def busy_ticks(stat: str) -> int:
    """Clock ticks every CPU spent busy since boot, from ``/proc/stat``'s first line: user,
    nice, system, irq, softirq and steal; not idle or iowait (``proc(5)``; guest time is
    already counted in user)."""
    fields = stat.split("\n", 1)[0].split()
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        raise ValueError(f"not the aggregate line of /proc/stat: {fields[:1]}")
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return user + nice + system + irq + softirq + steal


def _read_busy_seconds() -> float:
    return busy_ticks(PROC_STAT.read_text()) / TICKS


@dataclass(frozen=True)
class Busy:
    """Mean cores busy over a span: the whole machine's and this process's own."""

    machine: float
    own: float
    seconds: float  # the span actually measured (between the enclosing samples)


class MachineCpu:
    """Background samples of (wall time, machine busy seconds, own CPU seconds); a caller
    that needs a span measured at once takes a :meth:`sample` after it ends."""

    def __init__(
        self,
        *,
        interval: float = SAMPLE_INTERVAL,
        read_busy: Callable[[], float] = _read_busy_seconds,
        own_cpu: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._interval = interval
        self._read_busy = read_busy
        self._own_cpu = own_cpu
        self._clock = clock
        self._times: list[float] = []
        self._samples: list[tuple[float, float]] = []  # (machine busy s, own CPU s)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> bool:
        """Take one sample now; False where the machine has no ``/proc/stat``."""
        with self._lock:  # read and kept in one hold: the samples stay in time order
            try:
                busy = self._read_busy()
            except (OSError, ValueError):
                return False
            self._times.append(self._clock())
            self._samples.append((busy, self._own_cpu()))
        return True

    def start(self) -> None:
        """Sample every ``interval`` until :meth:`stop` (nothing if the first sample fails)."""
        if not self.sample():
            return
        self._thread = threading.Thread(target=self._run, name="machine-cpu", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def busy(self, start: float, end: float) -> Busy | None:
        """Mean busy cores from the last sample at or before ``start`` to the first at or
        after ``end``; None when the samples do not enclose the span."""
        with self._lock:
            times, samples = list(self._times), list(self._samples)
        first = bisect.bisect_right(times, start) - 1
        last = bisect.bisect_left(times, end)
        if end < start or first < 0 or last >= len(times) or times[last] <= times[first]:
            return None
        seconds = times[last] - times[first]
        (busy0, own0), (busy1, own1) = samples[first], samples[last]
        return Busy(machine=(busy1 - busy0) / seconds, own=(own1 - own0) / seconds,
                    seconds=seconds)  # fmt: skip
