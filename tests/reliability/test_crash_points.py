"""Scenario 1, crash points: killed at each failpoint, the restarted operator loses nothing.

The operator runs with ``DBBACKUP_FAILPOINT`` set and exits abruptly (``os._exit(137)``, as a
SIGKILLed pod) right after creating a Job (status not yet written), right after writing status,
and in the middle of pruning. It is then restarted without the failpoint. The schedule ends by
itself (``0-6/2 1 * * *``: 01:00, 01:02, 01:04, 01:06), so the final world is fixed: for each
of three backups exactly one Job per slot ever existed (one uid per name, seen by the
:class:`~tests.reliability.world.Completer`), the history records all four runs as
Succeeded, ``lastScheduleTime`` is 01:06, nothing is left running, and pruning finished
(``successfulJobsHistoryLimit: 1`` leaves the 01:06 Job only).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.v1alpha1 import format_time
from tests.reliability.world import World, minute
from tests.support.operator import wait_for

SPEED = 40.0  # two virtual minutes between slots = 3 real seconds: room for a restart
START = datetime(2025, 3, 27, 0, 59, 0, tzinfo=UTC)
FIRST = datetime(2025, 3, 27, 1, 0, 0, tzinfo=UTC)
SLOTS = [minute(FIRST, m) for m in (0, 2, 4, 6)]
BACKUPS = ["alpha", "bravo", "charlie"]


def job(name: str, slot: datetime) -> str:
    return f"{name}-{slot.strftime('%Y%m%d%H%M%S')}"


@pytest.mark.timeout(90)
@pytest.mark.parametrize("failpoint", ["after-create-job:2", "after-status-write:2", "mid-prune:1"])
def test_a_crash_at_each_failpoint_loses_no_slot_and_runs_none_twice(failpoint: str) -> None:
    world = World(speed=SPEED, start=START, lead=1.0)
    try:
        for name in BACKUPS:
            world.add_backup(name, schedule="0-6/2 1 * * *", successfulJobsHistoryLimit=1)
        completer = world.start_completer(10, lambda _job: False)
        crashing = world.operator(env={"DBBACKUP_FAILPOINT": failpoint})
        assert crashing.wait_exit(60) == 137, crashing.logs()[-3000:]
        point = failpoint.split(":")[0]
        assert f"failpoint {point} reached" in crashing.logs()
        crashed_at = world.clock.now()
        assert crashed_at < SLOTS[-1], "crashed too late to prove anything"

        restarted = world.operator()
        restarted.wait_ready(30)
        last = format_time(SLOTS[-1])

        def done() -> bool:
            statuses = [world.status(n) for n in BACKUPS]
            return all(
                s.get("lastScheduleTime") == last
                and s.get("phase") == "Succeeded"
                and len(world.jobs()) == len(BACKUPS)
                for s in statuses
            )

        wait_for(done, 30, "every slot run and pruned after the restart", interval=0.1)
        expected = {job(n, s) for n in BACKUPS for s in SLOTS}
        assert set(completer.seen) == expected, "a slot was lost or an unknown Job ran"
        assert all(len(uids) == 1 for uids in completer.seen.values()), completer.seen
        assert world.job_names() == sorted(job(n, SLOTS[-1]) for n in BACKUPS)
        for name in BACKUPS:
            status = world.status(name)
            history = [(e["job"], e["result"]) for e in status["history"]]
            assert history == [(job(name, s), "Succeeded") for s in SLOTS], history
            assert "activeJob" not in status and "failureReason" not in status
            assert status["lastSuccessfulBackup"] == format_time(SLOTS[-1].replace(second=10))
        assert restarted.stop() == 0
    finally:
        world.close()
