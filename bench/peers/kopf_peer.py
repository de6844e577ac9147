"""A minimal kopf operator doing the operator's job: the benchmark's peer.

Role: what a Python team would write with kopf for the same product, idiomatically — cron via
a per-object ``@kopf.timer``, one Job per scheduled time under the same deterministic name
and body (``api.v1alpha1.build_job``, so both programs send identical Jobs), status
``Running`` after creating it, ``Succeeded``/``Failed`` when a Job finishes (``@kopf.on.event``
on Jobs), and a first status on resume/create. Writes go through the official ``kubernetes``
client from sync handlers (kopf runs them in its thread pool), as kopf's documentation shows.

Fairness: the timer ticks once per *virtual* minute (cron's resolution) on the benchmark's
shared clock (``BENCH_CLOCK_START/ORIGIN/SPEED``); kopf's per-handler Kubernetes Events are
limited to warnings so they do not dominate the write counts; everything else is kopf's
default (``--standalone``, no peering). Non-goals: history limits, concurrency policies,
missed-run accounting, starting deadlines — the operator does these, the peer does not.

Run: ``kopf run --standalone -A bench/peers/kopf_peer.py``
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

import kopf
from croniter import croniter
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from api.v1alpha1 import GROUP, PLURAL, VERSION, build_job
from manager.clock import Clock, RealClock, ScaledClock

MANAGED = {"app.kubernetes.io/managed-by": "dbbackup-operator"}
BACKUP_LABEL = "dbbackup.io/backup"
SECONDS_PER_CRON_TICK = 60.0  # cron's resolution, in virtual seconds


def _clock() -> Clock:
    start = os.environ.get("BENCH_CLOCK_START")
    if not start:
        return RealClock()
    return ScaledClock(
        speed=float(os.environ["BENCH_CLOCK_SPEED"]),
        start=datetime.fromisoformat(start),
        origin=float(os.environ["BENCH_CLOCK_ORIGIN"]),
    )


CLOCK = _clock()
SPEED = float(os.environ.get("BENCH_CLOCK_SPEED") or 1.0)
_handled_jobs: set[str] = set()  # Job uids whose outcome is already in status (this process)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _next_slot(schedule: str, after: datetime) -> datetime:
    slot: datetime = croniter(schedule, after).get_next(datetime)
    return slot.astimezone(UTC)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.level = logging.WARNING
    config.load_kube_config()


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
def first_status(
    spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, patch: kopf.Patch, **_: Any
) -> None:
    if status.get("phase"):
        return
    last = status.get("lastScheduleTime") or meta["creationTimestamp"]
    patch.status["phase"] = "Pending"
    patch.status["nextScheduledBackup"] = _stamp(_next_slot(spec["schedule"], _parse(last)))


@kopf.timer(GROUP, VERSION, PLURAL, interval=SECONDS_PER_CRON_TICK / SPEED)
def tick(
    body: kopf.Body,
    spec: kopf.Spec,
    status: kopf.Status,
    meta: kopf.Meta,
    namespace: str | None,
    patch: kopf.Patch,
    **_: Any,
) -> None:
    now = CLOCK.now()
    last = _parse(status.get("lastScheduleTime") or meta["creationTimestamp"])
    slot = _next_slot(spec["schedule"], last)
    if slot > now:
        return
    while (following := _next_slot(spec["schedule"], slot)) <= now:
        slot = following
    job = build_job(dict(body), slot)
    try:
        # The client accepts a plain dict body (it serializes whatever it is given).
        client.BatchV1Api().create_namespaced_job(str(namespace), job)  # type: ignore[arg-type]
    except ApiException as exc:
        if exc.status != 409:  # AlreadyExists: this slot's Job is there
            raise
    patch.status["lastScheduleTime"] = _stamp(slot)
    patch.status["activeJob"] = job["metadata"]["name"]
    patch.status["phase"] = "Running"
    patch.status["nextScheduledBackup"] = _stamp(_next_slot(spec["schedule"], slot))


@kopf.on.event("batch", "v1", "jobs", labels=MANAGED)
def job_event(body: kopf.Body, meta: kopf.Meta, namespace: str | None, **_: Any) -> None:
    conditions = (body.get("status") or {}).get("conditions") or []
    finished = {c.get("type") for c in conditions if c.get("status") == "True"}
    outcome = "Succeeded" if "Complete" in finished else "Failed" if "Failed" in finished else ""
    if not outcome or meta["uid"] in _handled_jobs:
        return
    owner = (meta.get("labels") or {}).get(BACKUP_LABEL)
    if not owner:
        return
    new: dict[str, Any] = {"phase": outcome, "activeJob": None}
    if outcome == "Succeeded":
        new["lastSuccessfulBackup"] = body["status"].get("completionTime")
    try:
        client.CustomObjectsApi().patch_namespaced_custom_object_status(
            GROUP, VERSION, str(namespace), PLURAL, owner, {"status": new}
        )
    except ApiException as exc:
        if exc.status != 404:
            raise
    _handled_jobs.add(meta["uid"])
