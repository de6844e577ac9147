"""Scenario 1b: the leader dies right after creating a Job, while its successor's Job watch lags.

The successor's cache cannot show the Job yet, so when it takes the Lease it tries to create
the slot's Job itself. The API server's ``AlreadyExists`` is the lock: the successor must
take its own Job as the run (adopt it into status) — never a second Job, never a
``FailedCreate``. In one process this cannot happen (the reconciler remembers the slots it
scheduled, ``controller/slots.py``); across a leader change it is the only thing that
protects the slot, so it is proven here end to end. The backup is created once both
replicas are up, due at the next minute, so a slow process start on a loaded machine never
lets the slot pass before the scenario is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from api.v1alpha1 import format_time
from tests.reliability.replicas import USERS, replica
from tests.reliability.world import World, world_fixture
from tests.support.operator import wait_for

SPEED = 20.0  # a virtual minute is 3 real seconds
START = datetime(2025, 3, 27, 0, 59, 0, tzinfo=UTC)
WATCH_LAG = 4.0  # real seconds the Job's watch events are held: longer than the takeover


@pytest.fixture
def world() -> Iterator[World]:
    yield from world_fixture(SPEED, START)


@pytest.mark.timeout(90)
def test_a_successor_with_a_lagging_cache_adopts_the_dead_leaders_job(world: World) -> None:
    completer = world.start_completer(run_for=3600, fails=lambda _name: False)
    leader = replica(world, "a", env={"DBBACKUP_FAILPOINT": "after-create-job"})
    leader.wait_ready()
    wait_for(
        lambda: any(r.resource == "leases" and r.code in (200, 201) and r.verb == "create"
                    for r in world.records(USERS["a"])),
        20, "replica a to take the Lease",
    )  # fmt: skip
    follower = replica(world, "b")
    follower.wait_ready()
    # Both replicas' Job watches hold the slot's ADDED event past the takeover.
    world.server.faults.delay_events(WATCH_LAG, "jobs", times=2)
    now = world.clock.now()
    slot = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if slot - now < timedelta(seconds=10):
        slot += timedelta(minutes=1)
    world.add_backup("handover", schedule=f"{slot.minute} {slot.hour} * * *")
    job = f"handover-{slot.strftime('%Y%m%d%H%M%S')}"

    assert leader.wait_exit(30) == 137, leader.logs()[-3000:]
    assert world.job_names() == [job]
    status = wait_for(
        lambda: world.status("handover") if world.status("handover").get("activeJob") else None,
        30, "the successor to adopt the Job into status",
    )  # fmt: skip
    assert status["activeJob"] == job
    assert status["lastScheduleTime"] == format_time(slot)
    assert world.job_names() == [job]
    assert completer.seen.get(job) is not None and len(completer.seen[job]) == 1
    refused = [r for r in world.records(USERS["b"])
               if r.resource == "jobs" and r.verb == "create" and r.code == 409]  # fmt: skip
    assert refused, "the successor never met AlreadyExists: the scenario did not happen"
    reasons = [e.get("reason") for e in world.events()]
    assert "FailedCreate" not in reasons
    assert follower.stop() == 0
