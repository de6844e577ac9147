"""Secure metrics against the emulator: HTTPS, TokenReview, SubjectAccessReview, caching.

The emulator runs with RBAC on and the objects ``config/rbac`` renders, so the operator's
reviews are allowed by the shipped metrics-auth role and a scraper's by the shipped
metrics-reader role, exactly as in a cluster. The clock is a :class:`FakeClock`, so cache
expiry is stepped, never waited for.
"""

from __future__ import annotations

import random
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from prometheus_client import CollectorRegistry, Counter

from emulator.server import ApiServer
from manager.clock import FakeClock
from manager.httpserver import BackgroundHTTPServer
from manager.metrics import serve_metrics
from manager.metricsauth import (
    ALLOW_CACHE_TTL,
    DENY_CACHE_TTL,
    REVIEW_BACKOFF,
    TOKEN_CACHE_TTL,
    Backoff,
    DelegatingAuth,
)
from manager.rest import RestClient
from manager.servingcert import SelfSignedSource
from tests.integration.test_rbac_least_privilege import rendered_rbac
from tests.support.operator import OPERATOR_TOKEN, OPERATOR_USER
from tests.support.restconfig import rest_config

READER_TOKEN = "prometheus-token"
READER_USER = "system:serviceaccount:monitoring:prometheus"
STRANGER_TOKEN = "stranger-token"
STRANGER_USER = "system:serviceaccount:default:stranger"
METRICS_READER_ROLE = "dbbackup-operator-metrics-reader"


@dataclass
class World:
    server: ApiServer
    clock: FakeClock
    url: str
    tls: SelfSignedSource


def _bind_reader(server: ApiServer) -> None:
    server.create_object({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "prometheus-dbbackup-metrics"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": METRICS_READER_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}],
    })  # fmt: skip


@pytest.fixture
def world() -> Iterator[World]:
    with ApiServer(rbac=True) as server:
        server.create_object(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dbbackup-system"}}
        )
        for obj in rendered_rbac():
            server.create_object(obj)
        _bind_reader(server)
        server.add_user(OPERATOR_TOKEN, OPERATOR_USER)
        server.add_user(READER_TOKEN, READER_USER)
        server.add_user(STRANGER_TOKEN, STRANGER_USER)
        registry = CollectorRegistry()
        Counter("dbbackup_test_scrapes", "A series to find in the answer", registry=registry).inc()
        clock = FakeClock()
        rest = RestClient(rest_config(server, OPERATOR_TOKEN))
        tls = SelfSignedSource()
        auth = DelegatingAuth(rest, clock)
        metrics = serve_metrics(registry, "127.0.0.1:0", tls=tls, guard=auth.filter)
        assert isinstance(metrics, BackgroundHTTPServer)
        try:
            yield World(server, clock, metrics.url("/metrics"), tls)
        finally:
            metrics.close()
            rest.close()


def scrape(world: World, token: str | None, *, verify: bool = False) -> tuple[int, str]:
    context = ssl.create_default_context()
    if verify:
        context.load_verify_locations(cadata=world.tls.pair.cert_pem.decode())
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    url = world.url.replace("127.0.0.1", "localhost") if verify else world.url
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as err:
        body = err.read().decode()
        err.close()
        return int(err.code), body


def reviews(server: ApiServer) -> list[str]:
    return [
        r.resource
        for r in server.audit.records
        if r.resource in ("tokenreviews", "subjectaccessreviews") and r.user == OPERATOR_USER
    ]


def test_metrics_answer_401_without_a_valid_token_403_without_the_role_200_with_it(
    world: World,
) -> None:
    assert world.url.startswith("https://")
    assert scrape(world, None)[0] == 401
    assert scrape(world, "")[0] == 401
    assert scrape(world, "a-token-nobody-issued")[0] == 401
    code, body = scrape(world, STRANGER_TOKEN)
    assert (code, body) == (403, f"Authorization denied for user {STRANGER_USER}\n")
    code, body = scrape(world, READER_TOKEN, verify=True)
    assert code == 200
    assert "dbbackup_test_scrapes_total 1.0" in body
    refused = [r for r in world.server.audit.records if r.code == 403]
    assert refused == []  # the shipped metrics-auth role covers both reviews


def test_plain_http_is_not_answered_on_the_secure_port(world: World) -> None:
    with pytest.raises(OSError):
        urllib.request.urlopen(world.url.replace("https://", "http://"), timeout=5).close()


def test_a_scrape_every_15_seconds_costs_one_review_of_each_kind_per_cache_period(
    world: World,
) -> None:
    for _ in range(3):
        assert scrape(world, READER_TOKEN)[0] == 200
        world.clock.step(15)
    assert reviews(world.server) == ["tokenreviews", "subjectaccessreviews"]
    world.clock.step(TOKEN_CACHE_TTL)  # the token's review expired; the allow did not
    assert scrape(world, READER_TOKEN)[0] == 200
    assert reviews(world.server)[2:] == ["tokenreviews"]
    world.clock.step(ALLOW_CACHE_TTL)
    assert scrape(world, READER_TOKEN)[0] == 200
    assert reviews(world.server)[3:] == ["tokenreviews", "subjectaccessreviews"]


def test_a_denial_is_cached_briefly(world: World) -> None:
    assert scrape(world, STRANGER_TOKEN)[0] == 403
    assert scrape(world, STRANGER_TOKEN)[0] == 403
    assert reviews(world.server) == ["tokenreviews", "subjectaccessreviews"]
    world.clock.step(DENY_CACHE_TTL)
    assert scrape(world, STRANGER_TOKEN)[0] == 403
    assert reviews(world.server)[2:] == ["subjectaccessreviews"]


def test_a_new_role_binding_applies_once_the_denial_expires(world: World) -> None:
    assert scrape(world, STRANGER_TOKEN)[0] == 403
    world.server.create_object({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "stranger-metrics"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": METRICS_READER_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": "stranger", "namespace": "default"}],
    })  # fmt: skip
    assert scrape(world, STRANGER_TOKEN)[0] == 403
    world.clock.step(DENY_CACHE_TTL)
    assert scrape(world, STRANGER_TOKEN)[0] == 200


class RecordingClock(FakeClock):
    """A fake clock whose sleeps return at once and are written down."""

    def __init__(self) -> None:
        super().__init__(datetime.fromisoformat("2025-03-27T00:00:00+00:00"))
        self.slept: list[float] = []

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        self.slept.append(seconds)
        return False


def test_failed_reviews_are_retried_with_the_webhook_backoff_then_answered_500() -> None:
    with ApiServer() as server:
        server.add_user(READER_TOKEN, READER_USER)
        server.faults.fail(503, times=100, verb="create", resource="tokenreviews")
        clock = RecordingClock()
        rest = RestClient(rest_config(server))
        auth = DelegatingAuth(rest, clock, rng=random.Random(7))
        metrics = serve_metrics(CollectorRegistry(), "127.0.0.1:0", guard=auth.filter)
        assert metrics is not None
        try:
            request = urllib.request.Request(metrics.url("/metrics"))
            request.add_header("Authorization", f"Bearer {READER_TOKEN}")
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(request, timeout=10).close()
            assert err.value.code == 500
            err.value.close()
        finally:
            metrics.close()
            rest.close()
        attempts = [r for r in server.audit.records if r.resource == "tokenreviews"]
    assert len(attempts) == REVIEW_BACKOFF.steps
    assert len(clock.slept) == REVIEW_BACKOFF.steps - 1
    for n, slept in enumerate(clock.slept):
        base = REVIEW_BACKOFF.duration * REVIEW_BACKOFF.factor**n
        assert base <= slept <= base * (1 + REVIEW_BACKOFF.jitter)
    assert len(set(clock.slept)) == len(clock.slept)


def test_a_failure_is_not_cached() -> None:
    with ApiServer() as server:
        server.add_user(READER_TOKEN, READER_USER)
        server.faults.fail(503, times=1, verb="create", resource="tokenreviews")
        rest = RestClient(rest_config(server))
        auth = DelegatingAuth(rest, RecordingClock(), backoff=Backoff(0.0, 1.0, 0.0, steps=1))
        try:
            with pytest.raises(Exception, match="injected fault"):
                auth.authenticate(READER_TOKEN)
            user = auth.authenticate(READER_TOKEN)
        finally:
            rest.close()
    assert user is not None and user.username == READER_USER
