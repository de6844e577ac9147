"""Two Managers with leader election against the emulator over HTTP.

Each Manager authenticates as its own user, so the emulator's audit log says who wrote what.
The test reconciler copies ConfigMap ``in-<x>`` to ``out-<x>``: every ``out-*`` create is
leader-only work. Timings are shortened (lease 2 s, renew deadline 1.5 s, retry 0.3 s).

Scenarios (docs/design.md §2 and the issue's "done when"):

* only the leader's identity ever writes, and stopping the leader hands over within the lease
  duration (it releases the Lease, so the standby takes over at its next retry);
* a leader whose renewals fail stops its leader-only work before its Lease expires and
  ``start`` returns 1; the standby takes over only after that;
* stopping mid-reconcile returns 0 and releases the Lease only after the reconcile finished.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from emulator.audit import AuditRecord
from emulator.server import ApiServer
from manager.errors import AlreadyExists
from manager.manager import Manager, ManagerOptions
from manager.reconcile import Request, Result
from manager.rest import RestClient
from manager.scheme import LEASES, ResourceType
from tests.support.restconfig import rest_config

CONFIGMAPS = ResourceType("", "v1", "ConfigMap", "configmaps")
LEASE_NAME = "test-leader"
TIMINGS = {"lease_duration": 2.0, "renew_deadline": 1.5, "retry_period": 0.3}
WRITE_VERBS = {"create", "update", "patch", "delete"}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 20 ms; fail after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class CopyReconciler:
    """Copies ConfigMap ``in-<x>`` to ``out-<x>``; can be held mid-reconcile by a test."""

    def __init__(self, rest: RestClient, hold: threading.Event | None = None) -> None:
        self.rest = rest
        self.hold = hold
        self.entered = threading.Event()
        self.finished = threading.Event()

    def reconcile(self, request: Request) -> Result:
        if not request.name.startswith("in-"):
            return Result()
        self.entered.set()
        if self.hold is not None:
            assert self.hold.wait(30), "test never released the reconcile"
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "out-" + request.name[3:], "namespace": request.namespace},
            "data": {"copied": "yes"},
        }
        with suppress(AlreadyExists):
            self.rest.create(CONFIGMAPS.collection_path(request.namespace), body)
        self.finished.set()
        return Result()


@dataclass
class Running:
    """A Manager started on a thread."""

    manager: Manager
    user: str
    reconciler: CopyReconciler
    stop: threading.Event = field(default_factory=threading.Event)
    code: int | None = None
    returned_at: datetime | None = None
    thread: threading.Thread | None = None

    def run(self) -> None:
        self.code = self.manager.start(self.stop)
        self.returned_at = datetime.now(UTC)

    def wait_returned(self, timeout: float) -> int:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"manager of {self.user} did not return"
        assert self.code is not None
        return self.code


def new_manager(
    server: ApiServer,
    user: str,
    namespace: str,
    hold: threading.Event | None = None,
    *,
    graceful_shutdown_timeout: float = 10.0,
) -> Running:
    token = f"token-{user}"
    server.add_user(token, user, ["system:authenticated"])
    options = ManagerOptions(
        rest_config=rest_config(server, token),
        namespace=namespace,
        metrics_bind_address="127.0.0.1:0",
        health_probe_bind_address="127.0.0.1:0",
        leader_election=True,
        leader_election_namespace=namespace,
        leader_election_id=LEASE_NAME,
        leader_election_identity=f"{user}_id",
        graceful_shutdown_timeout=graceful_shutdown_timeout,
        lease_duration=TIMINGS["lease_duration"],
        renew_deadline=TIMINGS["renew_deadline"],
        retry_period=TIMINGS["retry_period"],
    )
    manager = Manager(options)
    reconciler = CopyReconciler(manager.rest, hold)
    manager.new_controller("copy", reconciler, CONFIGMAPS)
    return Running(manager, user, reconciler)


@contextmanager
def started(*runs: Running) -> Iterator[None]:
    for run in runs:
        run.thread = threading.Thread(target=run.run, name=f"manager-{run.user}", daemon=True)
        run.thread.start()
    try:
        yield
    finally:
        for run in runs:
            run.stop.set()
        for run in runs:
            assert run.thread is not None
            run.thread.join(30)


@pytest.fixture
def admin(api_server: ApiServer) -> Iterator[RestClient]:
    rest = RestClient(rest_config(api_server))
    yield rest
    rest.close()


def make_namespace(admin: RestClient, name: str) -> str:
    admin.create(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    return name


def put_input(admin: RestClient, namespace: str, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"in-{name}"}}
    admin.create(CONFIGMAPS.collection_path(namespace), body)


def output_exists(admin: RestClient, namespace: str, name: str) -> bool:
    items = admin.get(CONFIGMAPS.collection_path(namespace))["items"]
    return any(i["metadata"]["name"] == f"out-{name}" for i in items)


def lease_holder(admin: RestClient, namespace: str) -> str:
    lease = admin.get(LEASES.object_path(namespace, LEASE_NAME))
    return str(lease["spec"].get("holderIdentity") or "")


def work_writes(records: list[AuditRecord], namespace: str) -> list[AuditRecord]:
    """Leader-only writes: ConfigMap writes in ``namespace`` that succeeded."""
    return [
        r
        for r in records
        if r.verb in WRITE_VERBS
        and r.resource == "configmaps"
        and r.namespace == namespace
        and r.user != "kubernetes-admin"
        and 200 <= r.code < 300
    ]


def lease_writes(records: list[AuditRecord], user: str) -> list[int]:
    return [
        i
        for i, r in enumerate(records)
        if r.resource == "leases" and r.verb in WRITE_VERBS and r.user == user and r.code < 300
    ]


def test_only_the_leader_writes_and_stopping_it_hands_over(
    api_server: ApiServer, admin: RestClient
) -> None:
    ns = make_namespace(admin, "leader-handover")
    first = new_manager(api_server, "first", ns)
    second = new_manager(api_server, "second", ns)
    with started(first):
        wait_until(first.manager.elected.is_set, 10, "the first manager to lead")
        with started(second):
            wait_until(lambda: lease_holder(admin, ns) == "first_id", 5, "first to hold")
            for i in range(5):
                put_input(admin, ns, f"a{i}")
            wait_until(
                lambda: all(output_exists(admin, ns, f"a{i}") for i in range(5)), 10, "copies"
            )
            assert not second.manager.elected.is_set()
            stopped_at = time.monotonic()
            first.stop.set()
            assert first.wait_returned(15) == 0
            wait_until(second.manager.elected.is_set, 10, "the second manager to lead")
            handover = time.monotonic() - stopped_at
            for i in range(5):
                put_input(admin, ns, f"b{i}")
            wait_until(
                lambda: all(output_exists(admin, ns, f"b{i}") for i in range(5)), 10, "copies"
            )
            assert lease_holder(admin, ns) == "second_id"
    assert handover < TIMINGS["lease_duration"], f"handover took {handover:.2f} s"
    records = api_server.audit.records
    writes = work_writes(records, ns)
    users = [w.user for w in writes]
    assert users == ["first"] * 5 + ["second"] * 5, users
    # first released the Lease after its last write and before second's first write.
    release = lease_writes(records, "first")[-1]
    last_first = max(i for i, r in enumerate(records) if r in writes and r.user == "first")
    first_second = min(i for i, r in enumerate(records) if r in writes and r.user == "second")
    assert last_first < release < first_second
    assert second.wait_returned(15) == 0


def test_failed_renewals_stop_work_before_expiry_and_exit_non_zero(
    api_server: ApiServer, admin: RestClient
) -> None:
    ns = make_namespace(admin, "leader-renew-fails")
    first = new_manager(api_server, "first", ns)
    second = new_manager(api_server, "second", ns)
    with started(first):
        wait_until(first.manager.elected.is_set, 10, "the first manager to lead")
        with started(second):
            put_input(admin, ns, "a")
            wait_until(lambda: output_exists(admin, ns, "a"), 10, "the first copy")
            rule = api_server.faults.fail(500, times=None, resource="leases", user="first")
            assert first.wait_returned(10) == 1
            api_server.faults.remove(rule)
            renewals = [
                r
                for r in api_server.audit.records
                if r.resource == "leases" and r.user == "first" and r.verb in ("create", "update")
            ]
            last_ok = max(r.timestamp for r in renewals if 200 <= r.code < 300)
            assert first.returned_at is not None
            stopped_after = (first.returned_at - last_ok).total_seconds()
            assert stopped_after < TIMINGS["lease_duration"], stopped_after
            wait_until(second.manager.elected.is_set, 10, "the standby to take over")
            put_input(admin, ns, "b")
            wait_until(lambda: output_exists(admin, ns, "b"), 10, "the second copy")
    records = api_server.audit.records
    assert [w.user for w in work_writes(records, ns)] == ["first", "second"]
    assert first.reconciler.finished.is_set()
    lease = admin.get(LEASES.object_path(ns, LEASE_NAME))
    assert lease["spec"]["leaseTransitions"] >= 1
    assert second.wait_returned(15) == 0


def test_stop_mid_reconcile_releases_the_lease_after_it_finished(
    api_server: ApiServer, admin: RestClient
) -> None:
    ns = make_namespace(admin, "leader-drain")
    hold = threading.Event()
    only = new_manager(api_server, "only", ns, hold=hold)
    with started(only):
        wait_until(only.manager.elected.is_set, 10, "the manager to lead")
        put_input(admin, ns, "slow")
        wait_until(only.reconciler.entered.is_set, 10, "the reconcile to start")
        only.stop.set()
        # Draining: longer than the lease duration, so the Lease must keep being renewed.
        time.sleep(TIMINGS["lease_duration"] * 1.5)
        assert only.thread is not None and only.thread.is_alive()
        assert lease_holder(admin, ns) == "only_id"
        hold.set()
        assert only.wait_returned(15) == 0
    records = api_server.audit.records
    write = records.index(work_writes(records, ns)[0])
    release = lease_writes(records, "only")[-1]
    assert write < release
    lease = admin.get(LEASES.object_path(ns, LEASE_NAME))
    assert lease["spec"]["holderIdentity"] == ""
    assert lease["spec"]["leaseDurationSeconds"] == 1
