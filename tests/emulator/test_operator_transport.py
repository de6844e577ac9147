"""The operator's own transport (kubeconfig loader, TLS, exec plugin) against the server under
test: what was confirmed on kube-apiserver v1.32 holds on the emulator's HTTPS port too.

Read-only: nothing is created, so a real server needs no cleanup. The emulator is reached
through the kubeconfig it writes (its HTTPS port, its CA embedded), as a user would.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from emulator.server import ApiServer
from manager.errors import NotFound, Unauthorized
from manager.kubeconfig import load_rest_config
from manager.rest import RestClient
from tests.emulator.target import REAL_KUBECONFIG

# Prints an ExecCredential with argv[1] as the token, and counts its runs in argv[2]; the first
# run answers a token the server does not know.
PLUGIN = """
import json, os, pathlib, sys
count = pathlib.Path(sys.argv[2])
n = int(count.read_text()) + 1 if count.exists() else 1
count.write_text(str(n))
token = sys.argv[1] if n > 1 else "not-a-token"
print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"token": token}}))
"""


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Path]:
    """The server under test's admin kubeconfig."""
    if REAL_KUBECONFIG:
        yield Path(REAL_KUBECONFIG)
        return
    with ApiServer() as server:
        yield server.write_kubeconfig(tmp_path / "emulator.kubeconfig")


def test_a_kubeconfig_token_over_verified_tls(kubeconfig: Path) -> None:
    rest = RestClient(load_rest_config(str(kubeconfig)))
    try:
        assert rest.get("/version")["gitVersion"].startswith("v1.")
        namespace = rest.get("/api/v1/namespaces/default")
        assert namespace["metadata"]["name"] == "default"
        with pytest.raises(NotFound) as err:
            rest.get("/api/v1/namespaces/no-such-namespace-for-transport")
        assert (err.value.status, err.value.reason) == (404, "NotFound")
    finally:
        rest.close()


def test_an_unknown_token_is_unauthorized(kubeconfig: Path, tmp_path: Path) -> None:
    doc = yaml.safe_load(kubeconfig.read_text())
    for user in doc["users"]:
        user["user"] = {"token": "not-a-token"}
    bad = tmp_path / "bad.kubeconfig"
    bad.write_text(yaml.safe_dump(doc))
    rest = RestClient(load_rest_config(str(bad)))
    with pytest.raises(Unauthorized) as err:
        rest.get("/api/v1/namespaces")
    assert (err.value.status, err.value.reason) == (401, "Unauthorized")


def test_an_exec_plugin_is_run_again_after_a_401(kubeconfig: Path, tmp_path: Path) -> None:
    doc = yaml.safe_load(kubeconfig.read_text())
    token = load_rest_config(str(kubeconfig)).bearer_token
    (tmp_path / "plugin.py").write_text(PLUGIN)
    for user in doc["users"]:
        user["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": sys.executable,
                "args": [str(tmp_path / "plugin.py"), token, str(tmp_path / "count")],
                "interactiveMode": "Never",
            }
        }
    for cluster in doc["clusters"]:  # relative to this file now: make the CA path absolute
        if ca := cluster["cluster"].get("certificate-authority"):
            cluster["cluster"]["certificate-authority"] = str(kubeconfig.parent / ca)
    exec_kubeconfig = tmp_path / "exec.kubeconfig"
    exec_kubeconfig.write_text(yaml.safe_dump(doc))
    rest = RestClient(load_rest_config(str(exec_kubeconfig)))
    with pytest.raises(Unauthorized):
        rest.get("/api/v1/namespaces/default")
    assert rest.get("/api/v1/namespaces/default")["metadata"]["name"] == "default"
    assert rest.get("/api/v1/namespaces/default")["metadata"]["name"] == "default"
    assert (tmp_path / "count").read_text() == "2"


def test_a_watch_ends_when_the_server_times_it_out(kubeconfig: Path) -> None:
    rest = RestClient(load_rest_config(str(kubeconfig)))
    try:
        events = list(
            rest.watch(
                "/api/v1/namespaces",
                # From any resourceVersion (as a reflector's first watch): a watch from "now"
                # waits for a real server's watch cache to catch up, and may end in an ERROR.
                query={
                    "fieldSelector": "metadata.name=default",
                    "resourceVersion": "0",
                    "timeoutSeconds": 1,
                },
                read_timeout=10,
            )
        )
    finally:
        rest.close()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "default")]
