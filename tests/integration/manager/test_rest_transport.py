"""The REST client's transport against real servers: TLS with client certificates (a server the
test starts), kubeconfig files end to end, exec plugins and 401s, and the emulator for errors,
timeouts and the observer."""

from __future__ import annotations

import base64
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator.server import ApiServer
from manager.clock import FakeClock
from manager.credentials import credentials_for
from manager.errors import AlreadyExists, Conflict, NotFound, TransportError, Unauthorized
from manager.kubeconfig import load_rest_config
from manager.rest import RestClient
from manager.restconfig import RestConfig
from tests.support.restconfig import rest_config
from tests.support.tls_server import SERVER_NAME, Pki, TlsServer, make_pki, tls_server
from tests.unit.manager.test_credentials import PLUGIN


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def server(pki: Pki) -> Iterator[TlsServer]:
    with tls_server(pki) as running:
        yield running


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kubeconfig(path: Path, server: str, cluster: dict[str, Any], user: dict[str, Any]) -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": server, **cluster}}],
        "users": [{"name": "t", "user": user}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(doc))
    return path


def test_client_certificate_files_authenticate_over_verified_tls(
    tmp_path: Path, pki: Pki, server: TlsServer
) -> None:
    (tmp_path / "ca.crt").write_bytes(pki.ca)
    (tmp_path / "alice.crt").write_bytes(pki.client_cert)
    (tmp_path / "alice.key").write_bytes(pki.client_key)
    path = _kubeconfig(
        tmp_path / "kc",
        server.url,
        {"certificate-authority": "ca.crt"},
        {"client-certificate": "alice.crt", "client-key": "alice.key"},
    )
    rest = RestClient(load_rest_config(str(path)))
    try:
        assert rest.get("/version") == {"cn": "alice", "authorization": ""}
    finally:
        rest.close()


def test_a_token_over_tls_with_a_server_name(tmp_path: Path, pki: Pki, server: TlsServer) -> None:
    cluster = {"certificate-authority-data": _b64(pki.ca), "tls-server-name": SERVER_NAME}
    path = _kubeconfig(tmp_path / "kc", server.url, cluster, {"token": "secret"})
    rest = RestClient(load_rest_config(str(path)))
    try:
        assert rest.get("/version") == {"cn": "", "authorization": "Bearer secret"}
    finally:
        rest.close()


def test_a_server_the_ca_did_not_sign_is_refused(
    tmp_path: Path, pki: Pki, server: TlsServer
) -> None:
    cluster = {"certificate-authority-data": _b64(pki.other_ca)}
    path = _kubeconfig(tmp_path / "kc", server.url, cluster, {"token": "secret"})
    rest = RestClient(load_rest_config(str(path)))
    with pytest.raises(TransportError) as err:
        rest.get("/version")
    assert "certificate verify failed" in str(err.value)
    assert err.value.__cause__ is not None
    assert server.seen == []  # the token never left the client
    wrong_name = _kubeconfig(
        tmp_path / "kc2",
        server.url,
        {"certificate-authority-data": _b64(pki.ca), "tls-server-name": "elsewhere.test"},
        {"token": "secret"},
    )
    with pytest.raises(TransportError, match=r"elsewhere\.test"):
        RestClient(load_rest_config(str(wrong_name))).get("/version")
    insecure = _kubeconfig(
        tmp_path / "kc3", server.url, {"insecure-skip-tls-verify": True}, {"token": "secret"}
    )
    assert RestClient(load_rest_config(str(insecure))).get("/version")["authorization"] == (
        "Bearer secret"
    )


def test_an_exec_plugin_from_a_kubeconfig_reruns_after_a_401(
    tmp_path: Path, pki: Pki, server: TlsServer
) -> None:
    (tmp_path / "plugin.py").write_text(PLUGIN)
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(tmp_path / "plugin.py"), str(tmp_path / "count"), str(tmp_path / "seen")],
            "interactiveMode": "Never",
        }
    }
    path = _kubeconfig(
        tmp_path / "kc", server.url, {"certificate-authority-data": _b64(pki.ca)}, user
    )
    config = load_rest_config(str(path))
    rest = RestClient(config, credentials=credentials_for(config, FakeClock()))
    server.accepted = {"token-2"}
    with pytest.raises(Unauthorized):
        rest.get("/api")
    assert rest.get("/api") == {"cn": "", "authorization": "Bearer token-2"}
    assert rest.get("/api") == {"cn": "", "authorization": "Bearer token-2"}
    assert (tmp_path / "count").read_text() == "2"


def test_a_missing_exec_plugin_fails_the_request_with_its_hint(tmp_path: Path, pki: Pki) -> None:
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "dbbackup-test-no-such-plugin",
            "installHint": "install the test plugin",
        }
    }
    path = _kubeconfig(tmp_path / "kc", "https://127.0.0.1:1", {}, user)
    seen: list[tuple[str, str, int]] = []
    rest = RestClient(load_rest_config(str(path)), observer=lambda m, p, s: seen.append((m, p, s)))
    with pytest.raises(TransportError) as err:
        rest.get("/api")
    assert "executable dbbackup-test-no-such-plugin not found" in str(err.value)
    assert "install the test plugin" in str(err.value)
    assert seen == [("GET", "/api", 0)]


def test_errors_observer_and_path_prefix_against_the_emulator(api_server: ApiServer) -> None:
    seen: list[tuple[str, str, int]] = []
    rest = RestClient(rest_config(api_server), observer=lambda m, p, s: seen.append((m, p, s)))
    with pytest.raises(NotFound) as err:
        rest.get("/api/v1/namespaces/default/configmaps/absent")
    assert err.value.status == 404 and err.value.reason == "NotFound"
    assert seen == [("GET", "/api/v1/namespaces/default/configmaps/absent", 404)]
    prefixed = RestClient(RestConfig(host=api_server.url + "/", bearer_token="nope"))
    with pytest.raises(Unauthorized):
        prefixed.get("/api/v1/namespaces")


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # accepts connections, never answers
        host = f"http://127.0.0.1:{listener.getsockname()[1]}"
        rest = RestClient(RestConfig(host=host), connect_timeout=1.0, read_timeout=0.3)
        with pytest.raises(TransportError, match="timed out") as err:
            rest.get("/version")
        assert err.value.status == 0


def test_an_exec_plugin_may_answer_a_client_certificate(
    tmp_path: Path, pki: Pki, server: TlsServer
) -> None:
    (tmp_path / "alice.crt").write_bytes(pki.client_cert)
    (tmp_path / "alice.key").write_bytes(pki.client_key)
    script = (
        "import json, pathlib, sys; d = pathlib.Path(sys.argv[1]); print(json.dumps({"
        "'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential', "
        "'status': {'clientCertificateData': (d / 'alice.crt').read_text(), "
        "'clientKeyData': (d / 'alice.key').read_text()}}))"
    )
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": ["-c", script, str(tmp_path)],
        }
    }
    cluster = {"certificate-authority-data": _b64(pki.ca)}
    rest = RestClient(
        load_rest_config(str(_kubeconfig(tmp_path / "kc", server.url, cluster, user)))
    )
    try:
        assert rest.get("/version") == {"cn": "alice", "authorization": ""}
    finally:
        rest.close()


def test_a_write_whose_answer_is_not_read_still_lands_and_still_raises(
    api_server: ApiServer,
) -> None:
    rest = RestClient(rest_config(api_server))
    path = "/api/v1/namespaces/default/configmaps"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unread"}}
    assert rest.create(path, body, decode=False) == {}
    stored = rest.get(f"{path}/unread")
    assert stored["metadata"]["uid"]
    with pytest.raises(AlreadyExists):
        rest.create(path, body, decode=False)
    stored["data"] = {"k": "v"}
    assert rest.replace(f"{path}/unread", stored, decode=False) == {}
    assert rest.get(f"{path}/unread")["data"] == {"k": "v"}
    with pytest.raises(Conflict):  # the resourceVersion read before the write is stale now
        rest.replace(f"{path}/unread", stored, decode=False)


def test_many_requests_share_a_few_connections(api_server: ApiServer) -> None:
    seen: list[int] = []
    rest = RestClient(rest_config(api_server), observer=lambda m, p, s: seen.append(s))
    for _ in range(50):
        rest.get("/api/v1/namespaces/default")
    assert seen == [200] * 50
    pools = rest._pools  # the lean pool keeps the one connection these sequential calls need
    assert pools.lean is not None and len(pools.lean._idle) == 1


def test_a_list_hands_over_each_item_and_returns_the_rest(api_server: ApiServer) -> None:
    rest = RestClient(rest_config(api_server))
    path = "/api/v1/namespaces/default/configmaps"
    for n in range(3):
        rest.create(path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{n}"}})
    seen: list[dict[str, Any]] = []
    answer = rest.list(path, query={"resourceVersion": "0", "limit": 1}, each=seen.append)
    assert [o["metadata"]["name"] for o in seen] == ["c0", "c1", "c2"]
    assert answer["kind"] == "ConfigMapList" and "items" not in answer
    assert int(answer["metadata"]["resourceVersion"]) > 0
    with pytest.raises(NotFound):
        rest.list("/api/v1/namespaces/default/nothings", each=seen.append)
