"""Pods as a real kube-apiserver v1.32 served them: the read-back of a create, and their Table.

``recorded/pods-v1.32.json`` holds Pods created on a real server, the status a kubelet would
have written for each (put through ``/status``), the Table the server then answered for them
(every column definition, every cell, the row conditions) and what a Pod with limits read back
as after its create. A ``Restarts`` cell's ``(<age> ago)`` and the ``Age`` cell depend on when
they are read: they must still say the same kind of thing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from emulator.table_pod import pod_cells
from tests.emulator.support import raw
from tests.emulator.table_support import table_get

RECORDED = json.loads((Path(__file__).parent / "recorded" / "pods-v1.32.json").read_text())
AGE = re.compile(r"^([0-9]+[smhdy])+$")  # duration.HumanDuration
RESTARTS_AGO = re.compile(r"\(([0-9]+[smhdy])+ ago\)")
PODS = "/api/v1/namespaces/default/pods"


def _same(seen: Any, recorded: Any) -> bool:
    """Equal once a restart's ``(<age> ago)`` is read as any age."""
    if isinstance(seen, str) and isinstance(recorded, str):
        return RESTARTS_AGO.sub("(ago)", seen) == RESTARTS_AGO.sub("(ago)", recorded)
    return bool(seen == recorded)


def _create(k8s: client.ApiClient, case: dict[str, Any]) -> None:
    for obj in case["objects"]:
        labelled = json.loads(json.dumps(obj))
        labelled["metadata"].setdefault("labels", {})[RECORDED["label"]] = case["case"]
        code, created = raw(k8s, "POST", case["path"], labelled)
        assert code == 201, created
        status = case["status"].get(obj["metadata"]["name"])
        if status is not None:
            assert isinstance(created, dict)
            created["status"] = status
            path = f"{case['path']}/{obj['metadata']['name']}/status"
            code, written = raw(k8s, "PUT", path, created)
            assert code == 200, written


@pytest.fixture(autouse=True)
def default_account(k8s: client.ApiClient) -> None:
    """The ``default`` ServiceAccount a real server's admission looks up for every Pod (its
    controller manager would have made it); the emulator does not look it up."""
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
    code, answer = raw(k8s, "POST", "/api/v1/namespaces/default/serviceaccounts", account)
    assert code in (201, 409), answer


@pytest.mark.parametrize("case", RECORDED["cases"], ids=[c["case"] for c in RECORDED["cases"]])
def test_a_pod_table_reads_as_on_a_real_server(k8s: client.ApiClient, case: dict[str, Any]) -> None:
    _create(k8s, case)

    code, table = table_get(k8s, f"{case['path']}?labelSelector=tables-recorded%3D{case['case']}")

    assert code == 200, table
    recorded = case["table"]
    assert table["columnDefinitions"] == recorded["columnDefinitions"]
    names = [c["name"] for c in recorded["columnDefinitions"]]
    assert len(table["rows"]) == len(recorded["rows"])
    for row, expected in zip(table["rows"], recorded["rows"], strict=True):
        assert row.get("conditions") == expected.get("conditions"), row["cells"]
        for name, seen, cell in zip(names, row["cells"], expected["cells"], strict=True):
            if name in case["volatile"]:
                assert isinstance(seen, str) and AGE.match(seen), (name, seen)
            else:
                assert _same(seen, cell), (name, row["cells"], expected["cells"])


def test_a_created_pod_reads_back_pending_with_the_servers_defaults(
    k8s: client.ApiClient,
) -> None:
    recorded = RECORDED["created"]
    sent = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": recorded["metadata"]["name"]},
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "main",
                    "image": "busybox:1.36",
                    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
                }
            ],
        },
        "status": {"phase": "Running"},  # the create strategy resets whatever is sent
    }

    code, created = raw(k8s, "POST", PODS, sent)

    assert code == 201, created
    assert isinstance(created, dict)
    assert created["spec"] == recorded["spec"]
    assert created["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}
    code, listed = raw(k8s, "GET", f"{PODS}/{recorded['metadata']['name']}")
    assert code == 200 and isinstance(listed, dict)
    assert listed["spec"] == recorded["spec"]


def test_a_deleted_pod_still_running_prints_terminating() -> None:
    """As the real server printed a Pod on a node after ``kubectl delete --wait=false``."""
    now = datetime.now(UTC)
    stamp = (now - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pod: dict[str, Any] = {
        "metadata": {"name": "leaving", "creationTimestamp": stamp, "deletionTimestamp": stamp},
        "spec": {"nodeName": "node-a", "containers": [{"name": "main"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": "main", "ready": True, "state": {"running": {"startedAt": stamp}}}
            ],
        },
    }

    cells = pod_cells(pod, now)

    assert cells[:5] == ["leaving", "1/1", "Terminating", "0", "30s"]
    pod["status"]["phase"] = "Succeeded"
    assert pod_cells(pod, now)[2] == "Succeeded"  # a terminal phase is not Terminating
