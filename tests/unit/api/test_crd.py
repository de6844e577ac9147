"""The CRD is generated from the types and must not drift; it is structural, documented and
bounded; the backup-image contract's Markdown is generated too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from api.v1alpha1 import DatabaseBackup, apply_defaults
from api.v1alpha1.contract import VARIABLES, markdown
from api.v1alpha1.crdgen import CRD_PATH, crd, main, render

ROOT = Path(__file__).resolve().parents[3]


def nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from nodes(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from nodes(node["additionalProperties"], f"{path}{{}}")


def schema() -> dict[str, Any]:
    s: dict[str, Any] = crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return s


def test_committed_crd_equals_the_generated_one() -> None:
    """Fails when types.py changed without `make manifests`."""
    assert (ROOT / CRD_PATH).read_text() == render()
    assert main(["--output", str(ROOT / CRD_PATH), "--check"]) == 0


def test_committed_contract_markdown_equals_the_generated_one() -> None:
    assert (ROOT / "api" / "v1alpha1" / "CONTRACT.md").read_text() == markdown()
    for var in VARIABLES:
        assert f"| `{var.name}` |" in markdown()


def test_check_mode_notices_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "crd.yaml"
    stale.write_text(render().replace("maxLength: 512", "maxLength: 513"))
    assert main(["--output", str(stale), "--check"]) == 1
    assert main(["--output", str(stale)]) == 0
    assert stale.read_text() == render()


def test_names_scope_subresources_and_columns() -> None:
    spec = crd()["spec"]
    assert crd()["metadata"]["name"] == "databasebackups.dbbackup.io"
    assert spec["names"]["shortNames"] == ["dbbackup"]
    assert spec["names"]["categories"] == ["backups"]
    assert spec["scope"] == "Namespaced"
    version = spec["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert list(columns) == [
        "Schedule",
        "Phase",
        "Last Success",
        "Next",
        "Age",
        "Suspend",
        "Active Job",
    ]
    assert [n for n, c in columns.items() if c.get("priority") == 1] == ["Suspend", "Active Job"]


def test_root_metadata_is_exactly_type_object() -> None:
    """kube-apiserver (apiextensions-apiserver schema/validation.go,
    validateStructuralMetadataInvariants) refuses anything at the root's metadata but ``type``
    and name/generateName restrictions: ``description`` there made v1.32 refuse the CRD with
    "properties[metadata]: Forbidden: must not specify anything other than name and
    generateName". The generator emits what kubebuilder emits."""
    assert schema()["properties"]["metadata"] == {"type": "object"}
    committed = yaml.safe_load((ROOT / CRD_PATH).read_text())
    on_disk = committed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert on_disk["properties"]["metadata"] == {"type": "object"}


def test_every_field_has_a_description_and_every_string_a_max_length() -> None:
    for path, node in nodes(schema()):
        if path == ".metadata":
            continue  # pinned to exactly {type: object} above
        if not (path.endswith("[]") or path.endswith("{}")):
            assert node.get("description"), f"{path or '<root>'} has no description"
        if node.get("type") == "string" and path != ".metadata":
            assert "maxLength" in node, f"{path} has no maxLength"
        if node.get("x-kubernetes-int-or-string") and path.endswith("{}"):
            assert "maxLength" in node, path


def test_schema_is_structural() -> None:
    for path, node in nodes(schema()):
        assert "type" in node or node.get("x-kubernetes-int-or-string"), path
        if node.get("type") == "object":
            has_shape = "properties" in node or "additionalProperties" in node
            assert (
                has_shape
                or node.get("x-kubernetes-preserve-unknown-fields")
                or path in (".metadata",)
            ), path


def test_cel_rules_exactly_one_storage_and_name_length() -> None:
    s = schema()
    assert s["x-kubernetes-validations"][0]["rule"] == "size(self.metadata.name) <= 48"
    storage = s["properties"]["spec"]["properties"]["storage"]
    assert "has(self.s3)" in storage["x-kubernetes-validations"][0]["rule"]


def test_crd_defaults_are_the_types_defaults() -> None:
    minimal = {
        "metadata": {"name": "x"},
        "spec": {
            "schedule": "@daily",
            "database": {"type": "mysql", "host": "h", "credentialsSecretRef": {"name": "s"}},
            "image": "i",
            "storage": {"gcs": {"bucket": "bbb", "credentialsSecretRef": {"name": "g"}}},
        },
    }
    typed = DatabaseBackup.from_dict(minimal)
    defaulted = DatabaseBackup.from_dict(apply_defaults(minimal))
    assert typed == defaulted
    spec = apply_defaults(minimal)["spec"]
    assert (spec["timeZone"], spec["suspend"], spec["concurrencyPolicy"]) == (
        "UTC",
        False,
        "Forbid",
    )
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    assert spec["backoffLimit"] == 2
    assert spec["storage"]["gcs"]["credentialsSecretRef"]["key"] == "key.json"


def test_kustomizations_list_existing_files() -> None:
    for directory in ("config/crd", "config/samples"):
        k = yaml.safe_load((ROOT / directory / "kustomization.yaml").read_text())
        for resource in k["resources"]:
            assert (ROOT / directory / resource).is_file(), resource
