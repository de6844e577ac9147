"""Helpers for the informer-cache integration tests (a mirroring handler, bounded polls)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from emulator.server import ApiServer
from manager.clock import RealClock
from manager.informer import SharedInformer
from manager.reflector import ReflectorOptions
from manager.rest import RestClient
from manager.scheme import ResourceType
from manager.store import key_of
from tests.support.restconfig import rest_config

CONFIGMAPS = ResourceType("", "v1", "ConfigMap", "configmaps")


def configmap(name: str, value: str = "1", ns: str = "default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns}, "data": {"v": value}}  # fmt: skip


class Mirror:
    """A handler that rebuilds key → resourceVersion from the events it is given."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: dict[str, str] = {}
        self.deleted: dict[str, str] = {}  # key → resourceVersion of the state delivered

    @staticmethod
    def _rv(obj: dict[str, Any]) -> str:
        return str(obj["metadata"]["resourceVersion"])

    def on_add(self, obj: dict[str, Any]) -> None:
        with self.lock:
            self.state[key_of(obj)] = self._rv(obj)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        with self.lock:
            self.state[key_of(new)] = self._rv(new)

    def on_delete(self, obj: dict[str, Any]) -> None:
        with self.lock:
            self.state.pop(key_of(obj), None)
            self.deleted[key_of(obj)] = self._rv(obj)

    def snapshot(self) -> dict[str, str]:
        with self.lock:
            return dict(self.state)


def server_state(server: ApiServer) -> dict[str, str]:
    return {key_of(o): str(o["metadata"]["resourceVersion"])
            for o in server.list_objects("v1", "ConfigMap")}  # fmt: skip


def store_state(informer: SharedInformer) -> dict[str, str]:
    return {key_of(o): str(o["metadata"]["resourceVersion"]) for o in informer.store.list()}


def wait_until(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        threading.Event().wait(0.02)


def converged(server: ApiServer, informer: SharedInformer, mirror: Mirror) -> Callable[[], bool]:
    def check() -> bool:
        want = server_state(server)
        return store_state(informer) == want and mirror.snapshot() == want

    return check


@contextmanager
def running_informer(
    server: ApiServer, options: ReflectorOptions | None = None
) -> Iterator[tuple[SharedInformer, Mirror]]:
    rest = RestClient(rest_config(server))
    informer = SharedInformer(rest, CONFIGMAPS, clock=RealClock(), options=options)
    mirror = Mirror()
    informer.add_event_handler(mirror)
    stop = threading.Event()
    thread = threading.Thread(target=informer.start, args=(stop,), daemon=True)
    thread.start()
    try:
        yield informer, mirror
    finally:
        stop.set()
        thread.join(15)
        rest.close()
        assert not thread.is_alive(), "the informer did not stop"
