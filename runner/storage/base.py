"""What every storage backend offers the runner: a flat directory of named objects.

Role: the :class:`Storage` protocol and :class:`ObjectInfo`; the backends are
:mod:`runner.storage.s3`, :mod:`runner.storage.gcs` and :mod:`runner.storage.directory`.
Guarantees every backend keeps: :meth:`Storage.upload` is atomic (the object appears whole or
not at all; on any failure, including one raised by the chunk iterator, the partial upload is
aborted and the iterator's exception propagates unchanged, a storage failure becomes
:class:`~runner.errors.UploadError`); other calls raise :class:`~runner.errors.StorageError`.
Non-goals: nested prefixes (only the direct children of the location are listed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["CHUNK_SIZE", "READ_SIZE", "ObjectInfo", "Storage", "key_prefix"]

CHUNK_SIZE = 8 * 1024 * 1024  # one S3 part / one GCS resumable chunk (a multiple of 256 KiB)
READ_SIZE = 1024 * 1024  # downloads are read in pieces of this size


def key_prefix(prefix: str) -> str:
    """What a bucket backend puts before an object's name: ``"a/b/"`` for ``"/a/b/"``, and
    nothing for an empty prefix (object names then sit at the top of the bucket)."""
    stripped = prefix.strip("/")
    return f"{stripped}/" if stripped else ""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object under the location: its name (no prefix), size and last-modified time;
    ``handle`` identifies a leftover of an interrupted upload to its backend."""

    name: str
    size: int
    modified: datetime
    handle: str = ""


class Storage(Protocol):
    """A flat directory of objects at one location (bucket and prefix, or a directory)."""

    def url(self, name: str) -> str:
        """The exact URL (or path) of object ``name``."""
        ...

    def objects(self) -> list[ObjectInfo]:
        """Every object directly under the location (incomplete uploads excluded)."""
        ...

    def upload(self, name: str, chunks: Iterable[bytes]) -> None:
        """Write ``name`` from ``chunks`` atomically (see the module's guarantees)."""
        ...

    def put(self, name: str, data: bytes) -> None:
        """Write a small object atomically."""
        ...

    def read(self, name: str) -> Iterator[bytes]:
        """Stream object ``name`` in pieces of at most :data:`READ_SIZE` bytes."""
        ...

    def delete(self, name: str) -> None:
        """Delete object ``name``; deleting a missing object is not an error."""
        ...

    def partials(self) -> list[ObjectInfo]:
        """Leftovers of interrupted uploads (temporary files, unfinished multipart uploads)."""
        ...

    def discard_partial(self, partial: ObjectInfo) -> None:
        """Remove one leftover returned by :meth:`partials`."""
        ...
