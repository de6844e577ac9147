"""The shared informer: dispatch off the watch thread, late handlers, transform, has_synced."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from manager.clock import FakeClock
from manager.informer import LAST_APPLIED_ANNOTATION, SharedInformer, strip_bulky_fields
from manager.scheme import JOBS
from manager.store import Encoded, key_of
from tests.unit.manager.reflectorfake import FakeListWatcher, item, page


class Recorder:
    def __init__(self, gate: threading.Event | None = None) -> None:
        self.events: list[tuple[str, str]] = []
        self.threads: set[str] = set()
        self.gate = gate
        self.cond = threading.Condition()

    def _record(self, kind: str, obj: dict[str, Any]) -> None:
        if self.gate is not None:
            self.gate.wait(30)
        with self.cond:
            self.events.append((kind, key_of(obj)))
            self.threads.add(threading.current_thread().name)
            self.cond.notify_all()

    def on_add(self, obj: dict[str, Any]) -> None:
        self._record("add", obj)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._record("update", new)

    def on_delete(self, obj: dict[str, Any]) -> None:
        self._record("delete", obj)

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[str, str]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.events) >= count, timeout), self.events
            return list(self.events)


def informer(fake: FakeListWatcher) -> SharedInformer:
    return SharedInformer(fake, JOBS, clock=FakeClock())


def test_slow_handler_never_blocks_the_watch_or_other_handlers() -> None:
    fake = FakeListWatcher()
    inf = informer(fake)
    gate = threading.Event()
    slow, fast = Recorder(gate), Recorder()
    inf.add_event_handler(slow)
    inf.add_event_handler(fast)
    stop = threading.Event()
    thread = threading.Thread(target=inf.start, args=(stop,))
    thread.start()
    try:
        # Drive the sink as the reflector thread would: 5000 changes while ``slow`` is stuck.
        inf.replace([item("a", "1")], "1")
        started = time.monotonic()
        for i in range(2, 5002):
            inf.apply("MODIFIED", item("a", str(i)))
        elapsed = time.monotonic() - started
        assert elapsed < 5.0
        assert len(fast.wait_for(5001)) == 5001  # the other handler kept going
        assert slow.events == []
        assert inf.pending_notifications() >= 5000  # buffered, not blocking
        gate.set()
        assert slow.wait_for(5001)[-1] == ("update", "ns/a")
        assert all(name.startswith("informer-") for name in slow.threads | fast.threads)
        assert threading.current_thread().name not in slow.threads
    finally:
        gate.set()
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_has_synced_after_first_list_and_late_handler_gets_synthetic_adds() -> None:
    fake = FakeListWatcher()
    fake.lists.append(page([item("a", "1"), item("b", "2")], "5"))
    inf = informer(fake)
    early = Recorder()
    inf.add_event_handler(early)
    assert not inf.has_synced()
    stop = threading.Event()
    thread = threading.Thread(target=inf.start, args=(stop,))
    thread.start()
    try:
        assert inf.wait_for_sync(10)
        assert sorted(early.wait_for(2)) == [("add", "ns/a"), ("add", "ns/b")]
        late = Recorder()
        inf.add_event_handler(late)
        assert sorted(late.wait_for(2)) == [("add", "ns/a"), ("add", "ns/b")]
        inf.apply("DELETED", item("a", "6"))
        assert late.wait_for(3)[2] == ("delete", "ns/a")
        assert early.wait_for(3)[2] == ("delete", "ns/a")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_relist_delivers_only_the_difference() -> None:
    inf = informer(FakeListWatcher())
    rec = Recorder()
    inf.add_event_handler(rec)
    stop = threading.Event()
    thread = threading.Thread(target=inf.start, args=(stop,))
    thread.start()
    try:
        inf.replace([item("a", "1"), item("b", "2"), item("c", "3")], "3")
        rec.wait_for(3)
        inf.replace([item("a", "1"), item("c", "9"), item("d", "10")], "10")
        events = rec.wait_for(6)[3:]
        assert sorted(events) == [("add", "ns/d"), ("delete", "ns/b"), ("update", "ns/c")]
    finally:
        stop.set()
        thread.join(10)


def test_transform_drops_bulky_fields_and_stored_objects_are_never_mutated() -> None:
    inf = informer(FakeListWatcher())
    full = item("a", "1")
    full["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    full["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: "{}", "keep": "me"}
    inf.replace([full], "1")
    stored = inf.store.get("ns/a")
    assert stored is not None
    assert "managedFields" not in stored["metadata"]
    assert stored["metadata"]["annotations"] == {"keep": "me"}
    assert stored["kind"] == "Job" and stored["apiVersion"] == "batch/v1"
    inf.apply("MODIFIED", item("a", "2"))
    assert stored["metadata"]["resourceVersion"] == "1"  # the old dict is untouched
    only_last = {"metadata": {"annotations": {LAST_APPLIED_ANNOTATION: "{}"}}}
    assert strip_bulky_fields(only_last) == {"metadata": {}}


def test_handler_exception_is_logged_and_dispatch_continues() -> None:
    inf = informer(FakeListWatcher())

    class Boom(Recorder):
        def on_add(self, obj: dict[str, Any]) -> None:
            super().on_add(obj)
            raise RuntimeError("handler bug")

    rec = Boom()
    inf.add_event_handler(rec)
    stop = threading.Event()
    thread = threading.Thread(target=inf.start, args=(stop,))
    thread.start()
    try:
        inf.replace([item("a", "1"), item("b", "1")], "1")
        assert len(rec.wait_for(2)) == 2
    finally:
        stop.set()
        thread.join(10)


def test_watched_objects_share_strings_unless_the_transform_owns_that() -> None:
    """By default a watch event's object is rebuilt with shared strings; an informer whose
    transform already shares them (``share_watched=False``) stores the transform's result."""
    shared = informer(FakeListWatcher())
    # Decoded separately, as two watch lines are: equal strings, distinct objects.
    shared.apply("ADDED", json.loads(json.dumps(item("a", "1"))))
    shared.apply("ADDED", json.loads(json.dumps(item("b", "1"))))
    a, b = shared.store.get("ns/a"), shared.store.get("ns/b")
    assert a is not None and b is not None
    assert a["metadata"]["namespace"] is b["metadata"]["namespace"]

    produced: list[dict[str, Any]] = []

    def own_transform(obj: dict[str, Any]) -> dict[str, Any]:
        produced.append(obj)
        return obj

    owned = SharedInformer(FakeListWatcher(), JOBS, clock=FakeClock(), transform=own_transform,
                           share_watched=False)  # fmt: skip
    owned.apply("ADDED", item("c", "1"))
    assert owned.store.get("ns/c") is produced[0]


class Keeper(Recorder):
    """Records the objects themselves (old and new of an update)."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: list[tuple[str, Any, Any]] = []

    def on_add(self, obj: dict[str, Any]) -> None:
        self.objects.append(("add", obj, None))
        super().on_add(obj)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.objects.append(("update", old, new))
        super().on_update(old, new)

    def on_delete(self, obj: dict[str, Any]) -> None:
        self.objects.append(("delete", obj, None))
        super().on_delete(obj)


def cached(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` as the Job informer keeps it (default transform, apiVersion and kind set)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        **strip_bulky_fields(json.loads(json.dumps(obj))),
    }


def test_a_compact_relist_hands_handlers_whole_objects_and_indexes_them() -> None:
    """A compact informer keeps what the reflector lists encoded from the first page on
    (prepare), yet every handler still gets the whole transformed object, and the store's
    reads and indexes answer as for dicts."""
    inf = SharedInformer(FakeListWatcher(), JOBS, clock=FakeClock(), compact=True)
    keeper = Keeper()
    inf.add_event_handler(keeper)
    stop = threading.Event()
    thread = threading.Thread(target=inf.start, args=(stop,))
    thread.start()
    try:
        listed = [item("a", "1"), item("b", "2")]
        listed[0]["metadata"]["managedFields"] = [{"manager": "kubectl"}]
        expected = [cached(o) for o in listed]
        prepared = [inf.prepare(json.loads(json.dumps(o))) for o in listed]
        assert all(isinstance(p, Encoded) for p in prepared)
        inf.replace(prepared, "2", prepared=True)
        keeper.wait_for(2)
        assert [(k, a) for k, a, _ in keeper.objects] == [("add", o) for o in expected]
        assert inf.store.list() == expected
        changed = item("b", "3")
        inf.replace([inf.prepare(json.loads(json.dumps(changed)))], "3", prepared=True)
        keeper.wait_for(4)  # the update of b and the deletion of a
        assert ("delete", expected[0], None) in keeper.objects
        update = next(o for o in keeper.objects if o[0] == "update")
        assert update[1:] == (expected[1], cached(changed))
        assert inf.store.get("ns/b") == cached(changed) and inf.store.get("ns/a") is None
        # Watch events: stored encoded, handed over whole.
        inf.apply("MODIFIED", json.loads(json.dumps(item("b", "4"))))
        inf.apply("ADDED", json.loads(json.dumps(item("c", "5"))))
        keeper.wait_for(6)
        assert keeper.objects[-2:] == [
            ("update", cached(changed), cached(item("b", "4"))),
            ("add", cached(item("c", "5")), None),
        ]
        assert inf.store.list() == [cached(item("b", "4")), cached(item("c", "5"))]
    finally:
        stop.set()
        thread.join(10)


class Keeping(Recorder):
    """Also keeps the objects it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.added: list[dict[str, Any]] = []

    def on_add(self, obj: dict[str, Any]) -> None:
        self.added.append(obj)
        super().on_add(obj)


def test_an_inline_handler_runs_on_the_watch_thread_in_store_order_with_the_event_object() -> None:
    inf = SharedInformer(FakeListWatcher(), JOBS, clock=FakeClock(), compact=True)
    inline, threaded = Keeping(), Recorder()
    inf.add_event_handler(inline, inline=True)
    inf.add_event_handler(threaded)
    stop = threading.Event()
    thread = threading.Thread(target=inf.start, args=(stop,))
    thread.start()
    try:
        inf.replace([item("a", "1")], "1")
        watched = item("b", "2")
        inf.apply("ADDED", watched)
        inf.apply("MODIFIED", item("a", "3"))
        inf.apply("DELETED", item("b", "4"))
        # Delivered before apply() returned, on the thread that applied the change.
        assert inline.events == [("add", "ns/a"), ("add", "ns/b"), ("update", "ns/a"),
                                 ("delete", "ns/b")]  # fmt: skip
        assert inline.threads == {threading.current_thread().name}
        assert inline.added[1] is watched  # the watch event's own dict, not a second decoding
        assert threaded.wait_for(4) == inline.events
        assert inf.pending_notifications() == 0
        late = Recorder()
        inf.add_event_handler(late, inline=True)  # at once: an add per stored object
        assert late.events == [("add", "ns/a")]
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_an_inline_handler_that_raises_is_logged_and_the_watch_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inf = informer(FakeListWatcher())
    rec = Recorder()

    class Broken:
        def on_add(self, obj: dict[str, Any]) -> None:
            raise RuntimeError("boom")

        def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
            raise RuntimeError("boom")

        def on_delete(self, obj: dict[str, Any]) -> None:
            raise RuntimeError("boom")

    inf.add_event_handler(Broken(), inline=True)
    inf.add_event_handler(rec, inline=True)
    inf.replace([item("a", "1")], "1")
    inf.apply("ADDED", item("b", "2"))
    assert rec.events == [("add", "ns/a"), ("add", "ns/b")]
    assert caplog.text.count("event handler failed") == 2
