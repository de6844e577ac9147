"""Round trips through real servers: seed, back up, change, restore, compare row for row.

PostgreSQL and MariaDB, each through S3 (moto's server), GCS (the JSON-API emulator) and a
directory; the dump lands at the exact ``<STORAGE_URL>/<job>.sql.zst`` with its manifest, and
``list``, ``verify`` and ``restore`` find it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.runner.harness import BACKUP_UID, Target, contract_env, run_runner
from tests.runner.seed import mutate, seed, snapshot
from tests.runner.servers import Database, ObjectStore

JOB = "shop-daily-20250327010000"
SCHEDULED = "2025-03-27T01:00:00Z"


def _target(kind: str, tmp_path: Path, s3: ObjectStore, gcs: ObjectStore, prefix: str) -> Target:
    if kind == "s3":
        return Target("s3", prefix, store=s3)
    if kind == "gcs":
        return Target("gcs", prefix, store=gcs)
    path = tmp_path / "backups"
    path.mkdir()
    return Target("pvc", prefix, path=path)


@pytest.mark.parametrize("storage", ["s3", "gcs", "pvc"])
@pytest.mark.parametrize("engine", ["postgresql", "mariadb"])
def test_round_trip(
    engine: str,
    storage: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    s3: ObjectStore,
    gcs: ObjectStore,
) -> None:
    db: Database = request.getfixturevalue("postgres" if engine == "postgresql" else "mariadb")
    name = f"shop_{storage}"
    target = _target(storage, tmp_path, s3, gcs, f"rt/{engine}/{storage}")
    seed(db, name)
    before = snapshot(db, name)
    env = contract_env(
        db, target, backup="shop-daily", job=JOB, scheduled=SCHEDULED, db_name=name,
        scratch=tmp_path,
    )  # fmt: skip

    backup = run_runner(env, "backup")
    assert backup.returncode == 0, backup.stderr
    assert db.password not in backup.stderr + backup.stdout

    listed = run_runner(env, "list", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert entry["url"] == target.url(f"{JOB}.sql.zst")
    assert entry["job"] == JOB and entry["scheduledTime"] == SCHEDULED
    assert entry["name"] == "shop-daily" and entry["namespace"] == "default"
    assert entry["uid"] == BACKUP_UID
    assert entry["engine"] == engine and entry["format"] == "sql"
    assert entry["compression"] == "zstd" and entry["serverVersion"]
    if storage == "pvc":
        assert target.path is not None
        data = (target.path / f"{JOB}.sql.zst").read_bytes()
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert sorted(p.name for p in target.path.iterdir()) == [f"{JOB}.json", f"{JOB}.sql.zst"]

    verify = run_runner(env, "verify")
    assert verify.returncode == 0, verify.stderr
    assert "ok=True" in verify.stderr

    mutate(db, name)
    assert snapshot(db, name) != before
    restore = run_runner(env, "restore", "--from", JOB)
    assert restore.returncode == 0, restore.stderr
    assert snapshot(db, name) == before


def test_restore_by_url_and_whole_server_dump(
    postgres: Database, tmp_path: Path, s3: ObjectStore
) -> None:
    """``DB_NAME`` empty dumps every database with ``pg_dumpall``; ``--from`` takes a URL."""
    seed(postgres, "every_db")
    before = snapshot(postgres, "every_db")
    target = Target("s3", "rt/all", store=s3)
    env = contract_env(
        postgres, target, backup="all", job="all-20250327010000", scheduled=SCHEDULED,
        db_name="", scratch=tmp_path,
    )  # fmt: skip
    assert run_runner(env, "backup").returncode == 0
    mutate(postgres, "every_db")
    url = target.url("all-20250327010000.sql.zst")
    restore = run_runner(env, "restore", "--from", url)
    assert restore.returncode == 0, restore.stderr
    assert snapshot(postgres, "every_db") == before
