"""``dbbackup-runner verify`` and ``restore``: check a dump against its manifest, load it.

Role: :func:`verify` streams a dump and compares its size and SHA-256 with the manifest;
:func:`restore` verifies, then streams the dump again through zstd into the engine's restore
tool.
Guarantees: a backup without manifest, with a missing dump, or whose dump does not match is
refused before the restore tool starts, so the database is untouched; the second pass is
hashed too, and if the object changed in between the tool is killed before its input ends
(for PostgreSQL with one database, ``psql --single-transaction`` then commits nothing);
memory is bounded (zstd writes into the tool's stdin in pieces).
Non-goals: point-in-time recovery; choosing which database to restore into (``DB_*`` is the
target, as for a backup).
"""

from __future__ import annotations

import logging
import tempfile
import time

import zstandard

from runner import log
from runner.backup import one_line, probe
from runner.catalog import Backup
from runner.config import Config
from runner.engines import Engine, family
from runner.errors import ConfigError, VerificationError
from runner.stream import Digest
from runner.tools import ToolProcess

__all__ = ["restore", "verify"]

LOG = logging.getLogger("dbbackup-runner")
WRITE_SIZE = 1024 * 1024  # decompressed bytes handed to the restore tool at a time


def _check(backup: Backup, digest: Digest) -> None:
    m = backup.manifest
    if digest.size != m.size:
        raise VerificationError(
            f"{backup.url} is corrupt or incomplete: {digest.size} bytes, manifest says {m.size}"
        )
    if digest.hexdigest() != m.sha256:
        raise VerificationError(
            f"{backup.url} is corrupt: SHA-256 {digest.hexdigest()}, manifest says {m.sha256}"
        )


def verify(backup: Backup) -> Digest:
    """Stream the dump and check it against its manifest."""
    t0 = time.monotonic()
    digest = Digest()
    for data in backup.storage.read(backup.manifest.object):
        digest.update(data)
    _check(backup, digest)
    log.step("verify", seconds=time.monotonic() - t0, size=digest.size, object=backup.url, ok=True)
    return digest


def restore(cfg: Config, backup: Backup, engine: Engine) -> None:
    """Verify ``backup``, then load it into the ``DB_*`` database."""
    if family(backup.manifest.engine) != family(cfg.db_type):
        raise ConfigError(
            f"{backup.url} is a {backup.manifest.engine} dump; DB_TYPE is {cfg.db_type}"
        )
    verify(backup)
    with tempfile.TemporaryDirectory(dir=cfg.scratch_dir, prefix="dbbackup-") as secret_dir:
        cmds = engine.commands(cfg, secret_dir)
        probe(engine, cmds, cfg)
        t0 = time.monotonic()
        digest = Digest()
        with ToolProcess(cmds.restore, cmds.env, feed=True) as tool:
            decompressor = zstandard.ZstdDecompressor()
            broken = False
            try:
                with decompressor.stream_writer(
                    tool.stdin, write_size=WRITE_SIZE, closefd=False
                ) as sink:
                    for data in backup.storage.read(backup.manifest.object):
                        sink.write(digest.update(data))
                        sink.flush()
            except BrokenPipeError:
                broken = True  # the tool stopped reading: its exit status says why
            except zstandard.ZstdError as err:
                tool.kill()
                raise VerificationError(f"{backup.url} does not decompress: {err}") from None
            if not broken:
                try:
                    _check(backup, digest)
                except VerificationError:
                    tool.kill()
                    raise
            code, stderr = tool.wait()
        if code != 0:
            reason = log.redact(stderr or f"exit {code}", cfg.secrets())
            raise engine.classify(reason)(f"{cmds.restore[0]} failed: {one_line(reason)}")
    log.step(
        "restore",
        seconds=time.monotonic() - t0,
        size=digest.size,
        object=backup.url,
        tool=cmds.restore[0],
    )
