"""Requests with a body sent byte for byte (repeated JSON keys survive) and the answer's
headers kept (``Warning``, ``ETag``, ``Cache-Control``), for the field-validation and OpenAPI
tests. A created object is handed to the recording client's cleanup on a real server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient

from tests.emulator.support import auth_headers
from tests.emulator.target import _object_url

__all__ = ["Reply", "send"]


@dataclass
class Reply:
    status: int
    headers: dict[str, list[str]]
    body: Any
    raw: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def warnings(self) -> list[str]:
        return self.headers.get("warning", [])


def send(
    api: ApiClient,
    method: str,
    path: str,
    body: str | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request through ``api``'s connection pool, redirects not followed."""
    sent = auth_headers(api)
    if body is not None:
        sent["Content-Type"] = content_type
    sent.update(headers or {})
    response = api.rest_client.pool_manager.request(
        method,
        api.configuration.host + path,
        body=None if body is None else body.encode(),
        headers=sent,
        redirect=False,
        timeout=30,
    )
    raw = response.data
    got: dict[str, list[str]] = {}
    for key, value in response.headers.items():
        got.setdefault(key.lower(), []).append(value)
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError:
        decoded = raw.decode(errors="replace")
    created = getattr(api, "created", None)
    if method == "POST" and response.status in (200, 201) and isinstance(created, list):
        url = _object_url(api.configuration.host + path, raw)
        if url is not None:
            created.append(url)
    return Reply(response.status, got, decoded, raw)
