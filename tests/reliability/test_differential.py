"""Scenario 2, the differential fault run: faults change nothing in the final world.

Two worlds on ONE virtual clock, side by side: a dozen backups run 40 scheduled ticks in each,
Jobs finished by a deterministic :class:`~tests.reliability.world.Completer` (outcome and
timestamps depend on the Job's name only). The baseline sees no faults; the other sees, at
fixed virtual minutes, watch events dropped, duplicated and delayed, watches closed and
stalled, forced 410s, 5xx and 429 bursts, failed creates and status conflicts. Both then get
the same forced relist (the "heal": a level-based controller converges once it can see the
world again; no controller can recover an event it never receives without one).

Timing-robustness: the backups are created, and their first slot chosen, only once both
operators are ready, so a slow process start on a loaded machine never lets a slot pass
before the scenario is set; the faults are timed from that first slot. The schedule itself
ends: ``M-(M+39) H * * *`` (within one hour, never wrapping it) fires forty times and then
not until the next day, so there is no cutoff to race: the final world is reached when
every backup's ``lastScheduleTime`` is the fortieth slot and every run finished. Compared:
the set of Job names left, every status (condition transition times aside: they record when
the operator noticed, which is real-time dependent by design), and that each of the 480
slots got exactly one Job (one uid under its name).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.v1alpha1 import format_time
from tests.reliability.world import World, minute, stable_hash
from tests.support.operator import OPERATOR_USER, wait_for

# One virtual minute per 3 real seconds: a reconcile that lags its slot by less than that
# never loses it (only the next slot passing it does, docs/design.md "Reconciler"). At x30
# a loaded machine's scheduling stalls of 2 s lost slots at random.
SPEED = 20.0
MAX_ITEM_BACKOFF = 1000.0  # seconds: the work queue's per-item backoff cap (docs/design.md §3)
TICKS = 40
BACKUPS = 12
# The operators start at 00:59; the first slot is chosen once both are ready, so the
# schedule fits in the hour from 01:00 unless they took more than ~19 virtual minutes.
START = datetime(2025, 3, 27, 0, 59, 0, tzinfo=UTC)
LEAD = timedelta(seconds=90)  # at least this long (virtual) from the backups' creation to it
READY_WITHIN = 60.0  # real seconds for an operator process to start on a loaded machine
RUN_FOR = 10.0  # virtual seconds from the slot to the Job's end (50 s before the next slot)
HEAL_AT = TICKS + 1  # minutes after the first slot: after the last run ended


def names() -> list[str]:
    return [f"db-{i:02d}" for i in range(BACKUPS)]


def fails(job: str) -> bool:
    return stable_hash(job) % 5 == 0


def first_slot(now: datetime) -> datetime:
    """The first of ``TICKS`` minutely slots: at least ``LEAD`` after ``now``, all of them
    within one hour (a cron minute range cannot wrap it)."""
    first = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if first - now < LEAD:
        first += timedelta(minutes=1)
    if first.minute > 60 - TICKS:
        first = first.replace(minute=0) + timedelta(hours=1)
    return first


def schedule(first: datetime) -> str:
    return f"{first.minute}-{first.minute + TICKS - 1} {first.hour} * * *"


def populate(world: World, first: datetime) -> None:
    for i, name in enumerate(names()):
        limits = [(1, 1), (3, 1), (0, 0), (2, 2)][i % 4]
        world.add_backup(
            name,
            schedule=schedule(first),
            concurrencyPolicy="Forbid" if i % 2 == 0 else "Allow",
            successfulJobsHistoryLimit=limits[0],
            failedJobsHistoryLimit=limits[1],
        )


def faults_plan(world: World) -> list[tuple[float, Callable[[], object]]]:
    f = world.server.faults
    op = OPERATOR_USER
    return [
        (1.5, lambda: (f.drop_events("jobs", times=6), f.drop_events("databasebackups", times=4))),
        (4.5, lambda: f.duplicate_events(None, times=30)),
        (7.5, lambda: f.delay_events(0.3, "jobs", times=12)),
        (10.5, lambda: f.close_watches()),
        (13.5, lambda: f.stall_watches("jobs")),
        (16.5, lambda: f.close_watches("jobs")),
        (19.5, lambda: f.expire_next_watch(None, times=3)),
        (19.6, lambda: f.close_watches()),
        (22.5, lambda: (f.fail(500, times=4, user=op), f.fail(503, times=4, user=op))),
        (25.5, lambda: f.fail(429, times=6, retry_after=1, user=op)),
        (28.9, lambda: f.fail(500, times=3, verb="create", resource="jobs", user=op)),
        # Three conflicts in a row fail db-04's status write after its Job was created, while
        # Job events lag: the retry re-creates the Job and must take AlreadyExists as success.
        (30.9, lambda: f.delay_events(0.5, "jobs", times=24)),
        (
            30.95,
            lambda: f.fail(
                409, times=3, verb="update", resource="databasebackups", name="db-04", user=op
            ),
        ),
        (33.5, lambda: f.drop_events(None, times=10)),
        (34.5, lambda: f.stall_watches(None)),
        (35.5, lambda: f.close_watches(None)),
        (36.5, lambda: (f.duplicate_events("jobs", times=10), f.fail(503, times=3, user=op))),
        (38.5, lambda: f.expire_next_watch("jobs")),
        (38.6, lambda: f.close_watches("jobs")),
    ]


def heal(world: World) -> None:
    world.server.faults.clear()
    world.server.faults.expire_next_watch(None, times=2)
    world.server.faults.close_watches()


def run_plan(
    world: World,
    plan: list[tuple[float, Callable[[], object]]],
    first: datetime,
    stop: threading.Event,
) -> None:
    for at, action in plan:
        delay = (first - world.clock.now()).total_seconds() + at * 60
        if stop.wait(max(0.0, delay) / world.speed):
            return
        action()


def settled(world: World, first: datetime) -> dict[str, Any] | None:
    """The final world, or None while a backup still has a slot or a run to go."""
    last = format_time(minute(first, TICKS - 1))
    statuses = {}
    for name in names():
        status = world.status(name)
        history = status.get("history") or []
        if status.get("lastScheduleTime") != last or any(
            e.get("result") == "Running" for e in history
        ):
            return None
        statuses[name] = normalized(status)
    jobs = world.jobs()
    if any(not (j.get("status") or {}).get("conditions") for j in jobs):
        return None
    return {"jobs": sorted(j["metadata"]["name"] for j in jobs), "status": statuses}


def normalized(status: dict[str, Any]) -> dict[str, Any]:
    out = dict(status)
    out["conditions"] = [
        {k: v for k, v in c.items() if k != "lastTransitionTime"}
        for c in status.get("conditions") or ()
    ]
    return out


def final_world(world: World, first: datetime) -> dict[str, Any]:
    def stable() -> dict[str, Any] | None:
        seen = settled(world, first)
        if seen is None:
            return None
        threading.Event().wait(18 / world.speed)  # unchanged over 18 virtual seconds
        return seen if settled(world, first) == seen else None

    left = (minute(first, HEAL_AT) - world.clock.now()).total_seconds() / world.speed
    # A backup whose reconciles kept failing during a 5xx burst may sit in its per-item
    # backoff (capped at 1000 s of the operator's clock, client-go's default) when the faults
    # end: the world must be given longer than that cap to converge.
    grace = 2 * MAX_ITEM_BACKOFF / world.speed + 10
    try:
        return wait_for(stable, max(left, 0) + grace, "every backup to finish its last slot", 0.2)
    except AssertionError as err:
        state = {
            n: (
                world.status(n).get("lastScheduleTime"),
                [
                    e["job"]
                    for e in world.status(n).get("history") or ()
                    if e["result"] == "Running"
                ],
            )
            for n in names()
        }
        logs = world.operators[-1].logs()[-4000:] if world.operators else ""
        raise AssertionError(f"{err}\n{state}\njobs: {world.job_names()}\n{logs}") from None


def creates(world: World) -> Counter[str]:
    """How many distinct Jobs each slot's name was given (every Job is seen, see Completer)."""
    assert world.completer is not None
    return Counter({name: len(uids) for name, uids in world.completer.seen.items()})


@pytest.mark.heavy  # about 2.5 minutes: make test-slow (docs/reliability.md)
@pytest.mark.timeout(480)
def test_faults_leave_the_same_jobs_and_statuses_as_a_clean_run() -> None:
    clean = World(speed=SPEED, start=START)
    faulty = World(speed=SPEED, start=START, origin=clean.origin)  # one clock for both
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        for world in (clean, faulty):
            world.start_completer(RUN_FOR, fails)
            world.operator(extra_args=("--max-concurrent-reconciles", "4"))
        for world in (clean, faulty):
            world.operators[-1].wait_ready(READY_WITHIN)
        first = first_slot(clean.clock.now())
        for world in (clean, faulty):
            populate(world, first)
        assert clean.clock.now() < first, "the backups were created after the first slot"
        plans = {
            id(clean): [(HEAL_AT, lambda: heal(clean))],
            id(faulty): [*faults_plan(faulty), (HEAL_AT, lambda: heal(faulty))],
        }
        for world in (clean, faulty):
            thread = threading.Thread(
                target=run_plan, args=(world, plans[id(world)], first, stop), daemon=True
            )
            thread.start()
            threads.append(thread)

        expected_jobs = {
            f"{name}-{minute(first, m).strftime('%Y%m%d%H%M%S')}"
            for name in names()
            for m in range(TICKS)
        }
        baseline = final_world(clean, first)
        for thread in threads:
            thread.join(30)
        result = final_world(faulty, first)
        for proc in (*clean.operators, *faulty.operators):
            assert proc.proc.poll() is None, f"operator exited:\n{proc.logs()[-3000:]}"

        # The baseline itself is right: every slot ran exactly once, nothing else ran.
        made = creates(clean)
        reasons = Counter(e.get("reason") for e in clean.events())
        assert sorted(expected_jobs - set(made)) == [], f"clean run skipped slots: {reasons}"
        assert set(made) == expected_jobs and set(made.values()) == {1}
        # The faults really happened (the faulty operator was refused and reconnected).
        refused = [r for r in faulty.records() if r.code >= 429]
        assert len(refused) >= 20, refused
        # ... and changed nothing.
        made_faulty = creates(faulty)
        assert sorted(expected_jobs - set(made_faulty)) == [], "slots never run under faults"
        assert {k: v for k, v in made_faulty.items() if v != 1} == {}, "slots run twice"
        assert result["jobs"] == baseline["jobs"]
        # AlreadyExists from our own Job is success, never a failure to report.
        notes = [str(e.get("note", "")) for e in faulty.events()]
        assert [n for n in notes if "already exists" in n.lower()] == []
        for name in names():
            assert result["status"][name] == baseline["status"][name], name
    finally:
        stop.set()
        clean.close()
        faulty.close()
