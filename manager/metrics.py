"""Runtime metrics, with the names controller-runtime and client-go export, on a given registry.

:class:`Metrics` creates every runtime metric on a ``prometheus_client.CollectorRegistry`` that
the Manager owns (never the process-global default registry, so two managers in one test
process do not collide). Names, labels and buckets are copied from upstream so existing
dashboards and alerts work unchanged:

* controller-runtime ``pkg/internal/controller/metrics``:
  ``controller_runtime_reconcile_total{controller,result}`` (result ∈ success, error, requeue,
  requeue_after), ``controller_runtime_reconcile_errors_total{controller}``,
  ``controller_runtime_terminal_reconcile_errors_total{controller}``,
  ``controller_runtime_reconcile_panics_total{controller}``,
  ``controller_runtime_reconcile_time_seconds{controller}`` (histogram),
  ``controller_runtime_max_concurrent_reconciles{controller}``,
  ``controller_runtime_active_workers{controller}``;
* the client-go work-queue provider (``pkg/metrics/workqueue.go``), labels ``{name,controller}``:
  ``workqueue_depth``, ``workqueue_adds_total``, ``workqueue_queue_duration_seconds``,
  ``workqueue_work_duration_seconds`` (buckets 1e-8 … 1e3 s), ``workqueue_retries_total``,
  ``workqueue_unfinished_work_seconds``, ``workqueue_longest_running_processor_seconds``;
* ``leader_election_master_status{name}`` and ``rest_client_requests_total{code,method,host}``;
* ours: ``event_recorder_dropped_total{reason}`` (Events the recorder lost, see
  :mod:`manager.events`);
* the Python process collectors (``process_*``, ``python_*``), as Go's process collector.

Differences from Go's exposition: ``prometheus_client`` adds ``*_created`` samples to counters
and histograms. The two unfinished-work gauges are computed when scraped rather than every
500 ms, so they are exact at scrape time.

:func:`serve_metrics` serves ``/metrics`` for a registry; :func:`rest_client_observer` adapts
the metrics to :data:`manager.rest.RequestObserver`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from manager.clock import Clock
from manager.httpserver import (
    BackgroundHTTPServer,
    HTTPRequest,
    HTTPResponse,
    Route,
    TLSContext,
    start_http_server,
)
from manager.rest import RequestObserver

__all__ = [
    "METRICS_PATH",
    "RECONCILE_TIME_BUCKETS",
    "RESULT_ERROR",
    "RESULT_REQUEUE",
    "RESULT_REQUEUE_AFTER",
    "RESULT_SUCCESS",
    "WORKQUEUE_DURATION_BUCKETS",
    "Metrics",
    "WorkqueueMetrics",
    "rest_client_observer",
    "serve_metrics",
]

METRICS_PATH = "/metrics"  # controller-runtime's DefaultMetricsEndpoint

RESULT_ERROR = "error"
RESULT_REQUEUE_AFTER = "requeue_after"
RESULT_REQUEUE = "requeue"
RESULT_SUCCESS = "success"

# controller-runtime's reconcile_time_seconds buckets (pkg/internal/controller/metrics).
RECONCILE_TIME_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8,
    0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0,
    15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0,
)  # fmt: skip
# Go's prometheus.ExponentialBuckets(10e-9, 10, 12): 1e-8 s … 1e3 s.
WORKQUEUE_DURATION_BUCKETS = tuple(10e-9 * 10.0**i for i in range(12))

# client-go labels a request that got no HTTP answer with this code.
_NO_RESPONSE_CODE = "<error>"


class Metrics:
    """Every runtime metric, registered on ``registry`` (which the caller owns)."""

    def __init__(self, registry: CollectorRegistry, *, process_collectors: bool = True) -> None:
        self.registry = registry
        r = registry
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total",
            "Total number of reconciliations per controller",
            ["controller", "result"],
            registry=r,
        )
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total",
            "Total number of reconciliation errors per controller",
            ["controller"],
            registry=r,
        )
        self.terminal_reconcile_errors = Counter(
            "controller_runtime_terminal_reconcile_errors_total",
            "Total number of terminal reconciliation errors per controller",
            ["controller"],
            registry=r,
        )
        self.reconcile_panics = Counter(
            "controller_runtime_reconcile_panics_total",
            "Total number of reconciliation panics per controller",
            ["controller"],
            registry=r,
        )
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            ["controller"],
            buckets=RECONCILE_TIME_BUCKETS,
            registry=r,
        )
        self.max_concurrent_reconciles = Gauge(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            ["controller"],
            registry=r,
        )
        self.active_workers = Gauge(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            ["controller"],
            registry=r,
        )
        wq = ["name", "controller"]
        self.workqueue_depth = Gauge(
            "workqueue_depth", "Current depth of workqueue", wq, registry=r
        )
        self.workqueue_adds = Counter(
            "workqueue_adds_total", "Total number of adds handled by workqueue", wq, registry=r
        )
        self.workqueue_queue_duration = Histogram(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            wq,
            buckets=WORKQUEUE_DURATION_BUCKETS,
            registry=r,
        )
        self.workqueue_work_duration = Histogram(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            wq,
            buckets=WORKQUEUE_DURATION_BUCKETS,
            registry=r,
        )
        self.workqueue_unfinished_work = Gauge(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been "
            "observed by work_duration. Large values indicate stuck threads. One can deduce "
            "the number of stuck threads by observing the rate at which this increases.",
            wq,
            registry=r,
        )
        self.workqueue_longest_running_processor = Gauge(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            wq,
            registry=r,
        )
        self.workqueue_retries = Counter(
            "workqueue_retries_total",
            "Total number of retries handled by workqueue",
            wq,
            registry=r,
        )
        self.leader_election_master_status = Gauge(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
            "backup, 1 indicates master. 'name' is the string used to identify the lease. "
            "Please make sure to group by name.",
            ["name"],
            registry=r,
        )
        self.rest_client_requests = Counter(
            "rest_client_requests_total",
            "Number of HTTP requests, partitioned by status code, method, and host.",
            ["code", "method", "host"],
            registry=r,
        )
        # Not upstream's (client-go logs a dropped Event and counts nothing): every Event
        # occurrence the recorder could not write, by reason (manager.events.DROP_REASONS).
        self.events_dropped = Counter(
            "event_recorder_dropped_total",
            "Event occurrences the event recorder could not write, by reason.",
            ["reason"],
            registry=r,
        )
        if process_collectors:
            # Like Go's process and runtime collectors (new instances: the module-level ones
            # are bound to the global registry).
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)

    # -- controller-runtime ------------------------------------------------------------------

    def init_controller(self, controller: str, max_concurrent_reconciles: int) -> None:
        """Expose a controller's series at zero before its first reconcile (``initMetrics``)."""
        for result in (RESULT_ERROR, RESULT_REQUEUE_AFTER, RESULT_REQUEUE, RESULT_SUCCESS):
            self.reconcile_total.labels(controller, result).inc(0)
        self.reconcile_errors.labels(controller).inc(0)
        self.terminal_reconcile_errors.labels(controller).inc(0)
        self.reconcile_panics.labels(controller).inc(0)
        self.max_concurrent_reconciles.labels(controller).set(max_concurrent_reconciles)
        self.active_workers.labels(controller).set(0)

    # -- client-go providers -----------------------------------------------------------------

    def new_queue_metrics(self, name: str, clock: Clock) -> WorkqueueMetrics:
        """The work-queue metrics for queue ``name`` (one per name; a new queue replaces it)."""
        return WorkqueueMetrics(self, name, clock)

    def leader_on(self, lease_name: str) -> None:
        """client-go ``LeaderMetric.On``: this process holds the lease."""
        self.leader_election_master_status.labels(lease_name).set(1)

    def leader_off(self, lease_name: str) -> None:
        """client-go ``LeaderMetric.Off``: this process is a standby for the lease."""
        self.leader_election_master_status.labels(lease_name).set(0)

    def observe_request(self, code: int, method: str, host: str) -> None:
        """client-go ``RequestResult.Increment``; ``code`` 0 (no answer) is ``<error>``."""
        label = str(code) if code else _NO_RESPONSE_CODE
        self.rest_client_requests.labels(label, method.upper(), host).inc()


class WorkqueueMetrics:
    """One queue's metrics: client-go's ``defaultQueueMetrics`` bookkeeping.

    The queue calls ``add`` when an item becomes dirty, ``get`` when a worker takes it,
    ``done`` when the worker finishes and ``retry`` for every ``add_after``. Durations use the
    injected clock's ``monotonic()``.
    """

    def __init__(self, metrics: Metrics, name: str, clock: Clock) -> None:
        self._clock = clock
        self._depth = metrics.workqueue_depth.labels(name, name)
        self._adds = metrics.workqueue_adds.labels(name, name)
        self._latency = metrics.workqueue_queue_duration.labels(name, name)
        self._work_duration = metrics.workqueue_work_duration.labels(name, name)
        self._retries = metrics.workqueue_retries.labels(name, name)
        # item -> when it was added (first add since last get) / when a worker took it.
        self._add_times: dict[Hashable, float] = {}
        self._processing_start: dict[Hashable, float] = {}
        self._lock = threading.Lock()
        metrics.workqueue_unfinished_work.labels(name, name).set_function(self.unfinished_work)
        metrics.workqueue_longest_running_processor.labels(name, name).set_function(
            self.longest_running_processor
        )

    def add(self, item: Hashable) -> None:
        self._adds.inc()
        self._depth.inc()
        with self._lock:
            self._add_times.setdefault(item, self._clock.monotonic())

    def get(self, item: Hashable) -> None:
        self._depth.dec()
        now = self._clock.monotonic()
        with self._lock:
            self._processing_start[item] = now
            added = self._add_times.pop(item, None)
            if not self._add_times:  # a dict keeps its largest table: a herd's, ~0.5 MiB
                self._add_times = {}
        if added is not None:
            self._latency.observe(now - added)

    def done(self, item: Hashable) -> None:
        with self._lock:
            started = self._processing_start.pop(item, None)
        if started is not None:
            self._work_duration.observe(self._clock.monotonic() - started)

    def retry(self) -> None:
        self._retries.inc()

    def unfinished_work(self) -> float:
        """Seconds of work in progress not yet observed by work_duration (sum over workers)."""
        now = self._clock.monotonic()
        with self._lock:
            return sum(now - t for t in self._processing_start.values())

    def longest_running_processor(self) -> float:
        """Seconds the longest-running current item has been processed (0 when idle)."""
        now = self._clock.monotonic()
        with self._lock:
            return max((now - t for t in self._processing_start.values()), default=0.0)


def rest_client_observer(metrics: Metrics, host: str = "") -> RequestObserver:
    """A :data:`manager.rest.RequestObserver` counting ``rest_client_requests_total``.

    ``host`` is the API server's ``host:port`` (the observer is told only method and path).
    """

    def observe(method: str, path: str, code: int) -> None:
        metrics.observe_request(code, method, host)

    return observe


def serve_metrics(
    registry: CollectorRegistry,
    bind_address: str,
    *,
    tls: TLSContext | None = None,
    guard: Callable[[Route], Route] | None = None,
) -> BackgroundHTTPServer | None:
    """Serve ``registry`` at ``/metrics`` on ``bind_address`` (``"0"`` disables: None).

    The text format is negotiated from ``Accept`` like ``promhttp`` (OpenMetrics on request).
    ``tls`` serves HTTPS; ``guard`` wraps every request (authentication and authorization,
    :mod:`manager.metricsauth`), as controller-runtime's metrics server ``FilterProvider``.
    """

    def route(request: HTTPRequest) -> HTTPResponse:
        if request.path != METRICS_PATH:
            return HTTPResponse(status=404, body=b"404 page not found\n")
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return HTTPResponse(status=200, body=encoder(registry), content_type=content_type)

    served = route if guard is None else guard(route)
    return start_http_server(bind_address, served, name="metrics", tls=tls)
