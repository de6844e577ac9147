"""The reflector's state machine against a scripted list/watch source and a FakeClock."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from manager.clock import FakeClock
from manager.errors import Cause, Gone, ServerError, TooManyRequests, TransportError
from manager.reflector import (
    DEFAULT_PAGE_SIZE,
    Backoff,
    Reflector,
    ReflectorOptions,
)
from manager.store import Store, key_of
from tests.unit.manager.reflectorfake import FakeListWatcher, drive, item, page


class RecordingSink:
    def __init__(self) -> None:
        self.store = Store()
        self.log: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def prepare(self, obj: dict[str, Any]) -> dict[str, Any]:
        return obj

    def replace(
        self, objs: list[dict[str, Any]], resource_version: str, *, prepared: bool = False
    ) -> None:
        with self.lock:
            for change in self.store.replace(objs, resource_version):
                self.log.append((change.kind, key_of(change.new or change.old or {})))

    def apply(self, type_: str, obj: dict[str, Any]) -> None:
        with self.lock:
            if type_ == "DELETED":
                self.store.delete(obj)
            else:
                self.store.update(obj)
            self.log.append((type_, key_of(obj)))


class RecordingClock(FakeClock):
    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        self.sleeps.append(seconds)
        return super().sleep(seconds, stop)


def ev(type_: str, name: str, rv: str) -> dict[str, Any]:
    return {"type": type_, "object": item(name, rv)}


def bookmark(rv: str) -> dict[str, Any]:
    return {"type": "BOOKMARK", "object": {"kind": "Job", "metadata": {"resourceVersion": rv}}}


def gone_event() -> dict[str, Any]:
    return {"type": "ERROR", "object": {"kind": "Status", "status": "Failure",
            "reason": "Expired", "message": "too old resource version", "code": 410}}  # fmt: skip


@pytest.fixture
def env() -> Iterator[tuple[FakeListWatcher, RecordingSink, RecordingClock, Reflector]]:
    fake, sink, clock = FakeListWatcher(), RecordingSink(), RecordingClock()
    options = ReflectorOptions(rng=random.Random(7))
    reflector = Reflector(fake, "/apis/batch/v1/jobs", sink, clock=clock, options=options)
    stop = threading.Event()
    thread = threading.Thread(target=reflector.run, args=(stop,), daemon=True)
    # Started by each test after scripting, through the ``start`` attribute.
    reflector.start_for_test = thread.start  # type: ignore[attr-defined]
    yield fake, sink, clock, reflector
    stop.set()
    reflector.abort()
    thread.join(10)
    assert not thread.is_alive()


def test_lists_then_watches_from_the_list_resource_version(env: Any) -> None:
    fake, sink, clock, reflector = env
    fake.lists.append(page([item("a", "3"), item("b", "4")], "10"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 1, step=0)
    query, read_timeout = fake.watch_queries[0]
    # The first list asks for any version (the watch cache's), paged as client-go's pager.
    assert fake.list_queries == [{"resourceVersion": "0", "limit": DEFAULT_PAGE_SIZE}]
    assert query["resourceVersion"] == "10"
    assert query["allowWatchBookmarks"] is True
    timeout = query["timeoutSeconds"]
    assert isinstance(timeout, int) and 300 <= timeout < 600
    assert timeout < read_timeout <= timeout + 60  # a stalled stream is detected
    assert sorted(sink.store.keys()) == ["ns/a", "ns/b"]


def test_paginated_list_is_stitched_together(env: Any) -> None:
    fake, sink, clock, reflector = env
    fake.lists.append(page([item("a", "3")], "10", cont="tok"))
    fake.lists.append(page([item("b", "4")], "10"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 1, step=0)
    assert fake.list_queries[1] == {
        "resourceVersion": "0",
        "limit": DEFAULT_PAGE_SIZE,
        "continue": "tok",
    }
    assert sorted(sink.store.keys()) == ["ns/a", "ns/b"]
    assert sink.log == [("add", "ns/a"), ("add", "ns/b")]  # replaced once, with both pages


def test_each_page_is_prepared_before_the_next_is_fetched() -> None:
    """The sink trims a page's objects (``prepare``) before the next page is decoded, so a
    list of 10,000 full Jobs never lives in memory at once; ``replace`` is told so."""
    fake, clock = FakeListWatcher(), RecordingClock()
    prepared_when: list[tuple[str, int]] = []
    replaced: list[bool] = []

    class PagingSink(RecordingSink):
        def prepare(self, obj: dict[str, Any]) -> dict[str, Any]:
            prepared_when.append((obj["metadata"]["name"], len(fake.list_queries)))
            return obj

        def replace(
            self, objs: list[dict[str, Any]], resource_version: str, *, prepared: bool = False
        ) -> None:
            replaced.append(prepared)
            super().replace(objs, resource_version, prepared=prepared)

    sink = PagingSink()
    fake.lists.append(page([item("a", "3"), item("b", "4")], "10", cont="tok"))
    fake.lists.append(page([item("c", "5")], "10"))
    reflector = Reflector(fake, "/apis/batch/v1/jobs", sink, clock=clock,
                          options=ReflectorOptions(rng=random.Random(7)))  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=reflector.run, args=(stop,), daemon=True)
    thread.start()
    try:
        drive(clock, lambda: len(fake.watch_queries) == 1, step=0)
    finally:
        stop.set()
        reflector.abort()
        thread.join(10)
    assert prepared_when == [("a", 1), ("b", 1), ("c", 2)]
    assert replaced == [True]
    assert sorted(sink.store.keys()) == ["ns/a", "ns/b", "ns/c"]


def test_expired_continue_token_falls_back_to_a_full_list(env: Any) -> None:
    fake, sink, clock, reflector = env
    fake.lists.append(page([item("a", "3")], "10", cont="tok"))
    fake.lists.append(Gone("continue expired"))
    fake.lists.append(page([item("a", "3"), item("b", "12")], "12"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 1, step=0)
    assert fake.list_queries[2] == {"resourceVersion": "0"}  # no limit, no token
    assert fake.watch_queries[0][0]["resourceVersion"] == "12"
    assert sorted(sink.store.keys()) == ["ns/a", "ns/b"]


def test_a_refused_list_resource_version_is_retried_at_once_as_a_consistent_read(
    env: Any,
) -> None:
    fake, sink, clock, reflector = env
    fake.lists.append(page([item("a", "3")], "10"))
    fake.watches.append([gone_event()])
    # The relist at the last RV: compacted away; then a consistent (paged) list succeeds.
    fake.lists.append(Gone("410: The resourceVersion for the provided list is too old."))
    fake.lists.append(page([item("b", "30")], "31"))
    fake.watches.append([TransportError("reset")])
    fake.lists.append(page([], "40"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 3)
    assert fake.list_queries[1:3] == [
        {"resourceVersion": "10"},
        {"limit": DEFAULT_PAGE_SIZE},  # no RV: the latest, read from etcd
    ]
    assert fake.watch_queries[1][0]["resourceVersion"] == "31"
    assert sorted(sink.store.keys()) == ["ns/b"]
    assert clock.sleeps and 0.8 <= clock.sleeps[0] <= 1.6  # one backoff: the Gone watch's


def test_too_large_resource_version_is_retried_as_a_consistent_read(env: Any) -> None:
    fake, sink, clock, reflector = env
    fake.lists.append(page([], "10"))
    fake.watches.append([gone_event()])
    too_large = ServerError(
        "Too large resource version: 10, current: 9",
        status=504,
        reason="Timeout",
        causes=(Cause(reason="ResourceVersionTooLarge", message="", field=""),),
    )
    fake.lists.append(too_large)
    fake.lists.append(page([item("c", "12")], "12"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 2)
    assert fake.list_queries[1:] == [{"resourceVersion": "10"}, {"limit": DEFAULT_PAGE_SIZE}]
    assert sorted(sink.store.keys()) == ["ns/c"]


def test_other_list_errors_back_off_and_keep_the_resource_version(env: Any) -> None:
    fake, _sink, clock, reflector = env
    fake.lists.append(page([], "10"))
    fake.watches.append([gone_event()])
    fake.lists.append(ServerError("etcdserver: leader changed", status=500))
    fake.lists.append(page([], "12"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 2)
    assert fake.list_queries[1:] == [{"resourceVersion": "10"}, {"resourceVersion": "10"}]


def test_a_paged_first_list_means_no_watch_cache_so_relists_stay_paged(env: Any) -> None:
    fake, sink, clock, reflector = env
    fake.lists.append(page([item("a", "3")], "10", cont="tok"))
    fake.lists.append(page([item("b", "4")], "10"))
    fake.watches.append([gone_event()])
    fake.lists.append(page([item("a", "3")], "20"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 2)
    assert fake.list_queries[2] == {"resourceVersion": "10", "limit": DEFAULT_PAGE_SIZE}
    assert sorted(sink.store.keys()) == ["ns/a"]


def test_resumes_from_last_resource_version_and_bookmarks_move_it(env: Any) -> None:
    fake, sink, clock, reflector = env
    fake.lists.append(page([], "10"))
    fake.watches.append([ev("ADDED", "a", "11"), ev("MODIFIED", "a", "12"), bookmark("15")])
    fake.watches.append([ev("DELETED", "a", "16"), TransportError("connection reset")])
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 3, step=0)
    assert [q["resourceVersion"] for q, _ in fake.watch_queries] == ["10", "15", "16"]
    assert len(fake.list_queries) == 1  # resumed, never relisted
    assert sink.log == [("ADDED", "ns/a"), ("MODIFIED", "ns/a"), ("DELETED", "ns/a")]
    assert reflector.last_sync_resource_version == "16"


def test_gone_relists_and_delivers_deletions_as_last_known_state(env: Any) -> None:
    fake, sink, clock, reflector = env
    fake.lists.append(page([item("a", "3"), item("b", "4"), item("c", "5")], "10"))
    fake.watches.append([ev("MODIFIED", "c", "11"), gone_event()])
    fake.lists.append(page([item("a", "3"), item("c", "20"), item("d", "21")], "22"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 2)
    assert len(fake.list_queries) == 2
    # The relist asks for what was last seen, unpaged: not older than it, from the watch cache.
    assert fake.list_queries[1] == {"resourceVersion": "11"}
    assert fake.watch_queries[1][0]["resourceVersion"] == "22"
    assert sink.log[3] == ("MODIFIED", "ns/c")
    relist = sink.log[4:]
    assert sorted(relist) == [("add", "ns/d"), ("delete", "ns/b"), ("update", "ns/c")]
    assert sorted(sink.store.keys()) == ["ns/a", "ns/c", "ns/d"]
    assert clock.sleeps and 0.8 <= clock.sleeps[0] <= 1.6  # BackoffUntil between list-watches


def test_gone_answer_to_the_watch_request_relists(env: Any) -> None:
    fake, sink, clock, reflector = env
    fake.lists.append(page([item("a", "3")], "10"))
    fake.watches.append([Gone("410: too old resource version")])
    fake.lists.append(page([], "30"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 2)
    assert sink.log == [("add", "ns/a"), ("delete", "ns/a")]
    assert fake.watch_queries[1][0]["resourceVersion"] == "30"


def test_throttled_watch_backs_off_honours_retry_after_and_resumes(env: Any) -> None:
    fake, _sink, clock, reflector = env
    fake.lists.append(page([], "10"))
    fake.watches.append([TooManyRequests("slow down", retry_after=7.0)])
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 2)
    assert clock.sleeps[0] == 7.0  # Retry-After above the 0.8-1.6 s backoff step
    assert fake.watch_queries[1][0]["resourceVersion"] == "10"
    assert len(fake.list_queries) == 1


def test_server_errors_back_off_then_relist(env: Any) -> None:
    fake, sink, clock, reflector = env
    fake.lists.extend([ServerError("boom"), ServerError("boom"), ServerError("boom")])
    fake.lists.append(page([item("a", "3")], "10"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 1, step=0.5)
    assert len(clock.sleeps) == 3
    steps = [0.8, 1.6, 3.2]
    for delay, base in zip(clock.sleeps, steps, strict=True):
        assert base <= delay <= 2 * base
    assert sorted(sink.store.keys()) == ["ns/a"]


def test_very_short_empty_watch_relists_after_backoff(env: Any) -> None:
    fake, _sink, clock, reflector = env
    fake.lists.append(page([], "10"))
    fake.watches.append([])  # closed at once, nothing received
    fake.lists.append(page([], "11"))
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 2)
    assert len(fake.list_queries) == 2
    assert fake.watch_queries[1][0]["resourceVersion"] == "11"


def test_unreachable_watch_backs_off_and_resumes_without_relist(env: Any) -> None:
    fake, _sink, clock, reflector = env
    fake.lists.append(page([], "10"))
    fake.watches.append([TransportError("connection refused")])
    reflector.start_for_test()
    drive(clock, lambda: len(fake.watch_queries) == 2)
    assert len(clock.sleeps) == 1
    assert len(fake.list_queries) == 1


def test_backoff_doubles_to_the_cap_and_resets_after_a_healthy_period() -> None:
    clock = FakeClock()
    backoff = Backoff(clock, ReflectorOptions(rng=random.Random(1)))
    delays = [backoff.next() for _ in range(10)]
    bases = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0, 30.0, 30.0]
    for delay, base in zip(delays, bases, strict=True):
        assert base <= delay <= min(2 * base, 30.0)
    assert max(delays) <= 30.0
    clock.step(121)
    assert 0.8 <= backoff.next() <= 1.6
    clock.step(60)  # not long enough to reset
    assert 1.6 <= backoff.next() <= 3.2


def test_jitter_spreads_delays() -> None:
    clock = FakeClock()
    firsts = {Backoff(clock, ReflectorOptions(rng=random.Random(s))).next() for s in range(20)}
    assert len(firsts) > 10
    assert all(0.8 <= d <= 1.6 for d in firsts)
