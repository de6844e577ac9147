"""Builders for the CRD-validation conformance tests: a minimal valid v1 CRD, and a POST that
returns the decoded 422 ``Status``."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from tests.emulator.support import status_of

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


def refused(api: client.ApiextensionsV1Api, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body``; it must be refused with 422. Returns the ``Status``."""
    with pytest.raises(ApiException) as err:
        api.create_custom_resource_definition(body)  # type: ignore[arg-type]
    assert err.value.status == 422, err.value.body
    return status_of(err.value)


def causes(status: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``details.causes`` as (field, reason, message)."""
    return [(c["field"], c["reason"], c["message"]) for c in status["details"]["causes"]]


def cause_for(status: dict[str, Any], field: str) -> tuple[str, str]:
    """(reason, message) of the only cause at ``field``."""
    found = [(r, m) for f, r, m in causes(status) if f == field]
    assert len(found) == 1, causes(status)
    return found[0]
