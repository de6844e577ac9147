"""Fixtures for the emulator conformance tests: official clients bound to ``api_server``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from emulator.server import ApiServer
from tests.emulator.support import Dicts


@pytest.fixture
def k8s(api_server: ApiServer) -> Iterator[client.ApiClient]:
    """An official ``ApiClient`` (admin) talking to the emulator over HTTP."""
    with client.ApiClient(api_server.client_configuration()) as api:
        yield api


@pytest.fixture
def objects(k8s: client.ApiClient) -> Dicts:
    """Plain-dict access to any non-core group (``batch``, ``coordination.k8s.io``, CRs)."""
    return Dicts(client.CustomObjectsApi(k8s))


@pytest.fixture
def core(k8s: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(k8s)
