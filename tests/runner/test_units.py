"""The runner's pieces without servers: configuration, commands, manifests, the contract."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.v1alpha1 import contract as c
from runner.config import load_config
from runner.engines import engine_for
from runner.errors import ConfigError, DatabaseAuthError, DatabaseUnreachableError, ToolError
from runner.manifest import Manifest, job_of

PASSWORD = "pa$$word with spaces"
ENV = {
    "BACKUP_NAME": "pg",
    "BACKUP_NAMESPACE": "default",
    "BACKUP_JOB_NAME": "pg-20250327010000",
    "BACKUP_SCHEDULED_TIME": "2025-03-27T01:00:00Z",
    "BACKUP_RETENTION_SECONDS": "1209600",
    "DB_TYPE": "postgresql",
    "DB_HOST": "db.example",
    "DB_PORT": "5432",
    "DB_NAME": "app",
    "DB_USER": "backup",
    "DB_PASSWORD": PASSWORD,
    "STORAGE_TYPE": "s3",
    "STORAGE_URL": "s3://my-database-backups/postgres/daily",
    "STORAGE_BUCKET": "my-database-backups",
    "STORAGE_PREFIX": "postgres/daily",
    "TMPDIR": "/tmp",
}


def test_config_reads_the_contract_and_hides_secrets() -> None:
    cfg = load_config(ENV)
    assert cfg.dump_name == "pg-20250327010000.sql.zst"
    assert cfg.manifest_name == "pg-20250327010000.json"
    assert cfg.scheduled_time == datetime(2025, 3, 27, 1, tzinfo=UTC)
    assert cfg.retention_seconds == 1209600
    assert PASSWORD not in repr(cfg)


def test_config_lists_every_problem() -> None:
    env = ENV | {"DB_TYPE": "", "STORAGE_BUCKET": "", "BACKUP_SCHEDULED_TIME": "yesterday"}
    with pytest.raises(ConfigError) as err:
        load_config(env)
    text = str(err.value)
    assert "DB_TYPE" in text and "STORAGE_BUCKET" in text and "BACKUP_SCHEDULED_TIME" in text
    assert err.value.exit_code == c.EXIT_CONFIG


def test_object_names_come_from_the_contract() -> None:
    assert c.dump_object_name("x-20250327010000", "mongodb") == "x-20250327010000.archive.zst"
    assert c.dump_object_name("x-20250327010000", "mariadb") == "x-20250327010000.sql.zst"
    assert job_of("x-20250327010000.archive.zst") == "x-20250327010000"
    assert job_of("x-20250327010000.json") == "x-20250327010000"
    assert job_of("notes.txt") is None and job_of(".sql.zst") is None


def test_exit_codes_are_distinct_and_described() -> None:
    codes = [e.code for e in c.EXIT_CODES]
    assert len(set(codes)) == len(codes) and 0 not in codes
    assert c.describe_exit_code(4) == "database authentication failed (exit 4)"
    assert c.describe_exit_code(99) == "exit 99"
    assert set(c.NON_RETRIABLE_EXIT_CODES) == {c.EXIT_CONFIG, c.EXIT_DB_AUTH}


@pytest.mark.parametrize("db_type", ["postgresql", "mysql", "mariadb", "mongodb"])
def test_passwords_never_reach_a_command_line(db_type: str, tmp_path: Path) -> None:
    cfg = load_config(ENV | {"DB_TYPE": db_type})
    cmds = engine_for(db_type).commands(cfg, str(tmp_path))
    for argv in (cmds.probe, cmds.version, cmds.dump, cmds.restore):
        assert not [a for a in argv if PASSWORD in a]
    assert "AWS_SECRET_ACCESS_KEY" not in cmds.env
    if db_type == "mongodb":
        (config,) = tmp_path.iterdir()
        assert os.stat(config).st_mode & 0o777 == 0o600
        assert PASSWORD in config.read_text()
        assert cmds.dump[:1] == ("mongodump",) and "--archive" in cmds.dump
        assert "--drop" in cmds.restore
    elif db_type == "postgresql":
        assert cmds.env["PGPASSWORD"] == PASSWORD
    else:
        assert cmds.env["MYSQL_PWD"] == PASSWORD and "--single-transaction" in cmds.dump


def test_whole_server_dumps_when_db_name_is_empty(tmp_path: Path) -> None:
    pg = engine_for("postgresql").commands(load_config(ENV | {"DB_NAME": ""}), str(tmp_path))
    assert pg.dump[0] == "pg_dumpall"
    maria = engine_for("mariadb").commands(
        load_config(ENV | {"DB_NAME": "", "DB_TYPE": "mariadb"}), str(tmp_path)
    )
    assert "--all-databases" in maria.dump


@pytest.mark.parametrize(
    ("db_type", "stderr", "error"),
    [
        ("postgresql", 'FATAL:  password authentication failed for user "x"', DatabaseAuthError),
        ("postgresql", "could not connect to server: Connection refused", DatabaseUnreachableError),
        ("mariadb", "ERROR 1045 (28000): Access denied for user", DatabaseAuthError),
        ("mariadb", "ERROR 2002 (HY000): Can't connect to server", DatabaseUnreachableError),
        ("mongodb", "Failed: error connecting: server selection error", DatabaseUnreachableError),
        ("mongodb", "(AuthenticationFailed) Authentication failed.", DatabaseAuthError),
        ("postgresql", "pg_dump: error: query failed", ToolError),
    ],
)
def test_tool_errors_are_classified(db_type: str, stderr: str, error: type) -> None:
    assert engine_for(db_type).classify(stderr) is error


def test_manifest_round_trips_and_rejects_other_json() -> None:
    when = datetime(2025, 3, 27, 1, tzinfo=UTC)
    m = Manifest(
        namespace="default", name="pg", uid="", job="pg-20250327010000", scheduled_time=when,
        started_at=when, finished_at=when, engine="postgresql", server_version="15.18",
        tool="pg_dump", tool_version="pg_dump (PostgreSQL) 15.18", format="sql",
        compression="zstd", object="pg-20250327010000.sql.zst", size=10, sha256="a" * 64,
    )  # fmt: skip
    assert Manifest.from_json(m.to_json()) == m
    assert b'"scheduledTime": "2025-03-27T01:00:00Z"' in m.to_json()
    for bad in (b"{}", b"[]", b"not json", m.to_json().replace(b'"size": 10', b'"size": -1')):
        with pytest.raises(ValueError):
            Manifest.from_json(bad)
