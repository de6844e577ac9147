"""Scenario 1, crash points: killed at each failpoint, the restarted operator loses nothing.

The operator runs with ``DBBACKUP_FAILPOINT`` set and exits abruptly (``os._exit(137)``, as
a SIGKILLed pod) right after creating a Job (status not yet written), right after writing
status, and in the middle of pruning. It is then replaced by an operator without the
failpoint: that process is started beforehand as a leader-election follower (both run
``--leader-elect`` with the short timings of :mod:`tests.reliability.replicas`), so a slow
start on a loaded machine never sits between the crash and the next slot; it acts once the
crashed leader's Lease expires, well inside the two minutes to the next slot. The backups
are created once both replicas are up, with a schedule that ends by itself (four
slots two minutes apart, from the next even minute but one), so the final world is fixed:
for each of three backups exactly one Job per slot ever existed (one uid per name, seen by
the :class:`~tests.reliability.world.Completer`), the history records all four runs as
Succeeded, ``lastScheduleTime`` is the last slot, nothing is left running, and pruning finished
(``successfulJobsHistoryLimit: 1`` leaves the last slot's Job only).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.v1alpha1 import format_time
from tests.reliability.replicas import USERS, replica
from tests.reliability.world import World, minute
from tests.support.operator import wait_for

# Two virtual minutes between slots = 12 real seconds; the replicas' renew deadline (20 virtual
# seconds) is 2 real seconds, so a leader starved of CPU for a second on a loaded machine keeps
# its Lease and reaches its failpoint (at x20 it lost the Lease first and exited 1); the
# takeover (a 30 s lease plus jittered retries) stays well inside the gap between slots.
SPEED = 10.0
START = datetime(2025, 3, 27, 0, 59, 0, tzinfo=UTC)
BACKUPS = ["alpha", "bravo", "charlie"]


def lease_holder(world: World) -> str | None:
    """The user whose last Lease write succeeded (each replica writes under its own)."""
    writes = [
        r
        for r in world.records(None)
        if r.resource == "leases" and r.verb in ("create", "update") and r.code in (200, 201)
    ]
    return writes[-1].user if writes else None


def slots_after(now: datetime) -> tuple[str, list[datetime]]:
    """A schedule of four slots two minutes apart within one hour, the first at least a
    minute after ``now``; and those slots."""
    first = now.replace(second=0, microsecond=0) + timedelta(minutes=2)
    first += timedelta(minutes=first.minute % 2)
    if first.minute > 53:
        first = first.replace(minute=0) + timedelta(hours=1)
    slots = [minute(first, m) for m in (0, 2, 4, 6)]
    return f"{first.minute}-{first.minute + 6}/2 {first.hour} * * *", slots


def job(name: str, slot: datetime) -> str:
    return f"{name}-{slot.strftime('%Y%m%d%H%M%S')}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("failpoint", ["after-create-job:2", "after-status-write:2", "mid-prune:1"])
def test_a_crash_at_each_failpoint_loses_no_slot_and_runs_none_twice(failpoint: str) -> None:
    world = World(speed=SPEED, start=START, lead=1.0)
    try:
        completer = world.start_completer(10, lambda _job: False)
        crashing = replica(world, "a", env={"DBBACKUP_FAILPOINT": failpoint})
        wait_for(lambda: lease_holder(world) == USERS["a"], 60, "the crashing replica to lead")
        restarted = replica(world, "b")
        restarted.wait_ready(60)
        schedule, slots = slots_after(world.clock.now())
        for name in BACKUPS:
            world.add_backup(name, schedule=schedule, successfulJobsHistoryLimit=1)
        assert crashing.wait_exit(60) == 137, crashing.logs()[-3000:]
        point = failpoint.split(":")[0]
        assert f"failpoint {point} reached" in crashing.logs()
        crashed_at = world.clock.now()
        assert crashed_at < slots[-1], "crashed too late to prove anything"

        restarted.wait_ready(30)
        last = format_time(slots[-1])

        def done() -> bool:
            statuses = [world.status(n) for n in BACKUPS]
            return all(
                s.get("lastScheduleTime") == last
                and s.get("phase") == "Succeeded"
                and len(world.jobs()) == len(BACKUPS)
                for s in statuses
            )

        wait_for(done, 90, "every slot run and pruned after the restart", interval=0.1)
        expected = {job(n, s) for n in BACKUPS for s in slots}
        assert set(completer.seen) == expected, "a slot was lost or an unknown Job ran"
        assert all(len(uids) == 1 for uids in completer.seen.values()), completer.seen
        assert world.job_names() == sorted(job(n, slots[-1]) for n in BACKUPS)
        for name in BACKUPS:
            status = world.status(name)
            history = [(e["job"], e["result"]) for e in status["history"]]
            assert history == [(job(name, s), "Succeeded") for s in slots], history
            assert "activeJob" not in status and "failureReason" not in status
            assert status["lastSuccessfulBackup"] == format_time(slots[-1].replace(second=10))
        assert restarted.stop() == 0
    finally:
        world.close()
