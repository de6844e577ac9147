"""Per-backup Prometheus metrics: what an on-call engineer alerts on.

Series are created the first time a backup is reconciled and removed when it is deleted, so
``absent()`` and staleness behave. Names (used by ``config/prometheus`` alerts):

* ``dbbackup_last_success_timestamp_seconds`` — completion time of the last successful run;
* ``dbbackup_next_schedule_timestamp_seconds`` — when the next run is due (absent if suspended
  or invalid; so is the expected interval);
* ``dbbackup_expected_interval_seconds`` — the gap between the next two slots, so "no success
  within twice the interval" is one alert expression for every schedule;
* ``dbbackup_last_run_status`` — 1 if the newest finished run succeeded, 0 if it failed;
* ``dbbackup_last_run_duration_seconds`` — start to completion of the newest finished run;
* ``dbbackup_runs_total{result}`` — finished runs (``succeeded`` / ``failed``);
* ``dbbackup_created_timestamp_seconds`` — the backup's ``metadata.creationTimestamp``, so a
  backup that never succeeded can be told from one that is new;

and two histograms over all backups (no per-backup labels):

* ``dbbackup_run_duration_seconds`` — start to completion of finished runs;
* ``dbbackup_job_creation_skew_seconds`` — scheduled time to Job created.

Counters move only after the status that records a run was written, so a conflict retry or a
restart never counts a run twice.

Why a collector instead of labelled ``Gauge`` children: each prometheus-client child carries
its own lock and value objects, about 7 KiB per backup for these series (tracemalloc, 1,000
backups) — more than the backup itself in the cache. Here a backup is one array of doubles, and
the families are built when Prometheus scrapes. Per-backup histograms were dropped for the
same reason and for Prometheus' sake: 28 bucket series per backup is 280,000 series at
10,000 backups; the last run's duration per backup plus the two fleet-wide histograms answer
the same questions.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.v1alpha1 import parse_time
from controller.memo import backup_key

__all__ = ["BackupMetrics"]

LABELS = ("namespace", "name")
RESULTS = ("succeeded", "failed")
# Backups take seconds to hours.
DURATION_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800)
# Creation skew should be well under a second; minutes mean the operator is falling behind.
SKEW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
UNSET = math.nan  # a gauge with no value yet is left out of the scrape

# (name, help) of the per-backup gauges, in the order of their slots in a backup's values.
GAUGES = (
    ("dbbackup_last_success_timestamp_seconds", "Unix time the last successful backup completed."),
    ("dbbackup_next_schedule_timestamp_seconds", "Unix time the next backup is scheduled."),
    ("dbbackup_expected_interval_seconds", "Seconds between two consecutive scheduled backups."),
    ("dbbackup_last_run_status", "1 if the newest finished backup succeeded, 0 if it failed."),
    ("dbbackup_last_run_duration_seconds", "Run time of the newest finished backup."),
    ("dbbackup_created_timestamp_seconds", "Unix time the DatabaseBackup was created."),
)
LAST_SUCCESS, NEXT_SCHEDULE, EXPECTED_INTERVAL, LAST_RUN_STATUS, LAST_DURATION, CREATED = range(6)
# After the gauges, the two run counters.
SUCCEEDED, FAILED = len(GAUGES), len(GAUGES) + 1
# A backup's values: the gauges (NaN when unset), then the counters. One array of doubles
# (~130 B) instead of an object, a list and a float object per value (~250 B).
_INITIAL = array("d", [UNSET] * len(GAUGES) + [0.0, 0.0])


def _labels(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return backup_key(str(meta.get("namespace", "")), str(meta.get("name", "")))


class BackupMetrics(Collector):
    """The per-backup series, on the Manager's registry (never the global one)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], array[float]] = {}
        self.duration = Histogram(
            "dbbackup_run_duration_seconds",
            "Backup run time from Job start to completion, over all backups.",
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.skew = Histogram(
            "dbbackup_job_creation_skew_seconds",
            "Delay from a backup's scheduled time to its Job's creation, over all backups.",
            buckets=SKEW_BUCKETS,
            registry=registry,
        )
        registry.register(self)

    def _get(self, key: tuple[str, str]) -> array[float]:
        """The backup's values (created on first use); call with the lock held."""
        values = self._series.get(key)
        if values is None:
            values = self._series[key] = array("d", _INITIAL)
        return values

    def set_schedule(
        self, backup: dict[str, Any], next_time: datetime | None, interval: float | None
    ) -> None:
        success = parse_time((backup.get("status") or {}).get("lastSuccessfulBackup"))
        created = parse_time((backup.get("metadata") or {}).get("creationTimestamp"))
        with self._lock:
            gauges = self._get(_labels(backup))
            if created is not None:
                gauges[CREATED] = created.timestamp()
            if next_time is None or interval is None:
                # Suspended or invalid: nothing is expected, so "missed" alerts must not fire.
                gauges[NEXT_SCHEDULE] = gauges[EXPECTED_INTERVAL] = UNSET
            else:
                gauges[NEXT_SCHEDULE] = next_time.timestamp()
                gauges[EXPECTED_INTERVAL] = interval
            if success is not None:
                gauges[LAST_SUCCESS] = success.timestamp()

    def observe_creation(self, backup: dict[str, Any], slot: datetime, created: datetime) -> None:
        with self._lock:
            self._get(_labels(backup))
        self.skew.observe(max(0.0, (created - slot).total_seconds()))

    def observe_status(
        self, backup: dict[str, Any], previous: dict[str, Any], written: dict[str, Any]
    ) -> None:
        """Count runs that the just-written status finished (and only those)."""
        before = {str(e.get("job")): e.get("result") for e in previous.get("history") or ()}
        finished = [
            e for e in written.get("history") or () if e.get("result") in ("Succeeded", "Failed")
        ]
        success = parse_time(written.get("lastSuccessfulBackup"))
        with self._lock:
            values = self._get(_labels(backup))
            for entry in finished:
                if before.get(str(entry.get("job"))) == entry["result"]:
                    continue
                values[SUCCEEDED if entry["result"] == "Succeeded" else FAILED] += 1
                took = _duration(entry)
                if took is not None:
                    self.duration.observe(took)
            if finished:
                newest = finished[-1]
                values[LAST_RUN_STATUS] = 1.0 if newest["result"] == "Succeeded" else 0.0
                took = _duration(newest)
                if took is not None:
                    values[LAST_DURATION] = took
            if success is not None:
                values[LAST_SUCCESS] = success.timestamp()

    def forget(self, namespace: str, name: str) -> None:
        """Drop every series of a deleted backup."""
        with self._lock:
            self._series.pop((namespace, name), None)

    # -- the scrape --------------------------------------------------------------------------

    def describe(self) -> list[Metric]:
        """Names only (no samples), so registering does not call :meth:`collect`."""
        families: list[Metric] = [GaugeMetricFamily(n, h, labels=LABELS) for n, h in GAUGES]
        families.append(_runs_family())
        return families

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            rows = [(key, values.tolist()) for key, values in self._series.items()]
        gauges = [GaugeMetricFamily(n, h, labels=LABELS) for n, h in GAUGES]
        runs = _runs_family()
        for key, values in rows:
            for family, value in zip(gauges, values, strict=False):  # the gauges' slots
                if not math.isnan(value):
                    family.add_metric(key, value)
            runs.add_metric((*key, "succeeded"), values[SUCCEEDED])
            runs.add_metric((*key, "failed"), values[FAILED])
        yield from gauges
        yield runs


def _runs_family() -> CounterMetricFamily:
    return CounterMetricFamily(
        "dbbackup_runs", "Finished backup runs by result.", labels=(*LABELS, "result")
    )


def _duration(entry: dict[str, Any]) -> float | None:
    started = parse_time(entry.get("startTime"))
    finished = parse_time(entry.get("completionTime"))
    if started is None or finished is None:
        return None
    return max(0.0, (finished - started).total_seconds())
