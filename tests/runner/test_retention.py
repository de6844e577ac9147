"""Retention with fake ages: what is deleted, and that the newest good backup never is.

The planning is a pure function of the listing and an injected time; one test runs a whole
backup in-process with an injected clock against a directory holding older runs of this
backup, another backup sharing the prefix, stray files and leftovers of interrupted runs.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from runner.backup import run_backup
from runner.config import load_config
from runner.engines import engine_for
from runner.manifest import Manifest
from runner.retention import LEFTOVER_AGE, enforce, plan
from runner.storage import ObjectInfo
from runner.storage.directory import DirectoryStorage
from runner.storage.s3 import S3Storage
from tests.runner.harness import S3_KEY_ID, S3_SECRET, Target, contract_env
from tests.runner.servers import Database, ObjectStore

NOW = datetime(2025, 3, 27, 1, 5, tzinfo=UTC)
DAY = timedelta(days=1)
SHA = "0" * 64
ENV_FOR_S3 = {
    "BACKUP_NAME": "pg", "BACKUP_NAMESPACE": "default", "DB_TYPE": "postgresql",
    "DB_HOST": "db", "DB_PORT": "5432", "STORAGE_TYPE": "s3", "STORAGE_BUCKET": "backups",
    "STORAGE_PREFIX": "retention/partials",
}  # fmt: skip


def _manifest(job: str, scheduled: datetime, *, name: str = "pg", ns: str = "default") -> Manifest:
    return Manifest(
        namespace=ns, name=name, uid="", job=job, scheduled_time=scheduled,
        started_at=scheduled, finished_at=scheduled, engine="postgresql", server_version="15",
        tool="pg_dump", tool_version="15", format="sql", compression="zstd",
        object=f"{job}.sql.zst", size=1, sha256=SHA,
    )  # fmt: skip


def _job(when: datetime, name: str = "pg") -> str:
    return f"{name}-{when.strftime('%Y%m%d%H%M%S')}"


def _run(days_ago: int, name: str = "pg") -> tuple[str, Manifest, list[ObjectInfo]]:
    when = NOW - days_ago * DAY
    job = _job(when, name)
    m = _manifest(job, when, name=name)
    files = [ObjectInfo(f"{job}.sql.zst", 1, when), ObjectInfo(f"{job}.json", 1, when)]
    return f"{job}.json", m, files


def _plan(runs: list[tuple[str, Manifest, list[ObjectInfo]]], seconds: int | None,
          extra: list[ObjectInfo] | None = None) -> list[str]:  # fmt: skip
    objects = [f for _, _, files in runs for f in files] + (extra or [])
    manifests = {n: m for n, m, _ in runs if m.name == "pg"}
    return list(plan(objects, manifests, [], backup_name="pg", retention_seconds=seconds,
                     now=NOW).delete)  # fmt: skip


def test_backups_older_than_the_retention_go_manifest_first() -> None:
    runs = [_run(d) for d in (0, 1, 13, 15, 20)]
    deleted = _plan(runs, int(timedelta(days=14).total_seconds()))
    assert deleted == [
        f"{_job(NOW - 20 * DAY)}.json", f"{_job(NOW - 20 * DAY)}.sql.zst",
        f"{_job(NOW - 15 * DAY)}.json", f"{_job(NOW - 15 * DAY)}.sql.zst",
    ]  # fmt: skip


def test_the_newest_complete_backup_is_kept_whatever_its_age() -> None:
    runs = [_run(d) for d in (30, 40)]
    newest_incomplete = ObjectInfo(f"{_job(NOW)}.sql.zst", 1, NOW)  # no manifest yet
    deleted = _plan(runs, 3600, [newest_incomplete])
    assert deleted == [f"{_job(NOW - 40 * DAY)}.json", f"{_job(NOW - 40 * DAY)}.sql.zst"]


def test_empty_retention_keeps_every_complete_backup() -> None:
    assert _plan([_run(d) for d in (1, 100, 1000)], None) == []


def test_other_backups_and_stray_files_are_never_touched() -> None:
    other = _run(100, name="pg-other")
    strays = [ObjectInfo(n, 1, NOW - 100 * DAY) for n in ("notes.txt", "pg.sql.zst", "x.json")]
    assert _plan([_run(0), _run(100), other], 3600, strays) == [
        f"{_job(NOW - 100 * DAY)}.json", f"{_job(NOW - 100 * DAY)}.sql.zst",
    ]  # fmt: skip


def test_incomplete_leftovers_go_after_a_day() -> None:
    fresh = ObjectInfo(f"{_job(NOW - timedelta(hours=2))}.sql.zst", 1, NOW - timedelta(hours=2))
    old = ObjectInfo(f"{_job(NOW - 2 * DAY)}.sql.zst", 1, NOW - 2 * DAY)
    others = ObjectInfo(f"{_job(NOW - 2 * DAY, 'pg-other')}.sql.zst", 1, NOW - 2 * DAY)
    assert _plan([_run(0)], None, [fresh, old, others]) == [old.name]
    partial_old = ObjectInfo(f".{_job(NOW - 2 * DAY)}.sql.zst.partial", 5, NOW - LEFTOVER_AGE * 2)
    partial_new = ObjectInfo(f".{_job(NOW)}.sql.zst.partial", 5, NOW)
    result = plan([], {}, [partial_old, partial_new], backup_name="pg", retention_seconds=None,
                  now=NOW)  # fmt: skip
    assert result.discard == (partial_old,)


def test_a_backup_run_applies_retention_with_an_injected_clock(
    postgres: Database, tmp_path: Path
) -> None:
    directory = tmp_path / "shared"
    directory.mkdir()
    store = DirectoryStorage(str(directory))
    old_runs = [_run(d) for d in (1, 10, 20)] + [_run(20, name="pg-other")]
    for name, manifest, _ in old_runs:
        store.put(manifest.object, b"x")
        store.put(name, manifest.to_json())
    leftover = directory / f"{_job(NOW - 3 * DAY)}.sql.zst"
    leftover.write_bytes(b"half")
    os.utime(leftover, (0, (NOW - 3 * DAY).timestamp()))
    (directory / "README.txt").write_text("not a backup")
    target = Target("pvc", "", path=directory)
    env = contract_env(
        postgres, target, backup="pg", job=_job(NOW), scheduled="2025-03-27T01:00:00Z",
        db_name="postgres", retention_seconds=str(7 * 86400), scratch=tmp_path,
    )  # fmt: skip
    cfg = load_config(env)
    manifest = run_backup(cfg, store, engine_for("postgresql"), lambda: NOW)
    assert manifest.finished_at == NOW and manifest.object == f"{_job(NOW)}.sql.zst"
    kept = sorted(p.name for p in directory.iterdir())
    one, twenty = _job(NOW - DAY), _job(NOW - 20 * DAY, "pg-other")
    assert kept == sorted([
        "README.txt", f"{_job(NOW)}.json", f"{_job(NOW)}.sql.zst", f"{one}.json",
        f"{one}.sql.zst", f"{twenty}.json", f"{twenty}.sql.zst",
    ])  # fmt: skip


def test_an_interrupted_s3_upload_older_than_a_day_is_aborted(s3: ObjectStore) -> None:
    storage = S3Storage(
        s3.bucket, "retention/partials", region="us-east-1", endpoint=s3.endpoint,
        access_key_id=S3_KEY_ID, secret_access_key=S3_SECRET,
    )  # fmt: skip
    client: Any = boto3.client(
        "s3", endpoint_url=s3.endpoint, region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET,
    )  # fmt: skip
    ours = f"retention/partials/{_job(NOW, 'pg')}.sql.zst"
    theirs = f"retention/partials/{_job(NOW, 'pg-other')}.sql.zst"
    for key in (ours, theirs):
        client.create_multipart_upload(Bucket=s3.bucket, Key=key)
    cfg = load_config(ENV_FOR_S3, need_job=False)
    later = datetime.now(UTC) + 2 * DAY  # the injected clock: the uploads are two days old
    done = enforce(storage, cfg, later)
    assert [p.name for p in done.discard] == [f"{_job(NOW, 'pg')}.sql.zst"]
    left = client.list_multipart_uploads(Bucket=s3.bucket, Prefix="retention/partials/")
    assert [u["Key"] for u in left.get("Uploads", [])] == [theirs]
