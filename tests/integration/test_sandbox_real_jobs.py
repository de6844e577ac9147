"""``dbbackup-operator sandbox --real-jobs DIR``: the sandbox runs the runner for real.

The sandbox (emulator, job runner, the real operator subprocess) starts with ``real_jobs`` set
and a real PostgreSQL on loopback. A DatabaseBackup with ``pvc`` storage is backed up on its
schedule by ``dbbackup-runner`` (the dump and its manifest land in DIR), the data changes, and
a DatabaseRestore of ``latest`` brings it back, row for row — the issue's loop, by hand.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app import sandbox
from app.sandbox_options import SandboxOptions
from app.sandbox_process import Console
from tests.runner.seed import mutate, seed, snapshot
from tests.runner.servers import Database
from tests.support.kubelet import b64
from tests.support.operator import wait_for

START = datetime(2025, 3, 27, 0, 58, 0, tzinfo=UTC)
API = "dbbackup.io/v1alpha1"
DB = "shop_sandbox"


@pytest.mark.timeout(180)
def test_real_jobs_back_up_and_restore_through_the_sandbox(
    postgres: Database, tmp_path: Path
) -> None:
    seed(postgres, DB)
    before = snapshot(postgres, DB)
    claim = tmp_path / "claim"
    console = io.StringIO()
    box = sandbox.Sandbox(
        SandboxOptions(
            port=0,
            kubeconfig=tmp_path / "sandbox.kubeconfig",
            speed=60.0,
            virtual_start=START,
            start_delay=1.0,
            job_duration=1.0,
            real_jobs=claim,
            metrics_bind_address="0",
            health_probe_bind_address="0",
            graceful_shutdown_timeout=5.0,
            operator_flags=("--metrics-bind-address=0", "--health-probe-bind-address=0"),
        ),
        Console(console),
    )
    box.start()
    try:
        server = box.server
        assert server is not None
        server.create_object({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "pg", "namespace": "default"},
            "data": {"username": b64(postgres.user), "password": b64(postgres.password)},
        })  # fmt: skip
        server.create_object({
            "apiVersion": API, "kind": "DatabaseBackup",
            "metadata": {"name": "shop", "namespace": "default"},
            "spec": {
                "schedule": "0 1 * * *",
                "database": {"type": "postgresql", "host": postgres.host, "port": postgres.port,
                             "name": DB, "credentialsSecretRef": {"name": "pg"}},
                "image": "ghcr.io/example/dbbackup-runner:latest",
                "storage": {"pvc": {"claimName": "backups"}},
            },
        })  # fmt: skip

        def phase(kind: str, name: str) -> Callable[[], str]:
            def read() -> str:
                obj: dict[str, Any] = server.get_object(API, kind, name, "default") or {}
                return str((obj.get("status") or {}).get("phase") or "")

            return read

        wait_for(lambda: phase("DatabaseBackup", "shop")() == "Succeeded", 90,
                 f"the 01:00 backup to succeed\n{console.getvalue()}")  # fmt: skip
        assert (claim / "shop-20250327010000.sql.zst").exists()
        assert (claim / "shop-20250327010000.json").exists()

        mutate(postgres, DB)
        assert snapshot(postgres, DB) != before
        server.create_object({
            "apiVersion": API, "kind": "DatabaseRestore",
            "metadata": {"name": "shop-back", "namespace": "default"},
            "spec": {"backupRef": {"name": "shop"}},
        })  # fmt: skip
        wait_for(lambda: phase("DatabaseRestore", "shop-back")() == "Succeeded", 90,
                 f"the restore to succeed\n{console.getvalue()}")  # fmt: skip
        assert snapshot(postgres, DB) == before
        assert (
            "shop-back-restore: dbbackup-runner restore --from shop-20250327010000 succeeded"
            in (console.getvalue())
        )
    finally:
        box.stop()
