"""The watched floor's watch, against the API emulator: it counts every write made after it
opened, and only writes."""

from __future__ import annotations

from typing import Any

from bench.floor import Watcher
from emulator.server import ApiServer
from manager.rest import RestClient
from manager.scheme import JOBS
from tests.support.restconfig import rest_config

NS = "floor-watch"


def job(name: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NS},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "busybox"}]}}}}  # fmt: skip


def test_the_watch_counts_the_writes_after_it_opened_and_nothing_else(
    api_server: ApiServer,
) -> None:
    rest = RestClient(rest_config(api_server))
    try:
        rest.create("/api/v1/namespaces", {"metadata": {"name": NS}})
        path = JOBS.collection_path(NS)
        rest.create(path, job("before"))  # older than the watch's resourceVersion
        rv = rest.get(path, limit=1)["metadata"]["resourceVersion"]
        watcher = Watcher(rest, path, rv)
        watcher.start()
        for name in ("a", "b", "c"):
            rest.create(path, job(name))
        labelled = rest.get(JOBS.object_path(NS, "a"))
        labelled["metadata"]["labels"] = {"seen": "twice"}
        rest.replace(JOBS.object_path(NS, "a"), labelled)  # a MODIFIED is a write too
        rest.delete(JOBS.object_path(NS, "b"))  # a DELETED is not
        assert watcher.stop(4) == 4
        assert watcher.error == ""
    finally:
        rest.close()
