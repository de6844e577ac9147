"""Ages in the sandbox read as on a cluster: seconds for what it made a moment ago.

The sandbox's clock is virtual and may be months away from the machine's (here its day is
2025-03-27). ``kubectl get`` prints the ages the API server computes, and the emulator computes
them on the clock that stamped the objects (docs/sandbox.md, "Time"), so the samples applied at
start are seconds old in every AGE column, whatever the machine's date.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app import sandbox
from app.sandbox_options import SandboxOptions
from app.sandbox_process import Console

VIRTUAL_START = datetime(2025, 3, 27, 0, 59, 30, tzinfo=UTC)  # far from any machine's now
SECONDS = re.compile(r"^[0-9]+s$")
KUBECTL = shutil.which("kubectl")

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="needs kubectl")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[sandbox.Sandbox]:
    options = SandboxOptions(
        port=0,
        kubeconfig=tmp_path / "sandbox.kubeconfig",
        with_samples=True,
        speed=1.0,
        virtual_start=VIRTUAL_START,
        origin=time.time(),
        failure_rate=0.0,
        metrics_bind_address="0",
        health_probe_bind_address="0",
        graceful_shutdown_timeout=5.0,
        operator_flags=("--metrics-bind-address=0", "--health-probe-bind-address=0"),
    )
    box = sandbox.Sandbox(options, Console(io.StringIO()))
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.mark.parametrize("kind", ["dbbackup", "secrets", "pvc", "namespaces"])
def test_kubectl_ages_right_after_start_are_seconds(
    running: sandbox.Sandbox, tmp_path: Path, kind: str
) -> None:
    assert KUBECTL is not None
    env = dict(os.environ, KUBECONFIG=str(running.options.kubeconfig), HOME=str(tmp_path))
    done = subprocess.run([KUBECTL, "get", kind, "-n", "default"], capture_output=True,
                          text=True, env=env, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr

    header, *rows = done.stdout.splitlines()
    column = re.search(r"\bAGE\b", header)  # kubectl aligns each column under its header
    assert column is not None and rows, done.stdout
    ages = [row[column.start() :].split()[0] for row in rows]
    assert all(SECONDS.match(age) for age in ages), done.stdout
