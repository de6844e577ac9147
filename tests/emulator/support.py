"""Shared builders and helpers for the emulator conformance tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiClient, ApiException, CustomObjectsApi


def job(name: str, namespace: str = "default", **meta: Any) -> dict[str, Any]:
    """A minimal valid batch/v1 Job."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox:1.36"}],
                }
            }
        },
    }


def lease(name: str, namespace: str = "default", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15},
    }


def status_of(err: ApiException) -> dict[str, Any]:
    """The decoded ``Status`` body of an API error."""
    body: dict[str, Any] = json.loads(err.body or "{}")
    return body


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until true or ``timeout`` (a bounded poll, not a schedule)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class Dicts:
    """A ``CustomObjectsApi`` whose methods are typed ``Any``: they return plain dicts."""

    def __init__(self, api: CustomObjectsApi) -> None:
        self._api = api

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(self._api, name)
        return method


def raw(
    api: ApiClient, method: str, path: str, body: Any = None, content_type: str = ""
) -> tuple[int, dict[str, Any] | list[dict[str, Any]]]:
    """``(status, decoded body)`` of one request; a watch body decodes to its list of events.

    For what the typed client hides: the status code, a watch's ERROR event.
    """
    headers = {"Accept": "application/json"}
    # The emulator's configurations carry "authorization"; a kubeconfig loaded by the official
    # client (a real server, ``make conformance``) carries "BearerToken".
    keys = api.configuration.api_key
    token = keys.get("authorization") or keys.get("BearerToken")
    if token:
        headers["Authorization"] = token
    if body is not None:
        headers["Content-Type"] = content_type or "application/json"
    response = api.call_api(
        method,
        api.configuration.host + path,
        header_params=headers,
        body=body,
        _request_timeout=30,
    )
    text = response.read().decode()
    if "watch=" in path:
        return response.status, [json.loads(line) for line in text.splitlines() if line]
    decoded: dict[str, Any] = json.loads(text) if text else {}
    return response.status, decoded
