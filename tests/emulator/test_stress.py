"""Stress: 100 concurrent watchers while writers create, update and delete leases as fast as
they can for a bounded time. Every watcher must see exactly the server's history after its
start version — nothing lost, duplicated or reordered (API concepts, "Efficient detection of
changes": a watch delivers every change after its resourceVersion, in order). Throughput is
printed (``pytest -s``), never asserted."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import urllib3
from kubernetes import client

from emulator.server import ApiServer
from tests.emulator.support import lease, wait_for

WATCHERS = 100
WRITERS = 4
DURATION = 3.0  # seconds of writing
LEASES = ("coordination.k8s.io", "v1")


def _watch(
    server: ApiServer, start: str, seen: list[tuple[str, str, str]], ready: threading.Event
) -> None:
    http = urllib3.PoolManager()
    url = (
        f"{server.url}/apis/coordination.k8s.io/v1/leases?watch=true&resourceVersion={start}"
        "&timeoutSeconds=60"
    )
    headers = {"Authorization": f"Bearer {server.ADMIN_TOKEN}"}
    resp = http.request("GET", url, headers=headers, preload_content=False)
    ready.set()
    buffer = b""
    for chunk in resp.stream(65536):
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            event = json.loads(line)
            meta = event["object"]["metadata"]
            seen.append((event["type"], meta["name"], meta["resourceVersion"]))
    resp.release_conn()


def _write(server: ApiServer, writer: int, stop: threading.Event, count: list[int]) -> None:
    with client.ApiClient(server.client_configuration()) as api:
        objects = client.CustomObjectsApi(api)
        n = 0
        while not stop.is_set():
            name = f"w{writer}-{n}"
            objects.create_namespaced_custom_object(*LEASES, "default", "leases", lease(name))
            objects.patch_namespaced_custom_object(
                *LEASES, "default", "leases", name, {"spec": {"holderIdentity": "b"}}
            )
            if n % 2:
                objects.delete_namespaced_custom_object(*LEASES, "default", "leases", name)
                count[writer] += 1
            count[writer] += 2
            n += 1


def test_watchers_see_every_event_once_in_order() -> None:
    with ApiServer(history_size=1_000_000) as server:
        start = str(server.storage.rv)
        seen: list[list[tuple[str, str, str]]] = [[] for _ in range(WATCHERS)]
        ready = [threading.Event() for _ in range(WATCHERS)]
        watchers = [
            threading.Thread(target=_watch, args=(server, start, seen[i], ready[i]), daemon=True)
            for i in range(WATCHERS)
        ]
        for thread in watchers:
            thread.start()
        assert all(event.wait(30) for event in ready)
        stop = threading.Event()
        counts = [0] * WRITERS
        writers = [
            threading.Thread(target=_write, args=(server, w, stop, counts), daemon=True)
            for w in range(WRITERS)
        ]
        began = time.monotonic()
        for thread in writers:
            thread.start()
        stop.wait(DURATION)  # the bounded writing period, not a wait for a result
        stop.set()
        for thread in writers:
            thread.join(30)
        wrote = time.monotonic() - began
        history: list[Any] = server.storage.history(("coordination.k8s.io", "leases"))
        expected = [
            (e.type, e.obj["metadata"]["name"], str(e.rv)) for e in history if e.rv > int(start)
        ]
        assert len(expected) == sum(counts)
        assert wait_for(lambda: all(len(s) >= len(expected) for s in seen), timeout=60)
        delivered = time.monotonic() - began
        server.faults.close_watches("leases")
        for thread in watchers:
            thread.join(30)
        for sequence in seen:
            assert sequence == expected
        total = len(expected) * WATCHERS
        print(
            f"\nstress: {len(expected)} writes in {wrote:.2f}s = {len(expected) / wrote:.0f} "
            f"writes/s; {total} events to {WATCHERS} watchers in {delivered:.2f}s = "
            f"{total / delivered:.0f} events/s"
        )
