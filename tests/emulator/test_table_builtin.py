"""Server-side printing of built-in kinds, as a real kube-apiserver v1.32 printed them.

``recorded/tables-v1.32.json`` holds, per case, objects created on a real server (with the
status a Job controller or a volume binder would have written, put through ``/status``) and the
Table the server then answered for them: every column definition, every cell. Each case is
replayed here; the columns must be the same, and so must every cell but the ones that depend on
when they are read (an age, a creation time), which must still say the same kind of thing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.emulator.support import raw
from tests.emulator.table_support import TABLE, table_get

RECORDED = json.loads((Path(__file__).parent / "recorded" / "tables-v1.32.json").read_text())
AGE = re.compile(r"^([0-9]+[smhdy])+$")  # duration.HumanDuration
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CONTROLLER_UID = re.compile(r"controller-uid=[0-9a-f-]{36}")


def _normalized(cell: Any) -> Any:
    """A cell without the uid of the object it came from (a Job's generated selector)."""
    return CONTROLLER_UID.sub("controller-uid=<uid>", cell) if isinstance(cell, str) else cell


def _same_kind_of_time(seen: Any, recorded: Any) -> bool:
    """A cell read at another time: unset, empty, an age or an RFC 3339 time as recorded."""
    if recorded in ("<unknown>", ""):
        return bool(seen == recorded)
    pattern = RFC3339 if RFC3339.match(str(recorded)) else AGE
    return isinstance(seen, str) and pattern.match(seen) is not None


def _create(k8s: client.ApiClient, case: dict[str, Any]) -> None:
    for obj in case["objects"]:
        labelled = json.loads(json.dumps(obj))
        labelled["metadata"].setdefault("labels", {})[RECORDED["label"]] = case["case"]
        code, created = raw(k8s, "POST", case["path"], labelled)
        assert code == 201, created
        status = (case.get("status") or {}).get(obj["metadata"]["name"])
        if status is not None:
            assert isinstance(created, dict)
            created["status"] = status
            path = f"{case['path']}/{obj['metadata']['name']}/status"
            code, written = raw(k8s, "PUT", path, created)
            assert code == 200, written


@pytest.mark.parametrize("case", RECORDED["cases"], ids=[c["case"] for c in RECORDED["cases"]])
def test_a_builtin_table_reads_as_on_a_real_server(
    k8s: client.ApiClient, case: dict[str, Any]
) -> None:
    _create(k8s, case)

    code, table = table_get(k8s, f"{case['path']}?labelSelector=tables-recorded%3D{case['case']}")

    assert code == 200, table
    recorded = case["table"]
    assert table["columnDefinitions"] == recorded["columnDefinitions"]
    names = [c["name"] for c in recorded["columnDefinitions"]]
    assert len(table["rows"]) == len(recorded["rows"])
    for row, expected in zip(table["rows"], recorded["rows"], strict=True):
        for name, seen, cell in zip(names, row["cells"], expected, strict=True):
            if name in case["volatile"]:
                assert _same_kind_of_time(seen, cell), (name, seen, cell)
            else:
                assert _normalized(seen) == _normalized(cell), (name, row["cells"], expected)


def test_row_objects_follow_include_object_for_builtins(k8s: client.ApiClient) -> None:
    event = {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "seen"},
        "eventTime": "2026-01-02T03:04:05.000000Z", "reportingController": "example.com/c",
        "reportingInstance": "c-1", "action": "Sync", "reason": "Synced", "type": "Normal",
        "note": "hello", "regarding": {"kind": "Job", "name": "j", "namespace": "default"},
    }  # fmt: skip
    assert raw(k8s, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", event)[0] == 201
    core_path = "/api/v1/namespaces/default/events/seen"

    whole = table_get(k8s, "/apis/events.k8s.io/v1/namespaces/default/events/seen"
                      "?includeObject=Object")[1]  # fmt: skip
    core = table_get(k8s, f"{core_path}?includeObject=Object")[1]
    metadata = table_get(k8s, core_path)[1]
    none = table_get(k8s, f"{core_path}?includeObject=None")[1]

    # Each API's own form of the one Event; the cells are the same through both.
    assert whole["rows"][0]["object"]["apiVersion"] == "events.k8s.io/v1"
    assert whole["rows"][0]["object"]["note"] == "hello"
    assert core["rows"][0]["object"]["apiVersion"] == "v1"
    assert core["rows"][0]["object"]["kind"] == "Event"
    assert core["rows"][0]["object"]["message"] == "hello"
    assert whole["rows"][0]["cells"] == core["rows"][0]["cells"]
    assert core["rows"][0]["cells"][1:4] == ["Normal", "Synced", "job/j"]
    partial = metadata["rows"][0]["object"]
    assert (partial["kind"], partial["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1")
    assert partial["metadata"]["name"] == "seen"
    assert set(partial) == {"kind", "apiVersion", "metadata"}
    assert none["rows"][0]["object"] is None
    # A single object's Table carries its resourceVersion.
    assert metadata["metadata"] == {"resourceVersion": partial["metadata"]["resourceVersion"]}


def test_a_table_page_carries_the_lists_continue_token(k8s: client.ApiClient) -> None:
    for name in ("page-a", "page-b", "page-c"):
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "labels": {"paged": "yes"}}}  # fmt: skip
        assert raw(k8s, "POST", "/api/v1/namespaces/default/configmaps", body)[0] == 201
    path = "/api/v1/namespaces/default/configmaps?labelSelector=paged%3Dyes&limit=2"

    code, first = table_get(k8s, path)
    code_next, rest = table_get(k8s, f"{path}&continue={first['metadata']['continue']}")

    assert (code, code_next) == (200, 200)
    assert [r["cells"][0] for r in first["rows"]] == ["page-a", "page-b"]
    assert [r["cells"][0] for r in rest["rows"]] == ["page-c"]
    assert "continue" not in rest["metadata"]
    empty = table_get(k8s, "/api/v1/namespaces/default/configmaps?labelSelector=none%3Dhere")[1]
    assert empty["rows"] == []
    assert [c["name"] for c in empty["columnDefinitions"]] == ["Name", "Data", "Age"]


NOT_ACCEPTABLE = (
    "only the following media types are accepted: "
    "application/json, application/yaml, application/vnd.kubernetes.protobuf"
)


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;as=Foo;v=v1;g=meta.k8s.io",
        "application/json;as=Table;v=v2;g=meta.k8s.io",
        "application/json;as=Table;v=v1;g=other.io",
        "application/json;as=Table",
    ],
)
def test_a_conversion_the_server_cannot_make_is_not_acceptable(
    k8s: client.ApiClient, accept: str
) -> None:
    code, status = table_get(k8s, "/api/v1/namespaces/default/configmaps", accept)

    assert code == 406
    assert (status["reason"], status["message"]) == ("NotAcceptable", NOT_ACCEPTABLE)


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        # What kubectl get sends: protobuf cannot be a Table, JSON can.
        (f"application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,{TABLE}", "Table"),
        ("application/json;as=Table;v=v2;g=meta.k8s.io,application/json", "ConfigMapList"),
        (f"{TABLE};q=0.5,application/json", "ConfigMapList"),
        ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", "Table"),
        ("*/*", "ConfigMapList"),
    ],
)
def test_the_first_acceptable_clause_decides(k8s: client.ApiClient, accept: str, kind: str) -> None:
    code, body = table_get(k8s, "/api/v1/namespaces/default/configmaps", accept)

    assert code == 200, body
    assert body["kind"] == kind


def test_a_bad_include_object_is_a_bad_request(k8s: client.ApiClient) -> None:
    for path in ("/api/v1/namespaces/default/configmaps?includeObject=All",
                 "/api/v1/namespaces/default/configmaps?watch=1&includeObject=All"):  # fmt: skip
        code, status = table_get(k8s, path)

        assert code == 400
        assert status["message"] == (
            "Unable to convert to Table as requested: includeObject: Invalid value: "
            "\"All\": must be 'Metadata', 'Object', 'None', or empty"
        )
