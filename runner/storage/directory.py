"""Storage in a directory (a mounted PersistentVolumeClaim, ``STORAGE_PATH``).

Role: a :class:`~runner.storage.base.Storage` over a local directory.
Guarantees: an upload writes ``.<name>.partial`` in the same directory, fsyncs it, renames it
to ``<name>`` and fsyncs the directory, so a reader sees the whole object or nothing; on any
failure the temporary file is removed. Names starting with ``.`` are never listed as objects.
Non-goals: subdirectories.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from runner.errors import StorageError, UploadError
from runner.storage.base import READ_SIZE, ObjectInfo

__all__ = ["DirectoryStorage"]

PARTIAL_PREFIX = "."
PARTIAL_SUFFIX = ".partial"


def _info(entry: os.DirEntry[str], name: str) -> ObjectInfo:
    st = entry.stat()
    return ObjectInfo(name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))


class DirectoryStorage:
    """Objects are the regular files of ``root``."""

    def __init__(self, root: str) -> None:
        self._root = Path(root)

    def url(self, name: str) -> str:
        return str(self._root / name)

    def _scan(self) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(self._root) as entries:
                yield from (e for e in entries if e.is_file(follow_symlinks=False))
        except OSError as err:
            raise StorageError(f"cannot read directory {self._root}: {err.strerror}") from None

    def objects(self) -> list[ObjectInfo]:
        return [_info(e, e.name) for e in self._scan() if not e.name.startswith(PARTIAL_PREFIX)]

    def partials(self) -> list[ObjectInfo]:
        return [
            _info(e, e.name)
            for e in self._scan()
            if e.name.startswith(PARTIAL_PREFIX) and e.name.endswith(PARTIAL_SUFFIX)
        ]

    def discard_partial(self, partial: ObjectInfo) -> None:
        self._unlink(partial.name)

    def _unlink(self, name: str) -> None:
        try:
            (self._root / name).unlink(missing_ok=True)
        except OSError as err:
            raise StorageError(f"cannot delete {self._root / name}: {err.strerror}") from None

    def upload(self, name: str, chunks: Iterable[bytes]) -> None:
        temp = self._root / f"{PARTIAL_PREFIX}{name}{PARTIAL_SUFFIX}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as err:
            raise StorageError(f"cannot write in {self._root}: {err.strerror}") from None
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                for chunk in chunks:
                    try:
                        out.write(chunk)
                    except OSError as err:
                        raise UploadError(f"writing {temp} failed: {err.strerror}") from None
                os.fsync(out.fileno())
            os.replace(temp, self._root / name)
            self._fsync_dir()
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise

    def _fsync_dir(self) -> None:
        fd = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def put(self, name: str, data: bytes) -> None:
        self.upload(name, [data])

    def read(self, name: str) -> Iterator[bytes]:
        try:
            handle = (self._root / name).open("rb")
        except OSError as err:
            raise StorageError(f"cannot read {self._root / name}: {err.strerror}") from None
        with handle:
            while data := handle.read(READ_SIZE):
                yield data

    def delete(self, name: str) -> None:
        self._unlink(name)
