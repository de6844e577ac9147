"""The reconcile contract: :class:`Request` in, :class:`Result` (or an exception) out.

A :class:`Reconciler` is level-based: given the name of an object, it reads the world as it is
now and drives it toward the object's spec. It must be idempotent — called twice, or with a
stale cache, it must not do anything twice — because the runtime calls it after any change to
the object or to what it owns, after errors, and when a requested delay elapses.

Outcome rules (applied by the controller's worker, see ``manager.controller``):

* an exception (other than :class:`TerminalError`): logged, counted, requeued with per-item
  exponential backoff;
* :class:`TerminalError`: logged and counted, *not* requeued (only a new event retries it);
* ``Result(requeue_after=s)``: backoff forgotten, the request is processed again after ``s``;
* ``Result(requeue=True)``: requeued with backoff;
* ``Result()``: backoff forgotten, nothing scheduled.

A reconcile may end by handing its last request over: ``Result(then=finish)``. The
controller runs ``finish`` on one of its hand-off threads (``max_concurrent_handoffs`` in
flight; on the worker itself when it has none) and applies these same rules to what ``finish``
returns or raises; the request stays in progress until then, so it is still never reconciled
twice at once. The worker takes its next request meanwhile: a herd's Job creations wait on the
API server side by side, not one reconcile after another (docs/design.md §3, "Reconciler").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Reconciler", "Request", "Result", "TerminalError"]


@dataclass(frozen=True, slots=True, order=True)
class Request:
    """The name of the object to reconcile (``namespace`` is ``""`` for cluster-scoped ones)."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Result:
    """What the reconciler wants next. ``requeue_after`` is in seconds and wins over ``requeue``;
    ``then``, when set, is the rest of the reconcile, to run off the worker (module docstring):
    the other fields are then not read."""

    requeue: bool = False
    requeue_after: float | None = None
    then: Callable[[], Result] | None = field(default=None, compare=False, repr=False)


class TerminalError(Exception):
    """A failure that retrying cannot fix; the request is not requeued until something changes."""


class Reconciler(Protocol):
    """Drive the world toward the spec of the object named by ``request``.

    Read state from the cache, write through the client, and return a :class:`Result` (or raise)
    according to the module's outcome rules. Never block on a schedule: return
    ``requeue_after`` instead.
    """

    def reconcile(self, request: Request) -> Result: ...
