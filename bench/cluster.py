"""What the real-server benchmark does to a cluster as its administrator: seed, count, clean.

Role: the setup side of :mod:`bench.real`, with the admin kubeconfig (never the operator's):
make the benchmark's namespace, create N DatabaseBackups from a bare client at
:data:`SEED_IN_FLIGHT` requests in flight, count the ``SuccessfulCreate`` Events, ask who a
kubeconfig authenticates as (a SelfSubjectReview, so the audit log's user is never guessed),
and delete what a run created (Jobs, backups, Events of the namespace, the leader Lease) so
the next run starts on the same server state. Nothing outside the benchmark's namespace and
its Lease is touched. Non-goals: a cluster without the CRDs and RBAC (apply ``config/crd``
and ``config/rbac`` first).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from bench.emulator_host import backup_body
from bench.send import send_all
from controller.resources import BACKUPS
from manager.errors import NotFound, ServerError, TransportError
from manager.rest import RestClient
from manager.scheme import EVENTS, JOBS, LEASES

__all__ = ["SEED_IN_FLIGHT", "Cluster", "post_all"]

SEED_IN_FLIGHT = 16  # the seeding client's concurrency (not timed)
DELETE_TIMEOUT = 600.0  # seconds for a namespace's Jobs, backups or Events to be deleted
CORE_EVENTS = "events"  # /api/v1 view of the same Events: it has a reason field selector


def post_all(rest: RestClient, items: Iterable[tuple[str, dict[str, Any]]], workers: int) -> int:
    """POST every (path, body) from ``workers`` threads; returns the number refused."""
    errors, _ = send_all(rest, (("POST", path, body) for path, body in items), workers, name="post")
    return errors


def _occurrences(event: dict[str, Any]) -> int:
    """How many times a core/v1 view of an Event says it happened: ``series.count`` for an
    events.k8s.io series (its ``count`` is the deprecated field, 0), else ``count``, else 1."""
    series = event.get("series") or {}
    return max(1, int(series.get("count") or event.get("count") or 1))


class Cluster:
    """The benchmark's namespace on a real API server, driven with admin rights."""

    def __init__(self, rest: RestClient, namespace: str, lease: tuple[str, str]) -> None:
        self.rest = rest
        self.namespace = namespace
        self.lease = lease  # (namespace, name) of the operator's leader-election Lease

    def whoami(self, rest: RestClient) -> str:
        """The user ``rest`` authenticates as (authentication.k8s.io SelfSubjectReview)."""
        review = rest.create(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        return str(review["status"]["userInfo"]["username"])

    def ensure_namespace(self) -> None:
        try:
            self.rest.get(f"/api/v1/namespaces/{self.namespace}")
        except NotFound:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
            self.rest.create("/api/v1/namespaces", body)

    def seed(self, n: int, schedule: str) -> int:
        """N backups on ``schedule`` (as ``kubectl apply`` writes them); the refusals."""
        path = BACKUPS.collection_path(self.namespace)

        def bodies() -> Iterable[tuple[str, dict[str, Any]]]:
            for i in range(n):
                body = backup_body(i, schedule)
                body["metadata"]["namespace"] = self.namespace
                yield path, body

        return post_all(self.rest, bodies(), SEED_IN_FLIGHT)

    def delete_jobs(self) -> None:
        self._delete_collection(JOBS.collection_path(self.namespace))

    def clean(self) -> None:
        """Delete every Job, backup and Event of the namespace, and the Lease."""
        self.delete_jobs()
        self._delete_collection(BACKUPS.collection_path(self.namespace))
        self._delete_collection(EVENTS.collection_path(self.namespace))
        with contextlib.suppress(NotFound):
            self.rest.delete(LEASES.object_path(*self.lease))

    def _delete_collection(self, path: str) -> None:
        """Delete everything at ``path`` and wait until it is gone. The server deletes a
        collection one object at a time and may answer before it is done (its request
        timeout, a 504), so the deletion is repeated until a list comes back empty."""
        deadline = time.monotonic() + DELETE_TIMEOUT
        while True:
            # Background: the server has no garbage collector to wait for (nothing is owned).
            body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
            with contextlib.suppress(ServerError, TransportError):
                self.rest.request("DELETE", path, body=body, timeout=(5.0, DELETE_TIMEOUT))
            if not self.rest.get(path, limit=1).get("items"):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} still has objects after {DELETE_TIMEOUT:.0f} s")

    def count(self, path: str) -> int:
        """Objects at a collection ``path`` (pages of 500, only the metadata counted)."""
        total, token = 0, ""
        while True:
            page = self.rest.get(path, limit=500, **({"continue": token} if token else {}))
            total += len(page.get("items") or ())
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return total

    def successful_creates(self) -> int:
        """``SuccessfulCreate`` occurrences recorded in the namespace (a series counts its
        repeats)."""
        total, token = 0, ""
        path = f"/api/v1/namespaces/{self.namespace}/{CORE_EVENTS}"
        while True:
            page = self.rest.get(path, limit=500, fieldSelector="reason=SuccessfulCreate",
                                 **({"continue": token} if token else {}))  # fmt: skip
            total += sum(_occurrences(e) for e in page.get("items") or ())
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return total

    def backups_with_status(self) -> int:
        return self._count_where(BACKUPS.collection_path(self.namespace), lambda o: bool(
            o.get("status")))  # fmt: skip

    def _count_where(self, path: str, keep: Callable[[dict[str, Any]], bool]) -> int:
        total, token = 0, ""
        while True:
            page = self.rest.get(path, limit=500, **({"continue": token} if token else {}))
            total += sum(1 for o in page.get("items") or () if keep(o))
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return total
