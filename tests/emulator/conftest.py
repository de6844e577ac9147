"""Fixtures for the emulator conformance tests: official clients bound to the server under test.

The server is a fresh emulator per test, or the real API server of
``DBBACKUP_CONFORMANCE_KUBECONFIG`` (``make conformance``; see :mod:`tests.emulator.target`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from emulator.server import ApiServer
from tests.emulator.support import Dicts
from tests.emulator.target import REAL_KUBECONFIG, RecordingApiClient, real_configuration


@pytest.fixture
def api_server() -> Iterator[ApiServer]:
    """A fresh API emulator; skips the test when it runs against a real server."""
    if REAL_KUBECONFIG:
        pytest.skip("reaches into the emulator (storage, faults, audit or job runner)")
    with ApiServer() as server:
        yield server


@pytest.fixture
def k8s(request: pytest.FixtureRequest) -> Iterator[client.ApiClient]:
    """An official ``ApiClient`` (admin) talking to the server under test over HTTP."""
    if REAL_KUBECONFIG:
        with RecordingApiClient(real_configuration()) as api:
            try:
                yield api
            finally:
                api.cleanup()
        return
    server: ApiServer = request.getfixturevalue("api_server")
    with client.ApiClient(server.client_configuration()) as plain:
        yield plain


@pytest.fixture
def objects(k8s: client.ApiClient) -> Dicts:
    """Plain-dict access to any non-core group (``batch``, ``coordination.k8s.io``, CRs)."""
    return Dicts(client.CustomObjectsApi(k8s))


@pytest.fixture
def core(k8s: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(k8s)
