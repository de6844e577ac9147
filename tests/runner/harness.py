"""Running ``dbbackup-runner`` as the image would: a process, the contract's env, an exit code.

Role: :func:`contract_env` builds the environment the operator's Job would set for a test's
database and storage; :func:`run_runner` runs the real command; :mod:`seed` helpers fill and
snapshot a database so round trips compare row for row.
Guarantees: the child gets only ``PATH`` from the test's environment plus the contract, so a
test passes for the same reasons the image would. Non-goals: starting servers
(:mod:`tests.runner.servers`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.runner.servers import Database, ObjectStore

__all__ = ["RUN_TIMEOUT_SECONDS", "Target", "contract_env", "run_measured", "run_runner"]

RUN_TIMEOUT_SECONDS = 300
BACKUP_UID = "6f1c0b9e-2d4a-4e8b-9c1d-3a5b7e9f0c2d"
S3_KEY_ID = "test-key-id"
S3_SECRET = "test-secret-key"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a test's backups go: ``kind`` is s3, gcs or pvc."""

    kind: str
    prefix: str
    store: ObjectStore | None = None
    path: Path | None = None

    def env(self) -> dict[str, str]:
        if self.kind == "pvc":
            assert self.path is not None
            return {"STORAGE_TYPE": "pvc", "STORAGE_URL": str(self.path),
                    "STORAGE_PATH": str(self.path)}  # fmt: skip
        assert self.store is not None
        scheme = "s3" if self.kind == "s3" else "gs"
        env = {
            "STORAGE_TYPE": self.kind,
            "STORAGE_URL": f"{scheme}://{self.store.bucket}/{self.prefix}",
            "STORAGE_BUCKET": self.store.bucket,
            "STORAGE_PREFIX": self.prefix,
            "STORAGE_ENDPOINT": self.store.endpoint,
        }
        if self.kind == "s3":
            env |= {"STORAGE_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": S3_KEY_ID,
                    "AWS_SECRET_ACCESS_KEY": S3_SECRET}  # fmt: skip
        return env

    def url(self, name: str) -> str:
        if self.kind == "pvc":
            return f"{self.path}/{name}"
        assert self.store is not None
        scheme = "s3" if self.kind == "s3" else "gs"
        return f"{scheme}://{self.store.bucket}/{self.prefix}/{name}"


def contract_env(
    db: Database,
    target: Target,
    *,
    backup: str,
    job: str,
    scheduled: str,
    db_name: str,
    retention_seconds: str = "",
    password: str | None = None,
    scratch: Path,
) -> dict[str, str]:
    """The env a Job of the operator would get (plus the test's ``PATH``)."""
    return {
        "PATH": os.environ["PATH"],
        "BACKUP_NAME": backup,
        "BACKUP_NAMESPACE": "default",
        "BACKUP_UID": BACKUP_UID,
        "BACKUP_JOB_NAME": job,
        "BACKUP_SCHEDULED_TIME": scheduled,
        "BACKUP_RETENTION": "",
        "BACKUP_RETENTION_SECONDS": retention_seconds,
        "DB_TYPE": db.db_type,
        "DB_HOST": db.host,
        "DB_PORT": str(db.port),
        "DB_NAME": db_name,
        "DB_USER": db.user,
        "DB_PASSWORD": db.password if password is None else password,
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        **target.env(),
    }


def run_runner(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``dbbackup-runner <args>`` in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )


# Runs the CLI, then reports the process's own peak RSS, VmHWM (children, i.e. the database
# tools, are not counted: they are the engine's, the same in any pipeline). Not ru_maxrss:
# Linux carries that high-water mark across exec from the (large) test process.
_MEASURED = """
import sys
from runner.cli import main
code = main(sys.argv[2:])
with open("/proc/self/status") as status:
    hwm = next(line for line in status if line.startswith("VmHWM:"))
with open(sys.argv[1], "w") as out:
    out.write(str(int(hwm.split()[1]) * 1024))
sys.exit(code)
"""


def run_measured(
    env: dict[str, str], rss_file: Path, *args: str, timeout: float = RUN_TIMEOUT_SECONDS
) -> tuple[subprocess.CompletedProcess[str], int]:
    """``dbbackup-runner <args>`` and its peak resident set size in bytes."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(rss_file), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done, int(rss_file.read_text()) if rss_file.exists() else 0
