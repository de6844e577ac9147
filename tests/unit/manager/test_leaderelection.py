"""client-go's ``TryAcquireOrRenew`` table, release, and config validation, on a FakeClock.

Ported from ``tools/leaderelection/leaderelection_test.go`` (``testTryAcquireOrRenew``,
``TestReleaseLease``, ``TestNewLeaderElector`` validation). The store is an in-memory lock with
the API's optimistic concurrency (client-go uses a fake clientset the same way); the same
table runs against the emulator's real Lease endpoint in the integration suite.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from manager.clock import FakeClock
from manager.errors import Conflict, ServerError
from manager.leaderelection import (
    LeaderCallbacks,
    LeaderElectionConfig,
    LeaderElectionUnhealthy,
    LeaderElector,
    _Observed,
    default_identity,
)
from manager.leaselock import LeaderElectionRecord, ResourceLock, format_micro_time
from tests.unit.manager.leasefake import FakeLeaseStore

ME = "baz"
OTHER = "bing"
LEASE = 10.0  # seconds, as upstream's table


def config(
    identity: str = ME,
    *,
    lease_duration: float = LEASE,
    renew_deadline: float = 5.0,
    retry_period: float = 2.0,
) -> LeaderElectionConfig:
    return LeaderElectionConfig(
        namespace="default",
        name="lease",
        identity=identity,
        lease_duration=lease_duration,
        renew_deadline=renew_deadline,
        retry_period=retry_period,
    )


def noop_callbacks() -> LeaderCallbacks:
    return LeaderCallbacks(on_started_leading=lambda stop: None, on_stopped_leading=lambda: None)


def held_by(holder: str, transitions: int = 0, duration: int = int(LEASE)) -> LeaderElectionRecord:
    return LeaderElectionRecord(
        holder_identity=holder,
        lease_duration_seconds=duration,
        acquire_time="2025-03-26T23:00:00.000000Z",
        renew_time="2025-03-26T23:59:00.000000Z",
        leader_transitions=transitions,
    )


@dataclass(frozen=True)
class Case:
    """One row: what is stored, what we observed earlier and how long ago (``None`` = never)."""

    name: str
    stored: LeaderElectionRecord | None
    observed: LeaderElectionRecord | None
    observed_age: float | None
    expect_success: bool
    transition: bool
    out_holder: str


CASES = [
    Case("acquire from no object", None, None, None, True, False, ME),
    Case(
        "acquire from led object with the lease duration seconds",
        held_by(OTHER, duration=3),
        held_by(OTHER, duration=3),
        3.0,
        True,
        True,
        ME,
    ),
    Case("acquire from unled object", held_by(""), None, None, True, True, ME),
    Case(
        "acquire from led, unacked object",
        held_by(OTHER),
        held_by(OTHER),
        LEASE + 1,
        True,
        True,
        ME,
    ),
    Case("acquire from empty led, acked object", held_by(""), held_by(""), 0.0, True, True, ME),
    Case(
        "don't acquire from led, acked object",
        held_by(OTHER),
        held_by(OTHER),
        0.0,
        False,
        False,
        OTHER,
    ),
    Case(
        "don't acquire from led object never observed before",
        held_by(OTHER),
        None,
        None,
        False,
        False,
        OTHER,
    ),
    Case("renew already acquired object", held_by(ME), held_by(ME), 0.0, True, False, ME),
    Case(
        "renew an object observed long ago (slow path)",
        held_by(ME, transitions=2),
        held_by(ME, transitions=2),
        LEASE + 1,
        True,
        False,
        ME,
    ),
]


def seed(elector: LeaderElector, clock: FakeClock, case: Case) -> None:
    """Set what the elector observed and when, as upstream's table sets observedRecord/Time."""
    if case.observed is not None and case.observed_age is not None:
        elector._observed = _Observed(case.observed, clock.monotonic())
        clock.step(case.observed_age)


def check_outcome(
    elector: LeaderElector, stored: LeaderElectionRecord, case: Case, ok: bool
) -> None:
    assert ok is case.expect_success
    assert stored.holder_identity == case.out_holder
    assert elector.leader() == case.out_holder
    assert elector.is_leader() is (case.out_holder == ME)
    old_transitions = case.stored.leader_transitions if case.stored else 0
    if case.expect_success:
        expected = old_transitions + 1 if case.transition else old_transitions
        assert stored.leader_transitions == expected
        assert stored.lease_duration_seconds == int(LEASE)
        if case.stored is not None and not case.transition:
            assert stored.acquire_time == case.stored.acquire_time  # a renewal keeps it


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_try_acquire_or_renew(case: Case) -> None:
    clock = FakeClock()
    store = FakeLeaseStore(case.stored)
    elector = LeaderElector(None, config(), clock, noop_callbacks(), lock=store.lock(ME))
    seed(elector, clock, case)

    ok = elector.try_acquire_or_renew()

    assert store.record is not None
    check_outcome(elector, store.record, case, ok)
    if ok:
        assert store.record.renew_time == format_micro_time(clock.now())
        assert store.writes[-1][0] == ME
    else:
        assert store.writes == []


def test_conflict_on_update_is_not_acquired() -> None:
    clock = FakeClock()
    store = FakeLeaseStore(held_by(""))
    store.fail_next("update", Conflict("409 Conflict", reason="Conflict"))
    elector = LeaderElector(None, config(), clock, noop_callbacks(), lock=store.lock(ME))

    assert elector.try_acquire_or_renew() is False
    assert store.record == held_by("")
    assert not elector.is_leader()
    # The next round succeeds: a conflict only costs one round.
    assert elector.try_acquire_or_renew() is True
    assert elector.is_leader()


def test_concurrent_candidates_only_one_wins() -> None:
    clock = FakeClock()
    store = FakeLeaseStore(held_by(""))
    mine = LeaderElector(None, config(), clock, noop_callbacks(), lock=store.lock(ME))
    theirs = LeaderElector(
        None, config(identity=OTHER), clock, noop_callbacks(), lock=store.lock(OTHER)
    )
    # Both read the same unled record; the second writer hits a stale resourceVersion.
    assert mine._lock_obj.get() == theirs._lock_obj.get()
    mine._lock_obj.update(LeaderElectionRecord.for_holder(ME, LEASE, clock.now()))
    assert theirs.try_acquire_or_renew() is False
    assert theirs.leader() == ME


def test_fast_path_renews_without_a_read() -> None:
    clock = FakeClock()
    store = FakeLeaseStore()
    elector = LeaderElector(None, config(), clock, noop_callbacks(), lock=store.lock(ME))
    assert elector.try_acquire_or_renew() is True
    store.fail_next("get", ServerError("500: a read is not expected on the fast path"))
    clock.step(2)
    assert elector.try_acquire_or_renew() is True
    assert store.failures["get"], "the fast path must not read the lease"
    assert store.record is not None
    assert store.record.renew_time == format_micro_time(clock.now())


def test_fast_path_conflict_falls_back_to_a_read() -> None:
    clock = FakeClock()
    store = FakeLeaseStore()
    elector = LeaderElector(None, config(), clock, noop_callbacks(), lock=store.lock(ME))
    assert elector.try_acquire_or_renew() is True
    # Someone else touches the object (still naming us): our cached version is stale.
    intruder = store.lock("kubectl")
    assert store.record is not None
    intruder.get()
    intruder.update(store.record)
    clock.step(2)
    assert elector.try_acquire_or_renew() is True
    assert elector.is_leader()


def test_api_errors_are_not_acquired() -> None:
    clock = FakeClock()
    store = FakeLeaseStore(held_by(""))
    store.fail_next("get", ServerError("503: unavailable", status=503))
    elector = LeaderElector(None, config(), clock, noop_callbacks(), lock=store.lock(ME))
    assert elector.try_acquire_or_renew() is False
    assert store.writes == []


def test_expiry_is_judged_by_local_observation_not_remote_timestamps() -> None:
    clock = FakeClock()
    # The remote renewTime is a year old (another node's skewed clock): not expired for us.
    stale = LeaderElectionRecord(
        OTHER, int(LEASE), "2024-01-01T00:00:00.000000Z", "2024-01-01T00:00:00.000000Z", 0
    )
    store = FakeLeaseStore(stale)
    elector = LeaderElector(None, config(), clock, noop_callbacks(), lock=store.lock(ME))
    assert elector.try_acquire_or_renew() is False
    clock.step(LEASE - 0.5)
    assert elector.try_acquire_or_renew() is False
    # The holder renews (the record changes): our timer restarts from that observation.
    other = store.lock(OTHER)
    other.get()
    other.update(LeaderElectionRecord(OTHER, int(LEASE), stale.acquire_time, "x", 0))
    clock.step(1.0)
    assert elector.try_acquire_or_renew() is False
    clock.step(LEASE - 0.5)
    assert elector.try_acquire_or_renew() is False
    clock.step(0.5)
    assert elector.try_acquire_or_renew() is True
    assert store.record is not None and store.record.leader_transitions == 1
    # A wall-clock jump does not matter either.
    clock.set(clock.now().replace(year=2030))
    assert elector.try_acquire_or_renew() is True


def test_release_clears_holder_and_keeps_transitions() -> None:
    clock = FakeClock()
    store = FakeLeaseStore(held_by(OTHER, transitions=4))
    elector = LeaderElector(None, config(), clock, noop_callbacks(), lock=store.lock(ME))
    elector.try_acquire_or_renew()
    clock.step(LEASE + 1)
    assert elector.try_acquire_or_renew() is True
    assert elector.release() is True
    assert store.record is not None
    assert store.record.holder_identity == ""
    assert store.record.lease_duration_seconds == 1
    assert store.record.leader_transitions == 5
    assert not elector.is_leader()
    # A standby acquires a released lease at once, without waiting for expiry.
    standby = LeaderElector(
        None, config(identity=OTHER), clock, noop_callbacks(), lock=store.lock(OTHER)
    )
    assert standby.try_acquire_or_renew() is True
    assert store.record.leader_transitions == 6


def test_release_by_non_leader_writes_nothing() -> None:
    clock = FakeClock()
    store = FakeLeaseStore(held_by(OTHER))
    elector = LeaderElector(None, config(), clock, noop_callbacks(), lock=store.lock(ME))
    elector.try_acquire_or_renew()
    assert elector.release() is True
    assert store.writes == []
    assert store.record == held_by(OTHER)


def test_check_fails_only_for_a_leader_past_lease_plus_tolerance() -> None:
    clock = FakeClock()
    store = FakeLeaseStore()
    elector = LeaderElector(None, config(), clock, noop_callbacks(), lock=store.lock(ME))
    elector.check(0)  # not leading: healthy
    assert elector.try_acquire_or_renew()
    clock.step(LEASE + 2)
    elector.check(3)
    clock.step(1.5)
    with pytest.raises(LeaderElectionUnhealthy):
        elector.check(3)
    standby = LeaderElector(
        None, config(identity=OTHER), clock, noop_callbacks(), lock=store.lock(OTHER)
    )
    standby.try_acquire_or_renew()
    clock.step(LEASE * 10)
    standby.check(0)


@pytest.mark.parametrize(
    ("timings", "message"),
    [
        ({"lease_duration": 10, "renew_deadline": 10}, "lease_duration must be greater"),
        ({"lease_duration": 10, "renew_deadline": 2.4, "retry_period": 2}, "JitterFactor"),
        ({"lease_duration": 10, "renew_deadline": 5, "retry_period": 0}, "retry_period"),
        ({"lease_duration": 10, "renew_deadline": -1, "retry_period": -2}, "renew_deadline"),
        ({"lease_duration": 0.9, "renew_deadline": 0.5, "retry_period": 0.1}, "1 second"),
    ],
)
def test_config_validation(timings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config(ME, **timings)


def test_config_defaults_and_identity() -> None:
    cfg = LeaderElectionConfig(namespace="ns", name="lease", identity="me")
    assert (cfg.lease_duration, cfg.renew_deadline, cfg.retry_period) == (15.0, 10.0, 2.0)
    assert cfg.release_on_cancel is True
    with pytest.raises(ValueError, match="identity"):
        LeaderElectionConfig(namespace="ns", name="lease", identity="")


def test_default_identity_is_pod_name_plus_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "operator-7d9f")
    first, second = default_identity(), default_identity()
    assert first.startswith("operator-7d9f_") and second.startswith("operator-7d9f_")
    assert first != second


def test_lock_identity_must_match() -> None:
    store = FakeLeaseStore()
    lock: ResourceLock = store.lock(OTHER)
    with pytest.raises(ValueError, match="identity"):
        LeaderElector(None, config(), FakeClock(), noop_callbacks(), lock=lock)
