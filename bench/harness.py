"""Process plumbing for the benchmarks: the emulator host, the clients, and what they cost.

Role: start the emulator host (:mod:`bench.emulator_host`) and the programs under test as
separate processes pinned to separate CPUs where the machine has two, talk to the host, and
read each process's CPU time and memory from ``/proc``. Guarantees: every process started here
is stopped by :meth:`Proc.stop` (SIGTERM, then SIGKILL after a bound); nothing binds anything
but 127.0.0.1. Non-goals: Windows/macOS (``/proc`` and ``sched_setaffinity`` are Linux's).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HOST_ANSWER_TIMEOUT = 900.0  # seconds; seeding 50k objects takes minutes
STOP_TIMEOUT = 30.0  # seconds a process gets after SIGTERM


def cpus() -> tuple[int | None, int | None]:
    """(CPU for the program under test, CPU for the API server), or Nones on one CPU."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return available[0], available[1]


OPERATOR_MODULE = "app"
"""What ``python -m`` runs to start the operator (its composition root, ``app/__main__.py``)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_kubeconfig(url: str, token: str) -> Path:
    """A kubeconfig for ``url`` (plain HTTP on loopback) with a bearer token."""
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "bench",
        "clusters": [{"name": "bench", "cluster": {"server": url}}],
        "users": [{"name": "bench", "user": {"token": token}}],
        "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}],
    }  # fmt: skip
    path = Path(tempfile.mkdtemp(prefix="dbbackup-bench-")) / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


@dataclass(frozen=True, kw_only=True)
class ProcStats:
    cpu_seconds: float
    rss_bytes: int
    peak_rss_bytes: int


def proc_stats(pid: int) -> ProcStats:
    """CPU time (user + system, all threads) and current/peak RSS of ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    rss = peak = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return ProcStats(cpu_seconds=cpu, rss_bytes=rss, peak_rss_bytes=peak)


class Proc:
    """A child process pinned to ``cpu`` (if given), its output in a log file."""

    def __init__(
        self, args: Sequence[str], *, cpu: int | None, env: dict[str, str] | None = None
    ) -> None:
        self.log_path = Path(tempfile.mkstemp(prefix="bench-", suffix=".log")[1])
        self._log = self.log_path.open("wb")
        pin: Callable[[], None] | None = None
        if cpu is not None:
            target = cpu

            def pin() -> None:
                os.sched_setaffinity(0, {target})

        self.started = time.time()
        self.proc = subprocess.Popen(
            list(args), cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, preexec_fn=pin,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    def stats(self) -> ProcStats:
        return proc_stats(self.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = int(self.proc.wait(STOP_TIMEOUT))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = int(self.proc.wait(STOP_TIMEOUT))
        self._log.close()
        return code

    def tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Host:
    """The emulator host process and its line protocol (see :mod:`bench.emulator_host`)."""

    def __init__(self, cpu: int | None) -> None:
        pin: Callable[[], None] | None = None
        if cpu is not None:
            target = cpu

            def pin() -> None:
                os.sched_setaffinity(0, {target})

        self.log_path = Path(tempfile.mkstemp(prefix="bench-emulator-", suffix=".log")[1])
        with self.log_path.open("wb") as log:  # the server's own tracebacks (client hang-ups)
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench.emulator_host"], cwd=ROOT, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, text=True, preexec_fn=pin,
            )  # fmt: skip
        first = self._read()
        self.url = str(first["url"])
        self.pid = int(first["pid"])

    def _read(self) -> dict[str, Any]:
        stdout: IO[str] | None = self.proc.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"emulator host exited ({self.proc.poll()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"emulator host: {answer['error']}")
        return answer

    def call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        stdin.flush()
        return self._read()

    def stats(self) -> ProcStats:
        return proc_stats(self.pid)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.close()
                self.proc.wait(STOP_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)


@dataclass(frozen=True, kw_only=True)
class VirtualTime:
    """The shared clock: virtual ``start`` at real Unix time ``origin``, ``speed`` times faster."""

    start: datetime
    origin: float
    speed: float

    def real(self, virtual: datetime) -> float:
        return self.origin + (virtual - self.start).total_seconds() / self.speed

    def virtual(self, real: float) -> datetime:
        return self.start + timedelta(seconds=(real - self.origin) * self.speed)

    def flags(self) -> list[str]:
        return ["--clock-start", self.start.isoformat(), "--clock-origin", repr(self.origin),
                "--clock-speed", str(self.speed)]  # fmt: skip

    def env(self) -> dict[str, str]:
        return {
            "BENCH_CLOCK_START": self.start.isoformat(),
            "BENCH_CLOCK_ORIGIN": repr(self.origin),
            "BENCH_CLOCK_SPEED": str(self.speed),
        }


def sleep_until(real: float) -> None:
    """Wait for the wall clock (the driver's own waiting; not library code)."""
    while (left := real - time.time()) > 0:
        time.sleep(min(left, 0.5))


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:
        return 0


def http_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode())


def poll(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.01) -> float:
    """Poll until ``check()``; returns the real time it first held. Raises on timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return time.time()
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
