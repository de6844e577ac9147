"""Find the API server and credentials the way every Kubernetes tool does.

Order (controller-runtime's ``GetConfig``): the ``--kubeconfig`` flag (that one file, which must
exist), then ``$KUBECONFIG`` (a path list merged as clientcmd merges it,
:mod:`manager.kubeconfig_files`; missing entries are skipped, all missing is an error), then the
in-cluster service account (``KUBERNETES_SERVICE_HOST``/``_PORT`` and its token file), then
``~/.kube/config``. The first source that exists wins; a source that exists but is broken is a
:class:`ConfigError` saying which file and what is wrong, never silently skipped.

From the chosen context (``--context``, else ``current-context``) the result carries the
server, its CA (``certificate-authority`` file or ``-data``), ``insecure-skip-tls-verify``,
``tls-server-name``, ``proxy-url``, and one way to authenticate: ``token``, ``tokenFile``
(re-read while running), a client certificate and key (files or ``-data``), or an ``exec``
plugin (``client.authentication.k8s.io/v1`` or ``v1beta1``). Refused with an error naming
them: ``auth-provider`` (deprecated upstream; use an exec plugin), basic auth and
impersonation. Unlike client-go, credentials are also sent to an ``http://`` server (the
emulator's plain port, docs/emulator.md): the kubeconfig's author chose that server.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manager.kubeconfig_files import Entry, Kubeconfig, merge_files
from manager.restconfig import EXEC_API_VERSIONS, ConfigError, ExecConfig, RestConfig

__all__ = [
    "SERVICE_ACCOUNT_DIR",
    "ClientConfig",
    "ConfigError",
    "load_client_config",
    "load_rest_config",
]

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
EXEC_EXTENSION = "client.authentication.k8s.io/exec"  # the cluster extension for exec plugins
_REFUSED_USER_FIELDS = {
    "username": "basic auth (username/password)",
    "password": "basic auth (username/password)",
    "as": "impersonation (as)",
    "as-uid": "impersonation (as-uid)",
    "as-groups": "impersonation (as-groups)",
    "as-user-extra": "impersonation (as-user-extra)",
}


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """A loaded configuration: how to connect, and the namespace its context names."""

    rest: RestConfig
    namespace: str  # the context's (or the pod's, in a cluster); "" when none is named
    source: str  # the file(s) it came from, or "in-cluster"


def load_rest_config(kubeconfig: str | None = None, context: str | None = None) -> RestConfig:
    """The :class:`RestConfig` of the first source that exists (see module doc)."""
    return load_client_config(kubeconfig, context).rest


def load_client_config(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
) -> ClientConfig:
    """Load from the first source that exists; ``environ``, ``home`` and the service-account
    directory are injectable so tests need not touch the real ones."""
    env = os.environ if environ is None else environ
    try:
        loaded = _first_source(kubeconfig, context, env, home, service_account_dir)
    except ConfigError as exc:
        raise ConfigError(f"cannot load Kubernetes configuration: {exc}") from exc
    if loaded is None:
        raise ConfigError(
            "no Kubernetes configuration found: pass --kubeconfig, set $KUBECONFIG, run in a "
            "cluster, or create ~/.kube/config"
        )
    return loaded


def _first_source(
    kubeconfig: str | None,
    context: str | None,
    env: Mapping[str, str],
    home: Path | None,
    service_account_dir: Path,
) -> ClientConfig | None:
    if kubeconfig:
        path = Path(kubeconfig).expanduser()
        if not path.exists():
            raise ConfigError(f"kubeconfig {path} (--kubeconfig) does not exist")
        return _from_kubeconfig(merge_files([path]), context)
    if listed := env.get("KUBECONFIG", ""):
        paths = list(dict.fromkeys(p for p in listed.split(os.pathsep) if p))
        existing = [Path(p).expanduser() for p in paths if Path(p).expanduser().exists()]
        if not existing:
            raise ConfigError(f"none of the files in $KUBECONFIG exist: {', '.join(paths)}")
        return _from_kubeconfig(merge_files(existing), context)
    token = service_account_dir / "token"
    if env.get("KUBERNETES_SERVICE_HOST") and env.get("KUBERNETES_SERVICE_PORT"):
        if token.is_file():
            return _in_cluster(env, service_account_dir)
        log.warning("KUBERNETES_SERVICE_HOST is set but %s is missing: not in-cluster", token)
    default = (home or Path.home()) / ".kube" / "config"
    if default.exists():
        return _from_kubeconfig(merge_files([default]), context)
    return None


# -- in-cluster ------------------------------------------------------------------------------


def _in_cluster(env: Mapping[str, str], directory: Path) -> ClientConfig:
    """client-go's ``InClusterConfig``: the service's address, the pod's token and CA."""
    host, port = env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    token_file = directory / "token"
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"in-cluster: cannot read the token {token_file}: {exc}") from exc
    ca_file = directory / "ca.crt"
    ca = b""
    try:
        ca = ca_file.read_bytes()
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=ca.decode("ascii"))
    except (OSError, UnicodeDecodeError, ssl.SSLError) as exc:
        # client-go logs this and goes on with the system's roots.
        log.error("in-cluster: cannot load the root CA %s: %s", ca_file, exc)
        ca = b""
    namespace = env.get("POD_NAMESPACE", "")
    if not namespace:
        try:
            namespace = (directory / "namespace").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            namespace = ""
    rest = RestConfig(
        host=f"https://{netloc}",
        ca_data=ca,
        bearer_token=token,
        bearer_token_file=str(token_file),
    )
    return ClientConfig(rest=rest, namespace=namespace, source="in-cluster")


# -- kubeconfig ------------------------------------------------------------------------------


def _from_kubeconfig(config: Kubeconfig, context: str | None) -> ClientConfig:
    source = config.source
    name = context or config.current_context
    if not name:
        raise ConfigError(f"kubeconfig {source}: no current-context is set and no context given")
    ctx = config.contexts.get(name)
    if ctx is None:
        raise ConfigError(f'kubeconfig {source}: context "{name}" does not exist')
    cluster_name = str(ctx.body.get("cluster") or "")
    cluster = config.clusters.get(cluster_name)
    if cluster is None:
        raise ConfigError(
            f'kubeconfig {source}: cluster "{cluster_name}" of context "{name}" does not exist'
        )
    user_name = str(ctx.body.get("user") or "")
    user = config.users.get(user_name) if user_name else None
    if user_name and user is None:
        raise ConfigError(
            f'kubeconfig {source}: user "{user_name}" of context "{name}" does not exist'
        )
    try:
        rest = _rest_config(cluster, user)
    except ConfigError as exc:
        raise ConfigError(f"kubeconfig {source}, context {name!r}: {exc}") from exc
    return ClientConfig(rest=rest, namespace=str(ctx.body.get("namespace") or ""), source=source)


def _data(entry: Entry, key: str) -> bytes:
    """A ``*-data`` field (base64) or, failing that, the file its sibling names."""
    data, file_key = entry.body.get(f"{key}-data"), key
    path = entry.body.get(file_key)
    if data and path:
        raise ConfigError(f"{key}-data and {key} are both set in {entry.name!r}")
    if data:
        try:
            return base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ConfigError(f"{key}-data of {entry.name!r} is not base64: {exc}") from exc
    if path:
        file = entry.resolve(str(path))
        try:
            return Path(file).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {key} {file} of {entry.name!r}: {exc}") from exc
    return b""


def _server(raw: str, tls: bool) -> str:
    if "://" not in raw:
        # client-go's DefaultServerURL: https when there is a TLS setting, http otherwise.
        raw = f"{'https' if tls else 'http'}://{raw}"
    return raw.split("?", 1)[0].split("#", 1)[0].rstrip("/")


def _rest_config(cluster: Entry, user: Entry | None) -> RestConfig:
    body = cluster.body
    raw_server = str(body.get("server") or "")
    if not raw_server:
        raise ConfigError(f'no server found for cluster "{cluster.name}"')
    ca = _data(cluster, "certificate-authority")
    insecure = bool(body.get("insecure-skip-tls-verify"))
    proxy = str(body.get("proxy-url") or "")
    if proxy and not proxy.startswith(("http://", "https://")):
        raise ConfigError(f"proxy-url {proxy!r}: only http:// and https:// proxies are supported")
    extension = _extension(cluster, EXEC_EXTENSION)
    fields: dict[str, Any] = {}
    if user is not None:
        fields = _user_fields(user, extension)
    cert = bool(fields.get("cert_data"))
    return RestConfig(
        host=_server(raw_server, bool(ca) or insecure or cert),
        ca_data=ca,
        insecure=insecure,
        server_name=str(body.get("tls-server-name") or ""),
        proxy_url=proxy,
        **fields,
    )


def _extension(cluster: Entry, name: str) -> Any:
    for item in cluster.body.get("extensions") or ():
        if isinstance(item, dict) and item.get("name") == name:
            return item.get("extension")
    return None


def _user_fields(user: Entry, exec_extension: Any) -> dict[str, Any]:
    body = user.body
    if provider := body.get("auth-provider"):
        name = provider.get("name") if isinstance(provider, dict) else provider
        raise ConfigError(
            f'user "{user.name}" uses auth-provider "{name}", which client-go deprecated and '
            "this client does not support: use an exec credential plugin instead"
        )
    for refused, what in _REFUSED_USER_FIELDS.items():
        if body.get(refused):
            raise ConfigError(f'user "{user.name}" uses {what}, which this client does not support')
    fields: dict[str, Any] = {}
    if token := str(body.get("token") or ""):
        fields["bearer_token"] = token
    if token_file := str(body.get("tokenFile") or ""):
        fields["bearer_token_file"] = user.resolve(token_file)
        if not token:
            try:
                fields["bearer_token"] = Path(fields["bearer_token_file"]).read_text().strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"cannot read tokenFile {fields['bearer_token_file']} of {user.name!r}: {exc}"
                ) from exc
    cert, key = _data(user, "client-certificate"), _data(user, "client-key")
    if cert and not key:
        raise ConfigError(f'client-key-data or client-key must be set for user "{user.name}"')
    if key and not cert:
        raise ConfigError(
            f'client-certificate-data or client-certificate must be set for "{user.name}"'
        )
    if cert:
        fields["cert_data"], fields["key_data"] = cert, key
    if body.get("exec"):
        fields["exec_provider"] = _exec(user, exec_extension)
    return fields


def _exec(user: Entry, extension: Any) -> ExecConfig:
    spec = user.body["exec"]
    if not isinstance(spec, dict):
        raise ConfigError(f'exec of user "{user.name}" is not a mapping')
    command = str(spec.get("command") or "")
    if not command:
        raise ConfigError(f'command must be specified for "{user.name}" to use an exec plugin')
    api_version = str(spec.get("apiVersion") or "")
    if api_version not in EXEC_API_VERSIONS:
        raise ConfigError(
            f'exec plugin of "{user.name}": invalid apiVersion {api_version!r} '
            f"(supported: {', '.join(EXEC_API_VERSIONS)})"
        )
    mode = str(spec.get("interactiveMode") or "")
    if not mode:
        if api_version.endswith("/v1"):
            raise ConfigError(f'interactiveMode must be specified for "{user.name}" (exec v1)')
        mode = "IfAvailable"  # v1beta1's default, for backwards compatibility
    if mode not in ("Never", "IfAvailable", "Always"):
        raise ConfigError(f'invalid interactiveMode for "{user.name}": {mode!r}')
    env: list[tuple[str, str]] = []
    for var in spec.get("env") or ():
        if not isinstance(var, dict) or not var.get("name"):
            raise ConfigError(f'an env variable of the exec plugin of "{user.name}" has no name')
        env.append((str(var["name"]), str(var.get("value") or "")))
    if os.sep in command:  # a path, not a name looked up on $PATH
        command = user.resolve(command)
    return ExecConfig(
        command=command,
        api_version=api_version,
        args=tuple(str(a) for a in spec.get("args") or ()),
        env=tuple(env),
        install_hint=str(spec.get("installHint") or ""),
        provide_cluster_info=bool(spec.get("provideClusterInfo")),
        interactive_mode=mode,
        cluster_config=extension,
    )
