"""Run the kopf peer (:mod:`bench.peers.kopf_peer`) through workloads 1-3 and 6.

Role: the peer's half of the side-by-side run: a fresh emulator host seeded exactly like the
operator's, the same clock, ``kopf run --standalone -A`` pinned to the program CPU, and the
same phase helpers (:class:`bench.workloads.Session`). "Synced" for kopf is its liveness
endpoint answering (kopf keeps no cache to sync). Restart (workload 5) and the floor are the
operator's alone.
"""

from __future__ import annotations

import sys
from typing import Any

from bench.harness import Proc, free_port
from bench.workloads import Plan, Session

PEER = "bench/peers/kopf_peer.py"


def run_kopf(plan: Plan) -> dict[str, Any]:
    session = Session(plan, "kopf-peer", "kopf-token")
    port = free_port()
    liveness = f"http://127.0.0.1:{port}/healthz"
    args = [sys.executable, "-m", "kopf", "run", "--standalone", "--all-namespaces",
            "--liveness", liveness, PEER]  # fmt: skip
    env = {"KUBECONFIG": str(session.kubeconfig), **session.clock.env()}
    result: dict[str, Any] = {"program": "kopf", "n": plan.n, "speed": plan.speed,
                              "seed_s": session.seed_seconds}  # fmt: skip
    proc = Proc(args, cpu=session.cpu_program, env=env)
    try:
        # A phase the peer does not finish ends the run, but the phases before it are figures
        # too: they are kept, with the error (the report shows both).
        phase = "cold start"
        try:
            result["cold_start"] = session.cold_start(proc, liveness)
            phase = "idle"
            result["idle"] = session.idle(proc)
            phase = "herd"
            result["herd"] = session.herd(proc)
            phase = "completion storm"
            result["storm"] = session.completion_storm()
        except Exception as exc:
            result["error"] = f"{phase}: {type(exc).__name__}: {exc}"
        result["peak_rss_bytes"] = proc.stats().peak_rss_bytes
        result["exit_code"] = proc.stop()
    finally:
        if proc.alive():
            proc.stop()
        session.close()
    return result
