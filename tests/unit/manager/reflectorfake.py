"""A scripted list/watch source for the reflector's state machine (no HTTP, no API server)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from manager.clock import FakeClock
from manager.errors import TransportError
from manager.rest import QueryValue

Script = list[dict[str, Any] | Exception]


def item(name: str, rv: str, ns: str = "ns") -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name, "resourceVersion": rv}}


def page(items: list[dict[str, Any]], rv: str, cont: str = "") -> dict[str, Any]:
    return {"kind": "JobList", "metadata": {"resourceVersion": rv, "continue": cont},
            "items": items}  # fmt: skip


class FakeListWatcher:
    """``lists`` answers list calls in order; ``watches`` scripts one watch each (events, then
    an optional exception). With no script left a watch blocks until aborted."""

    def __init__(self) -> None:
        self.lists: deque[dict[str, Any] | Exception] = deque()
        self.watches: deque[Script] = deque()
        self.list_queries: list[dict[str, QueryValue]] = []
        self.watch_queries: list[tuple[dict[str, QueryValue], float]] = []
        self.lock = threading.Lock()

    def list(
        self,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        each: Callable[[Any], None],
    ) -> dict[str, Any]:
        with self.lock:
            self.list_queries.append(dict(query or {}))
            answer = self.lists.popleft() if self.lists else TransportError("no list scripted")
        if isinstance(answer, Exception):
            raise answer
        for obj in answer.get("items") or ():
            each(obj)
        return {k: v for k, v in answer.items() if k != "items"}

    def watch(
        self,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        read_timeout: float,
        on_open: Callable[[Callable[[], None]], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        with self.lock:
            self.watch_queries.append((dict(query or {}), read_timeout))
            script = self.watches.popleft() if self.watches else None
        return self._stream(script, on_open)

    def _stream(
        self, script: Script | None, on_open: Callable[[Callable[[], None]], None] | None
    ) -> Iterator[dict[str, Any]]:
        aborted = threading.Event()
        if on_open is not None:
            on_open(aborted.set)
        if script is None:
            aborted.wait(60)
            raise TransportError("aborted")
        for step in script:
            if isinstance(step, Exception):
                raise step
            yield step


def drive(
    clock: FakeClock, done: Callable[[], bool], *, step: float = 1.0, limit: float = 10
) -> None:
    """Step fake time until ``done()`` (bounded by ``limit`` real seconds)."""
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        clock.step(step)
        threading.Event().wait(0.005)
