"""Retention: which objects of this backup to delete, and deleting them.

Role: :func:`plan` is a pure function from what is in storage (and the time) to what to
delete; :func:`enforce` lists, plans and deletes.
Guarantees: only this backup's runs are ever touched, identified by their manifests
(``BACKUP_NAMESPACE``/``BACKUP_NAME``) or, for incomplete leftovers, by a name of exactly
``<BACKUP_NAME>-<14 digits>``; the newest complete backup is always kept, whatever its age;
without a retention complete backups are all kept; incomplete leftovers (a dump whose run
has no manifest file, an interrupted upload) are removed once older than
:data:`LEFTOVER_AGE`; a manifest is deleted before its dump, so an interrupted deletion never
leaves a manifest without its dump.
Non-goals: other backups' objects, and anything that is not of the object layout.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.v1alpha1 import contract as c
from runner.catalog import read_manifests
from runner.config import Config
from runner.errors import StorageError
from runner.manifest import Manifest, job_of
from runner.storage import ObjectInfo, Storage

__all__ = ["LEFTOVER_AGE", "Plan", "enforce", "plan"]

LEFTOVER_AGE = timedelta(days=1)
LOG = logging.getLogger("dbbackup-runner")


@dataclass(frozen=True, slots=True)
class Plan:
    """Objects to delete (in this order) and interrupted uploads to discard."""

    delete: tuple[str, ...]
    discard: tuple[ObjectInfo, ...]


def _ours(backup_name: str) -> re.Pattern[str]:
    return re.compile(re.escape(backup_name) + r"-[0-9]{14}")


def plan(
    objects: list[ObjectInfo],
    manifests: dict[str, Manifest],
    partials: list[ObjectInfo],
    *,
    backup_name: str,
    retention_seconds: int | None,
    now: datetime,
) -> Plan:
    """What retention deletes now (see the module's guarantees)."""
    present = {o.name for o in objects}
    complete = [(n, m) for n, m in manifests.items() if m.object in present]
    newest = max(complete, key=lambda nm: (nm[1].scheduled_time, nm[1].job), default=None)
    delete: list[str] = []
    if retention_seconds is not None:
        cutoff = now - timedelta(seconds=retention_seconds)
        for name, manifest in sorted(manifests.items()):
            if newest is not None and name == newest[0]:
                continue
            if manifest.scheduled_time < cutoff:
                delete.append(name)
                if manifest.object in present:
                    delete.append(manifest.object)
    ours = _ours(backup_name)
    stale = now - LEFTOVER_AGE
    for info in sorted(objects, key=lambda o: o.name):
        job = job_of(info.name)
        if (
            job is not None
            and ours.fullmatch(job)
            and c.manifest_object_name(job) not in present
            and info.modified < stale
        ):
            delete.append(info.name)
    discard = tuple(
        p
        for p in partials
        if p.modified < stale
        and (job := job_of(p.name.lstrip(".").removesuffix(".partial")))
        and ours.fullmatch(job)
    )
    return Plan(tuple(delete), discard)


def _partials(storage: Storage) -> list[ObjectInfo]:
    try:
        return storage.partials()
    except StorageError as err:  # e.g. no permission to list multipart uploads: not fatal
        LOG.warning("step=retention partial-uploads=unlisted reason=%s", err)
        return []


def enforce(storage: Storage, cfg: Config, now: datetime) -> Plan:
    """List, plan and delete; returns what was deleted. Expired backups that cannot be
    deleted fail the run (:class:`StorageError`); leftovers of interrupted uploads that
    cannot be listed or discarded are only logged (the storage may not allow it)."""
    objects = storage.objects()
    manifests = read_manifests(storage, objects, cfg)
    todo = plan(
        objects,
        manifests,
        _partials(storage),
        backup_name=cfg.backup_name,
        retention_seconds=cfg.retention_seconds,
        now=now,
    )
    for name in todo.delete:
        storage.delete(name)
        LOG.info("step=retention deleted=%s", storage.url(name))
    for partial in todo.discard:
        try:
            storage.discard_partial(partial)
        except StorageError as err:
            LOG.warning("step=retention discard-failed=%s reason=%s", partial.name, err)
            continue
        LOG.info("step=retention discarded-partial=%s", storage.url(partial.name))
    return todo
