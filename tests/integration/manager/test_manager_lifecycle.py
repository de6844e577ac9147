"""The Manager's start and stop against the emulator: probes, metrics, drain, failures."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from emulator.server import ApiServer
from manager.manager import EXIT_FAILURE, EXIT_OK, Manager, ManagerOptions
from manager.reconcile import Request
from manager.rest import RestClient
from manager.scheme import LEASES
from tests.integration.manager.test_leader_managers import (
    CONFIGMAPS,
    LEASE_NAME,
    TIMINGS,
    CopyReconciler,
    lease_holder,
    make_namespace,
    new_manager,
    output_exists,
    put_input,
    started,
    wait_until,
)
from tests.support.restconfig import rest_config


@pytest.fixture
def admin(api_server: ApiServer) -> Iterator[RestClient]:
    rest = RestClient(rest_config(api_server))
    yield rest
    rest.close()


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as err:
        body = err.read().decode()
        err.close()
        return int(err.code), body


def test_probes_metrics_and_clean_stop_without_leader_election(
    api_server: ApiServer, admin: RestClient
) -> None:
    ns = make_namespace(admin, "lifecycle")
    options = ManagerOptions(
        rest_config=rest_config(api_server),
        namespace=ns,
        metrics_bind_address="127.0.0.1:0",
        health_probe_bind_address="127.0.0.1:0",
    )
    manager = Manager(options)
    reconciler = CopyReconciler(manager.rest)
    manager.new_controller("copy", reconciler, CONFIGMAPS)
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(manager.start(stop)), daemon=True)
    thread.start()
    try:
        wait_until(manager.elected.is_set, 10, "leader-only runnables to start")
        put_input(admin, ns, "x")
        wait_until(lambda: output_exists(admin, ns, "x"), 10, "the copy")
        assert manager.health_server is not None and manager.metrics_server is not None
        code, body = fetch(manager.health_server.url("/readyz?verbose"))
        assert code == 200 and "[+]cache-sync ok" in body, body
        code, body = fetch(manager.health_server.url("/healthz?verbose"))
        assert code == 200 and "[+]ping ok" in body and "leader-election" not in body
        code, text = fetch(manager.metrics_server.url("/metrics"))
        assert code == 200
        families = {f.name: f for f in text_string_to_metric_families(text)}
        requests = families["rest_client_requests"].samples
        created = [
            s
            for s in requests
            if s.name == "rest_client_requests_total"
            and s.labels["method"] == "POST"
            and s.labels["code"] == "201"
        ]
        assert created and created[0].value >= 1
        reconciles = [
            s
            for s in families["controller_runtime_reconcile"].samples
            if s.name == "controller_runtime_reconcile_total"
            and s.labels == {"controller": "copy", "result": "success"}
        ]
        assert reconciles[0].value >= 1
    finally:
        stop.set()
        thread.join(15)
    assert result == [EXIT_OK]
    with pytest.raises(OSError):
        urllib.request.urlopen(manager.health_server.url("/healthz"), timeout=2)


def test_drain_past_the_grace_period_keeps_the_lease_and_fails(
    api_server: ApiServer, admin: RestClient
) -> None:
    ns = make_namespace(admin, "lifecycle-grace")
    hold = threading.Event()
    run = new_manager(api_server, "slow", ns, hold=hold, graceful_shutdown_timeout=0.5)
    try:
        with started(run):
            wait_until(run.manager.elected.is_set, 10, "the manager to lead")
            put_input(admin, ns, "stuck")
            wait_until(run.reconciler.entered.is_set, 10, "the reconcile to start")
            run.stop.set()
            assert run.wait_returned(10) == EXIT_FAILURE
            # Work may still be running: the Lease is left to expire, not handed over.
            assert lease_holder(admin, ns) == "slow_id"
    finally:
        hold.set()


def test_healthz_has_the_leader_election_check(api_server: ApiServer, admin: RestClient) -> None:
    ns = make_namespace(admin, "lifecycle-healthz")
    run = new_manager(api_server, "checked", ns)
    with started(run):
        wait_until(run.manager.elected.is_set, 10, "the manager to lead")
        server = run.manager.health_server
        assert server is not None
        code, body = fetch(server.url("/healthz?verbose"))
        assert code == 200 and "[+]leader-election ok" in body, body
        lease = admin.get(LEASES.object_path(ns, LEASE_NAME))
        assert lease["spec"]["leaseDurationSeconds"] == int(TIMINGS["lease_duration"])
    assert run.wait_returned(10) == EXIT_OK


class Exploding:
    """A runnable that fails at once."""

    def start(self, stop: threading.Event) -> None:
        raise RuntimeError("boom")

    def needs_leader_election(self) -> bool:
        return False


def test_a_failing_runnable_stops_the_manager_with_1(
    api_server: ApiServer, admin: RestClient
) -> None:
    ns = make_namespace(admin, "lifecycle-fail")
    manager = Manager(
        ManagerOptions(
            rest_config=rest_config(api_server),
            namespace=ns,
            metrics_bind_address="0",
            health_probe_bind_address="0",
        )
    )
    manager.add(Exploding())
    stop = threading.Event()
    try:
        assert manager.start(stop) == EXIT_FAILURE
    finally:
        stop.set()


def test_events_wait_for_the_controllers_waiting_work(
    api_server: ApiServer, admin: RestClient
) -> None:
    """The Manager's recorder holds events while a controller has requests waiting (a herd's
    Job POSTs first), and sends them once the queue is drained."""
    ns = make_namespace(admin, "held-events")
    manager = Manager(ManagerOptions(rest_config=rest_config(api_server)))
    controller = manager.new_controller("copy", CopyReconciler(manager.rest), CONFIGMAPS)
    recorder = manager.get_event_recorder("held")
    stop = threading.Event()
    sender = threading.Thread(target=recorder.start, args=(stop,), daemon=True)
    sender.start()
    events = f"/apis/events.k8s.io/v1/namespaces/{ns}/events"
    try:
        controller.queue.add(Request(ns, "in-x"))  # waiting work, and no worker to take it
        recorder.event({"kind": "ConfigMap", "apiVersion": "v1",
                        "metadata": {"namespace": ns, "name": "in-x", "uid": "u"}},
                       "Normal", "Copied", "copied in-x")  # fmt: skip
        threading.Event().wait(1.0)  # ten of the sender's checks
        assert admin.get(events)["items"] == []
        item, _ = controller.queue.get()
        assert item is not None
        controller.queue.done(item)
        wait_until(lambda: len(admin.get(events)["items"]) == 1, 10, "the held event")
    finally:
        stop.set()
        manager.rest.close()


def test_dropped_events_are_counted_in_the_managers_metrics(api_server: ApiServer) -> None:
    """An Event the recorder cannot keep is a sample of event_recorder_dropped_total{reason},
    every reason exposed from the start (a dashboard sees 0, not a missing series)."""
    manager = Manager(ManagerOptions(rest_config=rest_config(api_server)))
    try:
        recorder = manager.get_event_recorder("full", queue_size=2)
        subject = {"kind": "ConfigMap", "apiVersion": "v1",
                   "metadata": {"namespace": "default", "name": "x", "uid": "u"}}  # fmt: skip
        for i in range(5):  # no sender runs: two fit, three are dropped
            recorder.event(subject, "Normal", "Copied", f"copied {i}")
        value = manager.registry.get_sample_value
        assert value("event_recorder_dropped_total", {"reason": "queue_full"}) == 3
        assert value("event_recorder_dropped_total", {"reason": "unsent_at_stop"}) == 0
    finally:
        manager.rest.close()
