"""client-go's ``TryAcquireOrRenew`` table, run on the real Lease lock against the emulator.

The unit suite runs the same rows (``tests/unit/manager/test_leaderelection.py``) on an
in-memory store; here every row goes through :class:`~manager.leaselock.LeaseLock` over HTTP,
so the Lease's wire format, ``resourceVersion`` handling and error mapping are exercised too.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.server import ApiServer
from manager.clock import FakeClock
from manager.errors import AlreadyExists, ApiError, Conflict
from manager.leaderelection import LeaderElector
from manager.leaselock import LeaderElectionRecord, LeaseLock
from manager.rest import RestClient
from manager.scheme import LEASES
from tests.support.restconfig import rest_config
from tests.unit.manager.test_leaderelection import (
    CASES,
    ME,
    Case,
    check_outcome,
    config,
    noop_callbacks,
    seed,
)

NAMESPACE = "default"


@pytest.fixture
def rest(api_server: ApiServer) -> Iterator[RestClient]:
    client = RestClient(rest_config(api_server))
    yield client
    client.close()


def store_record(rest: RestClient, name: str, record: LeaderElectionRecord) -> None:
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": record.to_lease_spec(),
    }
    rest.create(LEASES.collection_path(NAMESPACE), body)


def read_record(rest: RestClient, name: str) -> LeaderElectionRecord:
    lease = rest.get(LEASES.object_path(NAMESPACE, name))
    return LeaderElectionRecord.from_lease_spec(lease.get("spec"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_try_acquire_or_renew_on_a_lease(rest: RestClient, case: Case) -> None:
    words = "".join(c for c in case.name if c.isalnum() or c == " ").split()
    name = "lease-" + "-".join(words)[:50].strip("-")
    if case.stored is not None:
        store_record(rest, name, case.stored)
    clock = FakeClock()
    lock = LeaseLock(rest, NAMESPACE, name, ME)
    elector = LeaderElector(None, config(), clock, noop_callbacks(), lock=lock)
    seed(elector, clock, case)

    ok = elector.try_acquire_or_renew(timeout=5)

    check_outcome(elector, read_record(rest, name), case, ok)


def test_lease_lock_optimistic_concurrency(rest: RestClient) -> None:
    clock = FakeClock()
    mine = LeaseLock(rest, NAMESPACE, "race", "mine")
    theirs = LeaseLock(rest, NAMESPACE, "race", "theirs")
    with pytest.raises(ApiError, match="not initialized"):
        mine.update(LeaderElectionRecord.for_holder("mine", 10, clock.now()))
    mine.create(LeaderElectionRecord.for_holder("mine", 10, clock.now()))
    with pytest.raises(AlreadyExists):
        theirs.create(LeaderElectionRecord.for_holder("theirs", 10, clock.now()))
    assert theirs.get().holder_identity == "mine"
    clock.step(1)  # an identical update is a no-op that keeps the resourceVersion
    mine.update(LeaderElectionRecord.for_holder("mine", 10, clock.now()))
    with pytest.raises(Conflict):
        theirs.update(LeaderElectionRecord.for_holder("theirs", 10, clock.now()))
    record = read_record(rest, "race")
    assert record.holder_identity == "mine"
    assert record == mine.get(), "the record survives a round trip unchanged"
