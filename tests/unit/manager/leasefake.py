"""An in-memory election-record store with the API server's optimistic concurrency.

client-go tests its elector against a fake clientset; this is the same idea, reduced to the
three calls a :class:`~manager.leaselock.ResourceLock` makes. Every write bumps a
resourceVersion; a write from a lock that last saw an older one fails with ``Conflict``, a
second create with ``AlreadyExists``. Failures can be queued per verb (``fail_next``) the way
client-go's reactors inject them. The real Lease lock is exercised against the emulator in
``tests/integration/manager/test_leader_lease.py`` with the same table.
"""

from __future__ import annotations

import threading
from collections import deque

from manager.errors import AlreadyExists, ApiError, Conflict, NotFound
from manager.leaselock import LeaderElectionRecord


class FakeLeaseStore:
    """One stored record plus a resourceVersion, shared by several :class:`FakeLock`s."""

    def __init__(self, record: LeaderElectionRecord | None = None) -> None:
        self.mu = threading.Lock()
        self.record = record
        self.resource_version = 1 if record is not None else 0
        self.writes: list[tuple[str, LeaderElectionRecord]] = []  # (identity, record)
        self.failures: dict[str, deque[ApiError]] = {"get": deque(), "update": deque()}
        self.failures["create"] = deque()

    def fail_next(self, verb: str, err: ApiError, times: int = 1) -> None:
        with self.mu:
            self.failures[verb].extend([err] * times)

    def _maybe_fail(self, verb: str) -> None:
        queue = self.failures[verb]
        if queue:
            raise queue.popleft()

    def lock(self, identity: str) -> FakeLock:
        return FakeLock(self, identity)


class FakeLock:
    """A ResourceLock over a :class:`FakeLeaseStore` that remembers the version it last saw."""

    def __init__(self, store: FakeLeaseStore, identity: str) -> None:
        self.store = store
        self._identity = identity
        self.seen_version: int | None = None

    def identity(self) -> str:
        return self._identity

    def describe(self) -> str:
        return "fake/lease"

    def get(self, timeout: float | None = None) -> LeaderElectionRecord:
        with self.store.mu:
            self.store._maybe_fail("get")
            if self.store.record is None:
                raise NotFound("404: lease not found")
            self.seen_version = self.store.resource_version
            return self.store.record

    def create(self, record: LeaderElectionRecord, timeout: float | None = None) -> None:
        with self.store.mu:
            self.store._maybe_fail("create")
            if self.store.record is not None:
                raise AlreadyExists("409 AlreadyExists: lease exists", reason="AlreadyExists")
            self.store.record = record
            self.store.resource_version += 1
            self.seen_version = self.store.resource_version
            self.store.writes.append((self._identity, record))

    def update(self, record: LeaderElectionRecord, timeout: float | None = None) -> None:
        with self.store.mu:
            self.store._maybe_fail("update")
            if self.seen_version is None:
                raise ApiError("lease not initialized, call get or create first")
            if self.store.record is None:
                raise NotFound("404: lease not found")
            if self.seen_version != self.store.resource_version:
                raise Conflict("409 Conflict: the object has been modified", reason="Conflict")
            self.store.record = record
            self.store.resource_version += 1
            self.seen_version = self.store.resource_version
            self.store.writes.append((self._identity, record))
