"""The benchmark's workloads, run side by side on one emulator per program under test.

Role: issue 9's workloads as one scripted sequence per program, on a virtual clock shared by
the emulator host and the program (``ScaledClock``: virtual ``start`` at real ``origin``,
``speed`` times faster). N backups on ``0 1 * * *`` are seeded with one finished Job each (the
previous day's run); the clock then starts so that 01:00 — the herd — comes after the cold
start and an idle stretch:

1. cold start: process launch → ``/readyz`` (caches synced) → every backup has status;
2. idle: API requests other than Lease renewals and watch re-opens, and CPU, until 01:00;
3. herd: all N fire at 01:00; lag = scheduled time → Job POST received (audit timestamps);
4. the floor (operator run only, after it stopped): :mod:`bench.floor` POSTs the next day's N
   Jobs with the operator's client and concurrency — and once more under cProfile;
5. restart after the herd (operator only): writes made by a fresh process (must be 0);
6. completion storm: every herd Job marked succeeded at once → every status ``Succeeded``.

Every figure comes from the emulator's audit log, ``/proc`` and the program's own endpoints;
nothing here asserts (``make bench-quick`` checks :func:`correctness` afterwards).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.harness import (
    ROOT,
    Host,
    Proc,
    VirtualTime,
    cpus,
    http_status,
    http_text,
    poll,
    sleep_until,
    write_kubeconfig,
)
from bench.operator_process import empty_start_figures, launch_operator

BOUNDARY = datetime(2025, 3, 27, 1, 0, 0, tzinfo=UTC)  # the herd's cron boundary (0 1 * * *)
SLOT = BOUNDARY.strftime("%Y%m%d%H%M%S")
FLOOR_SLOT = BOUNDARY + timedelta(days=1)  # the floor's Jobs: the next day's names
PROFILE_SLOT = BOUNDARY + timedelta(days=2)
READ_VERBS = frozenset({"get", "list", "watch"})
SETTLE = 1.0  # real seconds after a phase before the next one's counters start
WAIT_PER_OBJECT = 0.02  # real seconds allowed per backup for a phase to complete (bounds waits)
WAIT_MIN = 60.0


@dataclass(frozen=True, kw_only=True)
class Plan:
    """One run: ``n`` backups, clock ``speed``, ``idle`` real seconds before the herd."""

    n: int
    speed: float = 60.0
    idle: float = 60.0
    cold_budget: float = 0.0  # real seconds reserved for the cold start; 0 → from n

    def budget(self) -> float:
        return self.cold_budget or 10.0 + self.n * 0.008

    def timeout(self) -> float:
        return max(WAIT_MIN, self.n * WAIT_PER_OBJECT, self.budget())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def lag_summary(lags: list[float]) -> dict[str, float]:
    return {"p50": percentile(lags, 0.5), "p99": percentile(lags, 0.99),
            "max": max(lags) if lags else float("nan"),
            "mean": statistics.fmean(lags) if lags else float("nan")}  # fmt: skip


def by_user(counts: dict[str, int], user: str) -> Counter[str]:
    """``verb resource code`` → count for one user (its last name segment)."""
    out: Counter[str] = Counter()
    for key, value in counts.items():
        who, rest = key.split(" ", 1)
        if who == user:
            out[rest] += value
    return out


def writes(counts: Counter[str]) -> Counter[str]:
    """``verb resource`` → count of the write requests (any code)."""
    out: Counter[str] = Counter()
    for key, value in counts.items():
        verb, resource, _code = key.split(" ")
        if verb not in READ_VERBS:
            out[f"{verb} {resource}"] += value
    return out


def idle_requests(counts: Counter[str]) -> dict[str, int]:
    """Requests other than Lease traffic and watch (re-)opens, plus the re-opens apart."""
    other = sum(v for k, v in counts.items() if k.split(" ")[1] != "leases" and
                k.split(" ")[0] != "watch")  # fmt: skip
    reopens = sum(v for k, v in counts.items() if k.split(" ")[0] == "watch")
    leases = sum(v for k, v in counts.items() if k.split(" ")[1] == "leases")
    return {"other": other, "watch_reopens": reopens, "lease": leases}


def machine() -> dict[str, Any]:
    import os
    import platform

    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                         "")  # fmt: skip
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "memory_bytes": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "pinned": cpus() != (None, None)}  # fmt: skip


class Session:
    """One emulator host with N seeded backups and the clock; shared helpers for a program."""

    def __init__(self, plan: Plan, user: str, token: str) -> None:
        self.plan = plan
        self.user = user
        self.cpu_program, self.cpu_server = cpus()
        self.host = Host(self.cpu_server)
        self.seed_seconds = float(self.host.call("seed", n=plan.n)["seconds"])
        self.kubeconfig = write_kubeconfig(self.host.url, token)
        lead = plan.budget() + plan.idle
        origin = time.time() + 0.5
        self.clock = VirtualTime(
            start=BOUNDARY - timedelta(seconds=lead * plan.speed), origin=origin, speed=plan.speed
        )
        self.host.call("clock", start=self.clock.start.isoformat(), origin=origin,
                       speed=plan.speed)  # fmt: skip
        self.boundary = self.clock.real(BOUNDARY)

    def audit(self, since: int) -> dict[str, Any]:
        return self.host.call("audit", since=since)

    def mark(self) -> int:
        return int(self.host.call("mark")["index"])

    def wait(self, what: str, key: str = "") -> dict[str, Any]:
        answer = self.host.call("wait", what=what, n=self.plan.n, timeout=self.plan.timeout(),
                                key=key)  # fmt: skip
        if not answer["ok"]:
            raise TimeoutError(f"{what} {key}: {answer['value']} of {self.plan.n}")
        return answer

    def close(self) -> None:
        self.host.close()

    # -- phases shared by every program ---------------------------------------------------------

    def cold_start(self, proc: Proc, ready: str) -> dict[str, Any]:
        server0 = self.host.stats()
        ready_at = poll(lambda: http_status(ready) == 200, self.plan.timeout(), "ready")
        self.wait("with_status")
        audit = self.audit(0)
        ours = [w for w in audit["status_writes"] if w[2] < 400]
        last = max((w[1] for w in ours), default=0.0)
        stats, server1 = proc.stats(), self.host.stats()
        return {"synced_s": ready_at - proc.started,
                "server_cpu_s": server1.cpu_seconds - server0.cpu_seconds,
                "all_status_s": self.clock.real(datetime.fromtimestamp(last, UTC)) - proc.started,
                "rss_bytes": stats.rss_bytes, "peak_rss_bytes": stats.peak_rss_bytes,
                "cpu_s": stats.cpu_seconds, "audit_index": audit["index"],
                "writes": dict(writes(by_user(audit["counts"], self.user)))}  # fmt: skip

    def quiesce(self, quiet: float = 2.0) -> float:
        """Wait (at most until shortly before the herd) for ``quiet`` real seconds without a
        request (the cold start's asynchronous Events drain); returns the seconds waited."""
        began = time.time()
        last, since = self.mark(), time.time()
        while time.time() - since < quiet and time.time() < self.boundary - 10 * SETTLE:
            time.sleep(0.1)
            index = self.mark()
            if index != last:
                last, since = index, time.time()
        return time.time() - began

    def idle(self, proc: Proc) -> dict[str, Any]:
        drained = self.quiesce()
        start_index, start, stats0 = self.mark(), time.time(), proc.stats()
        end = self.boundary - SETTLE
        if end - start < 2:
            return {"skipped": f"cold start overran its budget ({self.plan.budget():.0f}s)"}
        sleep_until(end)
        stats1, audit = proc.stats(), self.audit(start_index)
        counts = by_user(audit["counts"], self.user)
        real = time.time() - start
        virtual_hours = real * self.plan.speed / 3600
        return {"real_s": real, "virtual_hours": virtual_hours, "drain_s": drained,
                **idle_requests(counts),
                "other_per_virtual_hour": idle_requests(counts)["other"] / virtual_hours,
                "cpu_percent": 100 * (stats1.cpu_seconds - stats0.cpu_seconds) / real,
                "rss_bytes": stats1.rss_bytes, "detail": dict(counts)}  # fmt: skip

    def herd(self, proc: Proc) -> dict[str, Any]:
        index = self.mark()
        sleep_until(self.boundary)
        server0 = self.host.stats()
        self.wait("slot", SLOT)
        server1, created_at = self.host.stats(), time.time()
        self.wait("active", SLOT)
        time.sleep(SETTLE)
        audit = self.audit(index)
        counts = by_user(audit["counts"], self.user)
        boundary_ts = BOUNDARY.timestamp()
        created = [(name, ts) for name, ts in audit["creates"]]
        ok = [(n, ts) for n, ts in created if n.endswith(SLOT)]
        lags = [(ts - boundary_ts) / self.plan.speed for _, ts in ok]
        names = Counter(n for n, _ in ok)
        codes = [(int(k.split(" ")[2]), v) for k, v in counts.items()]
        errors = sum(v for code, v in codes if code >= 400 and code != 409)
        conflicts = sum(v for code, v in codes if code == 409)
        w = writes(counts)
        last_create = max((ts for _, ts in ok), default=0.0)
        early = [ts for _, ts, code in audit["status_writes"] if code < 400]
        before = sum(1 for ts in early if ts <= last_create)
        return {"herd_s": max(lags) if lags else float("nan"), "lag": lag_summary(lags),
                "status_writes_before_last_job": before,
                "lags": sorted(lags), "jobs": len(names),
                "duplicates": sum(c - 1 for c in names.values()) + len(created) - len(ok),
                "missed": self.plan.n - len(names), "errors": errors, "conflicts": conflicts,
                "writes_per_fire": sum(w.values()) / self.plan.n, "writes": dict(w),
                "server_cpu_percent": 100 * (server1.cpu_seconds - server0.cpu_seconds)
                / max(1e-9, created_at - self.boundary)}  # fmt: skip

    def completion_storm(self) -> dict[str, Any]:
        index = self.mark()
        finished = self.host.call("finish", slot=SLOT)
        self.wait("phase", "Succeeded")
        audit = self.audit(index)
        last = max((w[1] for w in audit["status_writes"] if w[2] < 400), default=0.0)
        done = self.clock.real(datetime.fromtimestamp(last, UTC))
        counts = by_user(audit["counts"], self.user)
        return {"all_succeeded_s": done - finished["started"],
                "marking_s": finished["ended"] - finished["started"], "jobs": finished["jobs"],
                "writes": dict(writes(counts))}  # fmt: skip


def _metric_sum(text: str, name: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                total += sample.value
    return total


def _launch_operator(session: Session) -> tuple[Proc, str, str]:
    return launch_operator(session.kubeconfig, session.clock.flags(), cpu=session.cpu_program)


def run_operator(plan: Plan) -> dict[str, Any]:
    """Workloads 1-6 for the operator, then the floor on the same emulator."""
    empty = _empty_start(plan)
    session = Session(plan, "dbbackup-operator", "operator-token")
    result: dict[str, Any] = {"program": "operator", "n": plan.n, "speed": plan.speed,
                              "seed_s": session.seed_seconds, "empty": empty}  # fmt: skip
    proc, ready, _ = _launch_operator(session)
    try:
        result["cold_start"] = session.cold_start(proc, ready)
        result["idle"] = session.idle(proc)
        result["herd"] = session.herd(proc)
        result["exit_code"] = proc.stop()
        result["restart"] = _restart(session)
        result["floor"] = run_floor(session, FLOOR_SLOT, profile=False)
        result["floor_profiled"] = run_floor(session, PROFILE_SLOT, profile=True)
    finally:
        if proc.alive():
            proc.stop()
        session.close()
    return result


def _empty_start(plan: Plan) -> dict[str, Any]:
    """The operator's memory "at start": an empty cluster, caches synced, settled for a few
    seconds (what the process costs before it caches a single backup)."""
    session = Session(Plan(n=0, speed=plan.speed, idle=plan.idle), "dbbackup-operator",
                      "operator-token")  # fmt: skip
    proc, ready, _ = _launch_operator(session)
    try:
        return empty_start_figures(proc, ready, session.plan.timeout(), 3 * SETTLE)
    finally:
        session.close()


def _restart(session: Session) -> dict[str, Any]:
    index = session.mark()
    proc, ready, metrics = _launch_operator(session)
    try:
        poll(lambda: http_status(ready) == 200, session.plan.timeout(), "ready after restart")
        poll(lambda: _metric_sum(http_text(metrics), "controller_runtime_reconcile_total")
             >= session.plan.n, session.plan.timeout(), "a reconcile per backup", 0.2)  # fmt: skip
        time.sleep(SETTLE)
        counts = by_user(session.audit(index)["counts"], session.user)
        result: dict[str, Any] = {"writes": dict(writes(counts)),
                                  "write_count": sum(writes(counts).values())}  # fmt: skip
        result["storm"] = session.completion_storm()
        result["peak_rss_bytes"] = proc.stats().peak_rss_bytes
        result["exit_code"] = proc.stop()
        return result
    finally:
        if proc.alive():
            proc.stop()


def run_floor(session: Session, slot: datetime, *, profile: bool) -> dict[str, Any]:
    """The plain load generator on the operator's CPU, with the operator's client."""
    index = session.mark()
    start_at = time.time() + 3.0 + session.plan.n / 5000
    args = [sys.executable, "-m", "bench.floor", "--kubeconfig", str(session.kubeconfig),
            "--slot", slot.isoformat(), "--start-at", repr(start_at)]  # fmt: skip
    if profile:
        args.append("--profile")
    if session.cpu_program is not None:
        args = ["taskset", "-c", str(session.cpu_program), *args]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    sleep_until(start_at)
    server0 = session.host.stats()
    stdout, _ = child.communicate(timeout=session.plan.timeout() * 4)
    server1 = session.host.stats()
    if child.returncode != 0:
        raise RuntimeError(f"floor exited {child.returncode}")
    out = json.loads(stdout.strip().splitlines()[-1])
    audit = session.audit(index)
    tag = slot.strftime("%Y%m%d%H%M%S")
    stamps = [
        session.clock.real(datetime.fromtimestamp(ts, UTC))
        for name, ts in audit["creates"]
        if name.endswith(tag)
    ]
    lags = [s - out["began"] for s in stamps]  # fmt: skip
    return {"floor_s": max(lags) if lags else float("nan"), "lag": lag_summary(lags),
            "lags": sorted(lags), "jobs": len(stamps), "errors": out["errors"],
            "client_cpu_percent": 100 * out["cpu_seconds"] / max(1e-9, out["ended"] - out["began"]),
            "server_cpu_percent": 100 * (server1.cpu_seconds - server0.cpu_seconds)
            / max(1e-9, time.time() - start_at),
            "profile": out.get("profile", "")}  # fmt: skip
