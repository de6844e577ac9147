"""The API emulator in its own process, driven by the benchmark over stdin/stdout.

Role: the benchmark's API server. Running the emulator in a separate process keeps it off the
operator's GIL (and, with ``--cpu``, off its core); this host adds what a benchmark needs and
the emulator's CLI does not: a clock that can be set after seeding, bulk seeding of backups and
finished Jobs, counts read straight from storage, the audit log summarised in-process, and a
"completion storm" that marks every Job of a slot succeeded at once.

Protocol: one JSON object per line on stdin (``{"op": ..., ...}``), one JSON answer per line on
stdout. The first line written is ``{"url": ..., "pid": ...}``. Operations: ``clock``,
``seed``, ``mark``, ``audit``, ``counts``, ``wait``, ``finish``, ``quit`` (see :class:`Host`).
Times in answers are Unix seconds of the *virtual* clock for audit records and real Unix
seconds otherwise. Non-goals: concurrency between commands (one at a time), persistence.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from emulator.jobrunner import mark_job_succeeded
from emulator.server import ApiServer
from manager.clock import ScaledClock

ROOT = Path(__file__).resolve().parents[1]
# Both kinds the operator watches: its cache syncs only once every informer has listed.
CRDS = tuple(
    ROOT / f"config/crd/bases/dbbackup.io_{plural}.yaml"
    for plural in ("databasebackups", "databaserestores")
)
NAMESPACE = "bench"
BACKUP_API = "dbbackup.io/v1alpha1"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
TOKENS = {  # token → user; one identity per client so the audit log separates them
    "operator-token": "system:serviceaccount:dbbackup-system:dbbackup-operator",
    "kopf-token": "system:serviceaccount:dbbackup-system:kopf-peer",
    "floor-token": "system:serviceaccount:dbbackup-system:floor",
}
SEED_TIME = datetime(2025, 3, 26, 23, 0, 0, tzinfo=UTC)  # the clock while seeding
PREVIOUS_SLOT = datetime(2025, 3, 26, 1, 0, 0, tzinfo=UTC)  # the seeded Jobs' slot
WAIT_POLL = 0.1  # seconds between checks of a ``wait`` (figures come from audit timestamps)


class SettableClock:
    """A virtual clock frozen at :data:`SEED_TIME` until :meth:`set` starts a ScaledClock."""

    def __init__(self) -> None:
        self._scaled: ScaledClock | None = None

    def set(self, start: datetime, origin: float, speed: float) -> None:
        self._scaled = ScaledClock(speed=speed, start=start, origin=origin)

    def now(self) -> datetime:
        return SEED_TIME if self._scaled is None else self._scaled.now()


def backup_body(i: int, schedule: str) -> dict[str, Any]:
    """One DatabaseBackup as a user would ``kubectl apply`` it (last-applied annotation)."""
    obj: dict[str, Any] = {
        "apiVersion": BACKUP_API,
        "kind": "DatabaseBackup",
        "metadata": {"name": f"db-{i:06d}", "namespace": NAMESPACE,
                     "labels": {"team": f"team-{i % 20}"}},
        "spec": {
            "schedule": schedule,
            "database": {"type": "postgresql", "host": f"pg-{i}.db.svc", "port": 5432,
                         "name": "app", "credentialsSecretRef": {"name": "pg-credentials"}},
            "image": "ghcr.io/example/postgres-backup:latest",
            "storage": {"s3": {"bucket": "backups", "prefix": f"pg/{i}",
                               "credentialsSecretRef": {"name": "s3-credentials"}}},
            "retention": "336h",
        },
    }  # fmt: skip
    obj["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(obj, sort_keys=True)}
    return obj


class Host:
    """The operations of the protocol, over one :class:`ApiServer`."""

    def __init__(self, port: int) -> None:
        self.clock = SettableClock()
        self.server = ApiServer(port=port, clock=self.clock.now).start()
        for token, user in TOKENS.items():
            self.server.add_user(token, user, ["system:serviceaccounts"])
        for crd in CRDS:
            self.server.create_object(yaml.safe_load(crd.read_text()))
        for ns in (NAMESPACE, "dbbackup-system"):
            self.server.create_object(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            )
        self._backups = self.server.resource_for(BACKUP_API, "DatabaseBackup").storage_key
        self._jobs = self.server.resource_for("batch/v1", "Job").storage_key
        # Job creations as committed (the audit log has no names for POSTs): (name, virtual
        # Unix time); ``_marks`` maps an audit index handed out by ``mark`` to this list's length.
        self.created: list[tuple[str, float]] = []
        self._marks: dict[int, int] = {}
        create = self.server.cluster.create

        def recording_create(
            info: Any, namespace: str | None, body: Any, *, manager: str = ""
        ) -> dict[str, Any]:
            stored = create(info, namespace, body, manager=manager)
            if info.storage_key == self._jobs:
                self.created.append((stored["metadata"]["name"], self.clock.now().timestamp()))
            return stored

        self.server.cluster.create = recording_create  # type: ignore[method-assign]

    # -- operations ------------------------------------------------------------------------

    def op_clock(self, start: str, origin: float, speed: float) -> dict[str, Any]:
        self.clock.set(datetime.fromisoformat(start), origin, speed)
        return {"ok": True}

    def op_seed(self, n: int, schedule: str = "0 1 * * *", jobs: bool = True) -> dict[str, Any]:
        """N backups and, with ``jobs``, one finished Job each for :data:`PREVIOUS_SLOT`."""
        from api.v1alpha1 import build_job  # the operator's own Job shape

        began = time.monotonic()
        for i in range(n):
            backup = self.server.create_object(backup_body(i, schedule))
            if jobs:
                job = build_job(backup, PREVIOUS_SLOT)
                job.setdefault("metadata", {}).setdefault("namespace", NAMESPACE)
                created = self.server.create_object(job)
                created["status"] = mark_job_succeeded(created, SEED_TIME)["status"]
                self.server.update_object(created, subresource="status")
        return {"seconds": time.monotonic() - began}

    def op_mark(self) -> dict[str, Any]:
        index = len(self.server.audit)
        self._marks[index] = len(self.created)
        return {"index": index}

    def op_audit(self, since: int = 0, until: int | None = None) -> dict[str, Any]:
        """Counts by ``user verb resource[/sub] code``, Jobs created and backup writes, in order.

        ``since`` should be an index returned by ``mark`` (Job creations are kept apart)."""
        records = self.server.audit.records[since:until]
        counts: Counter[str] = Counter()
        status_puts: list[tuple[str, float, int]] = []
        for r in records:
            resource = f"{r.resource}/{r.subresource}" if r.subresource else r.resource
            user = r.user.rsplit(":", 1)[-1]
            counts[f"{user} {r.verb} {resource} {r.code}"] += 1
            if r.resource == "databasebackups" and r.verb in ("update", "patch"):
                status_puts.append((r.name, r.timestamp.timestamp(), r.code))
        return {
            "index": since + len(records),
            "counts": dict(counts),
            "creates": self.created[self._marks.get(since, 0) :],
            "status_writes": status_puts,
        }

    def _scan(self, backups: bool = True) -> dict[str, Any]:
        """Counts straight from storage. Only the key lists are copied under the storage lock
        (a dict read needs none): a scan must not stall the API server it measures."""
        storage = self.server.storage
        phases: Counter[str] = Counter()
        with_status = 0
        active: Counter[str] = Counter()
        for key in storage.keys_in(self._backups, None) if backups else ():
            obj = storage.get(self._backups, key) or {}
            status = obj.get("status") or {}
            if status:
                with_status += 1
            phases[str(status.get("phase", ""))] += 1
            active[str(status.get("activeJob", ""))[-14:]] += 1
        jobs = storage.keys_in(self._jobs, None)
        per_slot = Counter(k.rsplit("-", 1)[-1] for k in jobs)
        return {"backups_with_status": with_status, "phases": dict(phases),
                "jobs": len(jobs), "jobs_per_slot": dict(per_slot),
                "active_slot": dict(active)}  # fmt: skip

    def op_counts(self) -> dict[str, Any]:
        return self._scan()

    def op_wait(self, what: str, n: int, timeout: float, key: str = "") -> dict[str, Any]:
        """Poll until ``with_status`` / ``phase[key]`` / ``active[key]`` (backups whose
        ``activeJob`` is of slot ``key``) / ``slot[key]`` (Jobs) reaches ``n``."""
        deadline = time.monotonic() + timeout
        while True:
            scan = self._scan(backups=what != "slot")
            if what == "with_status":
                value = scan["backups_with_status"]
            elif what == "phase":
                value = scan["phases"].get(key, 0)
            elif what == "active":
                value = scan["active_slot"].get(key, 0)
            else:
                value = scan["jobs_per_slot"].get(key, 0)
            if value >= n or time.monotonic() > deadline:
                return {"ok": value >= n, "value": value, "at": time.time(), "scan": scan}
            time.sleep(WAIT_POLL)

    def op_finish(self, slot: str) -> dict[str, Any]:
        """Mark every Job whose name ends in ``slot`` (``YYYYmmddHHMMSS``) succeeded, at once."""
        began = time.time()
        now = self.clock.now()
        names = [k for k in self.server.storage.keys_in(self._jobs, None) if k.endswith(slot)]
        for key in names:
            job = self.server.storage.get(self._jobs, key)
            if job is None:
                continue
            updated = {**job, "status": mark_job_succeeded(job, now)["status"]}
            self.server.update_object(updated, subresource="status")
        return {"started": began, "ended": time.time(), "jobs": len(names)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    host = Host(args.port)
    out = sys.stdout
    out.write(json.dumps({"url": host.server.url, "pid": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        op = command.pop("op")
        if op == "quit":
            break
        try:
            answer = getattr(host, f"op_{op}")(**command)
        except Exception as exc:  # report to the driver rather than die silently
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    host.server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
