"""Where the server-facing conformance tests run: the emulator, or a real API server.

By default every test gets a fresh emulator. ``make conformance KUBECONFIG=PATH`` sets
``DBBACKUP_CONFORMANCE_KUBECONFIG`` and the same tests run against the API server of that
kubeconfig instead, so a behaviour the emulator gets wrong is a test that fails on one side.

A real server is not fresh for every test, so :class:`RecordingApiClient` does what a fresh
emulator gives for free: it deletes, after the test, every object the test created (newest
first), and it waits for a new CRD to be ``Established`` before the test goes on (the emulator
establishes at once, the real server a moment later). Tests that reach into the emulator (its
storage, faults, audit log, job runner) ask for the ``api_server`` fixture, which skips them
against a real server.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from kubernetes import client, config

from tests.emulator.support import auth_headers

__all__ = ["REAL_KUBECONFIG", "RecordingApiClient", "real_configuration"]

REAL_KUBECONFIG = os.environ.get("DBBACKUP_CONFORMANCE_KUBECONFIG", "")
ESTABLISH_TIMEOUT = 30.0  # seconds for a real server to establish a CRD
CRDS_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
NAMESPACE_URL = re.compile(r"/api/v1/namespaces/[^/]+$")
# Jobs default to orphaning, which leaves a finalizer for a garbage collector a bare API server
# does not run; Background deletes the object itself at once. A Pod bound to a node waits for
# a kubelet that is not there: a zero grace period deletes it at once too.
BACKGROUND = {
    "kind": "DeleteOptions",
    "apiVersion": "v1",
    "propagationPolicy": "Background",
    "gracePeriodSeconds": 0,
}


def real_configuration() -> client.Configuration:
    """The client configuration of ``DBBACKUP_CONFORMANCE_KUBECONFIG``."""
    configuration = client.Configuration()
    config.load_kube_config(config_file=REAL_KUBECONFIG, client_configuration=configuration)
    return configuration


class RecordingApiClient(client.ApiClient):
    """An ``ApiClient`` that remembers what it created and deletes it on :meth:`cleanup`."""

    def __init__(self, configuration: client.Configuration) -> None:
        super().__init__(configuration)
        self.created: list[str] = []

    def call_api(  # type: ignore[no-untyped-def]
        self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None
    ):
        response = super().call_api(method, url, header_params, body, post_params, _request_timeout)
        if method == "POST" and response.status in (200, 201):
            created = _object_url(url, response.read())
            if created is not None:
                self.created.append(created)
                if url.split("?")[0].endswith(CRDS_PATH):
                    self._wait_established(created)
        return response

    def _wait_established(self, url: str) -> None:
        deadline = time.monotonic() + ESTABLISH_TIMEOUT
        while time.monotonic() < deadline:
            crd = json.loads(
                self.rest_client.request("GET", url, headers=auth_headers(self)).read()
            )
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                return
            time.sleep(0.1)

    def _wait_gone(self, url: str) -> None:
        """A CRD is gone once its custom resources are (the CRD finalizer); the next test may
        create one of the same name."""
        deadline = time.monotonic() + ESTABLISH_TIMEOUT
        while time.monotonic() < deadline:
            if self.rest_client.request("GET", url, headers=auth_headers(self)).status == 404:
                return
            time.sleep(0.1)

    def _finalize_namespace(self, url: str) -> None:
        """Do the namespace controller's last step: a bare API server (no controller manager)
        keeps a deleted namespace Terminating, and a later test may create it again. Its
        objects were deleted before it (newest first)."""
        name = url.rsplit("/", 1)[1]
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
                "spec": {"finalizers": []}}  # fmt: skip
        headers = {**auth_headers(self), "Content-Type": "application/json"}
        self.rest_client.request("PUT", f"{url}/finalize", headers=headers, body=body)

    def cleanup(self) -> None:
        """Delete what the test created, newest first; what is already gone is fine."""
        for url in reversed(self.created):
            # No controller here removes finalizers a test left on its objects as data.
            release = {"metadata": {"finalizers": None}}
            patch = {**auth_headers(self), "Content-Type": "application/merge-patch+json"}
            self.rest_client.request("PATCH", url, headers=patch, body=release)
            response = self.rest_client.request(
                "DELETE",
                url,
                headers={**auth_headers(self), "Content-Type": "application/json"},
                body=BACKGROUND,
            )
            if response.status not in (200, 202, 404):
                raise AssertionError(f"cleanup: DELETE {url}: {response.status} {response.data!r}")
            if CRDS_PATH in url:
                self._wait_gone(url)
            elif NAMESPACE_URL.search(url):
                self._finalize_namespace(url)
        self.created.clear()


def _object_url(collection_url: str, body: Any) -> str | None:
    """The URL of the object a POST to ``collection_url`` created (None for non-objects)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    name = (obj.get("metadata") or {}).get("name") if isinstance(obj, dict) else None
    if not name or obj.get("kind") in ("Status", "TokenReview", "SubjectAccessReview"):
        return None
    return f"{collection_url.split('?')[0].rstrip('/')}/{name}"
