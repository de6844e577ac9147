"""How many of this machine's cores were busy over a span of time: ``/proc/stat``, sampled.

Role: the real-server benchmark (:mod:`bench.real`) on a machine that the API server and etcd
share with the program measured. There the server is bound by the cores it gets, not by its
requests in flight (docs/performance.md): every core is busy in the herd and in the floors
alike, and what the operator (or the floor's client) and the benchmark itself do not use is
what the server and etcd are left with. :class:`MachineCpu` samples the machine's busy time and
this process's own CPU time in the background, so a span known only afterwards (the floor's
child reports when it began and ended) can still be measured. Guarantees: a span's ends are
read between the samples around them (:data:`SAMPLE_INTERVAL` apart); a span the samples do
not enclose, or a machine without ``/proc/stat``, gives None. Non-goals: which process used
the cores (the caller knows the program's CPU time); other operating systems.
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

# Seconds between samples: a span's ends are read between the samples around them, so what
# blurs is only how the load changed within one interval at each end (a floor of 1,000 Jobs
# lasts about a second).
SAMPLE_INTERVAL = 0.05
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
    seconds: float


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
        """Mean busy cores from ``start`` to ``end``, each end read between the two samples
        around it as if the cores were busy at an even rate between them; None when the
        samples do not enclose the span."""
        with self._lock:
            times, samples = list(self._times), list(self._samples)
        if end <= start or not times or start < times[0] or end > times[-1]:
            return None
        (busy0, own0), (busy1, own1) = _at(times, samples, start), _at(times, samples, end)
        seconds = end - start
        return Busy(machine=(busy1 - busy0) / seconds, own=(own1 - own0) / seconds,
                    seconds=seconds)  # fmt: skip


def _at(times: list[float], samples: list[tuple[float, float]], when: float) -> tuple[float, float]:
    """The cumulative (machine busy, own CPU) seconds at ``when``, read linearly between the
    samples around it (``times[0] <= when <= times[-1]``)."""
    after = bisect.bisect_left(times, when)
    if times[after] == when:
        return samples[after]
    before = after - 1
    share = (when - times[before]) / (times[after] - times[before])
    (busy0, own0), (busy1, own1) = samples[before], samples[after]
    return busy0 + share * (busy1 - busy0), own0 + share * (own1 - own0)
