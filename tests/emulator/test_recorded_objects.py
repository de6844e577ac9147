"""Built-in objects read back from the emulator exactly as a real kube-apiserver v1.32 returned
them.

``recorded/jobs-v1.32.json`` holds pairs recorded on a real server: the Job the operator builds
for each sample (and one plain Job using every pod-template field that has a default), and the
object the server answered the create with; ``recorded/builtins-v1.32.json`` the same for the
other built-in kinds the emulator serves (Namespace, Secrets, ConfigMap, PVC, ServiceAccount,
Lease). Each request is sent to the emulator; the answer
must equal the recorded one field for field, apart from what differs between any two creates
(uid, creationTimestamp, resourceVersion, and the time in each ``managedFields`` entry).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.emulator.support import raw

RECORDED = json.loads((Path(__file__).parent / "recorded" / "jobs-v1.32.json").read_text())
BUILTINS = json.loads((Path(__file__).parent / "recorded" / "builtins-v1.32.json").read_text())
VOLATILE = ("uid", "creationTimestamp", "resourceVersion")
RECORDED_USER_AGENT = "python-urllib3/2"  # the recording client's; the manager is its prefix


def _normalized(job: dict[str, Any]) -> dict[str, Any]:
    """``job`` without volatile metadata, its own uid replaced by ``<uid>`` wherever it is."""
    uid = job["metadata"]["uid"]
    meta = {k: v for k, v in job["metadata"].items() if k not in VOLATILE}
    meta["managedFields"] = [
        {k: v for k, v in entry.items() if k != "time"} for entry in meta.get("managedFields", [])
    ]
    text = json.dumps({**job, "metadata": meta}, sort_keys=True).replace(uid, "<uid>")
    normalized: dict[str, Any] = json.loads(text)
    return normalized


@pytest.mark.parametrize("pair", RECORDED["pairs"], ids=[p["sample"] for p in RECORDED["pairs"]])
def test_a_created_job_reads_back_as_on_a_real_server(
    k8s: client.ApiClient, pair: dict[str, Any]
) -> None:
    namespace = pair["request"]["metadata"]["namespace"]
    path = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    code, created = raw(k8s, "POST", path, pair["request"], user_agent=RECORDED_USER_AGENT)

    assert code == 201, created
    assert isinstance(created, dict)
    assert _normalized(created) == _normalized(pair["response"])


@pytest.mark.parametrize("pair", BUILTINS["pairs"], ids=[p["sample"] for p in BUILTINS["pairs"]])
def test_a_created_builtin_reads_back_as_on_a_real_server(
    k8s: client.ApiClient, pair: dict[str, Any]
) -> None:
    code, created = raw(k8s, "POST", pair["path"], pair["request"], user_agent=RECORDED_USER_AGENT)

    assert code == 201, created
    assert isinstance(created, dict)
    assert _normalized(created) == _normalized(pair["response"])
