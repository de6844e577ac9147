"""In-memory stand-ins for the reconciler's collaborators, for deterministic unit tests.

``FakeCluster`` keeps a *server* (the truth, with resourceVersions, AlreadyExists, Conflict,
NotFound) and a *cache* that is synced only when a test says so, so stale-cache cases can be
written exactly. It implements the reconciler's ``ReconcilerClient`` protocol — our own
interface, not the Kubernetes API: integration tests run the real client against the emulator.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from manager.errors import AlreadyExists, Conflict, NotFound
from manager.scheme import ResourceType
from manager.store import INDEX_CONTROLLER_OWNER, owner_key

Key = tuple[str, str, str]  # (plural, namespace, name)


@dataclass
class RecordedEvent:
    type_: str
    reason: str
    message: str


@dataclass
class FakeRecorder:
    events: list[RecordedEvent] = field(default_factory=list)

    def event(
        self, obj: dict[str, Any], type_: str, reason: str, message: str, action: str = ""
    ) -> None:
        self.events.append(RecordedEvent(type_, reason, message))

    def reasons(self) -> list[str]:
        return [e.reason for e in self.events]


class FakeCluster:
    def __init__(self, now: datetime) -> None:
        self.server: dict[Key, dict[str, Any]] = {}
        self.cache: dict[Key, dict[str, Any]] = {}
        self._rv = itertools.count(1)
        self.now = now
        self.status_writes = 0
        self.creates = 0
        self.deletes: list[str] = []
        self.conflicts_to_inject = 0
        self.create_error: Exception | None = None  # raised by the next create, then cleared

    # -- test helpers ------------------------------------------------------------------------

    def put(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object on the server (as another actor would) and sync the cache."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        key = (rt.plural, meta.get("namespace", ""), meta["name"])
        previous = self.server.get(key)
        if previous is not None:  # an update: the server keeps uid and bumps generation on spec
            meta.setdefault("uid", previous["metadata"]["uid"])
            generation = int(previous["metadata"].get("generation") or 1)
            if "generation" not in meta or meta["generation"] == generation:
                bump = obj.get("spec") != previous.get("spec")
                meta["generation"] = generation + 1 if bump else generation
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("generation", 1)
        meta.setdefault("creationTimestamp", self.now.strftime("%Y-%m-%dT%H:%M:%SZ"))
        meta["resourceVersion"] = str(next(self._rv))
        self.server[key] = obj
        self.sync()
        return copy.deepcopy(obj)

    def sync(self) -> None:
        self.cache = copy.deepcopy(self.server)

    def objects(self, rt: ResourceType) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for k, o in sorted(self.server.items()) if k[0] == rt.plural]

    def delete_now(self, rt: ResourceType, namespace: str, name: str) -> None:
        self.server.pop((rt.plural, namespace, name), None)

    # -- ReconcilerClient --------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self.cache.get((rt.plural, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def by_index(self, rt: ResourceType, index: str, value: str) -> list[dict[str, Any]]:
        assert index == INDEX_CONTROLLER_OWNER
        found = []
        for (plural, namespace, _), obj in sorted(self.cache.items()):
            if plural != rt.plural:
                continue
            for ref in obj["metadata"].get("ownerReferences") or ():
                group = ref["apiVersion"].split("/")[0] if "/" in ref["apiVersion"] else ""
                if (
                    ref.get("controller")
                    and owner_key(group, ref["kind"], namespace, ref["name"]) == value
                ):
                    found.append(copy.deepcopy(obj))
        return found

    def get_live(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.server.get((rt.plural, namespace, name))
        if obj is None:
            raise NotFound(f"{rt.plural} {name!r} not found")
        return copy.deepcopy(obj)

    def create(
        self, rt: ResourceType, obj: dict[str, Any], *, read_back: bool = True
    ) -> dict[str, Any]:
        meta = obj["metadata"]
        key = (rt.plural, meta.get("namespace", ""), meta["name"])
        if self.create_error is not None:
            error, self.create_error = self.create_error, None
            raise error
        if key in self.server:
            raise AlreadyExists(
                f"{rt.plural} {meta['name']!r} already exists", reason="AlreadyExists"
            )
        self.creates += 1
        created = copy.deepcopy(obj)
        created["metadata"]["uid"] = str(uuid.uuid4())
        created["metadata"]["resourceVersion"] = str(next(self._rv))
        created["metadata"]["creationTimestamp"] = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.server[key] = created
        return copy.deepcopy(created) if read_back else copy.deepcopy(obj)

    def update_status(
        self, rt: ResourceType, obj: dict[str, Any], *, read_back: bool = True
    ) -> dict[str, Any]:
        meta = obj["metadata"]
        key = (rt.plural, meta.get("namespace", ""), meta["name"])
        current = self.server.get(key)
        if current is None:
            raise NotFound(meta["name"])
        if self.conflicts_to_inject > 0:
            self.conflicts_to_inject -= 1
            raise Conflict("the object has been modified", reason="Conflict")
        if current["metadata"]["resourceVersion"] != meta.get("resourceVersion"):
            raise Conflict("the object has been modified", reason="Conflict")
        self.status_writes += 1
        current = copy.deepcopy(current)
        current["status"] = copy.deepcopy(obj.get("status") or {})
        current["metadata"]["resourceVersion"] = str(next(self._rv))
        self.server[key] = current
        return copy.deepcopy(current) if read_back else copy.deepcopy(obj)

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        *,
        propagation_policy: str | None = None,
    ) -> dict[str, Any]:
        obj = self.server.pop((rt.plural, namespace, name), None)
        if obj is None:
            raise NotFound(name)
        self.deletes.append(name)
        return {}

    def finish_job(self, namespace: str, name: str, *, succeeded: bool, at: datetime) -> None:
        job = self.server[("jobs", namespace, name)]
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        status = job.setdefault("status", {})
        status.setdefault("startTime", stamp)
        if succeeded:
            status["completionTime"] = stamp
            status["conditions"] = [
                {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": stamp},
                {"type": "Complete", "status": "True", "lastTransitionTime": stamp},
            ]
        else:
            status["conditions"] = [
                {"type": "FailureTarget", "status": "True", "lastTransitionTime": stamp},
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                    "lastTransitionTime": stamp,
                },
            ]
        job["metadata"]["resourceVersion"] = str(next(self._rv))
