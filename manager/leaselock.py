"""The leader-election record and the Lease that stores it (client-go's ``resourcelock``).

:class:`LeaderElectionRecord` is the election state (holder, duration, acquire/renew times,
transitions) independent of where it is stored; :class:`ResourceLock` is the small protocol the
elector needs from a store; :class:`LeaseLock` keeps the record in the ``spec`` of a
``coordination.k8s.io/v1`` Lease, exactly as client-go's ``LeaseLock`` does.

Guarantees of :class:`LeaseLock`:

* ``update`` sends the whole Lease with the ``resourceVersion`` of the last Lease this lock
  read or wrote, so a concurrent writer makes it fail with ``Conflict`` (optimistic
  concurrency); it refuses to write before a ``get`` or ``create``;
* times are written as the API's ``MicroTime`` (RFC 3339 with microseconds, UTC) and read
  back verbatim, so a record compares equal to itself after a round trip;
* every request is bounded by the caller's timeout.

It does not judge expiry or retry: that is the elector's job (``manager.leaderelection``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from manager.errors import ApiError
from manager.rest import DEFAULT_CONNECT_TIMEOUT, RestClient
from manager.scheme import LEASES

__all__ = ["LeaderElectionRecord", "LeaseLock", "ResourceLock", "format_micro_time"]


def format_micro_time(when: datetime) -> str:
    """``metav1.MicroTime`` wire format: ``2006-01-02T15:04:05.000000Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class LeaderElectionRecord:
    """client-go's ``LeaderElectionRecord``; times are MicroTime strings ("" when unset)."""

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: str = ""
    renew_time: str = ""
    leader_transitions: int = 0

    @classmethod
    def for_holder(
        cls, identity: str, lease_duration: float, now: datetime
    ) -> LeaderElectionRecord:
        """The record a candidate writes when it takes the lease at ``now``."""
        stamp = format_micro_time(now)
        return cls(
            holder_identity=identity,
            lease_duration_seconds=int(lease_duration),
            acquire_time=stamp,
            renew_time=stamp,
        )

    def renewed_from(self, old: LeaderElectionRecord) -> LeaderElectionRecord:
        """This record as a renewal of ``old``: keep its acquire time and transitions."""
        return replace(
            self, acquire_time=old.acquire_time, leader_transitions=old.leader_transitions
        )

    def taken_over_from(self, old: LeaderElectionRecord) -> LeaderElectionRecord:
        """This record as a takeover of ``old``: one more transition."""
        return replace(self, leader_transitions=old.leader_transitions + 1)

    @classmethod
    def released_from(cls, old: LeaderElectionRecord, now: datetime) -> LeaderElectionRecord:
        """client-go's release: no holder, ``leaseDurationSeconds: 1``, transitions kept."""
        stamp = format_micro_time(now)
        return cls(
            holder_identity="",
            lease_duration_seconds=1,
            acquire_time=stamp,
            renew_time=stamp,
            leader_transitions=old.leader_transitions,
        )

    @classmethod
    def from_lease_spec(cls, spec: dict[str, Any] | None) -> LeaderElectionRecord:
        spec = spec or {}
        return cls(
            holder_identity=str(spec.get("holderIdentity") or ""),
            lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=str(spec.get("acquireTime") or ""),
            renew_time=str(spec.get("renewTime") or ""),
            leader_transitions=int(spec.get("leaseTransitions") or 0),
        )

    def to_lease_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "holderIdentity": self.holder_identity,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "leaseTransitions": self.leader_transitions,
        }
        if self.acquire_time:
            spec["acquireTime"] = self.acquire_time
        if self.renew_time:
            spec["renewTime"] = self.renew_time
        return spec


class ResourceLock(Protocol):
    """Where the election record lives. Errors are :mod:`manager.errors` classes:
    ``get`` raises ``NotFound`` when there is no record, ``create`` ``AlreadyExists`` when
    another candidate created it first, ``update`` ``Conflict`` when the record changed since
    this lock last read or wrote it. ``timeout`` (seconds) bounds each request."""

    def identity(self) -> str: ...

    def describe(self) -> str: ...

    def get(self, timeout: float | None = None) -> LeaderElectionRecord: ...

    def create(self, record: LeaderElectionRecord, timeout: float | None = None) -> None: ...

    def update(self, record: LeaderElectionRecord, timeout: float | None = None) -> None: ...


class LeaseLock:
    """A :class:`ResourceLock` on one ``coordination.k8s.io/v1`` Lease."""

    def __init__(self, rest: RestClient, namespace: str, name: str, identity: str) -> None:
        self._rest = rest
        self._namespace = namespace
        self._name = name
        self._identity = identity
        self._mu = threading.Lock()
        self._lease: dict[str, Any] | None = None  # last Lease read or written (its RV)

    def identity(self) -> str:
        return self._identity

    def describe(self) -> str:
        return f"{self._namespace}/{self._name}"

    @staticmethod
    def _timeout(timeout: float | None) -> tuple[float, float] | None:
        if timeout is None:
            return None
        return (min(DEFAULT_CONNECT_TIMEOUT, timeout), timeout)

    def get(self, timeout: float | None = None) -> LeaderElectionRecord:
        lease = self._rest.request(
            "GET",
            LEASES.object_path(self._namespace, self._name),
            timeout=self._timeout(timeout),
        )
        with self._mu:
            self._lease = lease
        return LeaderElectionRecord.from_lease_spec(lease.get("spec"))

    def create(self, record: LeaderElectionRecord, timeout: float | None = None) -> None:
        body = {
            "apiVersion": LEASES.api_version,
            "kind": LEASES.kind,
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": record.to_lease_spec(),
        }
        lease = self._rest.request(
            "POST",
            LEASES.collection_path(self._namespace),
            body=body,
            timeout=self._timeout(timeout),
        )
        with self._mu:
            self._lease = lease

    def update(self, record: LeaderElectionRecord, timeout: float | None = None) -> None:
        with self._mu:
            if self._lease is None:
                raise ApiError("lease not initialized, call get or create first")
            body = dict(self._lease)
        body["spec"] = record.to_lease_spec()
        lease = self._rest.request(
            "PUT",
            LEASES.object_path(self._namespace, self._name),
            body=body,
            timeout=self._timeout(timeout),
        )
        with self._mu:
            self._lease = lease
