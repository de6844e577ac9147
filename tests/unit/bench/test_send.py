"""The benchmark's bare client sends every write once, at the number in flight it was given."""

from __future__ import annotations

from bench.send import send_all
from emulator.server import ApiServer
from manager.rest import RestClient
from manager.scheme import JOBS
from tests.support.restconfig import rest_config
from tests.unit.bench.test_cluster_observer import NS, job


def test_every_request_is_sent_once_and_refusals_are_counted(api_server: ApiServer) -> None:
    api_server.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    rest = RestClient(rest_config(api_server))
    path = JOBS.collection_path(NS)
    names = [f"job-{i}" for i in range(20)]
    requests = [("POST", path, job(name)) for name in [*names, "job-3"]]  # one AlreadyExists

    refused, profiles = send_all(rest, requests, 4, profile=True)

    assert refused == 1
    listed = rest.get(path)["items"]
    assert sorted(item["metadata"]["name"] for item in listed) == sorted(names)
    assert len(profiles) == 4  # one per thread
