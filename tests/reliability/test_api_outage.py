"""Scenario 4, API outage: a minute of 503s costs retries, not the process or a backup.

The emulator answers 503 to every request of the operator for a minute of sandbox time,
twice: while the operator starts (its caches cannot sync; the minute counts from the moment
its probe server answers), and later across a scheduled slot (held until that slot's Job
create has been refused, so the slot provably falls inside). Throughout, the process stays
alive and ``/healthz`` answers 200. ``/readyz`` reports what is true: not ready (its
``cache-sync`` check failing) until the caches could sync, ready after; once synced the
caches keep serving during an outage, so it stays ready then (as controller-runtime's
readiness does). Retries are bounded (counted in the audit log: backoff, no hot loop), and
work resumes after each outage: the slot that fell inside the second outage gets its Job,
exactly one, and status records it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from api.v1alpha1 import format_time
from emulator.audit import AuditRecord
from emulator.faults import RequestRule
from tests.reliability.world import World
from tests.support.operator import OPERATOR_USER, OperatorProcess, wait_for

SPEED = 20.0  # a sandbox minute is 3 real seconds
START = datetime(2025, 3, 27, 0, 58, 0, tzinfo=UTC)
OUTAGE = 60.0  # virtual seconds
MAX_REQUESTS_PER_OUTAGE = 80  # measured ~20-40: client-go style backoff, never a hot loop


REACH_TIMEOUT = 30.0  # real seconds: a generous bound on "the operator meets the outage"


def begin_outage(world: World) -> tuple[RequestRule, datetime, int]:
    rule = world.server.faults.fail(503, times=None, user=OPERATOR_USER)
    return rule, world.clock.now(), len(world.records())


def refused(world: World, before: int, *, resource: str | None = None) -> list[AuditRecord]:
    """The operator's requests answered 503 since record ``before`` (of ``resource``)."""
    return [
        r
        for r in world.records()[before:]
        if r.code == 503 and (resource is None or (r.resource, r.verb) == (resource, "create"))
    ]


def outage(
    world: World,
    operator: OperatorProcess,
    begun: tuple[RequestRule, datetime, int],
    *,
    expect_ready: bool,
    reached: Callable[[], bool],
) -> int:
    """Hold the 503s for OUTAGE virtual seconds from ``began``, and on until ``reached()``
    (the operator met them where the scenario needs it: a loaded machine may not schedule
    it for a while), probing the operator at least once; returns the requests it made."""
    rule, began, before = begun
    readiness = set()
    deadline = time.monotonic() + REACH_TIMEOUT
    try:
        while True:
            assert operator.proc.poll() is None, f"operator exited:\n{operator.logs()[-3000:]}"
            assert operator.healthz() == 200
            readiness.add(operator.ready())
            over = world.clock.now() >= began + timedelta(seconds=OUTAGE)
            if over and (reached() or time.monotonic() > deadline):
                break
            time.sleep(0.1)
    finally:
        world.server.faults.remove(rule)
    assert readiness == {expect_ready}, readiness
    assert reached(), "the outage never reached the operator"
    return len(world.records()[before:])


def next_minute(when: datetime) -> datetime:
    """The first ``* * * * *`` slot after ``when``: inside an outage that begins at ``when``."""
    return when.replace(second=0, microsecond=0) + timedelta(minutes=1)


@pytest.mark.timeout(90)
def test_a_minute_of_503s_is_survived_and_work_resumes() -> None:
    world = World(speed=SPEED, start=START)
    try:
        world.add_backup("nightly", schedule="* * * * *")
        world.start_completer(10, lambda _job: False)
        rule, _, before = begin_outage(world)
        operator = world.operator()
        wait_for(lambda: operator.healthz() == 200, 30, "the probe server")
        code, body = operator._get(operator.health_port, "/readyz?verbose")
        assert code != 200 and "cache-sync" in body, (code, body)
        # The first outage's minute counts from the moment the process is up: starting the
        # interpreter alone may take longer than a sandbox minute on a loaded machine.
        first = outage(
            world,
            operator,
            (rule, world.clock.now(), before),
            expect_ready=False,
            reached=lambda: bool(refused(world, before)),
        )
        assert first <= MAX_REQUESTS_PER_OUTAGE, first
        operator.wait_ready(20)
        wait_for(lambda: world.status("nightly").get("phase") == "Succeeded", 20, "a first run")

        # Second outage from about hh:mm:30 for a minute, across the next slot; it lasts until
        # that slot's Job create has been refused, so the slot provably fell inside it.
        now = world.clock.now()
        start = now.replace(second=30, microsecond=0)
        if start <= now:
            start += timedelta(minutes=1)
        time.sleep((start - world.clock.now()).total_seconds() / SPEED)
        begun = begin_outage(world)
        slot = next_minute(begun[1])
        second = outage(
            world,
            operator,
            begun,
            expect_ready=True,
            reached=lambda: bool(refused(world, begun[2], resource="jobs")),
        )
        assert second <= MAX_REQUESTS_PER_OUTAGE, second
        name = f"nightly-{slot.strftime('%Y%m%d%H%M%S')}"
        wait_for(
            lambda: any(e["job"] == name for e in world.status("nightly").get("history") or ()),
            20,
            f"the slot inside the outage ({name}) to run",
        )
        assert world.status("nightly")["lastScheduleTime"] >= format_time(slot)
        assert world.completer is not None
        wait_for(lambda: name in world.completer.seen, 10, f"{name} seen")  # type: ignore[union-attr]
        assert all(len(uids) == 1 for uids in world.completer.seen.values())
        assert operator.healthz() == 200 and operator.ready()
        assert operator.stop() == 0
    finally:
        world.close()
