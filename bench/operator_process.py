"""The operator as a benchmark process: started as a user starts it, and measured at rest.

Role: one way to launch the operator for every workload, on the emulator (``bench.workloads``)
and on a real cluster (``bench.real``), and one definition of its memory "at start".
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import OPERATOR_MODULE, Proc, free_port, http_status, poll

__all__ = ["empty_start_figures", "launch_operator"]


def empty_start_figures(proc: Proc, ready: str, timeout: float, settle: float) -> dict[str, Any]:
    """The operator's memory "at start": once ``ready`` answers 200 (caches synced on an empty
    cluster) and ``settle`` seconds have passed, its RSS, then its exit code on SIGTERM (the
    process is stopped whatever happens)."""
    try:
        synced = poll(lambda: http_status(ready) == 200, timeout, "ready (empty)")
        time.sleep(settle)
        stats = proc.stats()
        return {"synced_s": synced - proc.started, "rss_bytes": stats.rss_bytes,
                "exit_code": proc.stop()}  # fmt: skip
    finally:
        if proc.alive():
            proc.stop()


def launch_operator(
    kubeconfig: str | Path,
    flags: Sequence[str],
    *,
    cpu: int | None = None,
    program: Sequence[str] = ("-m", OPERATOR_MODULE),
) -> tuple[Proc, str, str]:
    """Start the operator as a user would (``python -m app``, or ``program`` wrapping it) on
    free loopback ports, plain-HTTP metrics, with ``flags`` added; the process, its readiness
    URL and its metrics URL."""
    metrics, health = free_port(), free_port()
    args = [sys.executable, *program, "--kubeconfig", str(kubeconfig),
            "--metrics-bind-address", f"127.0.0.1:{metrics}", "--metrics-secure=false",
            "--health-probe-bind-address", f"127.0.0.1:{health}", "--log-level", "info",
            *flags]  # fmt: skip
    proc = Proc(args, cpu=cpu)
    return proc, f"http://127.0.0.1:{health}/readyz", f"http://127.0.0.1:{metrics}/metrics"
