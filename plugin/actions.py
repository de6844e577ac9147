"""What each ``kubectl dbbackup`` command does against the API, as the user.

Role: one function per command that changes something (:func:`run_now`, :func:`create_restore`,
:func:`set_suspend`) or reads (:func:`get_backup`, :func:`list_backups`, :func:`wait_restore`),
over a :class:`~manager.rest.RestClient` built from the user's kubeconfig.

Guarantees:

* ``run`` creates exactly one Job from the backup's *current* spec
  (:func:`api.v1alpha1.build_manual_job`), named ``<backup>-manual-<5 characters>`` (a new
  suffix on the rare ``AlreadyExists``), so it can never take a scheduled slot's name;
* ``run`` applies ``spec.concurrencyPolicy`` like the operator does for a slot: ``Forbid``
  refuses while a run is active, ``Replace`` deletes the active runs first, ``Allow`` just
  runs; it also refuses while a restore of the backup is running (the operator's rule:
  a running restore holds backups back);
* every refusal is a :class:`Refused` whose message says what to do next.

Non-goals: printing (:mod:`plugin.cli`); anything the operator decides (status, pruning).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.v1alpha1 import (
    API_VERSION,
    GROUP,
    KIND,
    LABEL_BACKUP,
    PLURAL,
    RESTORE_KIND,
    RESTORE_PLURAL,
    VERSION,
    InvalidBackupError,
    build_manual_job,
)
from api.v1alpha1.types import DEFAULT_CONCURRENCY_POLICY
from manager.errors import AlreadyExists, NotFound
from manager.rest import BACKGROUND, RestClient
from manager.scheme import JOBS, ResourceType

__all__ = [
    "BACKUPS",
    "RESTORES",
    "Refused",
    "create_restore",
    "get_backup",
    "list_backups",
    "run_now",
    "running_jobs",
    "set_suspend",
    "wait_restore",
]

BACKUPS = ResourceType(GROUP, VERSION, KIND, PLURAL)
RESTORES = ResourceType(GROUP, VERSION, RESTORE_KIND, RESTORE_PLURAL)
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the API server's generateName alphabet
SUFFIX_LENGTH = 5
NAME_ATTEMPTS = 5  # 27^5 names: a second collision in a row means something else is wrong
WAIT_POLL = 2.0  # seconds between looks at a restore with --wait
FINISHED = ("Succeeded", "Failed")


class Refused(Exception):
    """The request cannot be carried out now; the message says why and what to do."""


def get_backup(rest: RestClient, namespace: str, name: str) -> dict[str, Any]:
    try:
        return rest.get(BACKUPS.object_path(namespace, name))
    except NotFound:
        raise NotFound(
            f'databasebackup "{name}" not found in namespace "{namespace}": list them with '
            f"'kubectl dbbackup status -n {namespace}'",
            status=404,
        ) from None


def list_backups(rest: RestClient, namespace: str | None) -> list[dict[str, Any]]:
    items = rest.get(BACKUPS.collection_path(namespace)).get("items") or []
    return sorted(
        items,
        key=lambda b: (b["metadata"].get("namespace", ""), b["metadata"]["name"]),
    )


def _finished(job: Mapping[str, Any]) -> bool:
    for condition in (job.get("status") or {}).get("conditions") or ():
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return True
    return False


def running_jobs(rest: RestClient, backup: Mapping[str, Any]) -> list[str]:
    """Names of the backup's runs (scheduled or manual) that have not finished."""
    meta = backup["metadata"]
    items = (
        rest.get(
            JOBS.collection_path(meta["namespace"]),
            labelSelector=f"{LABEL_BACKUP}={meta['name']}",
        ).get("items")
        or []
    )
    own = [
        j
        for j in items
        if any(r.get("uid") == meta["uid"] for r in j["metadata"].get("ownerReferences") or ())
    ]
    return sorted(j["metadata"]["name"] for j in own if not _finished(j))


def _running_restore(rest: RestClient, backup: Mapping[str, Any]) -> str:
    meta = backup["metadata"]
    for item in rest.get(RESTORES.collection_path(meta["namespace"])).get("items") or []:
        spec, status = item.get("spec") or {}, item.get("status") or {}
        if (spec.get("backupRef") or {}).get("name") == meta["name"] and status.get(
            "phase"
        ) == "Running":
            return str(item["metadata"]["name"])
    return ""


def run_now(
    rest: RestClient, namespace: str, name: str, now: Callable[[], datetime]
) -> dict[str, Any]:
    """Create one manual run of backup ``name`` (see module guarantees); returns the Job."""
    backup = get_backup(rest, namespace, name)
    restoring = _running_restore(rest, backup)
    if restoring:
        raise Refused(
            f"DatabaseRestore {restoring} of {name} is running; a backup now would dump a "
            f"half-restored database. Wait for it: kubectl get dbrestore {restoring} "
            f"-n {namespace}"
        )
    policy = (backup.get("spec") or {}).get("concurrencyPolicy") or DEFAULT_CONCURRENCY_POLICY
    active = running_jobs(rest, backup)
    if active and policy == "Forbid":
        raise Refused(
            f"backup {name} has a run in progress ({', '.join(active)}) and concurrencyPolicy "
            f"Forbid: wait for it ('kubectl dbbackup history {name} -n {namespace}'), or set "
            "spec.concurrencyPolicy to Allow or Replace"
        )
    if active and policy == "Replace":
        for running in active:
            rest.delete(JOBS.object_path(namespace, running), propagation_policy=BACKGROUND)
    for _ in range(NAME_ATTEMPTS):
        suffix = "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))
        if suffix.isdigit():
            continue
        try:
            job = build_manual_job(backup, now().astimezone(UTC), suffix)
        except InvalidBackupError as err:
            raise Refused(
                f"backup {name} is invalid ({err}): fix its spec; 'kubectl describe dbbackup "
                f"{name} -n {namespace}' shows the Ready condition"
            ) from err
        try:
            return rest.create(JOBS.collection_path(namespace), job)
        except AlreadyExists:
            continue
    raise Refused(f"could not find a free Job name for a manual run of {name}; try again")


@dataclass(frozen=True, kw_only=True, slots=True)
class RestoreRequest:
    """What ``kubectl dbbackup restore`` asks for (``None``: the backup's own value)."""

    source: str
    host: str | None = None
    port: int | None = None
    database: str | None = None
    credentials: str | None = None


def create_restore(
    rest: RestClient, namespace: str, name: str, request: RestoreRequest
) -> dict[str, Any]:
    """Create a DatabaseRestore of backup ``name``; returns it (named by the API server)."""
    backup = get_backup(rest, namespace, name)
    spec: dict[str, Any] = {"backupRef": {"name": name}, "source": request.source}
    override = (request.host, request.port, request.database, request.credentials)
    if any(v is not None for v in override):
        own = dict((backup.get("spec") or {}).get("database") or {})
        database: dict[str, Any] = {"type": own.get("type"), "host": request.host or own["host"]}
        port = request.port or own.get("port")
        if port:
            database["port"] = port
        db_name = request.database or own.get("name")
        if db_name:
            database["name"] = db_name
        if request.credentials:
            database["credentialsSecretRef"] = {"name": request.credentials}
        elif own.get("credentialsSecretRef"):
            database["credentialsSecretRef"] = own["credentialsSecretRef"]
        spec["database"] = database
    body = {
        "apiVersion": API_VERSION,
        "kind": RESTORE_KIND,
        "metadata": {"generateName": f"{name}-", "namespace": namespace},
        "spec": spec,
    }
    return rest.create(RESTORES.collection_path(namespace), body)


def wait_restore(
    rest: RestClient,
    namespace: str,
    name: str,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll the restore until it finished or ``timeout`` seconds passed; returns it."""
    deadline = monotonic() + timeout
    while True:
        obj = rest.get(RESTORES.object_path(namespace, name))
        if (obj.get("status") or {}).get("phase") in FINISHED or monotonic() >= deadline:
            return obj
        sleep(WAIT_POLL)


def set_suspend(rest: RestClient, namespace: str, name: str, suspend: bool) -> dict[str, Any]:
    """Set ``spec.suspend`` with a merge patch (running runs continue)."""
    get_backup(rest, namespace, name)
    return rest.patch(BACKUPS.object_path(namespace, name), {"spec": {"suspend": suspend}})
