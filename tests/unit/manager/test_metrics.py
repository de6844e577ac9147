"""``/metrics`` over real HTTP, parsed back with the Prometheus text parser."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from manager.clock import FakeClock
from manager.controller import Controller
from manager.errors import Conflict
from manager.handler import EnqueueRequestForObject
from manager.httpserver import BackgroundHTTPServer
from manager.metrics import (
    RECONCILE_TIME_BUCKETS,
    WORKQUEUE_DURATION_BUCKETS,
    Metrics,
    rest_client_observer,
    serve_metrics,
)
from manager.ratelimit import ItemExponentialFailureRateLimiter
from manager.reconcile import Request, Result, TerminalError
from manager.runnable import ResourceEventHandler
from manager.workqueue import RateLimitingQueue

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.002)


def fetch(server: BackgroundHTTPServer, path: str = "/metrics") -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(server.url(path), timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers["Content-Type"], err.read().decode()


def scrape(server: BackgroundHTTPServer) -> Samples:
    status, content_type, text = fetch(server)
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    return samples[(metric, frozenset(labels.items()))]


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> Metrics:
    return Metrics(registry)


@pytest.fixture
def server(registry: CollectorRegistry) -> Iterator[BackgroundHTTPServer]:
    srv = serve_metrics(registry, "127.0.0.1:0")
    assert srv is not None
    yield srv
    srv.close()


def test_workqueue_metric_values(metrics: Metrics, server: BackgroundHTTPServer) -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(
        ItemExponentialFailureRateLimiter(1.0, 10.0), clock, "jobs", metrics
    )
    try:
        q.add("a")
        q.add("b")
        q.add("a")  # deduplicated: not an add
        labels = {"name": "jobs", "controller": "jobs"}
        s = scrape(server)
        assert value(s, "workqueue_adds_total", **labels) == 2
        assert value(s, "workqueue_depth", **labels) == 2
        assert value(s, "workqueue_longest_running_processor_seconds", **labels) == 0
        clock.step(2)
        assert q.get() == ("a", False)  # waited 2 s
        clock.step(3)
        s = scrape(server)
        assert value(s, "workqueue_depth", **labels) == 1
        assert value(s, "workqueue_unfinished_work_seconds", **labels) == 3
        assert value(s, "workqueue_longest_running_processor_seconds", **labels) == 3
        assert q.get() == ("b", False)  # waited 5 s
        clock.step(1)
        s = scrape(server)
        assert value(s, "workqueue_unfinished_work_seconds", **labels) == 4 + 1
        assert value(s, "workqueue_longest_running_processor_seconds", **labels) == 4
        q.done("a")  # worked 4 s
        q.add_after("c", 0)
        q.add_rate_limited("d")
        s = scrape(server)
        assert value(s, "workqueue_retries_total", **labels) == 2
        assert value(s, "workqueue_adds_total", **labels) == 3  # "c"; "d" is still waiting
        assert value(s, "workqueue_queue_duration_seconds_count", **labels) == 2
        assert value(s, "workqueue_queue_duration_seconds_sum", **labels) == 7
        assert value(s, "workqueue_queue_duration_seconds_bucket", le="1.0", **labels) == 0
        assert value(s, "workqueue_queue_duration_seconds_bucket", le="10.0", **labels) == 2
        assert value(s, "workqueue_work_duration_seconds_count", **labels) == 1
        assert value(s, "workqueue_work_duration_seconds_sum", **labels) == 4
        assert value(s, "workqueue_unfinished_work_seconds", **labels) == 1
    finally:
        q.shut_down()


class FakeInformer:
    def __init__(self) -> None:
        self.handlers: list[ResourceEventHandler] = []

    def add_event_handler(self, handler: ResourceEventHandler, *, inline: bool = False) -> None:
        assert inline  # a controller's handlers only enqueue: they run on the watch thread
        self.handlers.append(handler)

    def has_synced(self) -> bool:
        return True

    def emit(self, name: str) -> None:
        for h in self.handlers:
            h.on_add({"metadata": {"name": name, "namespace": "ns"}})


def test_every_runtime_metric_after_controller_traffic(
    registry: CollectorRegistry, metrics: Metrics, server: BackgroundHTTPServer
) -> None:
    failed_once: set[str] = set()
    lock = threading.Lock()
    calls: list[str] = []

    def reconcile(request: Request) -> Result:
        with lock:
            calls.append(request.name)
        name = request.name
        if name == "conflict" and name not in failed_once:
            failed_once.add(name)
            raise Conflict("stale resourceVersion")
        if name == "bug" and name not in failed_once:
            failed_once.add(name)
            raise KeyError("spec")
        if name == "terminal":
            raise TerminalError("invalid schedule")
        if name == "scheduled":
            return Result(requeue_after=3600)
        if name == "again" and calls.count("again") == 1:
            return Result(requeue=True)
        return Result()

    class Reconciler:
        def reconcile(self, request: Request) -> Result:
            return reconcile(request)

    clock = FakeClock()
    ctrl = Controller(
        "backup",
        Reconciler(),
        max_concurrent_reconciles=2,
        metrics=metrics,
        clock=clock,
        # Retries at once, so the test needs no clock steps.
        rate_limiter=ItemExponentialFailureRateLimiter(0.0, 0.0),
    )
    informer = FakeInformer()
    ctrl.watch(informer, EnqueueRequestForObject)
    stop = threading.Event()
    thread = threading.Thread(target=ctrl.start, args=(stop,))
    thread.start()
    try:
        for name in ("ok", "conflict", "bug", "terminal", "scheduled", "again"):
            informer.emit(name)
        # ok, conflict x2, bug x2, terminal, scheduled, again x2 = 9 reconciles.
        wait_for(lambda: len(calls) == 9)
        # ``done`` is the last thing a worker does for an item.
        wq_labels = {"name": "backup", "controller": "backup"}
        work_count = "workqueue_work_duration_seconds_count"
        wait_for(lambda: registry.get_sample_value(work_count, wq_labels) == 9)
        metrics.leader_on("dbbackup-operator-leader")
        metrics.leader_off("other-lease")
        observe = rest_client_observer(metrics, host="127.0.0.1:6443")
        observe("GET", "/apis/batch/v1/jobs", 200)
        observe("GET", "/apis/batch/v1/jobs", 200)
        observe("post", "/apis/batch/v1/namespaces/ns/jobs", 409)
        observe("PUT", "/apis/coordination.k8s.io/v1/leases", 0)
        s = scrape(server)
    finally:
        stop.set()
        thread.join(10)
    c = {"controller": "backup"}
    wq = {"name": "backup", "controller": "backup"}
    expected_total = {"success": 4, "error": 3, "requeue": 1, "requeue_after": 1}
    for result, count in expected_total.items():
        assert value(s, "controller_runtime_reconcile_total", result=result, **c) == count
    assert value(s, "controller_runtime_reconcile_errors_total", **c) == 3
    assert value(s, "controller_runtime_terminal_reconcile_errors_total", **c) == 1
    assert value(s, "controller_runtime_reconcile_panics_total", **c) == 1
    assert value(s, "controller_runtime_reconcile_time_seconds_count", **c) == 9
    assert value(s, "controller_runtime_reconcile_time_seconds_bucket", le="+Inf", **c) == 9
    buckets = {
        le for (n, lbl) in s for k, le in lbl if k == "le" and n.endswith("time_seconds_bucket")
    }
    assert buckets == {repr(float(b)) for b in RECONCILE_TIME_BUCKETS} | {"+Inf"}
    assert value(s, "controller_runtime_max_concurrent_reconciles", **c) == 2
    assert value(s, "controller_runtime_active_workers", **c) == 0
    # 6 first adds + 3 retries through add_rate_limited (conflict, bug, again).
    assert value(s, "workqueue_adds_total", **wq) == 9
    assert value(s, "workqueue_retries_total", **wq) == 4  # 3 rate-limited + 1 add_after
    assert value(s, "workqueue_depth", **wq) == 0
    assert value(s, "workqueue_queue_duration_seconds_count", **wq) == 9
    assert value(s, "workqueue_work_duration_seconds_count", **wq) == 9
    wq_buckets = {
        le
        for (n, lbl) in s
        for k, le in lbl
        if k == "le" and n == "workqueue_work_duration_seconds_bucket"
    }
    assert len(wq_buckets) == len(WORKQUEUE_DURATION_BUCKETS) + 1
    assert value(s, "workqueue_unfinished_work_seconds", **wq) == 0
    assert value(s, "workqueue_longest_running_processor_seconds", **wq) == 0
    assert value(s, "leader_election_master_status", name="dbbackup-operator-leader") == 1
    assert value(s, "leader_election_master_status", name="other-lease") == 0
    host = "127.0.0.1:6443"
    assert value(s, "rest_client_requests_total", code="200", method="GET", host=host) == 2
    assert value(s, "rest_client_requests_total", code="409", method="POST", host=host) == 1
    assert value(s, "rest_client_requests_total", code="<error>", method="PUT", host=host) == 1
    assert any(name.startswith("process_") for name, _ in s)
    assert any(name.startswith("python_") for name, _ in s)


def test_metrics_stay_off_the_global_registry(registry: CollectorRegistry) -> None:
    Metrics(registry)
    second = CollectorRegistry()
    Metrics(second)  # a second manager in the same process does not collide
    assert REGISTRY.get_sample_value("controller_runtime_reconcile_total") is None
    assert "controller_runtime_active_workers" not in {m.name for m in REGISTRY.collect()}


def test_serving(registry: CollectorRegistry, server: BackgroundHTTPServer) -> None:
    status, _, body = fetch(server, "/other")
    assert (status, body) == (404, "404 page not found\n")
    request = urllib.request.Request(
        server.url("/metrics"), headers={"Accept": "application/openmetrics-text"}
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
        assert resp.read().decode().endswith("# EOF\n")
    assert serve_metrics(registry, "0") is None
    assert server.url().startswith("http://127.0.0.1:")
