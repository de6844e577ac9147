"""``defer_status_after_create``: a pass that creates a Job leaves status to the next pass.

The operator turns it on so a herd's Job creations are not interleaved with status writes
(issue 9). The next pass — triggered in the operator by the Job's own watch event — writes
the status the immediate path would have written; a stale cache still yields one Job.
"""

from __future__ import annotations

from tests.unit.controller.test_reconciler import World, at

JOB = "postgres-daily-backup-20250327010000"


def _deferring_world() -> World:
    return World(defer_status=True)


def test_the_creating_pass_writes_no_status_and_the_next_pass_writes_it() -> None:
    world = _deferring_world()
    world.backup()
    world.reconcile()
    assert world.status()["phase"] == "Pending"
    world.set_time(at(27, 1, 0, 1))

    result = world.reconcile()
    assert world.jobs() == [JOB]
    assert "activeJob" not in world.status()  # deferred
    assert result.requeue_after is not None and result.requeue_after > 0

    world.reconcile()  # what the Job's watch event triggers
    status = world.status()
    assert (status["phase"], status["activeJob"]) == ("Running", JOB)
    assert status["lastScheduleTime"] == "2025-03-27T01:00:00Z"
    assert world.jobs() == [JOB]
    assert world.recorder.reasons().count("SuccessfulCreate") == 1


def test_a_pass_before_the_cache_sees_the_job_creates_nothing_more() -> None:
    world = _deferring_world()
    world.backup()
    world.reconcile()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile(sync=False)
    world.reconcile(sync=False)  # the cache has not seen the Job: the slot is known anyway
    assert world.jobs() == [JOB]
    assert world.cluster.creates == 1
    world.cluster.sync()  # the Job's watch event
    world.reconcile()
    assert world.status()["activeJob"] == JOB


def test_a_restarted_process_whose_cache_lacks_the_job_adopts_it() -> None:
    world = _deferring_world()
    world.backup()
    world.reconcile()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile(sync=False)
    world.restart()
    world.reconcile(sync=False)  # AlreadyExists from our own Job → adopt, write status
    assert world.jobs() == [JOB]
    assert world.status()["activeJob"] == JOB
