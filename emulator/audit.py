"""Identity and the audit log: who asked what, and what they were answered.

:class:`Users` maps bearer tokens to a user name and groups (``ADMIN_TOKEN`` is an admin in
``system:masters``); a request with no or an unknown token is answered 401. :class:`AuditLog`
records every request — user, verb (``get``, ``list``, ``watch``, ``create``, ``update``,
``patch``, ``delete``, ``deletecollection``), API group, resource, subresource, namespace, name,
response code, timestamp — so tests can count API calls and compare them with RBAC rules.

Thread-safe. Non-goals: audit policy levels, request and response bodies.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

__all__ = ["ADMIN_TOKEN", "ADMIN_USER", "AuditLog", "AuditRecord", "User", "Users"]

ADMIN_TOKEN = "emulator-admin-token"
ADMIN_USER = "kubernetes-admin"
MASTERS = "system:masters"


@dataclass(frozen=True, kw_only=True)
class User:
    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One request. Non-resource requests (discovery) have an empty ``resource``."""

    user: str
    verb: str
    group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    code: int
    timestamp: datetime
    path: str


class Users:
    """Bearer token → user. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_token = {ADMIN_TOKEN: User(name=ADMIN_USER, groups=(MASTERS,))}

    def add(self, token: str, user: str, groups: tuple[str, ...] | list[str] = ()) -> None:
        with self._lock:
            self._by_token[token] = User(name=user, groups=tuple(groups))

    def authenticate(self, token: str | None) -> User | None:
        if not token:
            return None
        with self._lock:
            return self._by_token.get(token)


class AuditLog:
    """The request log. Iterate it, or take :attr:`records` (a snapshot)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[AuditRecord] = []

    def append(self, record: AuditRecord) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> list[AuditRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __iter__(self) -> Iterator[AuditRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
