"""The controller engine: ``reconcileHandler``'s outcome table, workers, sync, shutdown."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
from prometheus_client import CollectorRegistry

from manager.clock import FakeClock
from manager.controller import CacheSyncError, Controller, reconcile_id
from manager.errors import Conflict
from manager.handler import EnqueueRequestForObject
from manager.metrics import Metrics
from manager.predicate import GenerationChangedPredicate
from manager.ratelimit import ItemExponentialFailureRateLimiter
from manager.reconcile import Request, Result, TerminalError
from manager.runnable import ResourceEventHandler

NAME = "databasebackup"
REQ = Request("ns", "backup")


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.002)


def step(clock: FakeClock, seconds: float) -> None:
    """Let the delaying thread settle into its (relative) sleep, then advance the fake clock."""
    time.sleep(0.01)
    clock.step(seconds)


class FakeInformer:
    """The two methods a watch uses, plus a way to emit events."""

    def __init__(self, synced: bool = True) -> None:
        self.synced = synced
        self.handlers: list[ResourceEventHandler] = []

    def add_event_handler(self, handler: ResourceEventHandler, *, inline: bool = False) -> None:
        assert inline  # a controller's handlers only enqueue: they run on the watch thread
        self.handlers.append(handler)

    def has_synced(self) -> bool:
        return self.synced

    def emit_add(self, name: str, namespace: str = "ns", **meta: Any) -> None:
        for h in self.handlers:
            h.on_add({"metadata": {"name": name, "namespace": namespace, **meta}})

    def emit_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        for h in self.handlers:
            h.on_update(old, new)


class Scripted:
    """A reconciler whose outcome is a function of the request; records calls."""

    def __init__(self, outcome: Callable[[Request], Result]) -> None:
        self.outcome = outcome
        self.calls: list[Request] = []
        self.ids: list[str] = []
        self.lock = threading.Lock()

    def reconcile(self, request: Request) -> Result:
        with self.lock:
            self.calls.append(request)
            self.ids.append(reconcile_id())
        return self.outcome(request)


def raising(exc: BaseException) -> Callable[[Request], Result]:
    def outcome(_: Request) -> Result:
        raise exc

    return outcome


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> Metrics:
    return Metrics(registry, process_collectors=False)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def assert_outcome_metrics(
    registry: CollectorRegistry, label: str, errors: int, terminal: int, panics: int
) -> None:
    """One reconcile counted once, under ``label``, with its errors, terminal errors, panics."""
    for result in ("success", "error", "requeue", "requeue_after"):
        expected = 1.0 if result == label else 0.0
        assert (
            sample(registry, "controller_runtime_reconcile_total", controller=NAME, result=result)
            == expected
        ), result
    by_name = {
        "controller_runtime_reconcile_errors_total": errors,
        "controller_runtime_terminal_reconcile_errors_total": terminal,
        "controller_runtime_reconcile_panics_total": panics,
        "controller_runtime_reconcile_time_seconds_count": 1,
    }
    for name, value in by_name.items():
        assert sample(registry, name, controller=NAME) == value, name


@contextlib.contextmanager
def make(
    reconciler: Scripted, clock: FakeClock, metrics: Metrics | None, **kwargs: Any
) -> Iterator[Controller]:
    ctrl = Controller(
        NAME,
        reconciler,
        metrics=metrics,
        clock=clock,
        rate_limiter=ItemExponentialFailureRateLimiter(1.0, 100.0),
        **kwargs,
    )
    yield ctrl
    ctrl.queue.shut_down()


class Outcome(NamedTuple):
    """One row of the outcome table: what the reconcile does and what must follow."""

    outcome: Callable[[Request], Result]
    backoff: bool  # requeued with backoff
    after: float | None  # requeued after this many seconds
    forgotten: bool
    label: str  # the reconcile_total result label
    errors: int
    terminal: int
    panics: int


OUTCOMES = [
    pytest.param(Outcome(lambda r: Result(), False, None, True, "success", 0, 0, 0), id="success"),
    pytest.param(
        Outcome(lambda r: Result(requeue_after=30), False, 30.0, True, "requeue_after", 0, 0, 0),
        id="requeue_after",
    ),
    pytest.param(
        Outcome(lambda r: Result(requeue=True, requeue_after=5), False, 5.0, True,
                "requeue_after", 0, 0, 0),
        id="requeue_after_wins",
    ),
    pytest.param(
        Outcome(lambda r: Result(requeue=True), True, None, False, "requeue", 0, 0, 0),
        id="requeue",
    ),
    pytest.param(
        Outcome(lambda r: Result(requeue_after=0), False, None, True, "success", 0, 0, 0),
        id="requeue_after_zero",
    ),
    pytest.param(
        Outcome(raising(Conflict("stale")), True, None, False, "error", 1, 0, 0), id="api-error"
    ),
    pytest.param(
        Outcome(raising(TerminalError("bad spec")), False, None, False, "error", 1, 1, 0),
        id="terminal",
    ),
    pytest.param(
        Outcome(raising(KeyError("bug")), True, None, False, "error", 1, 0, 1), id="exception"
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", OUTCOMES)
def test_reconcile_handler_outcome_table(
    clock: FakeClock, metrics: Metrics, registry: CollectorRegistry, case: Outcome
) -> None:
    outcome, backoff, after, forgotten, label, errors, terminal, panics = case
    reconciler = Scripted(outcome)
    with make(reconciler, clock, metrics) as ctrl:
        metrics.init_controller(NAME, 1)
        q = ctrl.queue
        # Two earlier failures: backoff history 2, next backoff 4 s.
        q.rate_limiter.when(REQ)
        q.rate_limiter.when(REQ)
        ctrl._reconcile_handler(REQ)
        assert reconciler.calls == [REQ]
        assert q.num_requeues(REQ) == (0 if forgotten else 3 if backoff else 2)
        assert q.waiting() == (1 if backoff or after else 0)
        assert len(q) == 0
        if backoff:
            step(clock, 3.9)
            time.sleep(0.03)
            assert len(q) == 0
            step(clock, 0.1)  # the third failure waits 1 s * 2**2
            wait_for(lambda: len(q) == 1)
        if after is not None:
            step(clock, after - 0.1)
            time.sleep(0.03)
            assert len(q) == 0
            step(clock, 0.1)
            wait_for(lambda: len(q) == 1)
        assert_outcome_metrics(registry, label, errors, terminal, panics)


def test_reconcile_logs_carry_the_request_fields(
    clock: FakeClock, metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    reconciler = Scripted(raising(Conflict("stale")))
    with make(reconciler, clock, metrics) as ctrl:
        with caplog.at_level(logging.DEBUG, logger="manager.controller"):
            ctrl._reconcile_handler(REQ)
        errors = [r for r in caplog.records if r.getMessage() == "Reconciler error"]
        assert len(errors) == 1
        record = errors[0]
        assert record.__dict__["controller"] == NAME
        assert record.__dict__["namespace"] == "ns"
        assert record.__dict__["resource_name"] == "backup"
        assert record.__dict__["reconcileID"] == reconciler.ids[0] != ""
        assert record.exc_info is not None
        assert reconcile_id() == ""


def run(ctrl: Controller, stop: threading.Event) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def target() -> None:
        try:
            ctrl.start(stop)
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, raised


def test_watch_to_reconcile_end_to_end(clock: FakeClock, metrics: Metrics) -> None:
    reconciler = Scripted(lambda r: Result())
    informer = FakeInformer(synced=False)
    with make(reconciler, clock, metrics, max_concurrent_reconciles=3) as ctrl:
        ctrl.watch(informer, EnqueueRequestForObject, [GenerationChangedPredicate()])
        informer.emit_add("a")  # queued before start: processed once running
        stop = threading.Event()
        thread, raised = run(ctrl, stop)
        time.sleep(0.05)
        assert reconciler.calls == []  # waiting for the informer to sync
        informer.synced = True
        wait_for(lambda: reconciler.calls == [Request("ns", "a")])
        informer.emit_update(
            {"metadata": {"name": "a", "namespace": "ns", "generation": 1}},
            {"metadata": {"name": "a", "namespace": "ns", "generation": 1}},
        )  # filtered out by the predicate
        informer.emit_add("b", "other")
        wait_for(lambda: len(reconciler.calls) == 2)
        assert reconciler.calls[1] == Request("other", "b")
        assert len(set(reconciler.ids)) == 2
        stop.set()
        thread.join(10)
        assert not thread.is_alive() and raised == []
        assert ctrl.needs_leader_election() is True


def test_one_key_is_never_reconciled_twice_at_once(clock: FakeClock, metrics: Metrics) -> None:
    lock = threading.Lock()
    running: set[Request] = set()
    overlaps: list[Request] = []
    concurrency: list[int] = []

    def outcome(request: Request) -> Result:
        with lock:
            if request in running:
                overlaps.append(request)
            running.add(request)
            concurrency.append(len(running))
        time.sleep(0.001)
        with lock:
            running.discard(request)
        return Result()

    reconciler = Scripted(outcome)
    informer = FakeInformer()
    with make(reconciler, clock, metrics, max_concurrent_reconciles=4) as ctrl:
        ctrl.watch(informer, EnqueueRequestForObject)
        stop = threading.Event()
        thread, raised = run(ctrl, stop)
        for i in range(400):
            informer.emit_add(f"obj-{i % 7}")
        names = {f"obj-{i}" for i in range(7)}
        wait_for(lambda: {r.name for r in reconciler.calls} == names, timeout=20)
        stop.set()
        thread.join(10)
        assert raised == [] and overlaps == []
        assert max(concurrency) <= 4


def test_stop_lets_the_running_reconcile_finish(
    clock: FakeClock, metrics: Metrics, registry: CollectorRegistry
) -> None:
    entered, release = threading.Event(), threading.Event()

    def outcome(request: Request) -> Result:
        entered.set()
        release.wait(10)
        return Result()

    reconciler = Scripted(outcome)
    informer = FakeInformer()
    with make(reconciler, clock, metrics, max_concurrent_reconciles=2) as ctrl:
        ctrl.watch(informer, EnqueueRequestForObject)
        stop = threading.Event()
        thread, raised = run(ctrl, stop)
        informer.emit_add("slow")
        assert entered.wait(5)
        assert sample(registry, "controller_runtime_active_workers", controller=NAME) == 1
        informer.emit_add("never")  # may not start: stop comes first for the idle worker
        stop.set()
        time.sleep(0.1)
        assert thread.is_alive()  # waiting for the running reconcile
        release.set()
        thread.join(10)
        assert not thread.is_alive() and raised == []
        assert reconciler.calls[0] == Request("ns", "slow")
        assert (
            sample(
                registry, "controller_runtime_reconcile_total", controller=NAME, result="success"
            )
            >= 1
        )
        assert sample(registry, "controller_runtime_active_workers", controller=NAME) == 0


def test_graceful_timeout_bounds_the_wait(clock: FakeClock, metrics: Metrics) -> None:
    release = threading.Event()
    entered = threading.Event()

    def outcome(request: Request) -> Result:
        entered.set()
        release.wait(10)
        return Result()

    informer = FakeInformer()
    with make(Scripted(outcome), clock, metrics, graceful_timeout=0.1) as ctrl:
        ctrl.watch(informer, EnqueueRequestForObject)
        stop = threading.Event()
        thread, _ = run(ctrl, stop)
        informer.emit_add("stuck")
        assert entered.wait(5)
        stop.set()
        thread.join(5)
        assert not thread.is_alive()
        release.set()


def test_cache_sync_timeout(clock: FakeClock, metrics: Metrics) -> None:
    reconciler = Scripted(lambda r: Result())
    with make(reconciler, clock, metrics, cache_sync_timeout=60) as ctrl:
        ctrl.watch(FakeInformer(synced=False), EnqueueRequestForObject)
        stop = threading.Event()
        thread, raised = run(ctrl, stop)
        time.sleep(0.05)
        step(clock, 61)
        thread.join(5)
        assert len(raised) == 1 and isinstance(raised[0], CacheSyncError)
        assert reconciler.calls == []


def test_stop_during_sync_returns_quietly(clock: FakeClock, metrics: Metrics) -> None:
    with make(Scripted(lambda r: Result()), clock, metrics) as ctrl:
        ctrl.watch(FakeInformer(synced=False), EnqueueRequestForObject)
        stop = threading.Event()
        thread, raised = run(ctrl, stop)
        stop.set()
        thread.join(5)
        assert not thread.is_alive() and raised == []
        with pytest.raises(RuntimeError, match="more than once"):
            ctrl.start(threading.Event())


def _handed_off_bug(request: Request) -> Result:
    def then() -> Result:
        raise ZeroDivisionError("bug")

    return Result(then=then)


@pytest.mark.parametrize(
    ("outcome", "handoffs"),
    [(raising(ZeroDivisionError("bug")), 0), (_handed_off_bug, 1)],
    ids=["in-the-reconcile", "in-a-hand-off"],
)
def test_unrecovered_panic_stops_the_controller(
    clock: FakeClock,
    metrics: Metrics,
    registry: CollectorRegistry,
    outcome: Callable[[Request], Result],
    handoffs: int,
) -> None:
    informer = FakeInformer()
    with make(
        Scripted(outcome), clock, metrics, recover_panic=False, max_concurrent_handoffs=handoffs
    ) as ctrl:
        ctrl.watch(informer, EnqueueRequestForObject)
        stop = threading.Event()
        thread, raised = run(ctrl, stop)
        informer.emit_add("x")
        thread.join(5)
        assert not thread.is_alive()
        assert len(raised) == 1 and isinstance(raised[0], ZeroDivisionError)
        assert sample(registry, "controller_runtime_reconcile_panics_total", controller=NAME) == 1


def test_expected_errors_are_not_panics(
    clock: FakeClock, metrics: Metrics, registry: CollectorRegistry
) -> None:
    class Retry(Exception):
        pass

    with make(Scripted(raising(Retry())), clock, metrics, expected_errors=(Retry,)) as ctrl:
        ctrl._reconcile_handler(REQ)
        assert sample(registry, "controller_runtime_reconcile_panics_total", controller=NAME) == 0
        assert sample(registry, "controller_runtime_reconcile_errors_total", controller=NAME) == 1
        assert ctrl.queue.num_requeues(REQ) == 1


def test_invalid_options() -> None:
    with pytest.raises(ValueError):
        Controller("", Scripted(lambda r: Result()), metrics=None, clock=FakeClock())
    with pytest.raises(ValueError):
        Controller(
            "c", Scripted(lambda r: Result()), metrics=None, clock=FakeClock(),
            max_concurrent_reconciles=0,
        )  # fmt: skip
    with pytest.raises(ValueError, match="max_concurrent_handoffs"):
        Controller(
            "c", Scripted(lambda r: Result()), metrics=None, clock=FakeClock(),
            max_concurrent_handoffs=-1,
        )  # fmt: skip


def test_without_metrics(clock: FakeClock) -> None:
    with make(Scripted(lambda r: Result(requeue=True)), clock, None) as ctrl:
        ctrl._reconcile_handler(REQ)
        assert ctrl.queue.num_requeues(REQ) == 1


@pytest.mark.parametrize("case", OUTCOMES)
def test_a_last_step_run_on_the_worker_follows_the_same_outcome_table(
    clock: FakeClock, metrics: Metrics, registry: CollectorRegistry, case: Outcome
) -> None:
    outcome, backoff, after, _, label, errors, terminal, panics = case
    finished: list[str] = []

    def then(request: Request) -> Result:
        finished.append(reconcile_id())
        return outcome(request)

    reconciler = Scripted(lambda r: Result(requeue_after=999, then=lambda: then(r)))
    with make(reconciler, clock, metrics) as ctrl:  # no hand-off threads: the worker runs it
        handed_off = ctrl._reconcile_handler(REQ)
        assert handed_off is False
        assert finished == reconciler.ids  # the same reconcile, under the same ID
        q = ctrl.queue
        assert q.num_requeues(REQ) == (1 if backoff else 0)
        # Only the last step's result counts: not the outer requeue_after of 999 s.
        assert q.waiting() == (1 if backoff or after else 0)
        assert_outcome_metrics(registry, label, errors, terminal, panics)


@contextlib.contextmanager
def handing_off(
    then: Callable[[Request], Result], clock: FakeClock, metrics: Metrics, *, handoffs: int
) -> Iterator[
    tuple[Controller, Scripted, FakeInformer, threading.Event, threading.Thread, list[Any]]
]:
    """A started controller with one worker whose every reconcile hands ``then`` off to
    ``handoffs`` threads: the controller, its reconciler and informer, the stop event, the
    thread running ``start`` and what ``start`` raised."""
    reconciler = Scripted(lambda r: Result(then=lambda: then(r)))
    informer = FakeInformer()
    with make(
        reconciler, clock, metrics, max_concurrent_reconciles=1, max_concurrent_handoffs=handoffs
    ) as ctrl:
        ctrl.watch(informer, EnqueueRequestForObject)
        stop = threading.Event()
        thread, raised = run(ctrl, stop)
        yield ctrl, reconciler, informer, stop, thread, raised


def test_hand_offs_wait_side_by_side_while_the_worker_moves_on(
    clock: FakeClock, metrics: Metrics, registry: CollectorRegistry
) -> None:
    release = threading.Event()
    lock = threading.Lock()
    waiting: list[str] = []
    finished: list[str] = []
    ids: list[tuple[str, str]] = []

    def then(request: Request) -> Result:
        with lock:
            waiting.append(request.name)
            ids.append((request.name, reconcile_id()))
        release.wait(10)
        with lock:
            finished.append(request.name)
        return Result(requeue_after=60)

    with handing_off(then, clock, metrics, handoffs=3) as started:
        ctrl, reconciler, informer, stop, thread, raised = started
        for name in ("a", "b", "c", "d"):
            informer.emit_add(name)
        # One worker, three hand-off threads: three last steps wait at once...
        wait_for(lambda: sorted(waiting) == ["a", "b", "c"])
        # ...and the worker reconciled the fourth, whose last step waits for a free thread.
        wait_for(lambda: len(reconciler.calls) == 4)
        time.sleep(0.05)
        assert sorted(waiting) == ["a", "b", "c"]
        # A request whose last step is still running is not reconciled again meanwhile.
        informer.emit_add("a")
        time.sleep(0.05)
        assert [r.name for r in reconciler.calls].count("a") == 1
        assert ctrl.queue.num_requeues(Request("ns", "a")) == 0
        release.set()
        wait_for(lambda: {"a", "b", "c", "d"} <= set(finished))
        wait_for(lambda: [r.name for r in reconciler.calls].count("a") == 2)
        # Each last step ran under its own reconcile's ID.
        wait_for(lambda: len(ids) == 5)
        calls = zip(reconciler.calls, reconciler.ids, strict=True)
        assert set(ids) == {(r.name, i) for r, i in calls}
        stop.set()
        thread.join(10)
        assert not thread.is_alive() and raised == []
        assert ctrl.queue.waiting() >= 4  # each last step's requeue_after was applied
        total = sample(
            registry, "controller_runtime_reconcile_total", controller=NAME, result="requeue_after"
        )
        assert total == 5 or total == 4  # the second pass of "a" may finish before stop


def test_a_full_backlog_holds_the_worker_until_it_drains_then_lets_a_burst_through(
    clock: FakeClock, metrics: Metrics
) -> None:
    """One worker, two hand-off threads: the backlog holds 2 x 2 + 1 = 5 last steps and opens
    again at 2 + 1 = 3. "a" and "b" run, "c"-"e" wait, the worker reconciles "f" and waits with
    it; one finished step is not enough to let it on, the second is: then it queues "f",
    reconciles "g" and "h" and waits again. Every step runs on a hand-off thread."""
    names = "abcdefghij"
    releases = {name: threading.Event() for name in names}
    lock = threading.Lock()
    running: list[str] = []
    threads: dict[str, str] = {}

    def then(request: Request) -> Result:
        with lock:
            running.append(request.name)
            threads[request.name] = threading.current_thread().name
        releases[request.name].wait(10)
        return Result()

    def reconciled() -> int:
        time.sleep(0.1)  # room for one reconcile too many to show
        return len(reconciler.calls)

    with handing_off(then, clock, metrics, handoffs=2) as started:
        _, reconciler, informer, stop, thread, raised = started
        for name in names:
            informer.emit_add(name)
        try:
            wait_for(lambda: len(reconciler.calls) == 6)
            assert reconciled() == 6 and sorted(running) == ["a", "b"]
            releases["a"].set()
            wait_for(lambda: "c" in running)
            assert reconciled() == 6  # 4 pending: above the mark, the worker still waits
            releases["b"].set()
            wait_for(lambda: len(reconciler.calls) == 8)
            assert reconciled() == 8  # "f" and "g" queued, "h" waits with the worker
        finally:
            for release in releases.values():
                release.set()
        wait_for(lambda: sorted(running) == list(names))
        stop.set()
        thread.join(10)
        assert not thread.is_alive() and raised == []
    assert all("worker" not in name for name in threads.values())


def test_stop_lets_queued_hand_offs_finish(clock: FakeClock, metrics: Metrics) -> None:
    entered, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def then(request: Request) -> Result:
        entered.set()
        release.wait(10)
        finished.append(request.name)
        return Result()

    with handing_off(then, clock, metrics, handoffs=2) as started:
        _, _, informer, stop, thread, raised = started
        informer.emit_add("slow")
        assert entered.wait(5)
        stop.set()
        time.sleep(0.1)
        assert thread.is_alive()  # start() waits for the hand-off, as for a running reconcile
        release.set()
        thread.join(10)
        assert not thread.is_alive() and raised == []
        assert finished == ["slow"]
