"""``dbbackup-runner backup``: dump, compress, upload, write the manifest, apply retention.

Role: :func:`run_backup` performs one run of the backup-image contract.
Guarantees, in order: the storage answers before the database is touched; the database is
probed (unreachable and refused credentials are told apart) before the dump starts; the dump
streams from the tool through zstd into an atomic upload (a failed dump or upload leaves no
object); the manifest is written only after the dump's upload completed; retention runs only
after that. Each step logs one line with its size, duration and throughput.
Non-goals: restore and verification (:mod:`runner.restore`).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from datetime import datetime

from api.v1alpha1 import contract as c
from runner import log
from runner.config import Config
from runner.engines import Commands, Engine
from runner.errors import DatabaseUnreachableError
from runner.manifest import Manifest
from runner.retention import enforce
from runner.storage import Storage
from runner.stream import CompressedDump
from runner.tools import ToolProcess, run_capture

__all__ = ["one_line", "probe", "run_backup"]

LOG = logging.getLogger("dbbackup-runner")
Clock = Callable[[], datetime]


def one_line(text: str) -> str:
    """A tool's stderr on one log line."""
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def probe(engine: Engine, cmds: Commands, cfg: Config) -> str:
    """The server's version, or the failure a probe explains (unreachable, auth, config)."""
    if not cmds.probe:
        return ""
    started = time.monotonic()
    code, out, err = run_capture(cmds.probe, cmds.env)
    if code != 0:
        reason = log.redact(err or f"{cmds.probe[0]} exited {code}", cfg.secrets())
        error = DatabaseUnreachableError if code < 0 else engine.classify(reason)
        raise error(f"{cfg.db_type} at {cfg.db_host}:{cfg.db_port}: {one_line(reason)}")
    version = out.splitlines()[0].strip() if out else ""
    log.step("probe", seconds=time.monotonic() - started, engine=cfg.db_type, server=version)
    return version


def _tool_version(cmds: Commands) -> str:
    code, out, _ = run_capture(cmds.version, cmds.env)
    return out.splitlines()[0].strip() if code == 0 and out else ""


def run_backup(cfg: Config, storage: Storage, engine: Engine, clock: Clock) -> Manifest:
    """One backup run; returns the manifest written."""
    started_at = clock().replace(microsecond=0)
    t0 = time.monotonic()
    objects = storage.objects()
    log.step(
        "storage", seconds=time.monotonic() - t0, location=storage.url(""), objects=len(objects)
    )
    with tempfile.TemporaryDirectory(dir=cfg.scratch_dir, prefix="dbbackup-") as secret_dir:
        cmds = engine.commands(cfg, secret_dir)
        server_version = probe(engine, cmds, cfg)
        tool_version = _tool_version(cmds)
        t0 = time.monotonic()
        with ToolProcess(cmds.dump, cmds.env, feed=False) as tool:

            def finish() -> None:
                code, stderr = tool.wait()
                if code != 0:
                    reason = log.redact(stderr or f"exit {code}", cfg.secrets())
                    raise engine.classify(reason)(f"{cmds.dump[0]} failed: {one_line(reason)}")

            dump = CompressedDump(tool.stdout, finish)
            storage.upload(cfg.dump_name, dump)
    seconds = time.monotonic() - t0
    log.step(
        "dump",
        seconds=seconds,
        size=dump.raw_size,
        tool=cmds.dump[0],
    )
    log.step(
        "upload",
        seconds=seconds,
        size=dump.digest.size,
        object=storage.url(cfg.dump_name),
        ratio=f"{dump.raw_size / max(dump.digest.size, 1):.2f}",
        sha256=dump.digest.hexdigest(),
    )
    manifest = Manifest(
        namespace=cfg.namespace,
        name=cfg.backup_name,
        uid=cfg.uid,
        job=cfg.job_name,
        scheduled_time=cfg.scheduled_time,
        started_at=started_at,
        finished_at=clock().replace(microsecond=0),
        engine=cfg.db_type,
        server_version=server_version,
        tool=cmds.dump[0],
        tool_version=tool_version,
        format=c.DUMP_FORMATS[cfg.db_type],
        compression=c.COMPRESSION,
        object=cfg.dump_name,
        size=dump.digest.size,
        sha256=dump.digest.hexdigest(),
    )
    storage.put(cfg.manifest_name, manifest.to_json())
    log.step("manifest", object=storage.url(cfg.manifest_name))
    t0 = time.monotonic()
    done = enforce(storage, cfg, clock())
    log.step(
        "retention",
        seconds=time.monotonic() - t0,
        retention_seconds=cfg.retention_seconds
        if cfg.retention_seconds is not None
        else "keep-all",
        deleted=len(done.delete),
        discarded=len(done.discard),
    )
    return manifest
