"""What is in storage: this backup's manifests, its complete backups, and the one to restore.

Role: :func:`read_manifests` loads the manifests of one backup (namespace and name);
:func:`complete_backups` pairs each with its dump; :func:`resolve` finds the backup that
``--from latest|NAME|URL`` means.
Guarantees: a dump is complete only with a manifest of the same run and a dump object whose
size matches it; a file that is not a manifest, or is another backup's, is ignored (two
backups may share a prefix); a named backup without its manifest is refused
(:class:`~runner.errors.VerificationError`), never guessed at.
Non-goals: checking the content (:mod:`runner.restore` verifies the SHA-256).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.v1alpha1 import contract as c
from runner.config import Config
from runner.errors import ConfigError, StorageError, VerificationError
from runner.manifest import Manifest, job_of
from runner.storage import ObjectInfo, Storage, open_location

__all__ = ["LATEST", "Backup", "complete_backups", "read_manifests", "resolve"]

LATEST = "latest"
LOG = logging.getLogger("dbbackup-runner")


@dataclass(frozen=True, slots=True)
class Backup:
    """A complete backup: its manifest and where its dump is."""

    manifest: Manifest
    storage: Storage
    url: str


def _load(storage: Storage, name: str) -> Manifest | None:
    try:
        return Manifest.from_json(b"".join(storage.read(name)))
    except ValueError as err:
        LOG.warning("ignoring %s: %s", storage.url(name), err)
    except StorageError as err:
        LOG.warning("ignoring %s: %s", storage.url(name), err)
    return None


def read_manifests(storage: Storage, objects: list[ObjectInfo], cfg: Config) -> dict[str, Manifest]:
    """Manifests of this backup (``BACKUP_NAMESPACE``/``BACKUP_NAME``) by object name."""
    found: dict[str, Manifest] = {}
    for info in objects:
        if not info.name.endswith(f".{c.MANIFEST_EXTENSION}") or job_of(info.name) is None:
            continue
        manifest = _load(storage, info.name)
        if manifest and (manifest.namespace, manifest.name) == (cfg.namespace, cfg.backup_name):
            found[info.name] = manifest
    return found


def complete_backups(storage: Storage, cfg: Config) -> list[Backup]:
    """This backup's complete backups, newest scheduled time first."""
    objects = storage.objects()
    sizes = {o.name: o.size for o in objects}
    done = [
        Backup(m, storage, storage.url(m.object))
        for m in read_manifests(storage, objects, cfg).values()
        if sizes.get(m.object) == m.size
    ]
    return sorted(done, key=lambda b: (b.manifest.scheduled_time, b.manifest.job), reverse=True)


def resolve(storage: Storage, cfg: Config, source: str) -> Backup:
    """The backup ``source`` names: ``latest``, a Job or object name, or a URL/path."""
    if source == LATEST:
        backups = complete_backups(storage, cfg)
        if not backups:
            raise VerificationError(f"no complete backup of {cfg.backup_name} under this location")
        return backups[0]
    if "://" in source or source.startswith("/"):
        storage, name = open_location(cfg, source)
    else:
        name = source
    job = job_of(name) or name
    if "/" in job:
        raise ConfigError(f"{source!r} is not a backup name")
    manifest_name = c.manifest_object_name(job)
    sizes = {o.name: o.size for o in storage.objects()}
    if manifest_name not in sizes:
        raise VerificationError(
            f"{storage.url(manifest_name)} does not exist: the backup is incomplete or unknown"
        )
    manifest = _load(storage, manifest_name)
    if manifest is None:
        raise VerificationError(f"{storage.url(manifest_name)} is not a valid manifest")
    if manifest.object not in sizes:
        raise VerificationError(f"{storage.url(manifest.object)} does not exist")
    return Backup(manifest, storage, storage.url(manifest.object))
