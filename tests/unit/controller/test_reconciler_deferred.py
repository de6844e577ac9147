"""``defer_status_after_create``: a pass that creates a Job leaves status to the next pass.

The operator turns it on so a herd's Job creations are not interleaved with status writes
(issue 9). The next pass — triggered in the operator by the Job's own watch event — writes
the status the immediate path would have written; a stale cache still yields one Job.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.v1alpha1 import parse_time
from controller.databasebackup import REQUEUE_SLACK
from controller.resources import JOBS
from manager.errors import ServerError
from tests.unit.controller.test_reconciler import NS, REQ, World, at

JOB = "postgres-daily-backup-20250327010000"


@pytest.fixture(params=[False, True], ids=["inline", "handed-off"])
def hand_off(request: pytest.FixtureRequest) -> bool:
    """Every case holds whether the create runs in the pass or is its handed-off last step."""
    return bool(request.param)


@pytest.fixture
def world(hand_off: bool) -> World:
    return World(defer_status=True, hand_off=hand_off)


def test_the_creating_pass_writes_no_status_and_the_next_pass_writes_it(
    world: World, hand_off: bool
) -> None:
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
    # Each pass's write is handed off: the first status, the Job's create, the Running status.
    assert world.handed_off == (3 if hand_off else 0)
    world.reconcile()  # nothing changed: nothing written, nothing handed off
    assert world.handed_off == (3 if hand_off else 0)


def test_a_pass_before_the_cache_sees_the_job_creates_nothing_more(world: World) -> None:
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


def test_a_restarted_process_whose_cache_lacks_the_job_adopts_it(
    world: World, hand_off: bool
) -> None:
    world.backup()
    world.reconcile()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile(sync=False)
    world.restart()
    world.reconcile(sync=False)  # AlreadyExists from our own Job → adopt, write status
    if hand_off:  # the handed-off create met AlreadyExists: the next pass, inline, adopts
        world.reconcile(sync=False)
    assert world.jobs() == [JOB]
    assert world.status()["activeJob"] == JOB


def test_a_handed_off_create_posts_nothing_until_it_runs() -> None:
    world = World(defer_status=True, hand_off=True)
    world.backup()
    world.reconcile()
    world.set_time(at(27, 1, 0, 1))
    result = world.reconciler.reconcile(REQ)
    assert result.then is not None
    assert world.jobs() == [] and world.recorder.reasons().count("SuccessfulCreate") == 0
    last = result.then()
    assert world.jobs() == [JOB]
    assert world.recorder.reasons().count("SuccessfulCreate") == 1
    assert last.then is None and last.requeue_after is not None
    # Requeued for the next slot (tomorrow 01:00), just after it.
    assert 86398.0 < last.requeue_after <= 86399.2


def test_a_handed_off_create_that_finds_its_job_leaves_the_slot_to_an_inline_pass() -> None:
    world = World(defer_status=True, hand_off=True)
    world.backup()
    world.reconcile()
    world.set_time(at(27, 1, 0, 1))
    world.reconcile(sync=False)
    world.restart()  # a new process: no memory of the slot, and the cache lacks the Job
    result = world.reconciler.reconcile(REQ)
    assert result.then is not None
    assert result.then().requeue is True  # AlreadyExists: requeued with backoff
    world.reconcile(sync=False)  # inline: adopts our own Job and writes status
    assert world.jobs() == [JOB]
    assert world.status()["activeJob"] == JOB
    assert world.cluster.creates == 1


def test_a_handed_off_create_that_finds_someone_elses_job_stands_back() -> None:
    world = World(defer_status=True, hand_off=True)
    world.backup()
    world.reconcile()
    world.cluster.put(JOBS, {"metadata": {"name": JOB, "namespace": NS}})  # not ours
    world.set_time(at(27, 1, 0, 1))
    first = world.reconciler.reconcile(REQ)
    assert first.then is not None and first.then().requeue is True
    world.reconcile()
    assert world.recorder.reasons().count("UnexpectedJob") == 1
    assert world.status()["lastScheduleTime"] == "2025-03-27T01:00:00Z"  # the slot is skipped
    world.reconcile()
    assert world.recorder.reasons().count("UnexpectedJob") == 1  # said once, not retried
    assert world.cluster.creates == 0


def test_a_handed_off_create_that_fails_says_so_and_raises() -> None:
    world = World(defer_status=True, hand_off=True)
    world.backup()
    world.reconcile()
    world.set_time(at(27, 1, 0, 1))
    world.cluster.create_error = ServerError("etcdserver: request timed out", status=500)
    result = world.reconciler.reconcile(REQ)
    assert result.then is not None
    with pytest.raises(ServerError):
        result.then()  # the controller requeues it with backoff
    assert world.recorder.reasons().count("FailedCreate") == 1
    assert world.jobs() == []
    world.reconcile()  # the retry
    assert world.jobs() == [JOB]


def test_a_handed_off_status_write_is_computed_first_and_put_when_it_runs() -> None:
    world = World(defer_status=True, hand_off=True)
    world.backup()
    result = world.reconciler.reconcile(REQ)
    assert result.then is not None
    assert world.status() == {} and world.cluster.status_writes == 0
    last = result.then()
    assert world.status()["phase"] == "Pending"
    assert last.then is None and last.requeue_after is not None and last.requeue_after > 0


def test_a_handed_off_write_requeues_from_when_it_ends_not_from_the_pass() -> None:
    """A hand-off may wait for a thread (a first install queues thousands): the requeue is
    measured once its write is done, so the backup wakes just after its slot, not as much
    later as the write waited."""
    world = World(defer_status=True, hand_off=True)
    world.backup()
    result = world.reconciler.reconcile(REQ)
    assert result.then is not None
    waited = timedelta(minutes=7)
    world.set_time(world.clock.now() + waited)
    last = result.then()
    world.cluster.sync()
    slot = parse_time(world.status()["nextScheduledBackup"])
    assert slot is not None and last.requeue_after is not None
    assert last.requeue_after == pytest.approx(
        (slot - world.clock.now()).total_seconds() + REQUEUE_SLACK, abs=1e-6
    )
    # The same holds for a handed-off create (measured after its POST).
    world.set_time(slot + timedelta(seconds=1))
    create = world.reconciler.reconcile(REQ)
    assert create.then is not None
    world.set_time(slot + waited)
    done = create.then()
    assert world.jobs() == [JOB]
    assert done.requeue_after == pytest.approx(
        (slot + timedelta(days=1) - world.clock.now()).total_seconds() + REQUEUE_SLACK, abs=1e-6
    )


def test_a_handed_off_status_write_that_conflicts_rereads_and_writes_again() -> None:
    world = World(defer_status=True, hand_off=True)
    world.backup()
    world.cluster.conflicts_to_inject = 1
    result = world.reconciler.reconcile(REQ)
    assert result.then is not None
    result.then()
    assert world.status()["phase"] == "Pending"
    assert world.cluster.status_writes == 1  # the refused attempt is not counted as written
