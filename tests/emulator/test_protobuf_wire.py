"""The Kubernetes protobuf wire format against bytes a real kube-apiserver v1.32 wrote.

``recorded/protobuf-v1.32.json`` (written by ``hack/record_protobuf.py``) holds, for each
built-in kind the emulator serves (the Jobs of the samples and a Job using every defaulted
pod-template field among them), the object read back from a real server twice: as JSON and as
``application/vnd.kubernetes.protobuf``; plus a list and a ``Status``. Decoding the bytes must
give that JSON exactly, and encoding the JSON must give those bytes exactly: field numbers, which
empty fields are written, map order, times, quantities and ``fieldsV1`` all show in both
directions.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from emulator.errors import ApiStatusError
from emulator.protobuf import decode, encode, only_protobuf, prefers_protobuf
from emulator.protobuf.convert import SchemaError

RECORDED = json.loads((Path(__file__).parent / "recorded" / "protobuf-v1.32.json").read_text())
SAMPLES = [
    *((entry["path"], entry["json"], base64.b64decode(entry["protobuf"]))
      for entry in RECORDED["objects"]),
    ("Status 404", RECORDED["status"]["json"], base64.b64decode(RECORDED["status"]["protobuf"])),
]  # fmt: skip
IDS = [path for path, _, _ in SAMPLES]


@pytest.mark.parametrize(("path", "obj", "data"), SAMPLES, ids=IDS)
def test_recorded_bytes_decode_to_the_recorded_json(
    path: str, obj: dict[str, Any], data: bytes
) -> None:
    assert decode(data) == obj


@pytest.mark.parametrize(("path", "obj", "data"), SAMPLES, ids=IDS)
def test_recorded_json_encodes_to_the_recorded_bytes(
    path: str, obj: dict[str, Any], data: bytes
) -> None:
    assert encode(obj, strict=True) == data


def test_recordings_cover_the_kinds_kubectl_creates() -> None:
    kinds = {(obj["apiVersion"], obj["kind"]) for _, obj, _ in SAMPLES}
    assert {("v1", "Namespace"), ("v1", "Secret"), ("v1", "ConfigMap"), ("batch/v1", "Job"),
            ("v1", "Status"), ("v1", "ConfigMapList")} <= kinds  # fmt: skip


def _configmap(**extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, **extra}


def test_strict_encoding_refuses_a_key_no_field_carries() -> None:
    with pytest.raises(SchemaError, match="datta"):
        encode(_configmap(datta={"a": "b"}), strict=True)
    lenient = encode(_configmap(datta={"a": "b"}))
    assert lenient is not None
    assert decode(lenient) == decode(encode(_configmap()) or b"")


def test_a_value_that_does_not_fit_its_go_type_is_left_to_json() -> None:
    """Lenient (the handler answers JSON instead); strict raises."""
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
           "spec": {"parallelism": "two"}}  # fmt: skip
    assert encode(job) is None
    with pytest.raises(SchemaError, match=r"\.spec\.parallelism"):
        encode(job, strict=True)


def test_a_kind_without_a_schema_is_not_encoded() -> None:
    """Custom resources stay JSON: the handler falls back when there are no bytes."""
    assert encode({"apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseBackup"}) is None


def test_conventions_of_the_go_types_round_trip() -> None:
    """IntOrString as a string, a pointer set to its zero value, a zero Time, MicroTime
    microseconds and a numeric Quantity, through bytes and back."""
    job = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "j", "creationTimestamp": None},
        "spec": {
            "suspend": False,
            "template": {"metadata": {"creationTimestamp": None}, "spec": {"containers": [{
                "name": "c",
                "resources": {"limits": {"memory": 1024}},
                "livenessProbe": {"httpGet": {"port": "http"}},
            }]}},
        },
    }  # fmt: skip
    back = decode(encode(job) or b"")
    container = back["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["port"] == "http"
    assert container["resources"] == {"limits": {"memory": "1024"}}
    assert back["spec"]["suspend"] is False  # a pointer: kept although false
    assert back["metadata"]["creationTimestamp"] is None
    assert back["status"] == {}  # a struct: present although empty
    spec = {"renewTime": "2026-01-02T03:04:05.000007Z", "leaseTransitions": 0}
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}}
    lease["spec"] = spec
    assert decode(encode(lease) or b"")["spec"] == lease["spec"]


def test_bytes_without_the_magic_are_a_bad_request() -> None:
    with pytest.raises(ApiStatusError) as caught:
        decode(b"\x00\x01")
    assert caught.value.code == 400
    assert "expected prefix [107 56 115 0]" in caught.value.body["message"]


def test_an_envelope_of_a_kind_without_a_schema_is_unsupported() -> None:
    """A custom resource in protobuf: 415, its bodies are JSON only."""
    envelope = b"k8s\x00\n%c\n\x14dbbackup.io/v1alpha1\x12\x0eDatabaseBackup" % (
        2 + len("dbbackup.io/v1alpha1") + 2 + len("DatabaseBackup")
    )
    with pytest.raises(ApiStatusError) as caught:
        decode(envelope)
    assert (caught.value.code, caught.value.body["reason"]) == (415, "UnsupportedMediaType")


@pytest.mark.parametrize(
    ("accept", "protobuf"),
    [
        ("application/vnd.kubernetes.protobuf,application/json", True),  # kubectl create
        ("application/vnd.kubernetes.protobuf", True),
        ("application/json", False),
        ("application/json, */*", False),
        ("", False),
        ("application/json;q=0.5,application/vnd.kubernetes.protobuf", True),
        ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json", False),
        ("application/vnd.kubernetes.protobuf;q=0,application/json", False),
    ],
)
def test_accept_negotiation(accept: str, protobuf: bool) -> None:
    assert prefers_protobuf(accept) is protobuf


@pytest.mark.parametrize(
    ("accept", "only"),
    [
        ("application/vnd.kubernetes.protobuf", True),
        ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io", True),
        ("application/vnd.kubernetes.protobuf,application/json", False),
        ("application/vnd.kubernetes.protobuf, application/json;q=0", True),
        ("*/*", False),
        ("", False),
    ],
)
def test_only_protobuf(accept: str, only: bool) -> None:
    """Custom resources answer 406 to these (they have no protobuf form)."""
    assert only_protobuf(accept) is only
