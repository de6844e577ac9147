"""The streaming pipeline: tool output -> zstd -> SHA-256 and size -> chunks for storage.

Role: :class:`CompressedDump` turns a dump tool's stdout into compressed chunks of
:data:`~runner.storage.base.CHUNK_SIZE` bytes; :class:`Digest` counts and hashes what passes.
Guarantees: memory is bounded by a chunk plus a read (never the whole dump); the dump tool's
exit status is checked after its last byte and before the last chunk is handed on, so a failed
dump raises inside the upload and the upload is aborted; the zstd frame carries a checksum.
Non-goals: where the chunks go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import IO

import zstandard

from runner.storage.base import CHUNK_SIZE, READ_SIZE

__all__ = ["ZSTD_LEVEL", "CompressedDump", "Digest"]

ZSTD_LEVEL = 3  # zstd's own default: fast, and a good ratio on SQL text
# One zstd worker thread: compression runs beside the loop that reads the tool and hashes
# and writes the output (zstd releases the GIL), as a `pg_dump | zstd` pipeline overlaps.
ZSTD_THREADS = 1
ZSTD_JOB_SIZE = 2 * 1024 * 1024  # what the worker takes at a time; bounds its buffers


class Digest:
    """Size and SHA-256 of the bytes fed to it."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes) -> bytes:
        """Count and hash ``data``; return it unchanged."""
        self._sha.update(data)
        self.size += len(data)
        return data

    def hexdigest(self) -> str:
        """The SHA-256 so far, as 64 hex digits."""
        return self._sha.hexdigest()


class CompressedDump:
    """Iterate compressed chunks of ``source``; ``finish()`` is called after its last byte."""

    def __init__(self, source: IO[bytes], finish: Callable[[], None]) -> None:
        self._source = source
        self._finish = finish
        self.raw_size = 0
        self.digest = Digest()

    def __iter__(self) -> Iterator[bytes]:
        params = zstandard.ZstdCompressionParameters.from_level(
            ZSTD_LEVEL, threads=ZSTD_THREADS, job_size=ZSTD_JOB_SIZE, write_checksum=1
        )
        compressor = zstandard.ZstdCompressor(compression_params=params)
        chunker = compressor.chunker(chunk_size=CHUNK_SIZE)
        while data := self._source.read(READ_SIZE):
            self.raw_size += len(data)
            for out in chunker.compress(data):
                yield self.digest.update(out)
        self._finish()
        for out in chunker.finish():
            yield self.digest.update(out)
