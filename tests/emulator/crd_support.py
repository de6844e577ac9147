"""Builders for the CRD-validation conformance tests: a minimal valid v1 CRD, and a POST that
returns the decoded 422 ``Status``."""

from __future__ import annotations

import copy
import json
from typing import Any

import urllib3

from emulator.server import ApiServer

GROUP, PLURAL, KIND = "example.com", "widgets", "Widget"


def schema(**props: Any) -> dict[str, Any]:
    """A structural root schema with ``spec`` (and any extra properties)."""
    base: dict[str, Any] = {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}
    return {"type": "object", "properties": {**base, **props}}


def version(name: str = "v1", storage: bool = True, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "served": True, "storage": storage}
    out["schema"] = {"openAPIV3Schema": schema()}
    out.update(extra)
    return out


def crd(*versions: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A valid CRD (one version unless given); ``spec`` keys override ``spec``."""
    body: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": PLURAL, "singular": "widget", "kind": KIND},
            "versions": [copy.deepcopy(v) for v in versions] or [version()],
        },
    }
    body["spec"].update(spec)
    return body


def refused(
    server: ApiServer, body: dict[str, Any], name: str = "", code: int = 422
) -> dict[str, Any]:
    """POST ``body`` (PUT to ``name`` if given) as raw JSON -- the official client would refuse
    some of these bodies itself; it must be refused with ``code``. Returns the ``Status``."""
    config = server.client_configuration()
    url = f"{server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    resp = urllib3.PoolManager().request(
        "PUT" if name else "POST",
        f"{url}/{name}" if name else url,
        body=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": config.api_key["authorization"],
        },
    )
    assert resp.status == code, resp.data
    status: dict[str, Any] = json.loads(resp.data)
    return status


def causes(status: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``details.causes`` as (field, reason, message)."""
    return [(c["field"], c["reason"], c["message"]) for c in status["details"]["causes"]]


def cause_for(status: dict[str, Any], field: str) -> tuple[str, str]:
    """(reason, message) of the only cause at ``field``."""
    found = [(r, m) for f, r, m in causes(status) if f == field]
    assert len(found) == 1, causes(status)
    return found[0]
