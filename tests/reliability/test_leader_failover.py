"""Scenario 3, leader failover under load: one Job per slot across a kill and a partition.

Two replicas run with ``--leader-elect`` (each under its own user, so the audit log tells
them apart) and shortened lease timings (hidden flags; virtual seconds of the shared clock).
Twenty backups are created once both replicas are up (the leader elected, the follower ready),
so their first slot (``first``, the next minute) finds both running however slowly a loaded
machine starts processes:

1. the leader dies mid-herd: its ``after-create-job`` crash point (``os._exit``, exactly a
   SIGKILL) fires right after its sixth Job create, so the kill lands after six Jobs of the
   herd and before the last, by construction rather than by timing. The follower takes over
   within the lease duration plus two jittered retry periods of the kill
   (``TAKEOVER_BOUND``), finishes the herd, and every backup has exactly one Job for
   ``first`` (one uid per Job name, seen by the Completer) and for every later slot;
2. a third replica joins as follower, then the new leader is cut off from Leases (503 on its
   lease requests, while Jobs still answer it — the dangerous partition). It must stop
   creating Jobs before its lease can expire: from the audit log (server timestamps, one
   clock), its last Job create comes before its last successful renewal plus the lease
   duration, and before the third replica's first successful lease write; it exits
   non-zero (a lost lease); the third replica runs the following slots, one Job each.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.v1alpha1 import parse_time
from controller.failpoints import FAILPOINT_ENV, FAILPOINT_EXIT_CODE
from emulator.audit import AuditRecord
from manager.leaderelection import JITTER_FACTOR
from tests.reliability.replicas import LEASE, RETRY, USERS, replica
from tests.reliability.world import World, minute
from tests.support.operator import wait_for

# A virtual minute is 6 real seconds; the renew deadline (20 virtual seconds) is 2 real ones.
# At x20 a loaded machine's scheduling stalls of a second cost a leader its lease, or the
# failover its minute, at random; every real margin is twice as wide here.
SPEED = 10.0
# The follower's worst case, as client-go's elector works: it notices the dead leader's last
# renewal up to one jittered retry period (RETRY * (1 + JITTER_FACTOR)) after it was written,
# counts LEASE from that moment, then acquires on its next jittered retry tick. The kill comes
# after the last renewal, so the takeover lands within LEASE + 2 jittered retries of it. One
# real second of process scheduling (SPEED virtual seconds) is allowed on top: the clock is
# compressed, so a loaded CI machine stretches every real delay SPEED-fold.
TAKEOVER_BOUND = timedelta(seconds=LEASE + 2 * RETRY * (1 + JITTER_FACTOR) + SPEED)
START = datetime(2025, 3, 27, 0, 59, 30, tzinfo=UTC)
KILL_AFTER = 6  # the first leader's crash point fires after this many Job creates
BACKUPS = [f"herd-{i:02d}" for i in range(20)]


def creation(obj: dict[str, Any]) -> datetime:
    created = parse_time(obj["metadata"]["creationTimestamp"])
    assert created is not None
    return created


def next_minute(when: datetime) -> datetime:
    """The first slot of a ``* * * * *`` backup created at ``when`` (strictly after it)."""
    return when.replace(second=0, microsecond=0) + timedelta(minutes=1)


def job(name: str, slot: datetime) -> str:
    return f"{name}-{slot.strftime('%Y%m%d%H%M%S')}"


def lease_writes(world: World, key: str) -> list[AuditRecord]:
    return [
        r
        for r in world.records(USERS[key])
        if r.resource == "leases" and r.verb in ("create", "update") and r.code in (200, 201)
    ]


def job_creates(world: World, key: str) -> list[AuditRecord]:
    return [r for r in world.records(USERS[key]) if r.resource == "jobs" and r.verb == "create"]


def leader(world: World) -> str | None:
    lease = world.server.get_object(
        "coordination.k8s.io/v1", "Lease", "dbbackup-operator-leader", "dbbackup-system"
    )
    holder = str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")
    for key, user in USERS.items():
        if (
            lease_writes(world, key)
            and holder
            and any(r.user == user for r in lease_writes(world, key))
        ):
            last = lease_writes(world, key)[-1]
            if last.timestamp == max(r.timestamp for k in USERS for r in lease_writes(world, k)):
                return key
    return None


def slots_done(world: World, slot: datetime) -> bool:
    assert world.completer is not None
    return all(job(n, slot) in world.completer.seen for n in BACKUPS)


@pytest.mark.timeout(300)
def test_failover_mid_herd_and_a_partitioned_leader_never_double_run_a_slot() -> None:
    world = World(speed=SPEED, start=START, lead=1.0)
    try:
        completer = world.start_completer(10, lambda _job: False)
        # The second leader's Job creates are slowed (0.5 s each, 4 workers: a 20-backup herd
        # takes ~2.5 s real, 25 virtual), so the partition of step 2 finds it mid-herd.
        world.server.faults.delay(0.5, verb="create", resource="jobs", user=USERS["b"])
        crash = {FAILPOINT_ENV: f"after-create-job:{KILL_AFTER}"}
        procs = {"a": replica(world, "a", env=crash)}
        assert wait_for(lambda: leader(world), 60, "a leader") == "a"
        procs["b"] = replica(world, "b")
        procs["b"].wait_ready(60)

        # 1: the herd, due once both replicas run; the leader dies after its sixth create.
        wait_for(lambda: 5 <= world.clock.now().second < 40, 10, "room before the next slot",
                 interval=0.01)  # fmt: skip
        created = [world.add_backup(name, schedule="* * * * *") for name in BACKUPS]
        first = next_minute(max(creation(b) for b in created))
        assert procs["a"].wait_exit(60) == FAILPOINT_EXIT_CODE, procs["a"].logs()[-3000:]
        made_by_a = [r for r in job_creates(world, "a") if r.code == 201]
        assert len(made_by_a) < len(BACKUPS), "the kill came after the herd"
        killed = made_by_a[KILL_AFTER - 1].timestamp  # the crash point fired on this response
        wait_for(lambda: lease_writes(world, "b"), 30, "the follower to take over")
        took_over = lease_writes(world, "b")[0].timestamp
        assert took_over - killed <= TAKEOVER_BOUND, took_over - killed
        wait_for(lambda: slots_done(world, first), 30, "the herd finished by the new leader")
        wait_for(lambda: slots_done(world, minute(first, 1)), 30, "the slot after the herd")

        # 2: a third replica follows; the leader loses the Lease API but not the Jobs API.
        procs["c"] = replica(world, "c")
        procs["c"].wait_ready(60)
        now = world.clock.now()
        cut = now.replace(second=50, microsecond=0)
        if cut - now < timedelta(seconds=5):
            cut += timedelta(minutes=1)
        wait_for(lambda: world.clock.now() >= cut, 20, "the cut-off moment", interval=0.01)
        world.server.faults.fail(503, times=None, resource="leases", user=USERS["b"])
        assert procs["b"].wait_exit(30) != 0, "a leader that lost its lease must exit"
        wait_for(lambda: lease_writes(world, "c"), 30, "the third replica to take over")
        next_slot = (cut + timedelta(minutes=1)).replace(second=0)
        later = next_slot + timedelta(minutes=1)
        wait_for(lambda: slots_done(world, later), 60, "the slot after the partition")

        last_renew = lease_writes(world, "b")[-1].timestamp
        last_create = job_creates(world, "b")[-1].timestamp
        c_took_over = lease_writes(world, "c")[0].timestamp
        assert last_create < last_renew + timedelta(seconds=LEASE), (last_create, last_renew)
        assert last_create < c_took_over, (last_create, c_took_over)

        # Every slot from the first to the last one: exactly one Job per backup.
        slot = first
        while slot <= later:
            assert slots_done(world, slot), slot
            slot += timedelta(minutes=1)
        twice = {name: uids for name, uids in completer.seen.items() if len(uids) != 1}
        assert twice == {}
        assert procs["c"].stop() == 0
    finally:
        world.close()
