"""Fault injection for tests: failing requests, latency, and misbehaving watch streams.

:class:`Faults` (``server.faults``) holds rules matched against each request's attributes
(``verb``, ``resource``, ``namespace``, ``name``, ``user``; ``None`` matches anything):

* :meth:`Faults.fail` — answer ``code`` (5xx, or 429 with ``Retry-After``) ``times`` times
  (``None``: until :meth:`Faults.clear`), without touching storage;
* :meth:`Faults.delay` — add latency before the request is served;
* :meth:`Faults.close_watches` / :meth:`Faults.stall_watches` — end open watch streams now, or
  stop sending on them while keeping the connection open;
* :meth:`Faults.expire_next_watch` — the next watch (of a resource) gets a ``410 Gone`` ERROR;
* :meth:`Faults.drop_events` / :meth:`Faults.duplicate_events` / :meth:`Faults.delay_events` —
  per watch event of a resource, for reliability tests of clients.

All methods are thread-safe. Non-goals: network-level faults (resets mid-body, TLS errors).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

from emulator.watch import Control, Watcher

__all__ = ["Faults", "RequestMatch", "RequestRule", "WatchEventRule"]


class RequestMatch(TypedDict, total=False):
    """The request attributes a rule is limited to (an absent or None one matches anything)."""

    verb: str | None
    resource: str | None
    namespace: str | None
    name: str | None
    user: str | None


@dataclass(kw_only=True, eq=False)
class RequestRule:
    """A rule on requests; ``remaining`` None means unlimited."""

    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None
    user: str | None = None
    code: int = 0
    retry_after: int | None = None
    latency: float = 0.0
    remaining: int | None = None
    hits: int = field(default=0)

    def matches(self, attrs: dict[str, str]) -> bool:
        return all(
            want is None or attrs.get(key) == want
            for key, want in (
                ("verb", self.verb),
                ("resource", self.resource),
                ("namespace", self.namespace),
                ("name", self.name),
                ("user", self.user),
            )
        )


@dataclass(kw_only=True, eq=False)
class WatchEventRule:
    """A rule on watch events of ``resource``: ``drop``, ``duplicate`` or ``delay``."""

    action: str
    resource: str | None = None
    seconds: float = 0.0
    remaining: int | None = 1


class Faults:
    """The active fault rules of one server."""

    def __init__(self, watchers: Callable[[], list[Watcher]]) -> None:
        self._lock = threading.Lock()
        self._watchers = watchers
        self._rules: list[RequestRule] = []
        self._event_rules: list[WatchEventRule] = []
        self._expire: dict[str | None, int] = {}

    def _add(self, rule: RequestRule) -> RequestRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def fail(
        self,
        code: int = 500,
        *,
        times: int | None = 1,
        retry_after: int | None = None,
        **match: Unpack[RequestMatch],
    ) -> RequestRule:
        """Answer matching requests with ``code`` (429 gets ``Retry-After``, default 1 s)."""
        if code == 429 and retry_after is None:
            retry_after = 1
        return self._add(RequestRule(code=code, retry_after=retry_after, remaining=times, **match))

    def delay(
        self,
        seconds: float,
        *,
        times: int | None = None,
        **match: Unpack[RequestMatch],
    ) -> RequestRule:
        """Add ``seconds`` of latency to matching requests."""
        return self._add(RequestRule(latency=seconds, remaining=times, **match))

    def remove(self, rule: RequestRule | WatchEventRule) -> None:
        with self._lock:
            if isinstance(rule, RequestRule):
                self._rules = [r for r in self._rules if r is not rule]
            else:
                self._event_rules = [r for r in self._event_rules if r is not rule]

    def clear(self) -> None:
        """Remove every rule (open streams already stalled stay stalled until closed)."""
        with self._lock:
            self._rules.clear()
            self._event_rules.clear()
            self._expire.clear()

    def for_request(self, attrs: dict[str, str]) -> tuple[float, RequestRule | None]:
        """(latency to add, the failing rule if any) for a request; consumes matches."""
        latency = 0.0
        failing = None
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(attrs) or (failing is not None and rule.code):
                    continue
                rule.hits += 1
                latency += rule.latency
                if rule.code:
                    failing = rule
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
        return latency, failing

    # -- watch streams ------------------------------------------------------------------------

    def _matching_watchers(self, resource: str | None) -> list[Watcher]:
        return [w for w in self._watchers() if resource is None or w.storage_key[1] == resource]

    def close_watches(self, resource: str | None = None) -> int:
        """End open watch streams (of ``resource``) now; returns how many."""
        watchers = self._matching_watchers(resource)
        for watcher in watchers:
            watcher.control(Control("close"))
        return len(watchers)

    def stall_watches(self, resource: str | None = None) -> int:
        """Stop sending on open watch streams but keep them open; returns how many."""
        watchers = self._matching_watchers(resource)
        for watcher in watchers:
            watcher.control(Control("stall"))
        return len(watchers)

    def expire_next_watch(self, resource: str | None = None, times: int = 1) -> None:
        """The next ``times`` watches (of ``resource``) answer an ERROR event with 410."""
        with self._lock:
            self._expire[resource] = self._expire.get(resource, 0) + times

    def take_expire(self, resource: str) -> bool:
        with self._lock:
            for key in (resource, None):
                if self._expire.get(key, 0) > 0:
                    self._expire[key] -= 1
                    return True
        return False

    def _add_event_rule(self, rule: WatchEventRule) -> WatchEventRule:
        with self._lock:
            self._event_rules.append(rule)
        return rule

    def drop_events(self, resource: str | None = None, times: int | None = 1) -> WatchEventRule:
        """Do not send the next ``times`` watch events (per stream that meets them)."""
        return self._add_event_rule(WatchEventRule(action="drop", resource=resource,
                                                   remaining=times))  # fmt: skip

    def duplicate_events(
        self, resource: str | None = None, times: int | None = 1
    ) -> WatchEventRule:
        """Send the next ``times`` watch events twice."""
        return self._add_event_rule(WatchEventRule(action="duplicate", resource=resource,
                                                   remaining=times))  # fmt: skip

    def delay_events(
        self, seconds: float, resource: str | None = None, times: int | None = 1
    ) -> WatchEventRule:
        """Hold the next ``times`` watch events for ``seconds`` before sending them."""
        return self._add_event_rule(WatchEventRule(action="delay", resource=resource,
                                                   seconds=seconds, remaining=times))  # fmt: skip

    def for_event(self, resource: str) -> WatchEventRule | None:
        """The rule applying to the next event of ``resource`` on some stream (consumed)."""
        if not self._event_rules:
            return None
        with self._lock:
            for rule in self._event_rules:
                if rule.resource is None or rule.resource == resource:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._event_rules.remove(rule)
                    return rule
        return None
