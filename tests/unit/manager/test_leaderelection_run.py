"""The elector's run loop on a FakeClock: acquire, renew, loss, release, callbacks.

The elector runs on a thread; the test steps fake time in small increments and waits (bounded,
in real time) for the thread to react. Times recorded by callbacks can only be later than the
elector's decision, so "stopped before the lease expired" assertions are conservative.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from manager.clock import FakeClock
from manager.errors import ServerError
from manager.leaderelection import LeaderCallbacks, LeaderElectionConfig, LeaderElector
from manager.leaselock import LeaderElectionRecord, format_micro_time
from tests.unit.manager.leasefake import FakeLeaseStore

ME = "me"
TIMINGS = {"lease_duration": 15.0, "renew_deadline": 10.0, "retry_period": 2.0}


@dataclass
class Recorder:
    """Records callback activity with fake timestamps."""

    clock: FakeClock
    started: threading.Event = field(default_factory=threading.Event)
    work_stopped_at: datetime | None = None
    stopped_leading: threading.Event = field(default_factory=threading.Event)
    new_leaders: list[str] = field(default_factory=list)
    work_stop: threading.Event | None = None

    def on_started_leading(self, stop: threading.Event) -> None:
        self.work_stop = stop
        self.started.set()
        stop.wait(30)
        self.work_stopped_at = self.clock.now()

    def callbacks(self) -> LeaderCallbacks:
        return LeaderCallbacks(
            on_started_leading=self.on_started_leading,
            on_stopped_leading=self.stopped_leading.set,
            on_new_leader=self.new_leaders.append,
        )


def drive(clock: FakeClock, until: Callable[[], bool], *, step: float = 0.05) -> None:
    """Step fake time until ``until()`` holds; fail after 10 real seconds. Time moves only
    while the elector is blocked on the clock, so a descheduled elector thread never sees a
    lease expire that it would have renewed in time."""
    deadline = time.monotonic() + 10
    while not until():
        assert time.monotonic() < deadline, "condition not reached"
        if clock.blocked():
            clock.step(step)
        time.sleep(0.002)


@contextmanager
def running(elector: LeaderElector, stop: threading.Event) -> Iterator[threading.Thread]:
    thread = threading.Thread(target=elector.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive()


def make(
    store: FakeLeaseStore, clock: FakeClock, rec: Recorder, **overrides: object
) -> LeaderElector:
    cfg = LeaderElectionConfig(namespace="ns", name="lease", identity=ME, **TIMINGS, **overrides)  # type: ignore[arg-type]
    return LeaderElector(None, cfg, clock, rec.callbacks(), lock=store.lock(ME))


def test_acquires_renews_and_releases_after_work_stopped() -> None:
    clock, store = FakeClock(), FakeLeaseStore()
    rec = Recorder(clock)
    stop = threading.Event()
    elector = make(store, clock, rec)
    with running(elector, stop) as thread:
        drive(clock, rec.started.is_set)
        assert elector.is_leader()
        writes_before = len(store.writes)
        start = clock.monotonic()
        drive(clock, lambda: clock.monotonic() - start > 7)
        # Renewed about every retry period (2 s) over 7 s.
        assert 3 <= len(store.writes) - writes_before <= 4
        stop.set()
        thread.join(10)
    assert rec.stopped_leading.is_set()
    assert rec.work_stopped_at is not None
    assert store.record is not None and store.record.holder_identity == ""
    assert store.record.lease_duration_seconds == 1
    assert not elector.lost_leadership()
    assert rec.new_leaders[0] == ME


def test_renewal_failures_stop_work_before_the_lease_expires() -> None:
    clock, store = FakeClock(), FakeLeaseStore()
    rec = Recorder(clock)
    elector = make(store, clock, rec)
    stop = threading.Event()
    with running(elector, stop) as thread:
        drive(clock, rec.started.is_set)
        last = store.writes[-1][1]
        unavailable = ServerError("503: down", status=503)
        store.fail_next("update", unavailable, times=1000)
        store.fail_next("get", unavailable, times=1000)
        drive(clock, rec.stopped_leading.is_set)
        thread.join(10)
        assert not thread.is_alive(), "run returns on an unrequested loss"
    assert elector.lost_leadership()
    assert rec.work_stopped_at is not None
    expires = datetime.fromisoformat(last.renew_time.replace("Z", "+00:00"))
    lease_end = expires.timestamp() + TIMINGS["lease_duration"]
    assert rec.work_stopped_at.timestamp() < lease_end - 2, "stopped well before expiry"
    # No release attempt after a loss: the last write is still our last renewal.
    assert store.writes[-1][1].holder_identity == ME


def test_takeover_by_another_holder_stops_at_next_renewal() -> None:
    clock, store = FakeClock(), FakeLeaseStore()
    rec = Recorder(clock)
    elector = make(store, clock, rec)
    stop = threading.Event()
    with running(elector, stop) as thread:
        drive(clock, rec.started.is_set)
        intruder = store.lock("intruder")
        intruder.get()
        intruder.update(LeaderElectionRecord.for_holder("intruder", 15, clock.now()))
        taken_at = clock.monotonic()
        drive(clock, rec.stopped_leading.is_set)
        assert clock.monotonic() - taken_at <= TIMINGS["retry_period"] + 0.5
        thread.join(10)
    assert elector.lost_leadership()
    assert "intruder" in rec.new_leaders
    assert store.record is not None and store.record.holder_identity == "intruder"


def test_standby_waits_for_expiry_then_takes_over() -> None:
    clock = FakeClock()
    store = FakeLeaseStore(
        LeaderElectionRecord("dead", 15, "t0", format_micro_time(clock.now()), 3)
    )
    rec = Recorder(clock)
    elector = make(store, clock, rec)
    stop = threading.Event()
    with running(elector, stop):
        drive(clock, lambda: bool(rec.new_leaders))
        seen_at = clock.monotonic()
        assert rec.new_leaders == ["dead"]
        drive(clock, rec.started.is_set)
        waited = clock.monotonic() - seen_at
        # Lease (15 s) plus at most one jittered retry (2 s + up to 2.4 s).
        assert 15 - 1e-6 <= waited <= 15 + 2 + 2.4 + 0.5  # float sums of fake-clock steps
        assert store.record is not None and store.record.leader_transitions == 4


def test_stop_while_acquiring_never_leads() -> None:
    clock = FakeClock()
    store = FakeLeaseStore(LeaderElectionRecord("other", 15, "t0", "t1", 0))
    rec = Recorder(clock)
    elector = make(store, clock, rec)
    stop = threading.Event()
    with running(elector, stop) as thread:
        drive(clock, lambda: bool(rec.new_leaders))
        stop.set()
        thread.join(10)
    assert rec.stopped_leading.is_set()
    assert not rec.started.is_set()
    assert store.writes == []


@pytest.mark.parametrize("release", [True, False])
def test_release_on_cancel_flag(release: bool) -> None:
    clock, store = FakeClock(), FakeLeaseStore()
    rec = Recorder(clock)
    elector = make(store, clock, rec, release_on_cancel=release)
    stop = threading.Event()
    with running(elector, stop):
        drive(clock, rec.started.is_set)
    assert store.record is not None
    assert (store.record.holder_identity == "") is release


def test_disable_release_keeps_the_lease_on_stop() -> None:
    clock, store = FakeClock(), FakeLeaseStore()
    rec = Recorder(clock)
    elector = make(store, clock, rec)
    stop = threading.Event()
    with running(elector, stop):
        drive(clock, rec.started.is_set)
        elector.disable_release()
    assert rec.stopped_leading.is_set()
    assert store.record is not None and store.record.holder_identity == ME
    assert not elector.lost_leadership()
