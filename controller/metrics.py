"""Per-backup Prometheus metrics: what an on-call engineer alerts on.

Series are created the first time a backup is reconciled and removed when it is deleted, so
``absent()`` and staleness behave. Names (used by ``config/prometheus`` alerts):

* ``dbbackup_last_success_timestamp_seconds`` — completion time of the last successful run;
* ``dbbackup_next_schedule_timestamp_seconds`` — when the next run is due (absent if suspended
  or invalid; so is the expected interval);
* ``dbbackup_expected_interval_seconds`` — the gap between the next two slots, so "no success
  within twice the interval" is one alert expression for every schedule;
* ``dbbackup_last_run_status`` — 1 if the newest finished run succeeded, 0 if it failed;
* ``dbbackup_runs_total{result}`` — finished runs (``succeeded`` / ``failed``);
* ``dbbackup_run_duration_seconds`` — start to completion of finished runs;
* ``dbbackup_job_creation_skew_seconds`` — scheduled time to Job created.

Counters move only after the status that records a run was written, so a conflict retry or a
restart never counts a run twice.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from controller.jobs import parse_time

__all__ = ["BackupMetrics"]

LABELS = ("namespace", "name")
RESULTS = ("succeeded", "failed")
# Backups take seconds to hours.
DURATION_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800)
# Creation skew should be well under a second; minutes mean the operator is falling behind.
SKEW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)


def _labels(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


class BackupMetrics:
    """The per-backup series, on the Manager's registry (never the global one)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._lock = threading.Lock()
        self._known: set[tuple[str, str]] = set()
        self.last_success = Gauge(
            "dbbackup_last_success_timestamp_seconds",
            "Unix time the last successful backup completed.",
            LABELS,
            registry=registry,
        )
        self.next_schedule = Gauge(
            "dbbackup_next_schedule_timestamp_seconds",
            "Unix time the next backup is scheduled.",
            LABELS,
            registry=registry,
        )
        self.expected_interval = Gauge(
            "dbbackup_expected_interval_seconds",
            "Seconds between two consecutive scheduled backups.",
            LABELS,
            registry=registry,
        )
        self.last_run_status = Gauge(
            "dbbackup_last_run_status",
            "1 if the newest finished backup succeeded, 0 if it failed.",
            LABELS,
            registry=registry,
        )
        self.runs = Counter(
            "dbbackup_runs",
            "Finished backup runs by result.",
            (*LABELS, "result"),
            registry=registry,
        )
        self.duration = Histogram(
            "dbbackup_run_duration_seconds",
            "Backup run time from Job start to completion.",
            LABELS,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.skew = Histogram(
            "dbbackup_job_creation_skew_seconds",
            "Delay from a backup's scheduled time to its Job's creation.",
            LABELS,
            buckets=SKEW_BUCKETS,
            registry=registry,
        )

    def _ensure(self, key: tuple[str, str]) -> None:
        with self._lock:
            if key in self._known:
                return
            self._known.add(key)
        for result in RESULTS:
            self.runs.labels(*key, result)

    def set_schedule(
        self, backup: dict[str, Any], next_time: datetime | None, interval: float | None
    ) -> None:
        key = _labels(backup)
        self._ensure(key)
        if next_time is None or interval is None:
            # Suspended or invalid: nothing is expected, so "missed" alerts must not fire.
            self._remove(self.next_schedule, key)
            self._remove(self.expected_interval, key)
        else:
            self.next_schedule.labels(*key).set(next_time.timestamp())
            self.expected_interval.labels(*key).set(interval)
        status = backup.get("status") or {}
        success = parse_time(status.get("lastSuccessfulBackup"))
        if success is not None:
            self.last_success.labels(*key).set(success.timestamp())

    def observe_creation(self, backup: dict[str, Any], slot: datetime, created: datetime) -> None:
        key = _labels(backup)
        self._ensure(key)
        self.skew.labels(*key).observe(max(0.0, (created - slot).total_seconds()))

    def observe_status(
        self, backup: dict[str, Any], previous: dict[str, Any], written: dict[str, Any]
    ) -> None:
        """Count runs that the just-written status finished (and only those)."""
        key = _labels(backup)
        self._ensure(key)
        before = {str(e.get("job")): e.get("result") for e in previous.get("history") or ()}
        for entry in written.get("history") or ():
            result = entry.get("result")
            if result not in ("Succeeded", "Failed") or before.get(str(entry.get("job"))) == result:
                continue
            self.runs.labels(*key, result.lower()).inc()
            started = parse_time(entry.get("startTime"))
            finished = parse_time(entry.get("completionTime"))
            if started is not None and finished is not None:
                self.duration.labels(*key).observe(max(0.0, (finished - started).total_seconds()))
        finished_runs = [
            e for e in written.get("history") or () if e.get("result") in ("Succeeded", "Failed")
        ]
        if finished_runs:
            ok = finished_runs[-1]["result"] == "Succeeded"
            self.last_run_status.labels(*key).set(1 if ok else 0)
        success = parse_time(written.get("lastSuccessfulBackup"))
        if success is not None:
            self.last_success.labels(*key).set(success.timestamp())

    def forget(self, namespace: str, name: str) -> None:
        """Drop every series of a deleted backup."""
        key = (namespace, name)
        with self._lock:
            if key not in self._known:
                return
            self._known.discard(key)
        for metric in (
            self.last_success,
            self.next_schedule,
            self.expected_interval,
            self.last_run_status,
            self.duration,
            self.skew,
        ):
            self._remove(metric, key)
        for result in RESULTS:
            self._remove(self.runs, (*key, result))

    @staticmethod
    def _remove(metric: Gauge | Counter | Histogram, labels: tuple[str, ...]) -> None:
        with contextlib.suppress(KeyError):
            metric.remove(*labels)
