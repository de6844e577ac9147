"""The events.k8s.io recorder: aggregation into series, truncation, queueing, retries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from manager.clock import FakeClock
from manager.errors import Forbidden, NotFound, ServerError, TooManyRequests
from manager.events import (
    MAX_DEFER,
    MAX_NOTE_BYTES,
    QUEUE_FULL,
    REFUSED,
    SEND_ATTEMPTS,
    SEND_RETRY_DELAY,
    STOP_FLUSH_TIMEOUT,
    UNSENT_AT_STOP,
    EventRecorder,
    micro_time,
    truncate_note,
)
from tests.unit.manager.reflectorfake import drive

BACKUP = {
    "apiVersion": "dbbackup.io/v1alpha1",
    "kind": "DatabaseBackup",
    "metadata": {"namespace": "ns", "name": "daily", "uid": "u-1", "resourceVersion": "7"},
}


class FakeSink:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.failures: list[Exception] = []
        self.lock = threading.Lock()

    def _call(self, verb: str, path: str, body: Any) -> dict[str, Any]:
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.calls.append((verb, path, body))
        return dict(body) if isinstance(body, Mapping) else {}

    def create(self, path: str, body: Mapping[str, Any], *, decode: bool = True) -> dict[str, Any]:
        return self._call("create", path, dict(body))

    def patch(self, path: str, body: Any, content_type: str = "") -> dict[str, Any]:
        return self._call("patch", path, body)

    def wait_calls(self, n: int, timeout: float = 10) -> list[tuple[str, str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.calls) >= n:
                    return list(self.calls)
            assert time.monotonic() < deadline, self.calls
            threading.Event().wait(0.005)


@pytest.fixture
def env() -> Iterator[tuple[FakeSink, FakeClock, EventRecorder, threading.Event]]:
    sink, clock = FakeSink(), FakeClock()
    recorder = EventRecorder(sink, component="dbbackup-controller", instance="pod-1", clock=clock)
    stop = threading.Event()
    yield sink, clock, recorder, stop
    stop.set()


def run(recorder: EventRecorder, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=recorder.start, args=(stop,), daemon=True)
    thread.start()
    return thread


def test_first_event_is_created_with_every_field(env: Any) -> None:
    sink, _clock, recorder, stop = env
    run(recorder, stop)
    recorder.event(BACKUP, "Normal", "SuccessfulCreate", "Created job daily-1", "Create")
    verb, path, body = sink.wait_calls(1)[0]
    assert (verb, path) == ("create", "/apis/events.k8s.io/v1/namespaces/ns/events")
    assert body["apiVersion"] == "events.k8s.io/v1" and body["kind"] == "Event"
    assert body["metadata"]["namespace"] == "ns"
    assert body["metadata"]["name"].startswith("daily.")
    assert body["regarding"] == {"apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseBackup",
                                 "namespace": "ns", "name": "daily", "uid": "u-1",
                                 "resourceVersion": "7"}  # fmt: skip
    assert body["eventTime"] == "2025-03-27T00:00:00.000000Z"
    assert (body["type"], body["reason"], body["note"], body["action"]) == (
        "Normal", "SuccessfulCreate", "Created job daily-1", "Create")  # fmt: skip
    assert body["reportingController"] == "dbbackup-controller"
    assert body["reportingInstance"] == "pod-1"
    assert "series" not in body


def test_the_bodies_sent_are_exactly_these(env: Any) -> None:
    """The whole request bodies, key order included: the recorder keeps a compact series and
    builds each Event when it sends it, which must not change a byte on the wire."""
    sink, clock, recorder, stop = env
    run(recorder, stop)
    recorder.event(BACKUP, "Normal", "SuccessfulCreate", "Created job daily-1", "Create")
    name = f"daily.{1_743_033_600 * 10**9:x}"  # the first occurrence's Unix nanoseconds
    event = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "ns"},
        "eventTime": "2025-03-27T00:00:00.000000Z",
        "reportingController": "dbbackup-controller",
        "reportingInstance": "pod-1",
        "action": "Create",
        "reason": "SuccessfulCreate",
        "note": "Created job daily-1",
        "type": "Normal",
        "regarding": {"apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseBackup",
                      "namespace": "ns", "name": "daily", "uid": "u-1",
                      "resourceVersion": "7"},
    }  # fmt: skip
    assert json.dumps(sink.wait_calls(1)[0][2]) == json.dumps(event)
    clock.step(2.25)
    recorder.event(BACKUP, "Normal", "SuccessfulCreate", "Created job daily-1", "Create")
    series = {"count": 2, "lastObservedTime": "2025-03-27T00:00:02.250000Z"}
    assert sink.wait_calls(2)[1] == (
        "patch", f"/apis/events.k8s.io/v1/namespaces/ns/events/{name}", {"series": series}
    )  # fmt: skip
    sink.failures = [NotFound("gone")]  # the Event expired: created again, with its series
    clock.step(1.0)
    recorder.event(BACKUP, "Normal", "SuccessfulCreate", "Created job daily-1", "Create")
    verb, path, body = sink.wait_calls(3)[2]
    series = {"count": 3, "lastObservedTime": "2025-03-27T00:00:03.250000Z"}
    assert (verb, path) == ("create", "/apis/events.k8s.io/v1/namespaces/ns/events")
    assert json.dumps(body) == json.dumps({**event, "series": series})


def test_repeats_within_six_minutes_become_series_patches(env: Any) -> None:
    sink, clock, recorder, stop = env
    run(recorder, stop)
    recorder.event(BACKUP, "Warning", "BackupFailed", "boom")
    name = sink.wait_calls(1)[0][2]["metadata"]["name"]
    clock.step(10.5)
    recorder.event(BACKUP, "Warning", "BackupFailed", "boom")
    verb, path, body = sink.wait_calls(2)[1]
    assert (verb, path) == ("patch", f"/apis/events.k8s.io/v1/namespaces/ns/events/{name}")
    assert body == {"series": {"count": 2, "lastObservedTime": "2025-03-27T00:00:10.500000Z"}}
    clock.step(300)  # 5 minutes after the last observation: still the same series
    recorder.event(BACKUP, "Warning", "BackupFailed", "boom")
    assert sink.wait_calls(3)[2][2]["series"]["count"] == 3
    # Another message is another Event.
    recorder.event(BACKUP, "Warning", "BackupFailed", "other")
    assert sink.wait_calls(4)[3][0] == "create"
    clock.step(361)  # the series window has passed: a new Event
    recorder.event(BACKUP, "Warning", "BackupFailed", "boom")
    verb, _, body = sink.wait_calls(5)[4]
    assert verb == "create" and body["metadata"]["name"] != name and "series" not in body


def test_repeats_queued_together_coalesce(env: Any) -> None:
    sink, _clock, recorder, stop = env
    for _ in range(5):
        recorder.event(BACKUP, "Normal", "SawCompletedJob", "Saw completed job")
    run(recorder, stop)
    verb, _, body = sink.wait_calls(1)[0]
    assert verb == "create" and body["series"]["count"] == 5
    threading.Event().wait(0.2)
    assert len(sink.calls) == 1


def test_full_queue_drops_without_blocking_or_raising() -> None:
    recorder = EventRecorder(FakeSink(), component="c", instance="i", clock=FakeClock(),
                             queue_size=2)  # fmt: skip
    started = time.monotonic()
    for i in range(5):
        recorder.event(BACKUP, "Normal", "R", f"m{i}")
    assert time.monotonic() - started < 1.0
    assert recorder.dropped == 3 and recorder.pending() == 2
    recorder.event({"metadata": "not a dict"}, "Normal", "R", "m")  # never raises


def test_note_truncated_to_the_api_limit() -> None:
    assert truncate_note("short") == "short"
    long = "é" * 1000  # 2000 bytes
    cut = truncate_note(long)
    assert len(cut.encode()) <= MAX_NOTE_BYTES and cut.endswith("...")


def test_retryable_errors_are_retried_and_a_vanished_event_is_recreated(env: Any) -> None:
    sink, clock, recorder, stop = env
    sink.failures = [ServerError("busy"), ServerError("busy")]
    run(recorder, stop)
    recorder.event(BACKUP, "Normal", "R", "m")
    drive(clock, lambda: len(sink.calls) >= 1, step=0.5)
    assert sink.calls[0][0] == "create"
    sink.failures = [NotFound("gone")]
    recorder.event(BACKUP, "Normal", "R", "m")
    verb, _, body = sink.wait_calls(2)[1]
    assert verb == "create" and body["series"]["count"] == 2


def test_empty_action_defaults_to_reason_and_cluster_scoped_goes_to_default(env: Any) -> None:
    sink, _clock, recorder, stop = env
    run(recorder, stop)
    recorder.event({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}},
                   "Normal", "Ready", "ok")  # fmt: skip
    _, path, body = sink.wait_calls(1)[0]
    assert path == "/apis/events.k8s.io/v1/namespaces/default/events"
    assert body["action"] == "Ready"


# -- holding events while the foreground is busy ---------------------------------------------


def held_recorder(
    busy: threading.Event, *, queue_size: int = 1000
) -> tuple[FakeSink, FakeClock, EventRecorder]:
    sink, clock = FakeSink(), FakeClock()
    recorder = EventRecorder(
        sink, component="c", instance="i", clock=clock, queue_size=queue_size,
        defer_while=busy.is_set,
    )  # fmt: skip
    return sink, clock, recorder


def test_events_wait_while_the_foreground_is_busy_then_keep_their_time() -> None:
    busy = threading.Event()
    busy.set()
    sink, clock, recorder = held_recorder(busy)
    stop = threading.Event()
    run(recorder, stop)
    try:
        recorder.event(BACKUP, "Normal", "SuccessfulCreate", "Created job daily-1")
        when = micro_time(clock.now())
        for _ in range(20):  # fake time moves, the foreground stays busy: nothing is sent
            clock.step(1.0)
            threading.Event().wait(0.005)
        assert sink.calls == []
        busy.clear()
        drive(clock, lambda: bool(sink.calls), step=0.1)
        body = sink.calls[0][2]
        assert body["reason"] == "SuccessfulCreate" and body["eventTime"] == when
    finally:
        stop.set()


def test_a_held_event_is_sent_after_max_defer_even_if_the_foreground_stays_busy() -> None:
    busy = threading.Event()
    busy.set()
    sink, clock, recorder = held_recorder(busy)
    stop = threading.Event()
    run(recorder, stop)
    try:
        started = clock.monotonic()
        recorder.event(BACKUP, "Normal", "SuccessfulCreate", "Created job daily-1")
        drive(clock, lambda: bool(sink.calls), step=5.0, limit=20)
        waited = clock.monotonic() - started
        assert MAX_DEFER <= waited <= MAX_DEFER + 10
    finally:
        stop.set()


def test_a_nearly_full_queue_is_sent_while_busy_rather_than_dropping() -> None:
    busy = threading.Event()
    busy.set()
    sink, _clock, recorder = held_recorder(busy, queue_size=10)
    stop = threading.Event()
    for i in range(10):  # queued before the sender runs: the queue is full
        recorder.event(BACKUP, "Normal", "R", f"m{i}")
    run(recorder, stop)
    try:
        sink.wait_calls(10)  # the fake clock never moves: only the fill level released them
        assert recorder.dropped == 0
    finally:
        stop.set()


def test_a_failing_busy_predicate_does_not_stall_events() -> None:
    sink, clock = FakeSink(), FakeClock()

    def broken() -> bool:
        raise RuntimeError("bug")

    recorder = EventRecorder(sink, component="c", instance="i", clock=clock, defer_while=broken)
    stop = threading.Event()
    run(recorder, stop)
    try:
        recorder.event(BACKUP, "Normal", "R", "m")
        sink.wait_calls(1)
    finally:
        stop.set()


# -- the sender's retry policy (tenacity) -----------------------------------------------------


class SleepLog(FakeClock):
    """A fake clock whose sleeps return at once and are written down."""

    def __init__(self, stop_after_first: threading.Event | None = None) -> None:
        super().__init__()
        self.slept: list[float] = []
        self._stop = stop_after_first

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        self.slept.append(seconds)
        if self._stop is not None:
            self._stop.set()
        return stop is not None and stop.is_set()


def send_once(
    sink: FakeSink, clock: FakeClock, *, left: int = 0, stop: threading.Event | None = None
) -> None:
    """Record one event and let the sender work on it until it wrote it or only ``left``
    queued failures remain (or ``stop`` was set), then stop the recorder."""
    stop = stop or threading.Event()
    recorder = EventRecorder(sink, component="c", instance="i", clock=clock)
    recorder.event(BACKUP, "Normal", "R", "m")
    thread = run(recorder, stop)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (
        sink.calls or (len(sink.failures) <= left and left) or stop.is_set()
    ):
        threading.Event().wait(0.005)
    stop.set()
    thread.join(10)


def test_retries_wait_half_a_second_doubling() -> None:
    sink, clock = FakeSink(), SleepLog()
    sink.failures = [ServerError("busy"), ServerError("busy")]
    send_once(sink, clock)
    assert [verb for verb, _, _ in sink.calls] == ["create"]
    assert clock.slept == [SEND_RETRY_DELAY, 2 * SEND_RETRY_DELAY]


def test_a_longer_retry_after_is_honoured() -> None:
    sink, clock = FakeSink(), SleepLog()
    sink.failures = [TooManyRequests("slow down", retry_after=3.0)]
    send_once(sink, clock)
    assert len(sink.calls) == 1
    assert clock.slept == [3.0]


def test_an_event_is_dropped_after_the_last_attempt() -> None:
    sink, clock = FakeSink(), SleepLog()
    sink.failures = [ServerError("busy")] * (SEND_ATTEMPTS + 1)
    send_once(sink, clock, left=1)
    assert sink.calls == []
    assert len(sink.failures) == 1  # SEND_ATTEMPTS tries, no more
    assert len(clock.slept) == SEND_ATTEMPTS - 1


def test_stopping_while_waiting_to_retry_drops_the_event_without_another_try() -> None:
    stop = threading.Event()
    sink, clock = FakeSink(), SleepLog(stop_after_first=stop)
    sink.failures = [ServerError("busy"), ServerError("busy")]
    send_once(sink, clock, left=1, stop=stop)
    assert sink.calls == []
    assert len(sink.failures) == 1  # one try, then the stop


# -- nothing lost silently: counted (on_drop, the Manager's metric) and logged ---------------


class Drops:
    def __init__(self) -> None:
        self.by_reason: dict[str, int] = {}

    def __call__(self, reason: str, count: int) -> None:
        self.by_reason[reason] = self.by_reason.get(reason, 0) + count


def test_a_full_queue_counts_every_drop_and_logs_them(caplog: pytest.LogCaptureFixture) -> None:
    drops = Drops()
    recorder = EventRecorder(FakeSink(), component="c", instance="i", clock=FakeClock(),
                             queue_size=2, on_drop=drops)  # fmt: skip
    with caplog.at_level("WARNING", logger="manager.events"):
        for i in range(1002):
            recorder.event(BACKUP, "Normal", "R", f"m{i}")
    assert drops.by_reason == {QUEUE_FULL: 1000} and recorder.dropped == 1000
    # A herd overflowing the queue logs its first drop, not a thousand lines...
    lines = [r for r in caplog.records if r.getMessage() == "dropping events"]
    assert len(lines) == 1 and lines[0].dropped == 1  # type: ignore[attr-defined]
    # ...and the rest once the sender stops.
    caplog.clear()
    stop = threading.Event()
    stop.set()
    with caplog.at_level("WARNING", logger="manager.events"):
        recorder.start(stop)
    summary = [r for r in caplog.records if r.getMessage() == "dropped events"]
    assert [(r.reason, r.dropped) for r in summary] == [(QUEUE_FULL, 999)]  # type: ignore[attr-defined]


def test_events_queued_at_stop_are_sent_not_discarded() -> None:
    sink, drops = FakeSink(), Drops()
    # The foreground stays busy: the sender holds everything it takes until it is stopped.
    recorder = EventRecorder(sink, component="c", instance="i", clock=FakeClock(),
                             defer_while=lambda: True, on_drop=drops)  # fmt: skip
    for i in range(250):
        backup = {**BACKUP, "metadata": {"namespace": "ns", "name": f"b{i}", "uid": f"u-{i}"}}
        recorder.event(backup, "Normal", "SuccessfulCreate", f"Created job b{i}-1")
    stop = threading.Event()
    thread = run(recorder, stop)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert len(sink.calls) == 250 and drops.by_reason == {} and recorder.pending() == 0


class SlowSink(FakeSink):
    """Each write takes one second of the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def create(self, path: str, body: Mapping[str, Any], *, decode: bool = True) -> dict[str, Any]:
        self.clock.step(1.0)
        return super().create(path, body)


def test_what_the_stop_flush_cannot_send_in_time_is_counted() -> None:
    clock = FakeClock()
    sink, drops = SlowSink(clock), Drops()
    recorder = EventRecorder(sink, component="c", instance="i", clock=clock,
                             defer_while=lambda: True, on_drop=drops)  # fmt: skip
    total = 3 * int(STOP_FLUSH_TIMEOUT)
    for i in range(total):
        recorder.event(BACKUP, "Normal", "R", f"m{i}")
    stop = threading.Event()
    stop.set()
    recorder.start(stop)
    sent = len(sink.calls)
    assert sent == int(STOP_FLUSH_TIMEOUT)
    assert drops.by_reason == {UNSENT_AT_STOP: total - sent}
    assert recorder.dropped == total - sent


def test_a_refused_event_is_counted() -> None:
    sink, clock, drops = FakeSink(), SleepLog(), Drops()
    sink.failures = [Forbidden("events is forbidden")]
    recorder = EventRecorder(sink, component="c", instance="i", clock=clock, on_drop=drops)
    recorder.event(BACKUP, "Normal", "R", "m")
    stop = threading.Event()
    thread = run(recorder, stop)
    deadline = time.monotonic() + 10
    while not drops.by_reason and time.monotonic() < deadline:
        threading.Event().wait(0.005)
    stop.set()
    thread.join(10)
    assert drops.by_reason == {REFUSED: 1} and sink.calls == []
