"""Issue 5's scale check: N backups whose schedules all fire at the same minute.

Measures, on one virtual clock shared by the API emulator (this process) and the operator
(the real command, a subprocess): the time from the scheduled minute until all N Jobs exist,
the lag distribution (scheduled time to Job POST received), duplicates, and — in the quiet
virtual hour after — every API request the operator made. Prints one JSON line. Not a test:
no figure here is asserted, except that each backup got exactly one Job.

    .venv/bin/python -m bench.herd_scale_check --backups 2000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from emulator.server import ApiServer
from manager.clock import ScaledClock
from tests.support.operator import OPERATOR_USER, OperatorProcess, setup_cluster, wait_for

SPEED = 60.0  # the quiet hour takes a real minute
BOUNDARY = datetime(2025, 3, 27, 1, 0, tzinfo=UTC)
LEAD_IN = timedelta(minutes=10)  # virtual time before the boundary: 10 s real to start and sync


def backup(i: int) -> dict[str, object]:
    return {
        "apiVersion": "dbbackup.io/v1alpha1",
        "kind": "DatabaseBackup",
        "metadata": {"name": f"db-{i:05d}", "namespace": "default"},
        "spec": {
            "schedule": "0 1 * * *",
            "image": "ghcr.io/example/postgres-backup:latest",
            "database": {"type": "postgresql", "host": f"pg-{i}.db.svc"},
            "storage": {"s3": {"bucket": "backups", "prefix": f"db-{i}"}},
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backups", type=int, default=2000)
    args = parser.parse_args()
    n: int = args.backups
    origin = time.time()
    clock = ScaledClock(speed=SPEED, start=BOUNDARY - LEAD_IN, origin=origin)
    server = ApiServer(clock=clock.now, history_size=max(10_000, 4 * n)).start()
    try:
        kubeconfig = setup_cluster(server)
        for i in range(n):
            server.create_object(backup(i))
        if clock.now() >= BOUNDARY - timedelta(minutes=2):
            print("seeding took too long for the lead-in", file=sys.stderr)
            return 2
        operator = OperatorProcess(
            kubeconfig, clock_start=BOUNDARY - LEAD_IN, clock_origin=origin, clock_speed=SPEED,
            extra_args=("--max-concurrent-reconciles", "4"), log_format="json",
        )  # fmt: skip
        try:
            operator.wait_ready(60)
            synced_at = clock.now()

            def jobs() -> list[dict[str, object]]:
                return server.list_objects("batch/v1", "Job", "default")

            wait_for(lambda: len(jobs()) >= n, 600, f"{n} Jobs", interval=0.2)
            creates = [
                r for r in server.audit.records
                if r.user == OPERATOR_USER and r.resource == "jobs" and r.verb == "create"
            ]  # fmt: skip
            lags = sorted((r.timestamp - BOUNDARY).total_seconds() / SPEED for r in creates)
            herd_real = lags[-1]
            names = Counter(j["metadata"]["name"] for j in jobs())  # type: ignore[index]
            duplicates = sum(c - 1 for c in names.values()) + (len(creates) - len(names))

            def statuses_written() -> bool:
                return all(
                    (b.get("status") or {}).get("activeJob")
                    for b in server.list_objects("dbbackup.io/v1alpha1", "DatabaseBackup")
                )

            wait_for(statuses_written, 300, "every status to show its active Job", interval=0.5)

            def event_creates() -> int:
                return sum(
                    1 for r in server.audit.records
                    if r.user == OPERATOR_USER and r.resource == "events" and r.verb == "create"
                )  # fmt: skip

            # The recorder sends asynchronously (and drops what overflows its 1,000-event
            # queue, as client-go's broadcaster does): wait until it has drained.
            def events_drained() -> bool:
                before = event_creates()
                time.sleep(2.0)
                return event_creates() == before

            wait_for(events_drained, 300, "the herd's Events to drain", interval=0.1)
            settle = clock.now() + timedelta(minutes=1)
            wait_for(lambda: clock.now() >= settle, 30, "the status writes to settle")
            quiet_from = clock.now()
            quiet_until = quiet_from + timedelta(hours=1)
            wait_for(lambda: clock.now() >= quiet_until, 120, "a quiet virtual hour", interval=1)
            quiet = Counter(
                f"{r.verb} {r.resource}"
                for r in server.audit.records
                if r.user == OPERATOR_USER and quiet_from <= r.timestamp < quiet_until
            )
            writes = Counter(
                f"{r.verb} {r.resource}{'/' + r.subresource if r.subresource else ''}"
                for r in server.audit.records
                if r.user == OPERATOR_USER and r.verb in ("create", "update", "patch", "delete")
            )
            result = {
                "backups": n,
                "speed": SPEED,
                "operator_synced_before_boundary_virtual_s": (BOUNDARY - synced_at).total_seconds(),
                "herd_seconds_real": round(herd_real, 3),
                "lag_real_s": {
                    "p50": round(statistics.median(lags), 3),
                    "p99": round(lags[int(0.99 * (len(lags) - 1))], 3),
                    "max": round(lags[-1], 3),
                },
                "jobs_per_second_real": round(n / herd_real, 1) if herd_real > 0 else None,
                "duplicates": duplicates,
                "writes_by_kind": dict(writes),
                "quiet_hour_requests": dict(quiet),
            }
            print(json.dumps(result))
            return 0 if duplicates == 0 and len(names) == n else 1
        finally:
            operator.stop()
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
