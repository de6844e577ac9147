"""``kubectl dbbackup`` as users run it: the real kubectl finds the plugin on PATH.

The operator runs against the emulator (virtual clock at 60x); kubectl runs with the user's
kubeconfig (``$KUBECONFIG``) and the venv's ``bin`` first on ``PATH``, so ``kubectl dbbackup``
execs the installed ``kubectl-dbbackup`` console script. The test plays the Job controller
(marking Jobs finished through ``jobs/status``). Checked: ``--help`` and exit codes, an
on-demand run recorded with ``trigger: manual`` that never moves ``lastScheduleTime``, Forbid
refusing a second run, ``history``/``status`` tables, ``suspend``/``resume``, and ``restore
--wait`` returning once the operator's restore Job succeeded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulator.jobrunner import mark_job_succeeded
from emulator.server import ApiServer
from tests.support.clock import HeldClock
from tests.support.operator import OperatorProcess, scratch_dir, setup_cluster, wait_for

SPEED = 60.0
START = datetime(2025, 3, 27, 0, 58, 0, tzinfo=UTC)  # two real seconds before 01:00
BACKUP = "pg-nightly"
SCHEDULED = "pg-nightly-20250327010000"
API = "dbbackup.io/v1alpha1"
BIN = Path(sys.executable).parent


class World:
    def __init__(self) -> None:
        self.clock = HeldClock(speed=SPEED, start=START)
        self.server = ApiServer(clock=self.clock.now).start()
        kubeconfig = setup_cluster(self.server)
        self.user_kubeconfig = self.server.write_kubeconfig(scratch_dir("user-") / "config")
        # The backup exists before the clock starts: its 01:00 slot cannot pass unseen.
        self.server.create_object({
            "apiVersion": API, "kind": "DatabaseBackup",
            "metadata": {"name": BACKUP, "namespace": "default"},
            "spec": {
                "schedule": "0 1 * * *",
                "database": {"type": "postgresql", "host": "db.default.svc", "name": "app"},
                "image": "ghcr.io/example/dbbackup-runner:latest",
                "storage": {"s3": {"bucket": "my-database-backups", "prefix": "pg"}},
            },
        })  # fmt: skip
        self.operator = OperatorProcess(
            kubeconfig, clock_start=START, clock_origin=self.clock.run(), clock_speed=SPEED
        )
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "KUBECONFIG": str(self.user_kubeconfig),
        }

    def kubectl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "dbbackup", *args],
            env=self.env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    def background(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["kubectl", "dbbackup", *args], env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    def backup(self) -> dict[str, Any]:
        obj = self.server.get_object(API, "DatabaseBackup", BACKUP, "default")
        assert obj is not None
        return obj

    def job(self, name: str) -> dict[str, Any] | None:
        return self.server.get_object("batch/v1", "Job", name, "default")

    def finish(self, name: str) -> None:
        job = self.job(name)
        assert job is not None
        self.server.update_object(mark_job_succeeded(job, self.clock.now()), subresource="status")

    def history(self) -> dict[str, dict[str, Any]]:
        entries = (self.backup().get("status") or {}).get("history") or ()
        return {e["job"]: e for e in entries}

    def close(self) -> None:
        self.operator.kill()
        self.server.stop()


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    try:
        yield w
    finally:
        w.close()


@pytest.mark.timeout(180)
def test_kubectl_dbbackup_runs_restores_and_reports(world: World) -> None:
    helped = world.kubectl("--help")
    assert helped.returncode == 0, helped.stderr
    for command in ("run", "restore", "status", "history", "suspend", "resume"):
        assert command in helped.stdout
    assert world.kubectl("restore", "--help").returncode == 0
    assert world.kubectl("frobnicate").returncode == 2
    missing = world.kubectl("run", "ghost")
    assert missing.returncode == 4
    assert 'databasebackup "ghost" not found' in missing.stderr

    world.operator.wait_ready()
    wait_for(lambda: world.job(SCHEDULED), 30, "the 01:00 Job")
    world.finish(SCHEDULED)
    wait_for(lambda: world.history().get(SCHEDULED, {}).get("result") == "Succeeded", 30,
             "the 01:00 run recorded")  # fmt: skip

    # Back up now: one Job, a manual name, recorded as manual, the schedule untouched.
    ran = world.kubectl("run", BACKUP)
    assert ran.returncode == 0, ran.stderr
    manual = ran.stdout.split()[0].removeprefix("job.batch/")
    assert manual.startswith(f"{BACKUP}-manual-") and len(manual) == len(BACKUP) + 13
    job = world.job(manual)
    assert job is not None
    assert job["metadata"]["labels"]["dbbackup.io/trigger"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["uid"] == world.backup()["metadata"]["uid"]
    entry = wait_for(lambda: world.history().get(manual), 30, "the manual run in history")
    assert entry["trigger"] == "manual"

    # concurrencyPolicy Forbid (the default) refuses a second run while one is active.
    again = world.kubectl("run", BACKUP)
    assert again.returncode == 3
    assert "Forbid" in again.stderr and manual in again.stderr

    world.finish(manual)
    wait_for(lambda: world.history()[manual].get("result") == "Succeeded", 30, "manual done")
    status = world.backup()["status"]
    assert status["lastScheduleTime"] == "2025-03-27T01:00:00Z"
    assert status["nextScheduledBackup"] == "2025-03-28T01:00:00Z"

    history = world.kubectl("history", BACKUP)
    assert history.returncode == 0, history.stderr
    line = next(x for x in history.stdout.splitlines() if x.startswith(manual))
    assert "manual" in line and "Succeeded" in line
    assert f"s3://my-database-backups/pg/{manual}.sql.zst" in line
    table = world.kubectl("status")
    assert table.returncode == 0 and table.stdout.splitlines()[1].startswith(BACKUP)

    assert world.kubectl("suspend", BACKUP).returncode == 0
    assert world.backup()["spec"]["suspend"] is True
    assert world.kubectl("resume", BACKUP).returncode == 0
    assert world.backup()["spec"]["suspend"] is False

    # Restore latest (the manual run, the newest success) into staging, and wait for it.
    waiting = world.background(
        "restore", BACKUP, "--to-host", "staging.svc", "--wait", "--timeout", "60"
    )
    restore_job = wait_for(
        lambda: next(
            (j for j in world.server.list_objects("batch/v1", "Job", "default")
             if j["metadata"]["name"].endswith("-restore")),
            None,
        ),
        30, "the restore Job",
    )  # fmt: skip
    (container,) = restore_job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["restore", "--from", manual]
    world.finish(restore_job["metadata"]["name"])
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert f"restored s3://my-database-backups/pg/{manual}.sql.zst" in out
    assert world.operator.stop() == 0


def _role_for(user: str, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    meta = {"name": f"{user}-dbbackup", "namespace": "default"}
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
         "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": meta["name"]},
         "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}]},
    ]  # fmt: skip


@pytest.mark.timeout(120)
def test_the_plugin_acts_with_the_users_rbac_exactly_as_documented(tmp_path: Path) -> None:
    """With RBAC enforced, the rules the README lists for `run` and `restore` are enough, and
    a user without them gets exit 5 and the API server's refusal in words."""
    server = ApiServer(rbac=True).start()
    try:
        setup_cluster(server)
        server.create_object({
            "apiVersion": API, "kind": "DatabaseBackup",
            "metadata": {"name": BACKUP, "namespace": "default"},
            "spec": {
                "schedule": "0 1 * * *",
                "database": {"type": "postgresql", "host": "db.default.svc", "name": "app"},
                "image": "ghcr.io/example/dbbackup-runner:latest",
                "storage": {"s3": {"bucket": "my-database-backups", "prefix": "pg"}},
            },
        })  # fmt: skip
        group = "dbbackup.io"
        for obj in _role_for("alice", [
            {"apiGroups": [group], "resources": ["databasebackups"], "verbs": ["get"]},
            {"apiGroups": [group], "resources": ["databaserestores"],
             "verbs": ["create", "get", "list"]},
            {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list", "create"]},
        ]) + _role_for("bob", [
            {"apiGroups": [group], "resources": ["databasebackups"], "verbs": ["get"]},
        ]):  # fmt: skip
            server.create_object(obj)
        server.add_user("alice-token", "alice")
        server.add_user("bob-token", "bob")

        def plugin(token: str, *args: str) -> subprocess.CompletedProcess[str]:
            config = server.write_kubeconfig(tmp_path / f"{token}.config", token=token)
            env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                   "KUBECONFIG": str(config)}  # fmt: skip
            return subprocess.run(
                ["kubectl", "dbbackup", *args], env=env, capture_output=True, text=True,
                timeout=60, check=False,
            )  # fmt: skip

        ran = plugin("alice-token", "run", BACKUP)
        assert ran.returncode == 0, ran.stderr
        restored = plugin("alice-token", "restore", BACKUP, "--from", "latest")
        assert restored.returncode == 0, restored.stderr
        assert len(server.list_objects(API, "DatabaseRestore", "default")) == 1

        refused = plugin("bob-token", "run", BACKUP)
        assert refused.returncode == 5
        assert 'User "bob" cannot list resource "databaserestores"' in refused.stderr
        assert "ask your cluster admin" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert plugin("bob-token", "suspend", BACKUP).returncode == 5
    finally:
        server.stop()
