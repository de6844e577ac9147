"""Server-side printing of custom resources (``as=Table``), as kube-apiserver does it
(apiextensions-apiserver ``tableconvertor``, apiserver ``handlers/response.go`` ``asTable``,
apimachinery ``duration.HumanDuration``), and what ``kubectl get`` then shows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from emulator.server import ApiServer
from emulator.table import human_duration
from tests.emulator.support import auth_headers, raw
from tests.emulator.test_crd_serving import GROUP, PLURAL, VERSION, crd, widget

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
WIDGETS = f"/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}"
COLUMNS: list[dict[str, Any]] = [
    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
    {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
    {"name": "Due", "type": "date", "jsonPath": ".status.due"},
    {"name": "Due At", "type": "string", "jsonPath": ".status.due", "description": "when"},
]


def _table(k8s: client.ApiClient, path: str) -> dict[str, Any]:
    response = k8s.call_api(
        "GET", k8s.configuration.host + path, header_params=auth_headers(k8s, TABLE)
    )
    body: dict[str, Any] = json.loads(response.read())
    assert response.status == 200, body
    return body


def _install(k8s: client.ApiClient, columns: list[dict[str, Any]] | None) -> None:
    definition = crd()
    definition["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"][
        "properties"
    ]["due"] = {"type": "string"}
    if columns is not None:
        definition["spec"]["versions"][0]["additionalPrinterColumns"] = columns
    code, body = raw(k8s, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                     definition)  # fmt: skip
    assert code == 201, body


def _with_due(k8s: client.ApiClient, name: str, due: str | None, **spec: Any) -> None:
    assert raw(k8s, "POST", WIDGETS, widget(name, **spec))[0] == 201
    if due is not None:
        patch = {"status": {"due": due}}
        code, body = raw(k8s, "PATCH", f"{WIDGETS}/{name}/status", patch,
                         "application/merge-patch+json")  # fmt: skip
        assert code == 200, body


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-2, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (121, "2m1s"),
        (600, "10m"), (3 * 3600, "3h"), (3 * 3600 + 1800, "3h30m"), (8 * 3600, "8h"),
        (47 * 3600, "47h"), (48 * 3600, "2d"), (49 * 3600, "2d1h"), (8 * 86400, "8d"),
        (2 * 365 * 86400, "2y"), (2 * 365 * 86400 + 86400, "2y1d"), (8 * 365 * 86400, "8y"),
    ],
)  # fmt: skip
def test_ages_read_like_upstreams_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_printer_columns_become_the_tables_columns_and_cells(k8s: client.ApiClient) -> None:
    _install(k8s, COLUMNS)
    past = (datetime.now(UTC) - timedelta(minutes=11, seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (datetime.now(UTC) + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _with_due(k8s, "a-past", past, size=2, color="red")
    _with_due(k8s, "b-future", future, size=4)
    _with_due(k8s, "c-none", None)

    table = _table(k8s, WIDGETS)

    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert table["metadata"]["resourceVersion"]
    columns = [(c["name"], c["type"], c["format"], c["priority"])
               for c in table["columnDefinitions"]]  # fmt: skip
    assert columns == [
        ("Name", "string", "name", 0),
        ("Size", "integer", "", 0),
        ("Color", "string", "", 1),
        ("Due", "date", "", 0),
        ("Due At", "string", "", 0),
    ]
    descriptions = [c["description"] for c in table["columnDefinitions"][1:]]
    assert descriptions[0] == "Custom resource definition column (in JSONPath format): .spec.size"
    assert descriptions[3] == "when"
    assert [row["cells"] for row in table["rows"]] == [
        ["a-past", 2, "red", "11m", past],
        ["b-future", 4, None, "<invalid>", future],  # a date column is an age, never a time ahead
        ["c-none", 3, None, None, None],
    ]
    row_object = table["rows"][0]["object"]
    assert (row_object["kind"], row_object["apiVersion"]) == (
        "PartialObjectMetadata",
        "meta.k8s.io/v1",
    )
    assert row_object["metadata"]["name"] == "a-past"
    assert "spec" not in row_object


def test_include_object_and_single_object_tables(k8s: client.ApiClient) -> None:
    _install(k8s, None)
    _with_due(k8s, "one", None)

    whole = _table(k8s, f"{WIDGETS}/one?includeObject=Object")
    none = _table(k8s, f"{WIDGETS}?includeObject=None")

    # No printer columns: Name and Age (serveDefaultColumnsIfEmpty).
    assert [c["name"] for c in whole["columnDefinitions"]] == ["Name", "Age"]
    assert whole["rows"][0]["cells"][0] == "one"
    assert whole["rows"][0]["cells"][1].endswith("s")
    assert whole["rows"][0]["object"]["spec"] == {"size": 3}
    assert whole["rows"][0]["object"]["kind"] == "Widget"
    assert none["rows"][0]["object"] is None
    assert raw(k8s, "GET", f"{WIDGETS}?includeObject=All")[0] == 200  # ignored without a Table
    response = k8s.call_api(
        "GET",
        k8s.configuration.host + f"{WIDGETS}?includeObject=All",
        header_params=auth_headers(k8s, TABLE),
    )
    assert response.status == 400


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
def test_kubectl_get_prints_the_printer_columns(api_server: ApiServer, tmp_path: Path) -> None:
    with client.ApiClient(api_server.client_configuration()) as k8s:
        _install(k8s, COLUMNS)
        future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        _with_due(k8s, "shown", future, size=5, color="blue")
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubeconfig")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    def kubectl(*args: str) -> list[list[str]]:
        result = subprocess.run(["kubectl", "get", PLURAL, *args], env=env, text=True,
                                capture_output=True, timeout=30, check=True)  # fmt: skip
        return [line.split() for line in result.stdout.splitlines()]

    assert kubectl() == [["NAME", "SIZE", "DUE", "DUE", "AT"], ["shown", "5", "<invalid>", future]]
    assert kubectl("-o", "wide") == [
        ["NAME", "SIZE", "COLOR", "DUE", "DUE", "AT"],
        ["shown", "5", "blue", "<invalid>", future],
    ]
