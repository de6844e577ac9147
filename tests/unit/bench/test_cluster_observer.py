"""The real-server bench's setup side and its watch-based clock, against the API emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bench.cluster import Cluster
from bench.harness import poll
from bench.observer import WatchObserver
from controller.resources import BACKUPS
from emulator.server import ApiServer
from manager.rest import RestClient
from manager.scheme import EVENTS, JOBS
from tests.support.restconfig import rest_config

ROOT = Path(__file__).resolve().parents[3]
NS = "dbbackup-bench"


def setup(api_server: ApiServer) -> tuple[RestClient, Cluster]:
    for crd in sorted((ROOT / "config/crd/bases").glob("*.yaml")):
        api_server.create_object(yaml.safe_load(crd.read_text()))
    rest = RestClient(rest_config(api_server))
    cluster = Cluster(rest, NS, ("dbbackup-system", "dbbackup-operator-leader"))
    cluster.ensure_namespace()
    return rest, cluster


def job(name: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NS},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "busybox"}]}}}}  # fmt: skip


def test_seed_count_and_clean(api_server: ApiServer) -> None:
    rest, cluster = setup(api_server)
    cluster.ensure_namespace()  # a second time is no error
    assert cluster.seed(3, "0 1 * * *") == 0
    assert cluster.count(BACKUPS.collection_path(NS)) == 3
    rest.create(JOBS.collection_path(NS), job("db-000000-20261206010000"))
    for i, series in enumerate(
        (None, {"count": 4, "lastObservedTime": "2026-12-06T01:00:00.000000Z"})
    ):
        event = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
                 "metadata": {"name": f"db-{i}.1", "namespace": NS},
                 "eventTime": "2026-12-06T01:00:00.000000Z", "reportingController": "c",
                 "reportingInstance": "i", "action": "Create", "reason": "SuccessfulCreate",
                 "type": "Normal", "regarding": {"kind": "DatabaseBackup", "name": f"db-{i}",
                                                 "namespace": NS}}  # fmt: skip
        if series:
            event["series"] = series
        rest.create(EVENTS.collection_path(NS), event)
    assert cluster.successful_creates() == 5  # one, and a series of four
    assert cluster.backups_with_status() == 0
    cluster.clean()
    for path in (BACKUPS.collection_path(NS), JOBS.collection_path(NS), EVENTS.collection_path(NS)):
        assert cluster.count(path) == 0


def test_the_observer_sees_jobs_added_and_statuses(api_server: ApiServer) -> None:
    rest, cluster = setup(api_server)
    cluster.seed(2, "0 1 * * *")
    observer = WatchObserver(rest, JOBS.collection_path(NS), BACKUPS.collection_path(NS))
    try:
        rest.create(JOBS.collection_path(NS), job("db-000000-20261206010000"))
        rest.create(JOBS.collection_path(NS), job("db-000001-20261207010000"))
        backup = rest.get(BACKUPS.object_path(NS, "db-000001"))
        backup["status"] = {"phase": "Running", "activeJob": "db-000001-20261206010000"}
        rest.replace(BACKUPS.object_path(NS, "db-000001", "status"), backup)
        poll(lambda: observer.active("20261206010000") == 1, 10, "the status seen")
        poll(lambda: len(observer.job_added) == 2, 10, "both Jobs seen")
        assert [name for name, _ in observer.creates("20261206010000")] == [
            "db-000000-20261206010000"]  # fmt: skip
        assert len(observer.status_times()) == 1  # db-000000 has no status yet
    finally:
        observer.stop()
        rest.close()
