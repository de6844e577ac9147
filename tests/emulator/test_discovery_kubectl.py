"""Discovery through the official client, and kubectl used as is against the emulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from kubernetes import client

from emulator.server import ApiServer

KUBECTL = shutil.which("kubectl")
JOB_YAML = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: pi
        image: perl:5.34
"""


def test_version_and_groups(k8s: client.ApiClient) -> None:
    """API concepts, "Discovery API": /version, /api and /apis list what is served."""
    assert client.VersionApi(k8s).get_code().major == "1"
    groups = {g.name for g in client.ApisApi(k8s).get_api_versions().groups}
    assert {
        "batch",
        "coordination.k8s.io",
        "events.k8s.io",
        "apiextensions.k8s.io",
        "rbac.authorization.k8s.io",
    } <= groups


def test_resource_list_has_verbs_and_subresources(k8s: client.ApiClient) -> None:
    """Discovery API: an APIResourceList names kind, scope, verbs and subresources."""
    resources = {r.name: r for r in client.BatchV1Api(k8s).get_api_resources().resources}
    assert resources["jobs"].kind == "Job"
    assert "watch" in resources["jobs"].verbs
    assert resources["jobs/status"].verbs == ["get", "patch", "update"]
    core = {r.name: r for r in client.CoreV1Api(k8s).get_api_resources().resources}
    assert core["namespaces"].namespaced is False
    assert core["namespaces"].short_names == ["ns"]


@pytest.fixture
def kubectl(api_server: ApiServer, tmp_path: Path) -> object:
    assert KUBECTL is not None, "kubectl must be installed (it is in CI)"
    config = api_server.write_kubeconfig(tmp_path / "kubeconfig")

    def run(*args: str, stdin: str | None = None) -> str:
        env = dict(os.environ, KUBECONFIG=str(config), HOME=str(tmp_path))
        done = subprocess.run(
            [KUBECTL, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def test_kubectl_apply_get_patch_delete(kubectl: object, api_server: ApiServer) -> None:
    """kubectl reference: apply -f, get, describe, patch --type=merge, label, delete work
    through discovery, OpenAPI v3 (fieldValidation) and the REST API."""
    run = kubectl
    assert callable(run)
    assert "job.batch/pi created" in run("apply", "-f", "-", stdin=JOB_YAML)
    assert "job.batch/pi unchanged" in run("apply", "-f", "-", stdin=JOB_YAML)
    assert "pi" in run("get", "jobs")
    assert "Name:" in run("describe", "job", "pi")
    run("patch", "job", "pi", "--type=merge", "-p", '{"metadata":{"labels":{"a":"b"}}}')
    got = json.loads(run("get", "job", "pi", "-o", "json"))
    uid = got["metadata"]["uid"]
    assert got["metadata"]["labels"] == {  # a Job without labels took its template's
        "a": "b",
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": uid,
        "job-name": "pi",
    }
    assert "jobs" in run("api-resources")
    run("delete", "job", "pi")
    assert api_server.get_object("batch/v1", "Job", "pi", "default") is None


def test_kubectl_create_from_file_and_namespaces(kubectl: object, api_server: ApiServer) -> None:
    """kubectl create -f and get across namespaces (-A) for a cluster-scoped and a
    namespaced kind."""
    run = kubectl
    assert callable(run)
    run("create", "-f", "-", stdin="apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n")
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: foo\n"
        "stringData:\n  a: b\n"
    )
    run("apply", "-f", "-", stdin=secret)
    assert "foo" in run("get", "ns")
    assert "s " in run("get", "secrets", "-A")
    stored = api_server.get_object("v1", "Secret", "s", "foo")
    assert stored is not None and stored["data"] == {"a": "Yg=="}
