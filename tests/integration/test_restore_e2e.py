"""End to end: the real operator, the real runner, a real PostgreSQL, and ``kubectl dbbackup``.

The operator runs against the API emulator (virtual clock at 60x); every Job it or the plugin
creates is executed for real by :func:`tests.support.kubelet.run_job` (the runner with the
Job's container environment and arguments, a claim directory for ``pvc`` storage). The story
a DBA lives: a scheduled backup at 01:00, an on-demand one before a migration (the real
``kubectl`` calling the plugin), the data changes, a ``DatabaseRestore`` of ``latest`` brings
it back, and every row is compared.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulator.server import ApiServer
from tests.runner.seed import mutate, seed, snapshot
from tests.runner.servers import Database
from tests.support.clock import HeldClock
from tests.support.kubelet import b64, run_job
from tests.support.operator import OperatorProcess, scratch_dir, setup_cluster, wait_for

SPEED = 60.0
START = datetime(2025, 3, 27, 0, 58, 0, tzinfo=UTC)
NAME = "shop-nightly"
SCHEDULED = "shop-nightly-20250327010000"
DB = "shop_e2e"
API = "dbbackup.io/v1alpha1"


def _history(server: ApiServer) -> dict[str, dict[str, Any]]:
    obj = server.get_object(API, "DatabaseBackup", NAME, "default") or {}
    return {e["job"]: e for e in (obj.get("status") or {}).get("history") or ()}


@pytest.mark.timeout(240)
def test_scheduled_and_on_demand_backups_then_a_restore_of_latest_row_for_row(
    postgres: Database, tmp_path: Path
) -> None:
    seed(postgres, DB)
    clock = HeldClock(speed=SPEED, start=START)  # started once the backup exists
    server = ApiServer(clock=clock.now).start()
    operator: OperatorProcess | None = None
    claim = tmp_path / "claim"
    claim.mkdir()
    try:
        kubeconfig = setup_cluster(server)
        server.create_object({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "pg-credentials", "namespace": "default"},
            "data": {"username": b64(postgres.user), "password": b64(postgres.password)},
        })  # fmt: skip
        server.create_object({
            "apiVersion": API, "kind": "DatabaseBackup",
            "metadata": {"name": NAME, "namespace": "default"},
            "spec": {
                "schedule": "0 1 * * *",
                "database": {"type": "postgresql", "host": postgres.host,
                             "port": postgres.port, "name": DB,
                             "credentialsSecretRef": {"name": "pg-credentials"}},
                "image": "ghcr.io/example/dbbackup-runner:latest",
                # No retention: the runner applies it by the wall clock, and the virtual
                # 2025 of this test is more than 14 days ago.
                "storage": {"pvc": {"claimName": "backups"}},
            },
        })  # fmt: skip
        operator = OperatorProcess(
            kubeconfig, clock_start=START, clock_origin=clock.run(), clock_speed=SPEED
        )
        operator.wait_ready()

        # 1. The 01:00 run, on schedule.
        wait_for(lambda: server.get_object("batch/v1", "Job", SCHEDULED, "default"), 60,
                 "the 01:00 Job")  # fmt: skip
        done = run_job(server, SCHEDULED, "default", claim, clock.now())
        assert done.returncode == 0, done.stderr
        wait_for(lambda: _history(server).get(SCHEDULED, {}).get("result") == "Succeeded", 30,
                 "the scheduled run recorded")  # fmt: skip

        # 2. More data, then "back up now" through the real kubectl and the plugin.
        postgres.sql("INSERT INTO notes (body) VALUES ('before the migration');", DB)
        before = snapshot(postgres, DB)
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "KUBECONFIG": str(server.write_kubeconfig(scratch_dir("user-") / "config")),
        }
        ran = subprocess.run(
            ["kubectl", "dbbackup", "run", NAME], env=env, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        manual = ran.stdout.split()[0].removeprefix("job.batch/")
        done = run_job(server, manual, "default", claim, clock.now())
        assert done.returncode == 0, done.stderr
        entry = wait_for(
            lambda: (e := _history(server).get(manual, {})).get("result") == "Succeeded" and e,
            30, "the manual run recorded",
        )  # fmt: skip
        assert entry["trigger"] == "manual"
        assert entry["location"] == f"pvc://backups/{manual}.sql.zst"
        assert sorted(p.name for p in claim.iterdir()) == sorted(
            [f"{SCHEDULED}.json", f"{SCHEDULED}.sql.zst", f"{manual}.json", f"{manual}.sql.zst"]
        )

        # 3. The migration goes wrong.
        mutate(postgres, DB)
        assert snapshot(postgres, DB) != before

        # 4. Restore latest (the on-demand run) with a DatabaseRestore.
        server.create_object({
            "apiVersion": API, "kind": "DatabaseRestore",
            "metadata": {"name": "undo-migration", "namespace": "default"},
            "spec": {"backupRef": {"name": NAME}, "source": "latest"},
        })  # fmt: skip
        restore_job = "undo-migration-restore"
        wait_for(lambda: server.get_object("batch/v1", "Job", restore_job, "default"), 30,
                 "the restore Job")  # fmt: skip
        done = run_job(server, restore_job, "default", claim, clock.now())
        assert done.returncode == 0, done.stderr

        def succeeded() -> dict[str, Any] | None:
            obj = server.get_object(API, "DatabaseRestore", "undo-migration", "default") or {}
            status = dict(obj.get("status") or {})
            return status if status.get("phase") == "Succeeded" else None

        status = wait_for(succeeded, 30, "the restore to succeed")
        assert status["source"] == f"pvc://backups/{manual}.sql.zst"
        assert snapshot(postgres, DB) == before  # row for row
        assert operator.stop() == 0
    finally:
        if operator is not None:
            operator.kill()
        server.stop()
