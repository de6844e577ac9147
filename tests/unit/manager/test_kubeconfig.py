"""The kubeconfig loader: client-go's sources, merge rules, paths and errors, on real files."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from manager.kubeconfig import ConfigError, load_client_config

NO_ENV: dict[str, str] = {}


def _doc(
    *,
    server: str = "https://10.0.0.1:6443",
    user: dict[str, Any] | None = None,
    cluster: dict[str, Any] | None = None,
    name: str = "c",
    namespace: str = "",
    current: str | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {"cluster": name, "user": name}
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": name if current is None else current,
        "clusters": [{"name": name, "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": name, "user": user if user is not None else {"token": f"t-{name}"}}],
        "contexts": [{"name": name, "context": context}],
    }


def _write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def _load(path: Path | None = None, context: str | None = None, **kw: Any) -> Any:
    kw.setdefault("environ", NO_ENV)
    kw.setdefault("home", path.parent if path else Path("/nonexistent"))
    return load_client_config(str(path) if path else None, context, **kw)


def test_a_static_token_and_the_contexts_namespace(tmp_path: Path) -> None:
    loaded = _load(_write(tmp_path / "kc", _doc(namespace="team-a")))
    assert loaded.rest.host == "https://10.0.0.1:6443"
    assert loaded.rest.bearer_token == "t-c"
    assert loaded.namespace == "team-a"
    assert str(tmp_path / "kc") in loaded.source


def test_an_http_server_keeps_its_token(tmp_path: Path) -> None:
    # The emulator's plain port: the kubeconfig's author chose it (module docstring).
    loaded = _load(_write(tmp_path / "kc", _doc(server="http://127.0.0.1:1")))
    assert loaded.rest.host == "http://127.0.0.1:1"
    assert loaded.rest.bearer_token == "t-c"


def test_relative_paths_resolve_against_the_kubeconfig_directory(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    (conf / "pki").mkdir(parents=True)
    (conf / "pki" / "ca.crt").write_bytes(b"CA PEM")
    (conf / "pki" / "user.crt").write_bytes(b"CERT PEM")
    (conf / "pki" / "user.key").write_bytes(b"KEY PEM")
    (conf / "token").write_text("from-file\n")
    user = {"client-certificate": "pki/user.crt", "client-key": "pki/user.key"}
    path = _write(conf / "kc", _doc(user=user, cluster={"certificate-authority": "pki/ca.crt"}))
    cwd = os.getcwd()
    os.chdir(tmp_path)  # not the kubeconfig's directory
    try:
        loaded = _load(path)
        token = _load(_write(conf / "kc2", _doc(user={"tokenFile": "token"})))
    finally:
        os.chdir(cwd)
    assert (loaded.rest.ca_data, loaded.rest.cert_data, loaded.rest.key_data) == (
        b"CA PEM",
        b"CERT PEM",
        b"KEY PEM",
    )
    assert token.rest.bearer_token == "from-file"
    assert token.rest.bearer_token_file == str(conf / "token")


def test_data_fields_are_base64(tmp_path: Path) -> None:
    b64 = base64.b64encode
    user = {"client-certificate-data": b64(b"C").decode(), "client-key-data": b64(b"K").decode()}
    cluster = {"certificate-authority-data": b64(b"A").decode(), "tls-server-name": "kube.test"}
    loaded = _load(_write(tmp_path / "kc", _doc(user=user, cluster=cluster)))
    assert (loaded.rest.ca_data, loaded.rest.cert_data, loaded.rest.key_data) == (b"A", b"C", b"K")
    assert loaded.rest.server_name == "kube.test"
    bad = _write(tmp_path / "bad", _doc(cluster={"certificate-authority-data": "%%%"}))
    with pytest.raises(ConfigError, match=r"certificate-authority-data of 'c' is not base64"):
        _load(bad)


def test_kubeconfig_list_merges_first_file_wins(tmp_path: Path) -> None:
    first = _doc(name="a", current="")  # sets no current-context
    first["users"] = [{"name": "b", "user": {"token": "first-b"}}]
    second = _doc(name="b", server="https://second:6443")
    second["users"][0]["user"] = {"token": "second-b", "tokenFile": "ignored"}
    third = _doc(name="c", current="a")
    files = [_write(tmp_path / n, d) for n, d in (("1", first), ("2", second), ("3", third))]
    missing = tmp_path / "missing"
    env = {"KUBECONFIG": os.pathsep.join(str(f) for f in [files[0], missing, *files[1:]])}
    loaded = load_client_config(environ=env, home=tmp_path)
    # current-context from the first file that sets one (the second): context b, whose user
    # "b" the first file defined, whole (the second's tokenFile is not mixed in).
    assert loaded.rest.host == "https://second:6443"
    assert loaded.rest.bearer_token == "first-b"
    assert loaded.rest.bearer_token_file == ""
    other = load_client_config(context="c", environ=env, home=tmp_path)
    assert other.rest.bearer_token == "t-c"


def test_kubeconfig_with_only_missing_files_is_an_error(tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(tmp_path / "nope")}
    with pytest.raises(ConfigError, match="none of the files in \\$KUBECONFIG exist"):
        load_client_config(environ=env, home=tmp_path)


def test_flag_wins_over_the_environment_and_must_exist(tmp_path: Path) -> None:
    flag = _write(tmp_path / "flag", _doc(name="f"))
    env = {"KUBECONFIG": str(_write(tmp_path / "env", _doc(name="e")))}
    assert load_client_config(str(flag), environ=env).rest.bearer_token == "t-f"
    with pytest.raises(ConfigError, match=r"kubeconfig .*gone \(--kubeconfig\) does not exist"):
        load_client_config(str(tmp_path / "gone"), environ=env)


def test_a_missing_context_cluster_or_user_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "kc", _doc())
    with pytest.raises(ConfigError, match=r'kubeconfig .*kc: context "other" does not exist'):
        _load(path, "other")
    doc = _doc()
    doc["contexts"][0]["context"]["cluster"] = "gone"
    with pytest.raises(ConfigError, match=r'cluster "gone" of context "c" does not exist'):
        _load(_write(tmp_path / "kc2", doc))
    doc = _doc()
    doc["contexts"][0]["context"]["user"] = "nobody"
    with pytest.raises(ConfigError, match=r'user "nobody" of context "c" does not exist'):
        _load(_write(tmp_path / "kc3", doc))
    with pytest.raises(ConfigError, match="no current-context is set"):
        _load(_write(tmp_path / "kc4", _doc(current="")))


def test_broken_files_are_errors_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("clusters: [unclosed\n")
    with pytest.raises(ConfigError, match=f"kubeconfig {bad} is not valid YAML"):
        _load(bad)
    bad.write_text("clusters: {a: b}\n")
    with pytest.raises(ConfigError, match=f"kubeconfig {bad}: clusters must be a list"):
        _load(bad)
    doc = _doc(cluster={"certificate-authority": "absent.crt"})
    with pytest.raises(ConfigError, match=r"cannot read certificate-authority .*absent\.crt"):
        _load(_write(tmp_path / "kc", doc))
    with pytest.raises(ConfigError, match="cannot read tokenFile"):
        _load(_write(tmp_path / "kc2", _doc(user={"tokenFile": "absent"})))
    with pytest.raises(ConfigError, match=r"client-key-data or client-key must be set"):
        _load(_write(tmp_path / "kc3", _doc(user={"client-certificate-data": "Qw=="})))
    with pytest.raises(ConfigError, match='no server found for cluster "c"'):
        _load(_write(tmp_path / "kc4", _doc(server="")))


def test_auth_provider_and_other_unsupported_methods_are_refused(tmp_path: Path) -> None:
    user = {"auth-provider": {"name": "oidc", "config": {}}}
    with pytest.raises(ConfigError, match=r'uses auth-provider "oidc".*exec credential plugin'):
        _load(_write(tmp_path / "kc", _doc(user=user)))
    with pytest.raises(ConfigError, match="basic auth"):
        _load(_write(tmp_path / "kc2", _doc(user={"username": "u", "password": "p"})))
    with pytest.raises(ConfigError, match="impersonation"):
        _load(_write(tmp_path / "kc3", _doc(user={"token": "t", "as": "bob"})))


def test_exec_config_is_read_with_relative_commands_and_cluster_extension(tmp_path: Path) -> None:
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "./bin/plugin",
            "args": ["get-token"],
            "env": [{"name": "A", "value": "1"}],
            "installHint": "install it",
            "provideClusterInfo": True,
            "interactiveMode": "Never",
        }
    }
    extension = {"name": "client.authentication.k8s.io/exec", "extension": {"audience": "x"}}
    doc = _doc(user=user, cluster={"extensions": [extension]})
    provider = _load(_write(tmp_path / "d" / "kc", doc)).rest.exec_provider
    assert provider is not None
    assert provider.command == str(tmp_path / "d" / "bin" / "plugin")
    assert (provider.args, provider.env, provider.install_hint) == (
        ("get-token",),
        (("A", "1"),),
        "install it",
    )
    assert provider.cluster_config == {"audience": "x"}
    on_path = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws"}}
    beta = _load(_write(tmp_path / "kc2", _doc(user=on_path))).rest.exec_provider
    assert beta is not None
    assert (beta.command, beta.interactive_mode) == ("aws", "IfAvailable")
    v1_without_mode = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "x"}}
    with pytest.raises(ConfigError, match="interactiveMode must be specified"):
        _load(_write(tmp_path / "kc3", _doc(user=v1_without_mode)))
    alpha = {"exec": {"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "x"}}
    with pytest.raises(ConfigError, match="invalid apiVersion"):
        _load(_write(tmp_path / "kc4", _doc(user=alpha)))


def test_in_cluster_from_the_service_account_directory(tmp_path: Path) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("sa-token\n")
    (sa / "namespace").write_text("ops\n")
    home = tmp_path / "home"
    _write(home / ".kube" / "config", _doc(name="home"))
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    loaded = load_client_config(environ=env, home=home, service_account_dir=sa)
    assert loaded.source == "in-cluster"
    assert loaded.rest.host == "https://10.96.0.1:443"
    assert loaded.rest.bearer_token == "sa-token"
    assert loaded.rest.bearer_token_file == str(sa / "token")
    assert loaded.rest.ca_data == b""  # no ca.crt: the system's roots, as client-go
    assert loaded.namespace == "ops"
    v6 = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    assert (
        load_client_config(environ=v6, service_account_dir=sa).rest.host == "https://[fd00::1]:443"
    )
    # Without the token file it is not in-cluster: ~/.kube/config comes next.
    (sa / "token").unlink()
    assert load_client_config(environ=env, home=home, service_account_dir=sa).rest.bearer_token == (
        "t-home"
    )


def test_nothing_found_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pass --kubeconfig, set \\$KUBECONFIG"):
        load_client_config(environ=NO_ENV, home=tmp_path, service_account_dir=tmp_path)
