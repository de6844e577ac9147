"""A kube-apiserver audit log (``--audit-log-path``, JSON lines) read as the benchmark's record.

Role: the real-server benchmark's clock of record. Every figure that says "the server received
or answered X at t" comes from here when an audit log is given: the ``ResponseComplete`` stage
of each request, its user, verb, resource, name and code, and ``stageTimestamp`` (when the
server finished answering: a create is committed by then). :class:`AuditLog` reads the lines
appended after a :meth:`AuditLog.mark` (a byte offset), so a run reads only its own requests.

Pure functions over the parsed records compute the figures (:func:`creates`,
:func:`status_writes`, :func:`counts`, :func:`served` and :func:`concurrency`: how many
requests the server held at once and how long each took it, which says whether a slow herd
was fed too few requests or had them answered slowly), so they are unit-tested against a
recorded sample.
Non-goals: log rotation during a run (the benchmark's server is started with a size limit
larger than a run writes), the ``RequestReceived`` stage (a policy may omit it).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
    "AuditLog",
    "AuditRecord",
    "concurrency",
    "counts",
    "creates",
    "parse",
    "served",
    "status_writes",
]

READ_VERBS = frozenset({"get", "list", "watch"})


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One request as the server answered it."""

    user: str
    verb: str
    resource: str  # ``jobs``, ``databasebackups/status``
    namespace: str
    name: str
    code: int
    at: float  # Unix seconds: the stage timestamp of ResponseComplete
    received: float  # Unix seconds: requestReceivedTimestamp

    @property
    def write(self) -> bool:
        return self.verb not in READ_VERBS


def _stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def parse(lines: Iterable[str]) -> Iterator[AuditRecord]:
    """The ``ResponseComplete`` records among ``lines`` (other stages and blank or torn lines,
    e.g. the last one while the server is writing it, are skipped)."""
    for line in lines:
        if '"ResponseComplete"' not in line:
            continue
        try:
            event: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        if event.get("stage") != "ResponseComplete":
            continue
        ref = event.get("objectRef") or {}
        resource = str(ref.get("resource") or "")
        if ref.get("subresource"):
            resource = f"{resource}/{ref['subresource']}"
        yield AuditRecord(
            user=str((event.get("user") or {}).get("username") or ""),
            verb=str(event.get("verb") or ""),
            resource=resource,
            namespace=str(ref.get("namespace") or ""),
            name=str(ref.get("name") or ""),
            code=int((event.get("responseStatus") or {}).get("code") or 0),
            at=_stamp(str(event.get("stageTimestamp") or event["requestReceivedTimestamp"])),
            received=_stamp(str(event["requestReceivedTimestamp"])),
        )


class AuditLog:
    """The audit log file; :meth:`mark` and :meth:`since` bracket one phase of a run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        """The current end of the log (a byte offset to read from later)."""
        return self.path.stat().st_size if self.path.exists() else 0

    def since(self, offset: int) -> list[AuditRecord]:
        """Every complete record written after ``offset``."""
        with self.path.open("rb") as f:
            f.seek(offset)
            data = f.read()
        # Only whole lines: the server may be half-way through writing the last one.
        text = data[: data.rfind(b"\n") + 1].decode("utf-8", "replace")
        return list(parse(text.splitlines()))


def _created(
    records: Iterable[AuditRecord], user: str, resource: str, suffix: str
) -> Iterator[AuditRecord]:
    """The successful creates of ``resource`` by ``user`` whose name ends in ``suffix``."""
    return (
        r for r in records
        if r.user == user and r.verb == "create" and r.resource == resource
        and 200 <= r.code < 300 and r.name.endswith(suffix)
    )  # fmt: skip


def creates(
    records: Iterable[AuditRecord], user: str, resource: str, suffix: str = ""
) -> list[tuple[str, float]]:
    """(name, time) of every successful create of ``resource`` by ``user`` whose name ends in
    ``suffix``, in log order."""
    return [(r.name, r.at) for r in _created(records, user, resource, suffix)]


def served(
    records: Iterable[AuditRecord], user: str, resource: str, suffix: str = ""
) -> list[tuple[float, float]]:
    """(received, answered) of the same creates as :func:`creates`."""
    return [(r.received, r.at) for r in _created(records, user, resource, suffix)]


def concurrency(spans: list[tuple[float, float]]) -> dict[str, float]:
    """Requests the server held at once on average (the time it spent on them over the span
    from the first received to the last answered: Little's law) and the mean time each took
    it, in milliseconds; empty without requests."""
    if not spans:
        return {}
    busy = sum(answered - received for received, answered in spans)
    span = max(a for _, a in spans) - min(r for r, _ in spans)
    return {"in_flight": busy / span if span > 0 else math.nan,
            "latency_ms": 1000 * busy / len(spans)}  # fmt: skip


def status_writes(records: Iterable[AuditRecord], user: str, resource: str) -> list[float]:
    """Times of the successful status writes (update or patch) of ``resource`` by ``user``."""
    target = f"{resource}/status"
    return [
        r.at
        for r in records
        if r.user == user and r.resource == target and r.verb in ("update", "patch")
        and 200 <= r.code < 300
    ]  # fmt: skip


def counts(records: Iterable[AuditRecord], user: str) -> Counter[str]:
    """``verb resource code`` → requests of ``user``."""
    return Counter(f"{r.verb} {r.resource} {r.code}" for r in records if r.user == user)
