"""The generated CRD on the API emulator: it installs, every sample applies with ``kubectl``,
and each deliberately invalid sample is refused with a 422 naming the field."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client import ApiException

from api.v1alpha1 import GROUP, PLURAL, RESTORE_PLURAL, VERSION
from api.v1alpha1.crdgen import CRD_PATH
from emulator.server import ApiServer

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "tests" / "unit" / "api" / "invalid"
KUBECTL_TIMEOUT = 60.0

# invalid sample -> (field the 422 names, text of its message)
EXPECTED = {
    "bad-cron.yaml": ("spec.schedule", "should match"),
    "two-storage-kinds.yaml": ("spec.storage", "exactly one of s3, gcs or pvc"),
    # A rule at the root: the API server reports field.Path "<nil>"; the message names the field.
    "name-too-long.yaml": ("<nil>", "metadata.name must be at most 48 characters"),
}


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=KUBECTL_TIMEOUT,
        check=False,
    )


@pytest.fixture
def installed(api_server: ApiServer, tmp_path: Path) -> Iterator[tuple[ApiServer, Path]]:
    kubeconfig = tmp_path / "kubeconfig"
    api_server.write_kubeconfig(str(kubeconfig))
    done = kubectl(kubeconfig, "apply", "-k", str(ROOT / "config" / "crd"))
    assert done.returncode == 0, done.stderr
    done = kubectl(
        kubeconfig,
        "wait",
        "--for=condition=Established",
        "--timeout=30s",
        f"crd/{PLURAL}.{GROUP}",
        f"crd/{RESTORE_PLURAL}.{GROUP}",
    )
    assert done.returncode == 0, done.stderr
    yield api_server, kubeconfig


def test_every_sample_is_accepted(installed: tuple[ApiServer, Path]) -> None:
    _, kubeconfig = installed
    done = kubectl(kubeconfig, "apply", "-n", "default", "-k", str(ROOT / "config" / "samples"))
    assert done.returncode == 0, done.stderr
    listed = kubectl(kubeconfig, "get", "dbbackup", "-n", "default", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)["items"]
    assert sorted(i["metadata"]["name"] for i in items) == [
        "mongodb-pvc-backup",
        "mysql-gcs-backup",
        "postgres-daily-backup",
    ]
    product = next(i for i in items if i["metadata"]["name"] == "postgres-daily-backup")
    assert product["spec"]["timeZone"] == "UTC"  # defaulted by the CRD
    assert product["spec"]["concurrencyPolicy"] == "Forbid"
    by_category = kubectl(kubeconfig, "get", "backups", "-n", "default", "-o", "name")
    assert by_category.returncode == 0, by_category.stderr
    assert len(by_category.stdout.split()) == 4  # the three backups and the restore
    restores = kubectl(kubeconfig, "get", "dbrestore", "-n", "default", "-o", "json")
    assert restores.returncode == 0, restores.stderr
    (restore,) = json.loads(restores.stdout)["items"]
    assert restore["metadata"]["name"] == "postgres-restore-to-staging"
    assert restore["spec"]["backupRef"]["name"] == "postgres-daily-backup"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_sample_is_refused_with_422_naming_the_field(
    installed: tuple[ApiServer, Path], name: str
) -> None:
    server, kubeconfig = installed
    body: dict[str, Any] = yaml.safe_load((INVALID / name).read_text())
    field, text = EXPECTED[name]
    with (
        client.ApiClient(server.client_configuration()) as api,
        pytest.raises(ApiException) as err,
    ):
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, body
        )
    assert err.value.status == 422
    status = json.loads(str(err.value.body))
    assert status["reason"] == "Invalid"
    causes = status["details"]["causes"]
    matching = [c for c in causes if c.get("field", "") == field and text in c["message"]]
    assert matching, causes
    # kubectl users see the same refusal, with the field in the message.
    done = kubectl(kubeconfig, "apply", "-n", "default", "-f", str(INVALID / name))
    assert done.returncode != 0
    assert text in done.stderr
    assert field in done.stderr


def test_committed_crd_is_what_was_installed(installed: tuple[ApiServer, Path]) -> None:
    _, kubeconfig = installed
    got = kubectl(kubeconfig, "get", "crd", f"{PLURAL}.{GROUP}", "-o", "json")
    assert got.returncode == 0, got.stderr
    served = json.loads(got.stdout)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    committed = yaml.safe_load((ROOT / CRD_PATH).read_text())
    assert served == committed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
