"""The small interfaces the runtime's parts plug into each other with.

* :class:`Runnable` — anything the Manager starts and stops (informers, controllers, servers,
  the elector); ``start`` blocks until ``stop`` is set, then returns after cleaning up.
* :class:`ResourceEventHandler` — what an informer calls for each change it observes. Handlers
  run on the informer's dispatch thread, never on the watch thread, and must not block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["LeaderElectionRunnable", "ResourceEventHandler", "Runnable", "when_set"]


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


def when_set(event: threading.Event, action: Callable[[], None], name: str) -> threading.Thread:
    """Run ``action`` on a daemon thread once ``event`` is set.

    A stop Event cannot be waited on together with a queue or another Event, so a loop that
    must notice it would otherwise wake every few milliseconds to look. This thread sleeps in
    ``event.wait()`` instead and wakes the loop once, when it matters (idle CPU, issue 9).
    """

    def run() -> None:
        event.wait()
        action()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
