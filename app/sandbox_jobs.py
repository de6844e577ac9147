"""Real Jobs in the sandbox: run ``dbbackup-runner`` on this machine for each Job.

Role: with ``dbbackup-operator sandbox --real-jobs DIR``, the sandbox's job runner stops
simulating outcomes and asks :class:`LocalJobExecutor` instead. For a Job's single container it
does what the kubelet would: the environment with ``$$`` unescaped and ``secretKeyRef`` values
read from the Secret, the ``pvc`` claim's mount point (``/backup``) mapped to ``DIR``; then it
runs the runner (``python -m runner``, the same program as the image's entrypoint) with the
container's arguments (none for a backup, ``restore --from <run>`` for a restore) and reports
whether it exited 0. The runner's lines and the verdict go to the sandbox's console.

What it needs: the database's client tools on ``PATH`` (``pg_dump``/``psql`` for PostgreSQL,
``mariadb-dump``/``mariadb`` for MySQL/MariaDB, ``zstd`` is not needed: the runner streams
zstd itself), a database the DatabaseBackup's ``host``/``port`` reach from this machine, and a
Secret in the sandbox with its credentials; S3 and GCS storage work as well when reachable
(``endpoint`` for an S3-compatible server), ``pvc`` storage lands in ``DIR``.
Guarantees: never raises into the job runner (an error is a failed Job, logged); one Job at a
time. Non-goals: images, Pods, ``podFailurePolicy`` reasons (a failure reads as the backoff
limit), retries within ``backoffLimit``.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from api.v1alpha1 import contract as c

__all__ = ["RUN_TIMEOUT", "LocalJobExecutor"]

RUN_TIMEOUT = 3600.0  # seconds one runner process may take before it counts as failed
SecretReader = Callable[[str, str], Mapping[str, Any] | None]  # (namespace, name) -> Secret


class LocalJobExecutor:
    """``executor(job) -> bool``: run the Job's container as a local process; True on exit 0."""

    def __init__(
        self, read_secret: SecretReader, claim_dir: Path, say: Callable[[str], None]
    ) -> None:
        self._read_secret = read_secret
        self._claim_dir = claim_dir
        self._say = say

    def environment(self, job: Mapping[str, Any], scratch: Path) -> dict[str, str]:
        """The container's environment as the kubelet would set it: the claim mapped to
        ``claim_dir``, the ``emptyDir`` scratch space (``HOME``, ``TMPDIR``) to ``scratch``."""
        (container,) = job["spec"]["template"]["spec"]["containers"]
        namespace = str(job["metadata"].get("namespace", ""))
        env = {"PATH": os.environ.get("PATH", "")}
        for var in container.get("env") or ():
            if "valueFrom" not in var:  # an empty value is stored without "value" (omitempty)
                env[var["name"]] = str(var.get("value", "")).replace("$$", "$")
                continue
            ref = var["valueFrom"]["secretKeyRef"]
            secret = self._read_secret(namespace, ref["name"]) or {}
            data = (secret.get("data") or {}).get(ref["key"])
            if data is None:
                raise KeyError(f"Secret {namespace}/{ref['name']} has no key {ref['key']}")
            env[var["name"]] = base64.b64decode(data).decode()
        for key in (c.STORAGE_PATH, c.STORAGE_URL):
            env[key] = self._local(env.get(key, ""))
        for key in (c.HOME, c.TMPDIR):
            if env.get(key) == c.SCRATCH_DIR:
                env[key] = str(scratch)
        return env

    def _local(self, value: str) -> str:
        if value.startswith(c.STORAGE_MOUNT_PATH):
            return str(self._claim_dir) + value[len(c.STORAGE_MOUNT_PATH) :]
        return value

    def __call__(self, job: Mapping[str, Any]) -> bool:
        name = str(job.get("metadata", {}).get("name", ""))
        try:
            (container,) = job["spec"]["template"]["spec"]["containers"]
            args = [self._local(str(a)) for a in container.get("args") or ()]
            with tempfile.TemporaryDirectory(prefix="dbbackup-job-") as scratch:
                done = subprocess.run(
                    [sys.executable, "-m", "runner", *args],
                    env=self.environment(job, Path(scratch)),
                    capture_output=True,
                    text=True,
                    timeout=RUN_TIMEOUT,
                    check=False,
                )
        except (KeyError, ValueError, OSError, subprocess.TimeoutExpired) as err:
            self._say(f"{name}: cannot run it: {err}")
            return False
        for line in (done.stdout + done.stderr).splitlines():
            self._say(f"{name}: {line}")
        verdict = (
            "succeeded"
            if done.returncode == 0
            else f"failed: {c.describe_exit_code(done.returncode)}"
        )
        self._say(f"{name}: dbbackup-runner {' '.join(args) or 'backup'} {verdict}")
        return done.returncode == 0
