"""Scenario 3, leader failover under load: one Job per slot across a kill and a partition.

Two replicas run with ``--leader-elect`` (each under its own user, so the audit log tells
them apart) and shortened lease timings (hidden flags; virtual seconds of the shared clock).
Twenty backups are due at 01:00 and every leader's Job creates are slowed, so the herd takes
a while:

1. the leader is SIGKILLed mid-herd. The follower takes over within the lease duration plus
   two jittered retry periods of the kill (``TAKEOVER_BOUND``), finishes the herd, and every
   backup has exactly one Job for 01:00 (one uid per Job name, seen by the Completer) and for
   every later slot;
2. a third replica joins as follower, then the new leader is cut off from Leases (503 on its
   lease requests, while Jobs still answer it — the dangerous partition). It must stop
   creating Jobs before its lease can expire: from the audit log (server timestamps, one
   clock), its last Job create comes before its last successful renewal plus the lease
   duration, and before the third replica's first successful lease write; it exits
   non-zero (a lost lease); the third replica runs the following slots, one Job each.
"""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import pytest

from emulator.audit import AuditRecord
from manager.leaderelection import JITTER_FACTOR
from tests.reliability.replicas import LEASE, RETRY, USERS, replica
from tests.reliability.world import World, minute
from tests.support.operator import wait_for

SPEED = 20.0  # a virtual minute is 3 real seconds
# The follower's worst case, as client-go's elector works: it notices the dead leader's last
# renewal up to one jittered retry period (RETRY * (1 + JITTER_FACTOR)) after it was written,
# counts LEASE from that moment, then acquires on its next jittered retry tick. The kill comes
# after the last renewal, so the takeover lands within LEASE + 2 jittered retries of it. One
# real second of process scheduling (SPEED virtual seconds) is allowed on top: the clock is
# compressed, so a loaded CI machine stretches every real delay twentyfold.
TAKEOVER_BOUND = timedelta(seconds=LEASE + 2 * RETRY * (1 + JITTER_FACTOR) + SPEED)
START = datetime(2025, 3, 27, 0, 59, 30, tzinfo=UTC)
FIRST = datetime(2025, 3, 27, 1, 0, 0, tzinfo=UTC)
BACKUPS = [f"herd-{i:02d}" for i in range(20)]


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


@pytest.mark.timeout(120)
def test_failover_mid_herd_and_a_partitioned_leader_never_double_run_a_slot() -> None:
    world = World(speed=SPEED, start=START, lead=1.0)
    try:
        for name in BACKUPS:
            world.add_backup(name, schedule="* * * * *")
        completer = world.start_completer(10, lambda _job: False)
        # Slow Job creates (0.25 s each, 4 workers: a 20-backup herd takes ~1.25 s real), so
        # the kill after the 5th create lands mid-herd even on an idle machine.
        for key in "ab":
            world.server.faults.delay(0.25, verb="create", resource="jobs", user=USERS[key])
        procs = {"a": replica(world, "a")}
        first = wait_for(lambda: leader(world), 20, "a leader")
        assert first == "a"
        procs["b"] = replica(world, "b")
        procs["b"].wait_ready(20)

        # 1: kill the leader mid-herd.
        wait_for(lambda: len([r for r in job_creates(world, "a") if r.code == 201]) >= 5,
                 30, "the herd to start")  # fmt: skip
        procs["a"].proc.send_signal(signal.SIGKILL)
        killed = world.clock.now()
        procs["a"].wait_exit(10)
        made_by_a = len([r for r in job_creates(world, "a") if r.code == 201])
        assert made_by_a < len(BACKUPS), "the kill came after the herd"
        wait_for(lambda: lease_writes(world, "b"), 20, "the follower to take over")
        took_over = lease_writes(world, "b")[0].timestamp
        assert took_over - killed <= TAKEOVER_BOUND, took_over - killed
        wait_for(lambda: slots_done(world, FIRST), 20, "the herd finished by the new leader")
        wait_for(lambda: slots_done(world, minute(FIRST, 1)), 20, "the 01:01 slot")

        # 2: a third replica follows; the leader loses the Lease API but not the Jobs API.
        procs["c"] = replica(world, "c")
        procs["c"].wait_ready(20)
        now = world.clock.now()
        cut = now.replace(second=50, microsecond=0)
        if cut - now < timedelta(seconds=5):
            cut += timedelta(minutes=1)
        wait_for(lambda: world.clock.now() >= cut, 10, "the cut-off moment", interval=0.01)
        world.server.faults.fail(503, times=None, resource="leases", user=USERS["b"])
        assert procs["b"].wait_exit(20) != 0, "a leader that lost its lease must exit"
        wait_for(lambda: lease_writes(world, "c"), 20, "the third replica to take over")
        next_slot = (cut + timedelta(minutes=1)).replace(second=0)
        later = next_slot + timedelta(minutes=1)
        wait_for(lambda: slots_done(world, later), 30, "the slot after the partition")

        last_renew = lease_writes(world, "b")[-1].timestamp
        last_create = job_creates(world, "b")[-1].timestamp
        c_took_over = lease_writes(world, "c")[0].timestamp
        assert last_create < last_renew + timedelta(seconds=LEASE), (last_create, last_renew)
        assert last_create < c_took_over, (last_create, c_took_over)

        # Every slot from 01:00 to the last one: exactly one Job per backup.
        slot = FIRST
        while slot <= later:
            assert slots_done(world, slot), slot
            slot += timedelta(minutes=1)
        twice = {name: uids for name, uids in completer.seen.items() if len(uids) != 1}
        assert twice == {}
        assert procs["c"].stop() == 0
    finally:
        world.close()
