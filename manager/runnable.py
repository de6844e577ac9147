"""The small interfaces the runtime's parts plug into each other with.

* :class:`Runnable` — anything the Manager starts and stops (informers, controllers, servers,
  the elector); ``start`` blocks until ``stop`` is set, then returns after cleaning up.
* :class:`ResourceEventHandler` — what an informer calls for each change it observes. Handlers
  run on the informer's dispatch thread, never on the watch thread, and must not block.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

__all__ = ["LeaderElectionRunnable", "ResourceEventHandler", "Runnable"]


class Runnable(Protocol):
    """Something the Manager runs. ``start`` blocks until ``stop`` is set."""

    def start(self, stop: threading.Event) -> None: ...


class LeaderElectionRunnable(Runnable, Protocol):
    """A Runnable that declares whether it may run only while this process leads."""

    def needs_leader_election(self) -> bool: ...


class ResourceEventHandler(Protocol):
    """Observes one informer's changes. Objects are shared cache dicts: never mutate them.

    ``on_delete`` receives the last state the informer knew; after a relist it may be a state
    older than the deletion itself (client-go's ``DeletedFinalStateUnknown``).
    """

    def on_add(self, obj: dict[str, Any]) -> None: ...

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None: ...

    def on_delete(self, obj: dict[str, Any]) -> None: ...
