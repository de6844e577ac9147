"""The informer against the emulator: dropped, stalled and expired watches lose nothing;
5xx and 429 back off within bounds and recover. The API is real (HTTP); only faults are injected.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from emulator.server import ApiServer
from manager.reflector import ReflectorOptions
from tests.integration.manager.cachehelpers import (
    configmap,
    converged,
    running_informer,
    server_state,
    store_state,
    wait_until,
)

# Short server timeouts so a stalled stream is noticed within seconds (production: 5-10 min).
FAST = ReflectorOptions(min_watch_timeout=2.0, read_timeout_margin=1.0)


def seed(server: ApiServer, n: int) -> None:
    for i in range(n):
        server.create_object(configmap(f"cm-{i}"))


def churn(server: ApiServer, tag: str, delete: str = "cm-2") -> None:
    """Create, update and delete while the informer is not watching properly."""
    server.create_object(configmap(f"new-{tag}"))
    cm = server.get_object("v1", "ConfigMap", "cm-1", "default")
    assert cm is not None
    cm["data"] = {"v": tag}
    server.update_object(cm)
    server.delete_object("v1", "ConfigMap", delete, "default")


def test_initial_sync_and_live_events(api_server: ApiServer) -> None:
    seed(api_server, 5)
    with running_informer(api_server, FAST) as (informer, mirror):
        wait_until(informer.has_synced)
        assert store_state(informer) == server_state(api_server)
        churn(api_server, "live")
        wait_until(converged(api_server, informer, mirror))


def test_dropped_watch_resumes_and_loses_nothing(api_server: ApiServer) -> None:
    seed(api_server, 5)
    with running_informer(api_server, FAST) as (informer, mirror):
        wait_until(informer.has_synced)
        lists_before = informer.reflector.lists
        for round_ in range(3):
            churn(api_server, f"drop{round_}", delete=f"cm-{round_ + 2}")
            wait_until(converged(api_server, informer, mirror))
            watches = informer.reflector.watches
            assert api_server.faults.close_watches("configmaps") == 1
            api_server.create_object(configmap(f"extra-{round_}"))
            api_server.delete_object("v1", "ConfigMap", f"extra-{round_}", "default")
            wait_until(lambda: informer.reflector.watches > watches)  # noqa: B023
        wait_until(converged(api_server, informer, mirror))
        assert {"default/cm-2", "default/cm-3", "default/cm-4"} <= set(mirror.deleted)
        # Created and deleted while reconnecting: still seen, from the resumed watch.
        wait_until(lambda: "default/extra-2" in mirror.deleted)
        assert informer.reflector.lists == lists_before  # resumed from the last RV, no relist


def test_stalled_watch_is_detected_and_resumed(api_server: ApiServer) -> None:
    seed(api_server, 3)
    with running_informer(api_server, FAST) as (informer, mirror):
        wait_until(informer.has_synced)
        watches = informer.reflector.watches
        assert api_server.faults.stall_watches("configmaps") >= 1
        churn(api_server, "stalled")
        # Nothing arrives until the client read timeout (<= 2*2 s + 1 s) ends the stream.
        wait_until(converged(api_server, informer, mirror), timeout=15)
        assert informer.reflector.watches > watches


def test_expired_resource_version_relists_and_delivers_deletions() -> None:
    # A tiny history: changes made while the watch is stalled compact its resourceVersion away.
    with ApiServer(history_size=3) as server:
        seed(server, 6)
        with running_informer(server, FAST) as (informer, mirror):
            wait_until(informer.has_synced)
            before = store_state(informer)
            lists = informer.reflector.lists
            server.faults.stall_watches("configmaps")
            for i in (3, 4, 5):
                server.delete_object("v1", "ConfigMap", f"cm-{i}", "default")
            churn(server, "gone")
            for i in range(6, 10):
                server.create_object(configmap(f"cm-{i}"))
            wait_until(converged(server, informer, mirror), timeout=20)
            assert informer.reflector.lists > lists  # a 410 forced a relist
            for i in (2, 3, 4, 5):  # deleted while disconnected: delivered as last known state
                assert mirror.deleted[f"default/cm-{i}"] == before[f"default/cm-{i}"]


def test_forced_gone_on_the_watch_relists(api_server: ApiServer) -> None:
    seed(api_server, 3)
    with running_informer(api_server, FAST) as (informer, mirror):
        wait_until(informer.has_synced)
        lists = informer.reflector.lists
        api_server.faults.expire_next_watch("configmaps")
        api_server.faults.close_watches("configmaps")
        churn(api_server, "forced")
        wait_until(lambda: informer.reflector.lists > lists)
        wait_until(converged(api_server, informer, mirror))


def test_server_errors_on_list_back_off_within_bounds_then_sync(api_server: ApiServer) -> None:
    seed(api_server, 3)
    api_server.faults.fail(503, verb="list", resource="configmaps", times=2)
    started = time.monotonic()
    with running_informer(api_server) as (informer, mirror):
        wait_until(informer.has_synced, timeout=15)
        elapsed = time.monotonic() - started
        # Two backoffs: 0.8-1.6 s then 1.6-3.2 s (client-go's reflector backoff with jitter).
        assert 2.4 <= elapsed <= 4.8 + 2.0, elapsed  # +2 s: start-up and a loaded machine
        wait_until(converged(api_server, informer, mirror))
    codes = [r.code for r in api_server.audit.records if r.verb == "list"]
    assert codes[:3] == [503, 503, 200]


def test_throttled_watch_honours_retry_after_and_recovers(api_server: ApiServer) -> None:
    seed(api_server, 3)
    api_server.faults.fail(429, verb="watch", resource="configmaps", times=1, retry_after=2)
    with running_informer(api_server) as (informer, mirror):
        wait_until(lambda: informer.reflector.watches >= 2, timeout=10)
        resumed_at = datetime.now(UTC)
        churn(api_server, "throttled")
        wait_until(converged(api_server, informer, mirror))
        assert informer.reflector.lists == 1  # a 429 resumes the watch, it does not relist
    throttled = [r for r in api_server.audit.records if r.verb == "watch" and r.code == 429]
    assert len(throttled) == 1
    gap = (resumed_at - throttled[0].timestamp).total_seconds()
    assert 2.0 - 0.1 <= gap <= 4.0, gap  # Retry-After: 2 honoured, then the 0.8-1.6 s step
