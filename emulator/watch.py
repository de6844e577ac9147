"""Watch events and watchers: fan-out without copying the world.

A committed change becomes one immutable :class:`Event` (resourceVersion, type, the new object,
the previous object). Every :class:`Watcher` of the collection is *offered* the event while the
storage lock is held, so every watcher sees the events of its collection in commit order, and a
watcher registered at resourceVersion R sees exactly the events after R. Offering filters by
namespace and selectors and is O(1) per watcher; the JSON line of an event is encoded once per
(type, apiVersion) and shared by every watcher that sends it.

Selector transitions follow the watch cache (``cacheWatcher.convertToWatchEvent``): an object that
starts matching is ``ADDED``, one that stops matching is ``DELETED`` (its previous state with the
new resourceVersion).

Control messages (close now, stall, fail with 410) reach a watcher through the same queue so they
are ordered with the events. Non-goals: back-pressure; a slow watcher's queue grows unbounded.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from emulator.event_conversion import EVENTS_V1_API, to_events_v1
from emulator.selectors import Selector

__all__ = ["ADDED", "DELETED", "MODIFIED", "Control", "Event", "Watcher", "encode_line"]

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


def encode_line(type_: str, obj: dict[str, Any]) -> bytes:
    """One watch line: ``{"type": ..., "object": ...}`` and a newline."""
    return json.dumps({"type": type_, "object": obj}, separators=(",", ":")).encode() + b"\n"


@dataclass(eq=False)
class Event:
    """One committed change. ``obj`` and ``old`` are shared and never mutated."""

    rv: int
    type: str
    key: str
    namespace: str
    obj: dict[str, Any]
    old: dict[str, Any] | None
    _lines: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def line(self, type_: str, api_version: str) -> bytes:
        """The encoded line for a watcher of ``api_version`` (cached; races only re-encode)."""
        cached = self._lines.get((type_, api_version))
        if cached is not None:
            return cached
        line = encode_line(type_, self.served(type_, api_version))
        self._lines[(type_, api_version)] = line
        return line

    def served(self, type_: str, api_version: str) -> dict[str, Any]:
        """The object a watcher of ``api_version`` receives with a ``type_`` event."""
        obj = self.obj
        if type_ == DELETED and self.type == MODIFIED and self.old is not None:
            # Left the selector: the previous state, carrying this event's resourceVersion.
            obj = dict(self.old)
            obj["metadata"] = dict(self.old["metadata"], resourceVersion=str(self.rv))
        if api_version == EVENTS_V1_API and obj.get("apiVersion") == "v1":
            obj = to_events_v1(obj)  # one Event, two APIs (emulator.event_conversion)
        elif obj.get("apiVersion") != api_version:
            obj = dict(obj, apiVersion=api_version)
        return obj


@dataclass(frozen=True)
class Control:
    """A message to a watcher's stream: ``close``, ``stall`` or ``gone``."""

    action: str
    message: str = ""


class Watcher:
    """One open watch: a filter and a queue of ``(type, Event)`` or :class:`Control`."""

    def __init__(
        self,
        *,
        storage_key: tuple[str, str],
        api_version: str,
        namespace: str | None,
        labels: Selector,
        fields: Selector,
        user: str = "",
    ) -> None:
        self.storage_key = storage_key
        self.api_version = api_version
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.user = user
        self.queue: queue.SimpleQueue[tuple[str, Event] | Control] = queue.SimpleQueue()
        self.closed = threading.Event()
        self._unfiltered = labels.empty and fields.empty

    def _matches(self, obj: dict[str, Any] | None) -> bool:
        return obj is not None and self.labels.matches(obj) and self.fields.matches(obj)

    def offer(self, event: Event) -> None:
        """Queue ``event`` if this watcher should see it (called under the storage lock)."""
        if self.namespace is not None and event.namespace != self.namespace:
            return
        if self._unfiltered:
            self.queue.put((event.type, event))
            return
        now = self._matches(event.obj)
        if event.type == ADDED:
            if now:
                self.queue.put((ADDED, event))
        elif event.type == DELETED:
            if self._matches(event.old):
                self.queue.put((DELETED, event))
        else:
            before = self._matches(event.old)
            if now and before:
                self.queue.put((MODIFIED, event))
            elif now:
                self.queue.put((ADDED, event))
            elif before:
                self.queue.put((DELETED, event))

    def control(self, message: Control) -> None:
        self.queue.put(message)
