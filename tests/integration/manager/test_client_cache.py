"""Cache reads and client writes against the emulator over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from emulator.server import ApiServer
from manager.cache import Cache
from manager.client import Client
from manager.clock import RealClock
from manager.errors import Conflict, NotFound
from manager.rest import RestClient
from manager.scheme import Scheme
from manager.store import INDEX_CONTROLLER_OWNER, owner_key
from tests.integration.manager.cachehelpers import CONFIGMAPS, configmap, wait_until
from tests.support.restconfig import rest_config


@pytest.fixture
def client(api_server: ApiServer) -> Iterator[Client]:
    rest = RestClient(rest_config(api_server))
    cache = Cache(rest, Scheme(), clock=RealClock())
    cache.informer_for(CONFIGMAPS)
    stop = threading.Event()
    thread = threading.Thread(target=cache.start, args=(stop,), daemon=True)
    thread.start()
    assert cache.wait_for_sync(stop, 10)
    assert cache.has_synced()
    yield Client(rest, cache, Scheme())
    stop.set()
    thread.join(15)
    rest.close()
    assert not thread.is_alive()


def test_writes_reach_the_server_and_reads_come_from_the_cache(
    api_server: ApiServer, client: Client
) -> None:
    created = client.create(CONFIGMAPS, configmap("a"))
    assert api_server.get_object("v1", "ConfigMap", "a", "default") is not None
    wait_until(lambda: client.get(CONFIGMAPS, "default", "a") is not None)
    cached = client.get(CONFIGMAPS, "default", "a")
    assert cached is not None
    assert cached["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    gets = sum(1 for r in api_server.audit.records if r.verb == "get")
    client.get(CONFIGMAPS, "default", "a")
    assert sum(1 for r in api_server.audit.records if r.verb == "get") == gets  # no request

    body = dict(created, data={"v": "2"})
    updated = client.update(CONFIGMAPS, body)
    assert updated["data"] == {"v": "2"}
    with pytest.raises(Conflict):  # stale resourceVersion
        client.update(CONFIGMAPS, dict(created, data={"v": "3"}))
    patched = client.patch(CONFIGMAPS, "default", "a", {"data": {"w": "x"}})
    assert patched["data"] == {"v": "2", "w": "x"}
    assert client.get_live(CONFIGMAPS, "default", "a")["data"] == {"v": "2", "w": "x"}
    client.delete(CONFIGMAPS, "default", "a", propagation_policy="Background")
    with pytest.raises(NotFound):
        client.get_live(CONFIGMAPS, "default", "a")
    wait_until(lambda: client.get(CONFIGMAPS, "default", "a") is None)


def test_list_by_namespace_and_labels_and_owner_index(
    api_server: ApiServer, client: Client
) -> None:
    owner = api_server.create_object(configmap("owner"))
    for name, labels in (("x", {"app": "db"}), ("y", {"app": "web"})):
        obj = configmap(name)
        obj["metadata"]["labels"] = labels
        obj["metadata"]["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
             "uid": owner["metadata"]["uid"], "controller": True},
        ]  # fmt: skip
        client.create(CONFIGMAPS, obj)
    api_server.create_object(configmap("z", ns="kube-system"))
    wait_until(lambda: len(client.list(CONFIGMAPS)) == 4)
    assert [o["metadata"]["name"] for o in client.list(CONFIGMAPS, labels={"app": "db"})] == ["x"]
    assert [o["metadata"]["name"] for o in client.list(CONFIGMAPS, "kube-system")] == ["z"]
    key = owner_key("", "ConfigMap", "default", "owner")
    owned = client.by_index(CONFIGMAPS, INDEX_CONTROLLER_OWNER, key)
    assert sorted(o["metadata"]["name"] for o in owned) == ["x", "y"]
