"""kubectl explain, apply ``--validate`` and edit, run as a user runs them.

These commands read ``/openapi/v3`` (explain its schemas; apply and edit the ``fieldValidation``
parameter of the kind's PATCH, then they let the server judge the fields), so what they print
is what the server's OpenAPI documents and field validation say. The expected output is the
real kube-apiserver v1.32's; against it (``make conformance KUBECONFIG=...``) the shared
DatabaseBackup CRD is used as found, and everything the test made is deleted."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from api.v1alpha1.crdgen import crd as databasebackup_crd
from tests.emulator.support import wait_for
from tests.emulator.target import REAL_KUBECONFIG

KUBECTL = shutil.which("kubectl")
NAMESPACE = "openapi-kubectl"
EDITOR = """#!/bin/sh
sed -i 's/^  a: b$/  a: edited/; s/^  retention: .*/  retention: 48h/' "$1"
"""
JOB = f"""\
apiVersion: batch/v1
kind: Job
metadata:
  name: strict
  namespace: {NAMESPACE}
spec:
  foo: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
"""
BACKUP = f"""\
apiVersion: dbbackup.io/v1alpha1
kind: DatabaseBackup
metadata:
  name: edited
  namespace: {NAMESPACE}
spec:
  schedule: "0 1 * * *"
  database:
    type: postgresql
    host: db
    credentialsSecretRef:
      name: creds
  image: backup:1
  storage:
    s3:
      bucket: my-bucket
      credentialsSecretRef:
        name: s3
  retention: 336h
"""
CONFIGMAP = f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: edited
  namespace: {NAMESPACE}
data:
  a: b
"""


class Kubectl:
    """The real kubectl against the server under test, with its own cache and editor."""

    def __init__(self, config: Path | str, home: Path) -> None:
        editor = home / "editor.sh"
        editor.write_text(EDITOR)
        editor.chmod(0o755)
        self.env = dict(os.environ, KUBECONFIG=str(config), HOME=str(home),
                        KUBE_EDITOR=str(editor))  # fmt: skip

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None, "kubectl must be installed (it is in CI)"
        return subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True,
                              env=self.env, timeout=60, check=False)  # fmt: skip

    def ok(self, *args: str, stdin: str | None = None) -> str:
        done = self(*args, stdin=stdin)
        assert done.returncode == 0, done.stderr
        return done.stdout


def words(text: str) -> str:
    """``text`` with kubectl's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def kubectl(
    request: pytest.FixtureRequest, k8s: client.ApiClient, tmp_path: Path
) -> Iterator[Kubectl]:
    """kubectl, a namespace of its own, and the DatabaseBackup CRD (created unless the
    server has it); the objects it made are deleted afterwards."""
    if REAL_KUBECONFIG:
        config: Path | str = REAL_KUBECONFIG
    else:
        config = request.getfixturevalue("api_server").write_kubeconfig(tmp_path / "config")
    crds = client.ApiextensionsV1Api(k8s)
    try:
        crds.read_custom_resource_definition("databasebackups.dbbackup.io")
    except ApiException as err:
        assert err.status == 404
        crds.create_custom_resource_definition(databasebackup_crd())  # type: ignore[arg-type]
    client.CoreV1Api(k8s).create_namespace({"metadata": {"name": NAMESPACE}})  # type: ignore[arg-type]
    run = Kubectl(config, tmp_path)
    assert wait_for(lambda: run("get", "databasebackups", "-n", NAMESPACE).returncode == 0, 30)
    try:
        yield run
    finally:
        run("delete", "-n", NAMESPACE, "jobs,configmaps,databasebackups", "--all",
            "--cascade=background", "--wait=false")  # fmt: skip


def schedule_description() -> str:
    schema: dict[str, Any] = databasebackup_crd()["spec"]["versions"][0]["schema"]
    description: str = schema["openAPIV3Schema"]["properties"]["spec"]["properties"]["schedule"][
        "description"
    ]
    return description


def test_explain_prints_a_custom_resource_fields_description(kubectl: Kubectl) -> None:
    out = kubectl.ok("explain", "dbbackup.spec.schedule")
    assert "KIND:       DatabaseBackup" in out
    assert "FIELD: schedule <string>" in out
    assert words(schedule_description()) in words(out)
    spec = kubectl.ok("explain", "dbbackup.spec")
    assert "schedule\t<string> -required-" in spec
    assert "database\t<Object> -required-" in spec


def test_explain_prints_built_in_fields(kubectl: Kubectl) -> None:
    out = kubectl.ok("explain", "job.spec.backoffLimit")
    assert "FIELD: backoffLimit <integer>" in out
    assert "Specifies the number of retries before marking this job failed." in words(out)
    spec = kubectl.ok("explain", "job.spec")
    assert "template\t<PodTemplateSpec> -required-" in spec
    containers = kubectl.ok("explain", "job.spec.template.spec.containers")
    assert "FIELD: containers <[]Container>" in containers
    assert "image\t<string>" in containers


def test_apply_validate_strict_refuses_an_unknown_field(kubectl: Kubectl) -> None:
    """--validate=strict (the default) is the server's strict decoding error;
    --validate=warn its warning; --validate=false nothing."""
    refused = kubectl("apply", "-f", "-", stdin=JOB)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": Job in version "v1" '
        'cannot be handled as a Job: strict decoding error: unknown field "spec.foo"'
    )
    backup = BACKUP.replace("  retention: 336h\n", "  retention: 336h\n  foo: 1\n")
    refused = kubectl("apply", "--validate=strict", "-f", "-", stdin=backup)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'Error from server (BadRequest): error when creating "STDIN": DatabaseBackup in version '
        '"v1alpha1" cannot be handled as a DatabaseBackup: strict decoding error: unknown field '
        '"spec.foo"'
    )
    warned = kubectl("apply", "--validate=warn", "-f", "-", stdin=JOB)
    assert warned.returncode == 0, warned.stderr
    assert warned.stderr.strip() == 'Warning: unknown field "spec.foo"'
    assert "job.batch/strict created" in warned.stdout
    silent = kubectl("apply", "--validate=false", "-f", "-", stdin=backup)
    assert (silent.returncode, silent.stderr) == (0, "")
    stored = kubectl.ok("get", "-n", NAMESPACE, "dbbackup", "edited", "-o", "jsonpath={.spec}")
    assert '"foo"' not in stored


def test_edit_changes_a_field_through_the_editor(kubectl: Kubectl) -> None:
    kubectl.ok("apply", "-f", "-", stdin=CONFIGMAP)
    kubectl.ok("apply", "-f", "-", stdin=BACKUP)
    out = kubectl.ok("edit", "-n", NAMESPACE, "configmap", "edited")
    assert out.strip() == "configmap/edited edited"
    assert kubectl.ok("get", "-n", NAMESPACE, "cm", "edited", "-o", "jsonpath={.data.a}") == (
        "edited"
    )
    out = kubectl.ok("edit", "-n", NAMESPACE, "dbbackup", "edited")
    assert out.strip() == "databasebackup.dbbackup.io/edited edited"
    retention = ("get", "-n", NAMESPACE, "dbbackup", "edited", "-o", "jsonpath={.spec.retention}")
    assert kubectl.ok(*retention) == "48h"
