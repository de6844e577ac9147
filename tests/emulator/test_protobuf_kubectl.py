"""kubectl's imperative ``create`` commands, which send protobuf bodies, against the server.

``kubectl create namespace|secret generic|configmap|job|serviceaccount|role|rolebinding`` encode
the object as ``application/vnd.kubernetes.protobuf`` and prefer protobuf answers; each must
succeed and store what the command says, and an error must reach the user as kubectl prints a
real server's. Runs against the emulator, or the real server of ``make conformance
KUBECONFIG=...``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.emulator.target import REAL_KUBECONFIG, RecordingApiClient

KUBECTL = shutil.which("kubectl")
NAMESPACE = "proto-kubectl"
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def kubectl(request: pytest.FixtureRequest, tmp_path: Path) -> Kubectl:
    """Runs kubectl against the server under test; returns the finished process."""
    assert KUBECTL is not None, "kubectl must be installed (it is in CI)"
    if REAL_KUBECONFIG:
        config = Path(REAL_KUBECONFIG)
    else:
        config = request.getfixturevalue("api_server").write_kubeconfig(tmp_path / "kubeconfig")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, KUBECONFIG=str(config), HOME=str(tmp_path))
        return subprocess.run(
            [KUBECTL, *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    return run


def _created(k8s: client.ApiClient, path: str) -> None:
    """On a real server, delete ``path`` after the test (newest first, as it was created)."""
    if isinstance(k8s, RecordingApiClient):
        k8s.created.append(k8s.configuration.host + path)


def _get(kubectl: Kubectl, *args: str) -> dict[str, Any]:
    done = kubectl("get", *args, "-o", "json")
    assert done.returncode == 0, done.stderr
    obj: dict[str, Any] = json.loads(done.stdout)
    return obj


def test_kubectl_create_namespace_secret_configmap_job_and_rbac(
    kubectl: Kubectl, k8s: client.ApiClient
) -> None:
    done = kubectl("create", "namespace", NAMESPACE, "-v=8")
    _created(k8s, f"/api/v1/namespaces/{NAMESPACE}")
    assert (done.returncode, done.stdout) == (0, f"namespace/{NAMESPACE} created\n"), done.stderr
    assert "Content-Type: application/vnd.kubernetes.protobuf" in done.stderr  # the premise

    done = kubectl("create", "secret", "generic", "db", "--from-literal=password=s3cret",
                   "-n", NAMESPACE)  # fmt: skip
    _created(k8s, f"/api/v1/namespaces/{NAMESPACE}/secrets/db")
    assert (done.returncode, done.stdout) == (0, "secret/db created\n"), done.stderr

    done = kubectl("create", "configmap", "settings", "--from-literal=retention=7d",
                   "-n", NAMESPACE)  # fmt: skip
    _created(k8s, f"/api/v1/namespaces/{NAMESPACE}/configmaps/settings")
    assert (done.returncode, done.stdout) == (0, "configmap/settings created\n"), done.stderr

    done = kubectl("create", "job", "once", "--image=busybox", "-n", NAMESPACE)
    _created(k8s, f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/once")
    assert (done.returncode, done.stdout) == (0, "job.batch/once created\n"), done.stderr

    rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/" + NAMESPACE
    for args, path, printed in (
        (("serviceaccount", "backup"), f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/backup",
         "serviceaccount/backup created\n"),
        (("role", "reader", "--verb=get", "--resource=jobs"), f"{rbac}/roles/reader",
         "role.rbac.authorization.k8s.io/reader created\n"),
        (("rolebinding", "reader", "--role=reader", f"--serviceaccount={NAMESPACE}:backup"),
         f"{rbac}/rolebindings/reader", "rolebinding.rbac.authorization.k8s.io/reader created\n"),
    ):  # fmt: skip
        done = kubectl("create", *args, "-n", NAMESPACE)
        _created(k8s, path)
        assert (done.returncode, done.stdout) == (0, printed), done.stderr

    assert _get(kubectl, "namespace", NAMESPACE)["status"] == {"phase": "Active"}
    secret = _get(kubectl, "secret", "db", "-n", NAMESPACE)
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"password": base64.b64encode(b"s3cret").decode()}
    assert _get(kubectl, "configmap", "settings", "-n", NAMESPACE)["data"] == {"retention": "7d"}
    pod = _get(kubectl, "job", "once", "-n", NAMESPACE)["spec"]["template"]["spec"]
    assert [(c["name"], c["image"]) for c in pod["containers"]] == [("once", "busybox")]
    assert pod["restartPolicy"] == "Never"
    role = _get(kubectl, "role", "reader", "-n", NAMESPACE)
    assert role["rules"] == [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get"]}]
    binding = _get(kubectl, "rolebinding", "reader", "-n", NAMESPACE)
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "backup", "namespace": NAMESPACE}
    ]

    # An error answered in protobuf reads as kubectl prints a real server's Status.
    again = kubectl("create", "namespace", NAMESPACE)
    assert again.returncode == 1
    assert again.stderr == (
        f'Error from server (AlreadyExists): namespaces "{NAMESPACE}" already exists\n'
    )
