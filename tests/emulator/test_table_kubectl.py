"""What ``kubectl get`` prints against the emulator: the columns of a real cluster.

kubectl prints the server's Tables as they are, so these are the lines a user reads, checked
against what the same commands printed on a real kube-apiserver v1.32 (headers, status words,
completions, durations; ages are "seconds" for objects made a moment ago).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, Queue

import pytest
import yaml
from kubernetes import client

from emulator.server import ApiServer
from tests.emulator.support import job, lease, raw

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")
SECONDS = re.compile(r"^[0-9]+s$")  # an age of something made a moment ago
AGE = re.compile(r"^([0-9]+[smhdy])+$")
Kubectl = Callable[..., list[list[str]]]
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="needs kubectl")


@pytest.fixture
def env(api_server: ApiServer, tmp_path: Path) -> dict[str, str]:
    config = api_server.write_kubeconfig(tmp_path / "kubeconfig")
    return dict(os.environ, KUBECONFIG=str(config), HOME=str(tmp_path))


@pytest.fixture
def kubectl(env: dict[str, str]) -> Kubectl:
    """Runs kubectl; returns its output as whitespace-split lines."""

    def run(*args: str) -> list[list[str]]:
        assert KUBECTL is not None
        done = subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env,
                              timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return [line.split() for line in done.stdout.splitlines()]

    return run


@pytest.fixture
def k8s(api_server: ApiServer) -> Iterator[client.ApiClient]:
    with client.ApiClient(api_server.client_configuration()) as api:
        yield api


def _finished(k8s: client.ApiClient, name: str, condition: str) -> None:
    """Write the Job controller's verdict: started 01:00:00, done 75 s later."""
    path = f"/apis/batch/v1/namespaces/default/jobs/{name}"
    code, created = raw(k8s, "GET", path)
    assert code == 200 and isinstance(created, dict)
    end = "2026-01-01T01:01:15Z"
    verdicts = {
        "Complete": ["SuccessCriteriaMet", "Complete"],
        "Failed": ["FailureTarget", "Failed"],
    }
    types = verdicts[condition]
    created["status"] = {
        "startTime": "2026-01-01T01:00:00Z",
        **({"completionTime": end, "succeeded": 1} if condition == "Complete" else {"failed": 1}),
        "conditions": [{"type": t, "status": "True", "lastTransitionTime": end,
                        "lastProbeTime": end, "reason": "R", "message": "m"} for t in types],
    }  # fmt: skip
    code, body = raw(k8s, "PUT", f"{path}/status", created)
    assert code == 200, body


def test_kubectl_get_jobs_shows_status_completions_and_duration(
    k8s: client.ApiClient, kubectl: Kubectl
) -> None:
    for name in ("done", "failed", "waiting"):
        assert raw(k8s, "POST", "/apis/batch/v1/namespaces/default/jobs", job(name))[0] == 201
    _finished(k8s, "done", "Complete")
    _finished(k8s, "failed", "Failed")

    lines = kubectl("get", "jobs")
    wide = kubectl("get", "jobs", "-o", "wide")

    assert lines[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert lines[1][:4] == ["done", "Complete", "1/1", "75s"]  # completion - start
    assert lines[2][:3] == ["failed", "Failed", "0/1"]  # no completion: time since the start
    assert AGE.match(lines[2][3])
    assert lines[3][:3] == ["waiting", "Running", "0/1"]  # no start time: no duration
    assert len(lines[3]) == 4 and SECONDS.match(lines[3][3])
    assert wide[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "CONTAINERS", "IMAGES",
                       "SELECTOR"]  # fmt: skip
    assert wide[1][5:7] == ["main", "busybox:1.36"]
    assert wide[1][7].startswith("batch.kubernetes.io/controller-uid=")


def test_kubectl_get_everyday_kinds_prints_their_columns(
    k8s: client.ApiClient, kubectl: Kubectl
) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
              "stringData": {"user": "u", "password": "p"}}  # fmt: skip
    assert raw(k8s, "POST", "/api/v1/namespaces/default/secrets", secret)[0] == 201
    assert raw(k8s, "POST", "/api/v1/namespaces", {"metadata": {"name": "team-a"}})[0] == 201
    assert raw(k8s, "POST", "/apis/coordination.k8s.io/v1/namespaces/team-a/leases",
               lease("leader", "team-a"))[0] == 201  # fmt: skip
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "saw-it"},
             "involvedObject": {"kind": "Job", "name": "nightly", "namespace": "default"},
             "reason": "Started", "type": "Normal", "message": "Started the run",
             "firstTimestamp": "2026-01-01T01:00:00Z", "count": 1}  # fmt: skip
    assert raw(k8s, "POST", "/api/v1/namespaces/default/events", event)[0] == 201
    crd = yaml.safe_load((ROOT / "config/crd/bases/dbbackup.io_databasebackups.yaml").read_text())
    assert (
        raw(k8s, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)[0] == 201
    )

    secrets = kubectl("get", "secrets")
    namespaces = kubectl("get", "ns")
    leases = kubectl("get", "lease", "-A")
    events = kubectl("get", "events")
    events_wide = kubectl("get", "events", "-o", "wide")
    crds = kubectl("get", "crd")

    assert secrets[0] == ["NAME", "TYPE", "DATA", "AGE"]
    assert secrets[1][:3] == ["creds", "Opaque", "2"] and SECONDS.match(secrets[1][3])
    assert namespaces[0] == ["NAME", "STATUS", "AGE"]
    assert ["team-a", "Active"] in [line[:2] for line in namespaces]
    assert leases[0] == ["NAMESPACE", "NAME", "HOLDER", "AGE"]
    assert leases[1][:3] == ["team-a", "leader", "a"]
    assert events[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert events[1][1:] == ["Normal", "Started", "job/nightly", "Started", "the", "run"]
    assert events_wide[0][-4:] == ["FIRST", "SEEN", "COUNT", "NAME"]
    assert events_wide[1][-2:] == ["1", "saw-it"]
    assert crds[0] == ["NAME", "CREATED", "AT"]
    assert crds[1][0] == "databasebackups.dbbackup.io"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", crds[1][1])


@contextmanager
def _watching(env: dict[str, str], *args: str) -> Iterator[Callable[[], list[str]]]:
    """Runs ``kubectl get -w ...``; yields "the next line it prints" (split)."""
    assert KUBECTL is not None
    with subprocess.Popen([KUBECTL, "get", "-w", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, env=env) as watcher:  # fmt: skip
        lines: Queue[list[str]] = Queue()

        def read() -> None:
            for line in watcher.stdout or ():
                lines.put(line.split())

        threading.Thread(target=read, daemon=True).start()

        def next_line() -> list[str]:
            try:
                return lines.get(timeout=30)
            except Empty:
                pytest.fail("kubectl get -w printed nothing more")

        try:
            yield next_line
        finally:
            watcher.terminate()


def test_kubectl_get_watch_prints_a_row_per_change(
    k8s: client.ApiClient, kubectl: Kubectl, env: dict[str, str]
) -> None:
    crd = yaml.safe_load((ROOT / "config/crd/bases/dbbackup.io_databasebackups.yaml").read_text())
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert raw(k8s, "POST", crds, crd)[0] == 201
    kubectl(
        "apply", "-f", str(ROOT / "config/samples/dbbackup_v1alpha1_postgres_daily_backup.yaml")
    )

    with _watching(env, "dbbackup") as next_line:
        assert next_line() == ["NAME", "SCHEDULE", "PHASE", "LAST", "SUCCESS", "NEXT", "AGE"]
        first = next_line()  # no status yet: PHASE, LAST SUCCESS and NEXT are empty
        assert first[:6] == ["postgres-daily-backup", "0", "1", "*", "*", "*"]
        assert len(first) == 7 and SECONDS.match(first[6])
        for phase in ("Running", "Succeeded"):
            status = f'{{"status":{{"phase":"{phase}"}}}}'
            kubectl("patch", "dbbackup", "postgres-daily-backup", "--subresource=status",
                    "--type=merge", "-p", status)  # fmt: skip
            assert next_line()[:7] == ["postgres-daily-backup", "0", "1", "*", "*", "*", phase]


def test_kubectl_get_watch_wide_prints_a_jobs_verdict(
    k8s: client.ApiClient, env: dict[str, str]
) -> None:
    assert raw(k8s, "POST", "/apis/batch/v1/namespaces/default/jobs", job("nightly"))[0] == 201

    with _watching(env, "jobs", "-o", "wide", "--output-watch-events") as next_line:
        assert next_line() == ["EVENT", "NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE",
                               "CONTAINERS", "IMAGES", "SELECTOR"]  # fmt: skip
        added = next_line()
        assert added[:4] == ["ADDED", "nightly", "Running", "0/1"]
        assert added[5:7] == ["main", "busybox:1.36"]
        _finished(k8s, "nightly", "Complete")
        assert next_line()[:5] == ["MODIFIED", "nightly", "Complete", "1/1", "75s"]


def test_kubectl_get_pods_shows_readiness_status_and_restarts(
    k8s: client.ApiClient, kubectl: Kubectl
) -> None:
    """As ``kubectl get pods`` printed a waiting and a finished Pod on the real server."""
    finished = "2026-01-01T00:00:00Z"
    statuses = {
        "crashing": {
            "phase": "Running",
            "containerStatuses": [{
                "name": "main", "image": "busybox:1.36", "imageID": "", "ready": False,
                "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 137, "finishedAt": finished}},
            }],
        },
        "done": {
            "phase": "Succeeded",
            "containerStatuses": [{
                "name": "main", "image": "busybox:1.36", "imageID": "", "ready": False,
                "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
            }],
        },
    }  # fmt: skip
    path = "/api/v1/namespaces/default/pods"
    for name, status in statuses.items():
        pod = {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": "node-a", "containers": [{"name": "main", "image": "busy"}]},
        }  # fmt: skip
        code, created = raw(k8s, "POST", path, pod)
        assert code == 201 and isinstance(created, dict), created
        code, written = raw(k8s, "PUT", f"{path}/{name}/status", {**created, "status": status})
        assert code == 200, written

    plain = kubectl("get", "pods")
    wide = kubectl("get", "pods", "-o", "wide")

    assert plain[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert plain[1][:3] == ["crashing", "0/1", "CrashLoopBackOff"]
    assert plain[1][3] == "5" and re.match(r"^\(([0-9]+[smhdy])+$", plain[1][4])
    assert plain[1][5] == "ago)" and SECONDS.match(plain[1][6])
    assert plain[2][:4] == ["done", "0/1", "Completed", "0"] and SECONDS.match(plain[2][4])
    assert wide[0][5:] == ["IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    assert wide[2][5:] == ["<none>", "node-a", "<none>", "<none>"]
