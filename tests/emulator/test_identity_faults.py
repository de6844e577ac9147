"""Authentication, audit, RBAC mode and fault injection."""

from __future__ import annotations

import json
import time

import pytest
from kubernetes import client, watch
from kubernetes.client import ApiException

from emulator.server import ApiServer
from tests.emulator.support import Dicts, lease, status_of, wait_for

LEASES = ("coordination.k8s.io", "v1")
SA_USER = "system:serviceaccount:dbbackup-system:dbbackup-operator"


def test_unknown_token_is_401(api_server: ApiServer) -> None:
    """Authenticating, "Static token file"/bearer tokens: an invalid token is 401
    Unauthorized."""
    config = api_server.client_configuration(token="nope")
    with client.ApiClient(config) as api, pytest.raises(ApiException) as err:
        client.CoreV1Api(api).list_namespace()
    assert err.value.status == 401


def test_every_request_is_audited(api_server: ApiServer, objects: Dicts) -> None:
    """Auditing: each request is recorded with user, verb, group, resource, subresource,
    namespace, name and response code."""
    api_server.add_user("t1", "alice", ["dev"])
    with client.ApiClient(api_server.client_configuration(token="t1")) as api:
        alice = Dicts(client.CustomObjectsApi(api))
        alice.create_namespaced_custom_object(*LEASES, "default", "leases", lease("a"))
        with pytest.raises(ApiException):
            alice.get_namespaced_custom_object(*LEASES, "default", "leases", "missing")
    records = [
        (r.user, r.verb, r.group, r.resource, r.namespace, r.name, r.code)
        for r in api_server.audit.records
    ]
    assert records == [
        ("alice", "create", "coordination.k8s.io", "leases", "default", "", 201),
        ("alice", "get", "coordination.k8s.io", "leases", "default", "missing", 404),
    ]


def test_rbac_mode_answers_403_like_the_authorizer() -> None:
    """Using RBAC Authorization: a request not granted by any binding is 403 Forbidden with
    the authorizer's message; a RoleBinding grants its Role's rules in its namespace."""
    with ApiServer(rbac=True) as server:
        server.add_user("sa", SA_USER, ["system:serviceaccounts"])
        with client.ApiClient(server.client_configuration(token="sa")) as api:
            objects = Dicts(client.CustomObjectsApi(api))
            with pytest.raises(ApiException) as err:
                objects.get_namespaced_custom_object(*LEASES, "default", "leases", "x")
            assert err.value.status == 403
            assert status_of(err.value)["message"] == (
                f'leases.coordination.k8s.io "x" is forbidden: User "{SA_USER}" cannot get '
                'resource "leases" in API group "coordination.k8s.io" in the namespace "default"'
            )
            server.create_object(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": "r", "namespace": "default"},
                    "rules": [
                        {
                            "apiGroups": ["coordination.k8s.io"],
                            "resources": ["leases"],
                            "verbs": ["get"],
                        }
                    ],
                }
            )
            server.create_object(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": "rb", "namespace": "default"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": "r",
                    },
                    "subjects": [
                        {
                            "kind": "ServiceAccount",
                            "name": "dbbackup-operator",
                            "namespace": "dbbackup-system",
                        }
                    ],
                }
            )
            with pytest.raises(ApiException) as err:
                objects.get_namespaced_custom_object(*LEASES, "default", "leases", "x")
            assert err.value.status == 404  # allowed now; the lease just does not exist


def test_injected_429_carries_retry_after(api_server: ApiServer, objects: Dicts) -> None:
    """API concepts / API Priority and Fairness: 429 TooManyRequests carries Retry-After;
    the fault applies the given number of times only."""
    api_server.faults.fail(429, times=1, verb="list", resource="leases", retry_after=3)
    config = api_server.client_configuration()
    config.retries = False  # urllib3 would otherwise honour Retry-After itself
    with client.ApiClient(config) as api, pytest.raises(ApiException) as err:
        Dicts(client.CustomObjectsApi(api)).list_namespaced_custom_object(
            *LEASES, "default", "leases"
        )
    assert err.value.status == 429
    assert (err.value.headers or {})["Retry-After"] == "3"
    objects.list_namespaced_custom_object(*LEASES, "default", "leases")


def test_injected_500_until_cleared(api_server: ApiServer, objects: Dicts) -> None:
    """Fault injection: an unlimited 5xx rule fails matching requests until cleared."""
    api_server.faults.fail(500, times=None, user="kubernetes-admin", resource="leases")
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            objects.list_namespaced_custom_object(*LEASES, "default", "leases")
        assert err.value.status == 500
    api_server.faults.clear()
    objects.list_namespaced_custom_object(*LEASES, "default", "leases")


def test_injected_latency(api_server: ApiServer, objects: Dicts) -> None:
    """Fault injection: latency delays matching requests."""
    api_server.faults.delay(0.3, times=1, verb="list")
    started = time.monotonic()
    objects.list_namespaced_custom_object(*LEASES, "default", "leases")
    assert time.monotonic() - started >= 0.3


def test_an_open_watch_is_audited_when_its_response_starts(
    api_server: ApiServer, objects: Dicts
) -> None:
    """Auditing, "Audit stages": ``ResponseStarted`` is recorded for long-running requests
    such as watch once the response headers are sent, not only when the stream ends."""
    resp = objects.list_namespaced_custom_object(
        *LEASES, "default", "leases", watch=True, timeout_seconds=30, _preload_content=False
    )
    try:
        assert wait_for(
            lambda: any(r.verb == "watch" and r.code == 200 for r in api_server.audit.records)
        )
        # The response starts before the watcher is registered: closing earlier would close
        # nothing and leave the read below waiting out the watch's 30 s timeout.
        assert wait_for(lambda: len(api_server.storage.watchers()) == 1)
    finally:
        api_server.faults.close_watches("leases")
        resp.read()
    assert wait_for(lambda: not api_server.storage.watchers())
    watches = [r for r in api_server.audit.records if r.verb == "watch"]
    assert len(watches) == 1  # recorded once, not again when the stream ends


def test_close_watches_ends_open_streams(api_server: ApiServer, objects: Dicts) -> None:
    """Fault injection: closing watch streams ends them cleanly (clients must re-watch)."""
    resp = objects.list_namespaced_custom_object(
        *LEASES, "default", "leases", watch=True, timeout_seconds=30, _preload_content=False
    )
    assert wait_for(lambda: len(api_server.storage.watchers()) == 1)
    started = time.monotonic()
    assert api_server.faults.close_watches("leases") == 1
    assert resp.read() == b""
    assert time.monotonic() - started < 5


def test_expire_next_watch_sends_410(api_server: ApiServer, objects: Dicts) -> None:
    """Fault injection: force 410 Gone on the next watch, as after etcd compaction."""
    api_server.faults.expire_next_watch("leases")
    with pytest.raises(ApiException) as err:
        list(
            watch.Watch().stream(
                objects.list_namespaced_custom_object,
                *LEASES,
                "default",
                "leases",
                resource_version="1",
                timeout_seconds=1,
            )
        )
    assert err.value.status == 410


def test_drop_and_duplicate_watch_events(api_server: ApiServer, objects: Dicts) -> None:
    """Fault injection: watch events can be dropped or duplicated per resource."""
    start = api_server.create_object(lease("a"))["metadata"]["resourceVersion"]
    api_server.create_object(lease("b"))
    api_server.create_object(lease("c"))
    api_server.faults.drop_events("leases", times=1)
    api_server.faults.duplicate_events("leases", times=1)
    resp = objects.list_namespaced_custom_object(
        *LEASES,
        "default",
        "leases",
        watch=True,
        resource_version=start,
        timeout_seconds=1,
        _preload_content=False,
    )
    names = [json.loads(line)["object"]["metadata"]["name"] for line in resp.read().splitlines()]
    assert names == ["c", "c"]


def test_stall_keeps_the_stream_open_without_events(api_server: ApiServer, objects: Dicts) -> None:
    """Fault injection: a stalled watch sends nothing more but stays open (clients need a
    read timeout)."""
    import urllib3

    resp = objects.list_namespaced_custom_object(
        *LEASES,
        "default",
        "leases",
        watch=True,
        timeout_seconds=30,
        _preload_content=False,
        _request_timeout=(2, 0.5),
    )
    assert wait_for(lambda: len(api_server.storage.watchers()) == 1)
    api_server.faults.stall_watches("leases")
    api_server.create_object(lease("a"))
    with pytest.raises((urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ProtocolError)):
        resp.read()
