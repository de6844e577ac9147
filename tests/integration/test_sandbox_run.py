"""The sandbox in-process: what it installs, who may do what, the job runner on the shared
clock, stop order, a dying operator, and ``run-local``'s choice between a cluster and the
sandbox. The operator runs as the real subprocess throughout."""

from __future__ import annotations

import io
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app import cli, sandbox
from app.sandbox_options import OPERATOR_USER, SandboxOptions
from app.sandbox_process import Console, ShutdownSignals
from emulator.server import ApiServer
from manager.errors import Forbidden
from manager.kubeconfig import load_rest_config
from manager.rest import RestClient
from tests.support.restconfig import rest_config

VIRTUAL_START = datetime(2025, 3, 27, 0, 59, 30, tzinfo=UTC)
BACKUPS = "/apis/dbbackup.io/v1alpha1/namespaces/default/databasebackups"


def _wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        threading.Event().wait(0.05)


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _options(tmp_path: Path, **overrides: Any) -> SandboxOptions:
    values: dict[str, Any] = {
        "port": 0,
        "kubeconfig": tmp_path / "sandbox.kubeconfig",
        "with_samples": True,
        "speed": 60.0,
        "virtual_start": VIRTUAL_START,
        "failure_rate": 0.0,
        "metrics_bind_address": "0",
        "health_probe_bind_address": "0",
        "graceful_shutdown_timeout": 5.0,
        "operator_flags": ("--metrics-bind-address=0", "--health-probe-bind-address=0"),
    }
    values.update(overrides)
    return SandboxOptions(**values)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[sandbox.Sandbox]:
    box = sandbox.Sandbox(_options(tmp_path), Console(io.StringIO()))
    box.start()
    try:
        yield box
    finally:
        box.stop()


def _job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "default",
            "annotations": {"sandbox.dbbackup.io/outcome": "succeed"},
        },
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "backup", "image": "example/backup:1"}],
                }
            }
        },
    }


def test_installs_namespace_crd_rbac_samples_and_an_admin_kubeconfig(
    running: sandbox.Sandbox,
) -> None:
    server = running.server
    assert server is not None
    assert "dbbackup-system" in server.namespaces()
    assert server.get_object(
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", "databasebackups.dbbackup.io"
    )
    assert server.get_object("v1", "ServiceAccount", "dbbackup-operator", "dbbackup-system")
    assert running.samples and "default/postgres-daily-backup" in running.samples
    # The printed kubeconfig works as written (TLS, embedded CA, admin token).
    rest = RestClient(load_rest_config(str(running.options.kubeconfig)))
    try:
        names = {item["metadata"]["name"] for item in rest.get(BACKUPS)["items"]}
    finally:
        rest.close()
    assert "postgres-daily-backup" in names


def test_the_clock_starts_once_the_samples_are_installed(tmp_path: Path) -> None:
    """However long installing takes, the samples are created at the virtual start (before
    their 01:00 slot), and the operator reads the clock started after that."""
    before = time.time()
    box = sandbox.Sandbox(_options(tmp_path), Console(io.StringIO()))
    box.start()
    try:
        server, operator = box.server, box.operator
        assert server is not None and operator is not None
        sample = server.get_object(
            "dbbackup.io/v1alpha1", "DatabaseBackup", "postgres-daily-backup", "default"
        )
        assert sample is not None
        assert sample["metadata"]["creationTimestamp"] == "2025-03-27T00:59:30Z"
        origin = float(operator.command[operator.command.index("--clock-origin") + 1])
        assert before <= origin == box.clock.origin
    finally:
        box.stop()


def test_the_operator_token_has_exactly_its_rbac(running: sandbox.Sandbox) -> None:
    server = running.server
    assert server is not None
    rest = RestClient(rest_config(server, sandbox.OPERATOR_TOKEN))
    try:
        assert rest.get(BACKUPS)["items"]
        assert "items" in rest.get("/apis/batch/v1/jobs")
        with pytest.raises(Forbidden):
            rest.get("/api/v1/namespaces/default/secrets")
        with pytest.raises(Forbidden):
            rest.request("DELETE", f"{BACKUPS}/postgres-daily-backup")
    finally:
        rest.close()
    # The token authenticates as the ServiceAccount, and that is who was refused the Secrets.
    refused = {(r.user, r.resource) for r in server.audit if r.code == 403}
    assert (OPERATOR_USER, "secrets") in refused


def test_the_job_runner_writes_virtual_times(running: sandbox.Sandbox) -> None:
    server, runner = running.server, running.runner
    assert server is not None and runner is not None
    server.create_object(_job("by-hand"))
    assert runner.wait_for("default/by-hand", timeout=20) == "Succeeded"
    job = server.get_object("batch/v1", "Job", "by-hand", "default")
    assert job is not None
    start = datetime.fromisoformat(job["status"]["startTime"].replace("Z", "+00:00"))
    done = datetime.fromisoformat(job["status"]["completionTime"].replace("Z", "+00:00"))
    # The sandbox's day, not the machine's, and the run lasted --job-duration virtual seconds.
    assert start.date() == VIRTUAL_START.date()
    assert VIRTUAL_START <= start <= running.clock.now()
    assert 20 <= (done - start).total_seconds() <= 20 + 180  # 3 real seconds of slack (x60)


def test_stop_ends_operator_then_runner_then_emulator(running: sandbox.Sandbox) -> None:
    server, runner, operator = running.server, running.runner, running.operator
    assert server is not None and runner is not None and operator is not None
    ports = [server.port, int(server.secure_url.rsplit(":", 1)[1])]
    running.stop()
    assert operator.poll() is not None
    alive = [
        t.name for t in threading.enumerate() if t.name.startswith(("jobrunner-", "emulator-"))
    ]
    assert alive == []
    assert all(_closed(port) for port in ports)
    assert running.server is None and running.runner is None
    running.stop()  # idempotent


def test_a_dying_operator_stops_the_sandbox_with_its_exit_code(tmp_path: Path) -> None:
    with socket.socket() as busy:  # the operator cannot bind its metrics port: it exits
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        out = io.StringIO()
        options = _options(
            tmp_path,
            with_samples=False,
            metrics_bind_address=address,
            operator_flags=(f"--metrics-bind-address={address}", "--health-probe-bind-address=0"),
        )
        code = sandbox.run_sandbox(options, Console(out), ShutdownSignals())
    assert code != 0
    assert "the operator exited with code" in out.getvalue()


def test_a_busy_emulator_port_is_reported(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        out = io.StringIO()
        options = _options(tmp_path, port=busy.getsockname()[1])
        code = sandbox.run_sandbox(options, Console(out), ShutdownSignals())
    assert code == 1
    assert "could not start the sandbox" in out.getvalue()
    assert "choose another with --port" in out.getvalue()


def test_run_local_uses_a_cluster_that_answers(tmp_path: Path, api_server: ApiServer) -> None:
    kubeconfig = api_server.write_kubeconfig(tmp_path / "cluster.kubeconfig")
    args = cli.build_parser().parse_args(["run-local", f"--kubeconfig={kubeconfig}"])
    calls: list[tuple[str, list[str]]] = []
    out = io.StringIO()
    code = sandbox.run_local(
        args, Console(out), exec_=lambda path, argv: calls.append((path, argv))
    )
    assert code == 0
    assert f"using cluster at {api_server.secure_url}" in out.getvalue()
    [(path, argv)] = calls
    assert argv[0] == path and argv[1:3] == ["-m", "app"]
    parsed = cli.build_parser().parse_args(argv[3:])
    assert parsed.command is None and parsed.kubeconfig == str(kubeconfig)
    assert parsed.clock_speed is None  # a real cluster runs on real time


def test_no_answer_is_detected_within_the_probe_timeout(tmp_path: Path) -> None:
    with ApiServer() as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "gone.kubeconfig")
    started = time.monotonic()
    url, message = sandbox._cluster_answers(str(kubeconfig))
    assert url is None and "no cluster answered" in message
    assert time.monotonic() - started < sandbox.PROBE_TIMEOUT + 1
    url, message = sandbox._cluster_answers(str(tmp_path / "missing.kubeconfig"))
    assert url is None and "cannot load" in message


def test_run_local_without_a_cluster_runs_the_sandbox_until_sigint(tmp_path: Path) -> None:
    with ApiServer() as server:
        dead = server.write_kubeconfig(tmp_path / "gone.kubeconfig")
    args = cli.build_parser().parse_args(
        [
            "run-local",
            f"--kubeconfig={dead}",
            "--port=0",
            f"--write-kubeconfig={tmp_path / 'sandbox.kubeconfig'}",
            "--metrics-bind-address=0",
            f"--health-probe-bind-address=127.0.0.1:{_free_port()}",
            "--graceful-shutdown-timeout=5",
        ]
    )
    out = io.StringIO()

    def interrupt_when_up() -> None:
        _wait_for(lambda: "operator ready" in out.getvalue())
        os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=interrupt_when_up)
    thread.start()
    code = sandbox.run_local(args, Console(out))
    thread.join()
    text = out.getvalue()
    assert code == 0
    assert "no cluster answered" in text and "starting the sandbox instead" in text
    assert "default/postgres-daily-backup" in text  # run-local applies the samples
    assert "stopped (the operator exited with code 0)" in text
    assert signal.getsignal(signal.SIGINT) is before
