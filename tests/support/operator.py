"""Run the real ``dbbackup-operator`` command against the API emulator, for integration tests.

The operator runs as a subprocess (``python -m app``) authenticated as its
ServiceAccount, exactly as in a cluster; these helpers start it, wait for it, scrape it and
stop it. Nothing here touches the operator's internals.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml

from emulator.server import ApiServer

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "config/crd/bases/dbbackup.io_databasebackups.yaml"
RESTORE_CRD = ROOT / "config/crd/bases/dbbackup.io_databaserestores.yaml"
SAMPLES = ROOT / "config/samples"
OPERATOR_USER = "system:serviceaccount:dbbackup-system:dbbackup-operator"
OPERATOR_TOKEN = "operator-token"

T = TypeVar("T")


def scratch_dir(prefix: str) -> Path:
    """A temporary directory removed when the test process exits (logs stay readable until
    then, for a failing test's report)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def install_crd(server: ApiServer) -> None:
    """Both CRDs: the operator serves DatabaseBackup and DatabaseRestore."""
    server.create_object(yaml.safe_load(CRD.read_text()))
    server.create_object(yaml.safe_load(RESTORE_CRD.read_text()))


def apply_sample(
    server: ApiServer, filename: str, namespace: str = "default", **spec: Any
) -> dict[str, Any]:
    """Create the objects of one sample file (spec fields overridden by ``spec``)."""
    created: dict[str, Any] = {}
    for doc in yaml.safe_load_all((SAMPLES / filename).read_text()):
        if not doc:
            continue
        doc.setdefault("metadata", {})["namespace"] = namespace
        if doc.get("kind") == "DatabaseBackup":
            doc["spec"].update(spec)
        created = server.create_object(doc)
    return created


def setup_cluster(server: ApiServer) -> Path:
    """CRD, namespaces, the operator's identity; returns the operator's kubeconfig."""
    install_crd(server)
    server.create_object(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dbbackup-system"}}
    )
    server.add_user(
        OPERATOR_TOKEN,
        OPERATOR_USER,
        ["system:serviceaccounts", "system:serviceaccounts:dbbackup-system"],
    )
    path = scratch_dir("dbbackup-test-") / "operator.kubeconfig"
    return server.write_kubeconfig(path, token=OPERATOR_TOKEN)


class OperatorProcess:
    """One ``dbbackup-operator`` subprocess with its own metrics/probe ports."""

    def __init__(
        self,
        kubeconfig: Path,
        *,
        clock_start: datetime | None = None,
        clock_origin: float | None = None,
        clock_speed: float | None = None,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        log_format: str = "json",
        metrics_secure: bool = False,
    ) -> None:
        self.metrics_port = free_port()
        self.metrics_secure = metrics_secure
        self.health_port = free_port()
        args = [
            sys.executable, "-m", "app",
            "--kubeconfig", str(kubeconfig),
            "--metrics-bind-address", f"127.0.0.1:{self.metrics_port}",
            f"--metrics-secure={str(metrics_secure).lower()}",
            "--health-probe-bind-address", f"127.0.0.1:{self.health_port}",
            "--log-format", log_format,
            "--log-level", "debug",
            *extra_args,
        ]  # fmt: skip
        if clock_start is not None:
            args += ["--clock-start", clock_start.isoformat()]
        if clock_origin is not None:
            args += ["--clock-origin", repr(clock_origin)]
        if clock_speed is not None:
            args += ["--clock-speed", str(clock_speed)]
        self.log_path = scratch_dir("operator-") / "operator.log"
        self._log = self.log_path.open("wb")
        full_env = {**os.environ, **(env or {})}
        full_env.pop("KUBECONFIG", None)
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=full_env
        )

    def logs(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def _get(self, port: int, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as err:
            return int(err.code), err.read().decode()
        except OSError:
            return 0, ""

    def ready(self) -> bool:
        return self._get(self.health_port, "/readyz")[0] == 200

    def healthz(self) -> int:
        return self._get(self.health_port, "/healthz")[0]

    def metrics(self, token: str | None = None) -> str:
        code, body = self.scrape(token)
        assert code == 200, f"/metrics answered {code}: {body}"
        return body

    def scrape(self, token: str | None = None) -> tuple[int, str]:
        """GET /metrics (HTTPS when secure, the self-signed certificate unverified, as
        kubebuilder's ServiceMonitor does), with ``token`` as bearer when given."""
        if not self.metrics_secure:
            return self._get(self.metrics_port, "/metrics")
        request = urllib.request.Request(f"https://127.0.0.1:{self.metrics_port}/metrics")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as err:
            return int(err.code), err.read().decode()

    def wait_ready(self, timeout: float = 30) -> None:
        def check() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"operator exited {self.proc.returncode}:\n{self.logs()}")
            return self.ready()

        wait_for(check, timeout, "the operator's /readyz")

    def wait_exit(self, timeout: float = 30) -> int:
        code = int(self.proc.wait(timeout))
        self._log.close()
        return code

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.wait_exit(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"operator did not stop on {sig}:\n{self.logs()}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()
