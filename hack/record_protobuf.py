"""Record ``tests/emulator/recorded/protobuf-v1.32.json`` from a real API server.

Usage: ``python hack/record_protobuf.py --kubeconfig ADMIN.kubeconfig [--output PATH]``.

Creates, in a namespace of its own (``proto-rec``, plus a namespace ``proto-rec-ns``), the
objects of ``recorded/builtins-v1.32.json`` and ``recorded/jobs-v1.32.json`` and a few Events and
RBAC objects, with JSON bodies; then reads each back twice, as JSON and as
``application/vnd.kubernetes.protobuf``, and writes both, the bytes base64-encoded and untouched.
Also a list and a 404 ``Status``. Delete the two namespaces afterwards (a bare API server needs
``PUT .../finalize`` to finish that).
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime
import json
from pathlib import Path
from typing import Any

from kubernetes import client, config

RECORDED = Path(__file__).resolve().parent.parent / "tests" / "emulator" / "recorded"
NAMESPACE = "proto-rec"
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON = "application/json"
INVOLVED = {"kind": "Job", "namespace": NAMESPACE, "name": "plain", "apiVersion": "batch/v1"}
EXTRA: list[tuple[str, dict[str, Any]]] = [
    (f"/api/v1/namespaces/{NAMESPACE}/events",
     {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "rec-core-event"},
      "involvedObject": INVOLVED, "reason": "Started", "message": "Job started", "type": "Normal",
      "count": 2, "firstTimestamp": "2026-12-06T06:00:00Z",
      "lastTimestamp": "2026-12-06T06:01:00Z", "source": {"component": "proto-recorder"}}),
    (f"/apis/events.k8s.io/v1/namespaces/{NAMESPACE}/events",
     {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "rec-new-event"},
      "regarding": INVOLVED, "reason": "Failed", "note": "Backup failed", "type": "Warning",
      "action": "Backup", "eventTime": "2026-12-06T06:00:00.123456Z",
      "reportingController": "dbbackup.io/operator", "reportingInstance": "op-1",
      "series": {"count": 3, "lastObservedTime": "2026-12-06T06:05:00.654321Z"}}),
    (f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}/roles",
     {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
      "metadata": {"name": "rec-role"},
      "rules": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list"]}]}),
    (f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}/rolebindings",
     {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
      "metadata": {"name": "rec-rb"},
      "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "rec-role"},
      "subjects": [{"kind": "ServiceAccount", "name": "rec-sa", "namespace": NAMESPACE}]}),
]  # fmt: skip


class Server:
    """Raw requests with the kubeconfig's credentials: status, Content-Type, body bytes."""

    def __init__(self, kubeconfig: str) -> None:
        self.configuration = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=self.configuration)
        self.api = client.ApiClient(self.configuration)

    def request(
        self, method: str, path: str, body: Any = None, accept: str = JSON
    ) -> tuple[int, str, bytes]:
        headers = {"Accept": accept}
        bearer = self.configuration.auth_settings().get("BearerToken")
        if bearer and bearer["value"]:
            headers[bearer["key"]] = bearer["value"]
        if body is not None:
            headers["Content-Type"] = JSON
        response = self.api.rest_client.pool_manager.request(
            method, self.configuration.host + path, headers=headers,
            body=None if body is None else json.dumps(body).encode(),
        )  # fmt: skip
        return response.status, response.headers.get("Content-Type", ""), response.data


def samples() -> list[tuple[str, dict[str, Any]]]:
    """``(collection path, JSON body)`` of every object to record."""
    out: list[tuple[str, dict[str, Any]]] = []
    for pair in json.loads((RECORDED / "builtins-v1.32.json").read_text())["pairs"]:
        body = copy.deepcopy(pair["request"])
        body["metadata"].pop("namespace", None)
        if body["kind"] == "Namespace":
            body["metadata"]["name"] = f"{NAMESPACE}-ns"
            out.append(("/api/v1/namespaces", body))
        else:
            out.append((pair["path"].replace("/default/", f"/{NAMESPACE}/"), body))
    for pair in json.loads((RECORDED / "jobs-v1.32.json").read_text())["pairs"]:
        body = copy.deepcopy(pair["request"])
        body["metadata"]["namespace"] = NAMESPACE
        out.append((f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", body))
    return out + EXTRA


def read_twice(server: Server, path: str, accept: str = PROTOBUF) -> dict[str, Any]:
    status, _, text = server.request("GET", path)
    pb_status, content_type, data = server.request("GET", path, accept=accept)
    if content_type != PROTOBUF:
        raise SystemExit(f"GET {path}: {pb_status} {content_type}, not protobuf")
    return {"path": path, "json": json.loads(text), "protobuf": base64.b64encode(data).decode(),
            "code": status}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--output", default=str(RECORDED / "protobuf-v1.32.json"))
    args = parser.parse_args()
    server = Server(args.kubeconfig)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    server.request("POST", "/api/v1/namespaces", namespace)
    objects = []
    for collection, body in samples():
        status, _, created = server.request("POST", collection, body)
        if status != 201:
            raise SystemExit(f"POST {collection}: {status} {created[:300]!r}")
        name = json.loads(created)["metadata"]["name"]
        objects.append(read_twice(server, f"{collection}/{name}"))
    objects.append(read_twice(server, f"/api/v1/namespaces/{NAMESPACE}/configmaps"))
    missing = read_twice(
        server, f"/api/v1/namespaces/{NAMESPACE}/secrets/missing", f"{PROTOBUF},{JSON}"
    )
    _, _, version = server.request("GET", "/version")
    out = {
        "server": f"kube-apiserver {json.loads(version)['gitVersion']}",
        "recorded": datetime.date.today().isoformat(),
        "how": "hack/record_protobuf.py",
        "objects": [{k: v for k, v in entry.items() if k != "code"} for entry in objects],
        "status": missing,
    }
    Path(args.output).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
