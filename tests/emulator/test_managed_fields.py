"""``metadata.managedFields`` as kube-apiserver v1.32 keeps them for non-apply writes.

``recorded/managed-fields-v1.32.json`` is a sequence of writes by different managers (user
agents, ``?fieldManager=``) recorded on a real server: a Job created, its status written by
another manager, labels added, taken over, removed and rewritten with the same value, a full
PUT, finalizers released; then a Secret, a Lease and its renewal, an ``events.k8s.io`` Event
and a ConfigMap. Each step is replayed on the server under test, and the ``managedFields`` it
answers must equal the recorded ones apart from the entries' times
(structured-merge-diff's field sets; see emulator/managed_fields.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.emulator.support import raw

RECORDED = json.loads(
    (Path(__file__).parent / "recorded" / "managed-fields-v1.32.json").read_text()
)


def _set(obj: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        obj = obj.setdefault(part, {})
    obj[last] = value


def _upstream_order(entry: dict[str, Any]) -> tuple[str, str, str, str]:
    return (entry["operation"], entry["time"], entry["manager"], entry.get("subresource", ""))


def _identity(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry["operation"], entry["manager"], entry.get("subresource", ""))


def _without_times(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "time"} for e in entries]


def test_writes_by_several_managers_record_the_fields_each_owns(k8s: client.ApiClient) -> None:
    for step in RECORDED["steps"]:
        body = step.get("body")
        if step["method"] == "PUT":  # the object as the server under test has it, then changed
            code, body = raw(k8s, "GET", step["path"])
            assert code == 200 and isinstance(body, dict)
            body["metadata"].pop("managedFields", None)
            for dotted, value in step["set"].items():
                _set(body, dotted, value)
        code, answer = raw(
            k8s, step["method"], step["path"], body, step["contentType"], step["userAgent"]
        )

        assert code == step["code"], (step["name"], answer)
        assert isinstance(answer, dict)
        entries = answer["metadata"].get("managedFields") or []
        # Upstream orders entries by (operation, time, manager, subresource); the recording's
        # writes fell within one second, so its order is by manager. A run that crosses a
        # second boundary orders by time instead: check the rule itself, then the entries.
        assert entries == sorted(entries, key=_upstream_order), step["name"]
        got = _without_times(entries)
        assert sorted(got, key=_identity) == sorted(step["managedFields"], key=_identity), step[
            "name"
        ]
        if step["name"] == "release":  # the Job's steps are done: let it go
            path = step["path"].split("?")[0]
            assert raw(k8s, "DELETE", path, {"propagationPolicy": "Background"})[0] == 200
