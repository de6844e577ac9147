"""The events.k8s.io recorder against the emulator: created Events and series aggregation."""

from __future__ import annotations

import threading
from typing import Any

from emulator.server import ApiServer
from manager.clock import RealClock
from manager.events import EventRecorder
from manager.rest import RestClient
from tests.integration.manager.cachehelpers import configmap, wait_until
from tests.support.restconfig import rest_config


def events(server: ApiServer) -> list[dict[str, Any]]:
    return server.list_objects("events.k8s.io/v1", "Event", "default")


def test_events_are_written_and_repeats_become_a_series(api_server: ApiServer) -> None:
    subject = api_server.create_object(configmap("subject"))
    rest = RestClient(rest_config(api_server))
    recorder = EventRecorder(rest, component="test-controller", instance="pod-1", clock=RealClock())
    stop = threading.Event()
    thread = threading.Thread(target=recorder.start, args=(stop,), daemon=True)
    thread.start()
    try:
        recorder.event(subject, "Normal", "Synced", "synced it", "Sync")
        wait_until(lambda: len(events(api_server)) == 1)
        for _ in range(3):
            recorder.event(subject, "Normal", "Synced", "synced it", "Sync")
        wait_until(lambda: (events(api_server)[0].get("series") or {}).get("count") == 4)
        recorder.event(subject, "Warning", "Failed", "x" * 5000, "Sync")
        wait_until(lambda: len(events(api_server)) == 2)
    finally:
        stop.set()
        thread.join(10)
        rest.close()
    first, second = sorted(events(api_server), key=lambda e: e["reason"])
    assert first["reason"] == "Failed" and len(first["note"].encode()) == 1024
    assert second["regarding"]["uid"] == subject["metadata"]["uid"]
    assert second["reportingController"] == "test-controller"
    assert second["series"]["lastObservedTime"].endswith("Z")
    creates = [r for r in api_server.audit.records if r.resource == "events" and r.verb == "create"]
    assert len(creates) == 2  # the repeats were patches, not new Events
