"""End to end, as a new user runs it: ``dbbackup-operator sandbox --with-samples`` as a
subprocess, the sample's backup completing, its status read with ``kubectl`` through the
printed kubeconfig, ``/metrics`` scraped, then Ctrl-C (SIGINT): exit 0, nothing left running,
no port left open.

The clock runs 60x real time from the default virtual start (00:59:30 UTC), so the sample's
``0 1 * * *`` is due half a real second after start; Jobs run 10 virtual seconds and never
fail here (``--failure-rate 0``), so one backup completes within seconds of the operator
being ready.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

SAMPLE = "postgres-daily-backup"
DEADLINE = 60.0  # real seconds for the first backup to complete (takes ~3 s here)

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Output:
    """The sandbox's stdout, collected by a thread so the pipe never fills."""

    def __init__(self, stream: Any) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        with stream:  # closed here, at end of output
            for line in stream:
                with self._lock:
                    self._lines.append(line.rstrip("\n"))

    def text(self) -> str:
        with self._lock:
            return "\n".join(self._lines)

    def join(self) -> None:
        self._thread.join(timeout=10)


@pytest.fixture
def sandbox_cmd(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Output, dict[str, Any]]]:
    api, metrics, health = _free_ports(3)
    kubeconfig = tmp_path / "sandbox.kubeconfig"
    command = [
        str(Path(sys.executable).with_name("dbbackup-operator")),
        "sandbox",
        "--with-samples",
        f"--port={api}",
        f"--write-kubeconfig={kubeconfig}",
        f"--metrics-bind-address=127.0.0.1:{metrics}",
        f"--health-probe-bind-address=127.0.0.1:{health}",
        "--speed=60",
        "--job-duration=10",
        "--failure-rate=0",
        "--graceful-shutdown-timeout=10",
    ]
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = Output(process.stdout)
    info = {"api": api, "metrics": metrics, "health": health, "kubeconfig": kubeconfig}
    try:
        yield process, output, info
    finally:
        if process.poll() is None:  # the test failed before stopping it: do not leak it
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        output.join()


def _kubectl_backups(kubeconfig: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        ["kubectl", "get", "dbbackup", "-o", "json"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    items: list[dict[str, Any]] = json.loads(result.stdout)["items"]
    return items


def _wait_for_backup(
    process: subprocess.Popen[str], output: Output, kubeconfig: Path
) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the sandbox exited early:\n{output.text()}"
        if kubeconfig.exists():
            for item in _kubectl_backups(kubeconfig):
                status = item.get("status") or {}
                if item["metadata"]["name"] == SAMPLE and status.get("lastSuccessfulBackup"):
                    return item
        threading.Event().wait(0.5)
    raise AssertionError(f"no completed backup within {DEADLINE} s:\n{output.text()}")


def test_sandbox_runs_the_samples_end_to_end(
    sandbox_cmd: tuple[subprocess.Popen[str], Output, dict[str, Any]],
) -> None:
    process, output, info = sandbox_cmd
    kubeconfig: Path = info["kubeconfig"]

    backup = _wait_for_backup(process, output, kubeconfig)
    status = backup["status"]
    assert status["phase"] in ("Succeeded", "Running", "Pending")  # later runs may follow
    # The scheduled run is the sample's 01:00 UTC of the sandbox's virtual day.
    assert status["lastScheduleTime"].endswith("T01:00:00Z")
    assert status["lastSuccessfulBackup"] > status["lastScheduleTime"]
    ready = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True"

    text = output.text()
    # What runs where, in plain words.
    assert f"KUBECONFIG={kubeconfig} kubectl get dbbackup -w" in text
    assert f"http://127.0.0.1:{info['metrics']}/metrics" in text
    assert f"http://127.0.0.1:{info['health']}/healthz" in text
    assert f"http://127.0.0.1:{info['health']}/readyz" in text
    assert "00:59:30 UTC, running at 60x real time" in text
    assert "operator | " in text  # the operator's own logs are streamed
    # The phase feed: its watch may print the line a moment after kubectl saw the success.
    deadline = time.monotonic() + 10
    while f"default/{SAMPLE}: Succeeded" not in output.text() and time.monotonic() < deadline:
        threading.Event().wait(0.1)
    assert f"default/{SAMPLE}: Succeeded" in output.text()

    url = f"http://127.0.0.1:{info['metrics']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        metrics = response.read().decode()
    assert f'dbbackup_last_success_timestamp_seconds{{name="{SAMPLE}",namespace="default"}}' in (
        metrics
    )
    assert "controller_runtime_reconcile_total" in metrics
    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(f"http://127.0.0.1:{info['health']}{path}", timeout=5) as r:
            assert r.status == 200

    secure_port = urllib.parse.urlsplit(
        yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    ).port
    ports = [info["api"], info["metrics"], info["health"], secure_port]
    assert all(_open(port) for port in ports if port is not None)

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0, output.text()
    output.join()
    text = output.text()
    assert "stopped (the operator exited with code 0)" in text
    assert [port for port in ports if port is not None and _open(port)] == []
    # No process runs with the operator's kubeconfig any more, and that file is gone.
    operator_kubeconfig = re.search(r"--kubeconfig (\S+/operator\.kubeconfig)", text)
    assert operator_kubeconfig is not None
    assert not Path(operator_kubeconfig.group(1)).exists()
    assert _processes_mentioning(operator_kubeconfig.group(1)) == []


def _processes_mentioning(needle: str) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if needle in cmdline:
            found.append(int(proc.name))
    return found


def test_emulator_subcommand_serves_until_sigint(tmp_path: Path) -> None:
    """``dbbackup-operator emulator`` is routed to the bare emulator, which kubectl can use."""
    kubeconfig = tmp_path / "emulator.kubeconfig"
    [port] = _free_ports(1)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dbbackup-operator")),
            "emulator",
            f"--port={port}",
            f"--write-kubeconfig={kubeconfig}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = Output(process.stdout)
    try:
        deadline = time.monotonic() + 30
        while "kubeconfig:" not in output.text():
            assert process.poll() is None, output.text()
            assert time.monotonic() < deadline, output.text()
            threading.Event().wait(0.1)
        result = subprocess.run(
            ["kubectl", "get", "namespace", "default", "-o", "name"],
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.stdout.strip() == "namespace/default", result.stderr
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        output.join()
    assert not _open(port)
