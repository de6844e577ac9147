"""Opening the storage a run writes to, or the location a URL names.

Role: :func:`open_storage` builds the backend for ``STORAGE_TYPE``; :func:`open_location`
splits a dump's URL (``s3://``, ``gs://`` or a path) into its storage and object name.
Guarantees: backends are imported only when used, so a PVC run never loads boto3.
Non-goals: the backends themselves (one module each).
"""

from __future__ import annotations

import posixpath

from runner.config import Config
from runner.errors import ConfigError
from runner.storage.base import CHUNK_SIZE, READ_SIZE, ObjectInfo, Storage

__all__ = ["CHUNK_SIZE", "READ_SIZE", "ObjectInfo", "Storage", "open_location", "open_storage"]


def _open(cfg: Config, kind: str, bucket: str, prefix: str, path: str) -> Storage:
    if kind == "s3":
        from runner.storage.s3 import S3Storage

        return S3Storage(
            bucket,
            prefix,
            region=cfg.region,
            endpoint=cfg.endpoint,
            access_key_id=cfg.aws_access_key_id,
            secret_access_key=cfg.aws_secret_access_key,
        )
    if kind == "gcs":
        from runner.storage.gcs import GCSStorage

        return GCSStorage(bucket, prefix, endpoint=cfg.endpoint, key_file=cfg.gcs_key_file)
    from runner.storage.directory import DirectoryStorage

    return DirectoryStorage(path)


def open_storage(cfg: Config) -> Storage:
    """The storage of ``STORAGE_*``."""
    return _open(cfg, cfg.storage_type, cfg.bucket, cfg.prefix, cfg.path)


def open_location(cfg: Config, url: str) -> tuple[Storage, str]:
    """``(storage, object name)`` for a dump's URL, with this run's credentials."""
    for scheme, kind in (("s3://", "s3"), ("gs://", "gcs")):
        if url.startswith(scheme):
            bucket, _, key = url[len(scheme) :].partition("/")
            prefix, name = posixpath.split(key)
            if not bucket or not name:
                raise ConfigError(f"{url!r} does not name an object")
            if kind != cfg.storage_type:
                raise ConfigError(f"{url!r} is not {cfg.storage_type} storage")
            return _open(cfg, kind, bucket, prefix, ""), name
    if url.startswith("/"):
        directory, name = posixpath.split(url)
        if not name:
            raise ConfigError(f"{url!r} does not name a file")
        return _open(cfg, "pvc", "", "", directory), name
    raise ConfigError(f"{url!r} is not an s3://, gs:// URL or an absolute path")
