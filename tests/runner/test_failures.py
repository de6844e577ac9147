"""Failures you can read: each cause gets the contract's exit code and leaves nothing partial.

Real servers refuse a wrong password and a closed port; a dump tool that dies mid-stream or a
SIGTERM mid-upload leave no object, no multipart upload and no temporary file; a corrupt or
incomplete dump is refused before the restore tool touches the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from api.v1alpha1 import contract as c
from runner import interrupt
from runner.storage.s3 import S3Storage
from tests.runner.harness import S3_KEY_ID, S3_SECRET, Target, contract_env, run_runner
from tests.runner.seed import mutate, seed, snapshot
from tests.runner.servers import Database, ObjectStore, free_port

JOB = "fail-20250327010000"
SCHEDULED = "2025-03-27T01:00:00Z"
WAIT_SECONDS = 120  # an upper bound for a condition to appear, not a timing assertion


def _s3_client(store: ObjectStore) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=store.endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
    )


def _keys(store: ObjectStore, prefix: str) -> list[str]:
    page = _s3_client(store).list_objects_v2(Bucket=store.bucket, Prefix=prefix + "/")
    return [o["Key"] for o in page.get("Contents", [])]


def _uploads(store: ObjectStore, prefix: str) -> list[dict[str, Any]]:
    page = _s3_client(store).list_multipart_uploads(Bucket=store.bucket, Prefix=prefix + "/")
    return list(page.get("Uploads", []))


def _pvc(tmp_path: Path) -> Target:
    path = tmp_path / "backups"
    path.mkdir()
    return Target("pvc", "", path=path)


def _env(db: Database, target: Target, tmp_path: Path, **kw: str) -> dict[str, str]:
    return contract_env(
        db, target, backup="fail", job=JOB, scheduled=SCHEDULED, scratch=tmp_path,
        **{"db_name": "postgres", **kw},
    )  # fmt: skip


def _fake_tool(tmp_path: Path, name: str, script: str) -> str:
    """A directory holding a fake ``name`` to put first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    version = f'[ "$1" = --version ] && {{ echo "{name} (fake) 1"; exit 0; }}\n'
    tool.write_text("#!/bin/sh\n" + version + script + "\n")
    tool.chmod(0o755)
    return f"{bin_dir}:{os.environ['PATH']}"


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_wrong_password_is_an_authentication_failure(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    db: Database = request.getfixturevalue(engine)
    target = _pvc(tmp_path)
    wrong = "not-the-password-42"
    run = run_runner(_env(db, target, tmp_path, password=wrong, db_name=""), "backup")
    assert run.returncode == c.EXIT_DB_AUTH
    assert "database authentication failed (exit 4)" in run.stderr
    assert wrong not in run.stderr + run.stdout
    assert target.path is not None and list(target.path.iterdir()) == []


def test_closed_port_is_database_unreachable(postgres: Database, tmp_path: Path) -> None:
    env = _env(postgres, _pvc(tmp_path), tmp_path) | {"DB_PORT": str(free_port())}
    run = run_runner(env, "backup")
    assert run.returncode == c.EXIT_DB_UNREACHABLE, run.stderr
    assert "database unreachable (exit 3)" in run.stderr


def test_bad_configuration_names_every_problem(postgres: Database, tmp_path: Path) -> None:
    env = _env(postgres, _pvc(tmp_path), tmp_path) | {"DB_TYPE": "oracle", "DB_PORT": "x"}
    run = run_runner(env, "backup")
    assert run.returncode == c.EXIT_CONFIG
    assert "DB_TYPE must be one of" in run.stderr and "DB_PORT must be an integer" in run.stderr
    assert run_runner(env, "frobnicate").returncode == c.EXIT_CONFIG


def test_unreachable_storage_is_refused_before_the_dump(postgres: Database, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    target = Target("s3", "x", store=ObjectStore(endpoint, "backups"))
    env = _env(postgres, target, tmp_path) | {"PATH": _fake_tool(tmp_path, "pg_dump", "exit 99")}
    run = run_runner(env, "backup")
    assert run.returncode == c.EXIT_STORAGE, run.stderr
    assert "storage unreachable or refused (exit 6)" in run.stderr


def test_unknown_gcs_bucket_is_refused(
    postgres: Database, tmp_path: Path, gcs: ObjectStore
) -> None:
    target = Target("gcs", "x", store=ObjectStore(gcs.endpoint, "no-such-bucket"))
    run = run_runner(_env(postgres, target, tmp_path), "backup")
    assert run.returncode == c.EXIT_STORAGE, run.stderr


def test_dump_tool_dying_mid_stream_leaves_no_object(
    postgres: Database, tmp_path: Path, s3: ObjectStore
) -> None:
    prefix = "fail/tool"
    target = Target("s3", prefix, store=s3)
    dies = "head -c 20971520 /dev/urandom; echo 'pg_dump: error: lost the server' >&2; exit 1"
    env = _env(postgres, target, tmp_path) | {"PATH": _fake_tool(tmp_path, "pg_dump", dies)}
    run = run_runner(env, "backup")
    assert run.returncode == c.EXIT_TOOL_FAILED, run.stderr
    assert "lost the server" in run.stderr
    assert _keys(s3, prefix) == [] and _uploads(s3, prefix) == []


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runner", "backup"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: Any, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.1)


# 12 MiB, then hangs mid-dump, with a child of its own that holds the pipes (as pg_dumpall's
# pg_dump does): stopping the tool must stop that child too, or the runner never exits.
STALLS = "sleep 600 & head -c 12582912 /dev/urandom; wait"


def test_sigterm_mid_upload_aborts_the_multipart_upload(
    postgres: Database, tmp_path: Path, s3: ObjectStore
) -> None:
    prefix = "fail/sigterm"
    target = Target("s3", prefix, store=s3)
    env = _env(postgres, target, tmp_path) | {"PATH": _fake_tool(tmp_path, "pg_dump", STALLS)}
    proc = _start(env)
    client = _s3_client(s3)

    def part_uploaded() -> bool:
        uploads = _uploads(s3, prefix)
        return bool(uploads) and bool(
            client.list_parts(
                Bucket=s3.bucket, Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"]
            ).get("Parts")
        )

    _wait_for(part_uploaded, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=WAIT_SECONDS)
    assert proc.returncode == c.EXIT_INTERNAL, stderr
    assert "interrupted by signal SIGTERM" in stderr
    assert _keys(s3, prefix) == [] and _uploads(s3, prefix) == []


def test_sigterm_mid_write_removes_the_temporary_file(postgres: Database, tmp_path: Path) -> None:
    target = _pvc(tmp_path)
    assert target.path is not None
    directory = target.path
    env = _env(postgres, target, tmp_path) | {"PATH": _fake_tool(tmp_path, "pg_dump", STALLS)}
    proc = _start(env)
    _wait_for(lambda: any(p.stat().st_size for p in directory.iterdir()), proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=WAIT_SECONDS)
    assert proc.returncode == c.EXIT_INTERNAL, stderr
    assert list(directory.iterdir()) == []


@pytest.fixture
def backed_up(postgres: Database, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A seeded database with one complete directory backup, then changed."""
    name = "db_" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:12]
    seed(postgres, name)
    target = _pvc(tmp_path)
    env = _env(postgres, target, tmp_path, db_name=name)
    assert run_runner(env, "backup").returncode == 0
    mutate(postgres, name)
    assert target.path is not None
    return env, target.path


def test_corrupt_dump_is_refused_before_the_database_is_touched(
    postgres: Database, backed_up: tuple[dict[str, str], Path]
) -> None:
    env, directory = backed_up
    changed = snapshot(postgres, env["DB_NAME"])
    dump = directory / f"{JOB}.sql.zst"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    verify = run_runner(env, "verify")
    assert verify.returncode == c.EXIT_VERIFY
    assert "is corrupt: SHA-256" in verify.stderr
    restore = run_runner(env, "restore", "--from", JOB)
    assert restore.returncode == c.EXIT_VERIFY
    assert "verification failed (exit 8)" in restore.stderr
    assert snapshot(postgres, env["DB_NAME"]) == changed


def test_dump_without_manifest_is_not_restorable(
    postgres: Database, backed_up: tuple[dict[str, str], Path]
) -> None:
    env, directory = backed_up
    changed = snapshot(postgres, env["DB_NAME"])
    (directory / f"{JOB}.json").unlink()
    listed = run_runner(env, "list", "--output", "json")
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"
    for source in ("latest", JOB, str(directory / f"{JOB}.sql.zst")):
        restore = run_runner(env, "restore", "--from", source)
        assert restore.returncode == c.EXIT_VERIFY, source
    assert "incomplete" in restore.stderr
    assert snapshot(postgres, env["DB_NAME"]) == changed


def test_a_sigterm_botocore_retried_past_still_stops_the_upload(
    s3: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The signal lands while botocore sends a part: botocore turns any exception raised there
    # into a retryable HTTPClientError and sends the part again, so the handler's exception
    # is lost. The storage layer must still stop at the next boundary and abort the upload.
    monkeypatch.setattr(interrupt, "_received", [])
    prefix = "fail/swallowed"
    storage = S3Storage(
        s3.bucket,
        prefix,
        endpoint=s3.endpoint,
        access_key_id=S3_KEY_ID,
        secret_access_key=S3_SECRET,
    )
    real_upload_part = storage._client.upload_part
    sent: list[int] = []

    def upload_part_like_botocore(**kwargs: Any) -> Any:
        # Raised mid-send, and swallowed, as botocore's send does before retrying.
        with contextlib.suppress(Exception):
            interrupt.on_signal(signal.SIGTERM, None)
        sent.append(kwargs["PartNumber"])
        return real_upload_part(**kwargs)

    monkeypatch.setattr(storage._client, "upload_part", upload_part_like_botocore)
    with pytest.raises(interrupt.Interrupted, match="interrupted by signal SIGTERM"):
        storage.upload("swallowed.sql.zst", iter([b"a" * 1024, b"b" * 1024]))
    assert sent == [1]  # no part after the signal, and no completed object
    assert _keys(s3, prefix) == [] and _uploads(s3, prefix) == []
