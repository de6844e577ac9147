"""Reading Tables: one request with a Table ``Accept`` header, decoded."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client

from tests.emulator.support import auth_headers

__all__ = ["TABLE", "table_get", "table_watch"]

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def table_get(k8s: client.ApiClient, path: str, accept: str = TABLE) -> tuple[int, Any]:
    """``(status, decoded body)`` of a GET asking for ``accept``."""
    response = k8s.call_api(
        "GET", k8s.configuration.host + path, header_params=auth_headers(k8s, accept),
        _request_timeout=30,
    )  # fmt: skip
    return response.status, json.loads(response.read())


def table_watch(k8s: client.ApiClient, path: str, accept: str = TABLE) -> list[dict[str, Any]]:
    """The events of a watch (``path`` must end it with ``timeoutSeconds``) read as Tables."""
    response = k8s.call_api(
        "GET", k8s.configuration.host + path, header_params=auth_headers(k8s, accept),
        _request_timeout=60,
    )  # fmt: skip
    assert response.status == 200, response.read()
    return [json.loads(line) for line in response.read().decode().splitlines() if line]
