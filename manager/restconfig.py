"""What the REST client needs to reach one API server: client-go's ``rest.Config``, typed.

Role: the value :mod:`manager.kubeconfig` builds (from a kubeconfig file or the in-cluster
service account) and :class:`~manager.rest.RestClient` consumes. File references are read when
the config is loaded, so a ``RestConfig`` carries data, not paths; the one exception is
``bearer_token_file``, which is re-read while the client runs (projected service-account tokens
rotate; :mod:`manager.credentials`).

Guarantees: :func:`ssl_context` verifies the server against ``ca_data`` alone (the system's
roots when there is none) unless ``insecure`` is set, checks the host name against
``server_name`` when given, and presents the client certificate when one is configured. A key
never touches the disk except, for the instant ``ssl`` loads it, as a private (0600) file in a
temporary directory removed at once (``ssl`` loads keys only from files).

Non-goals: basic auth, impersonation, and ``auth-provider`` (refused by the loader with a
:class:`ConfigError`, docs/design.md §3 "The transport").
"""

from __future__ import annotations

import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "EXEC_API_VERSIONS",
    "ConfigError",
    "ExecConfig",
    "RestConfig",
    "ssl_context",
]

# The ExecCredential versions client-go accepts (v1alpha1 was removed in v1.24).
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")


class ConfigError(Exception):
    """No usable API server configuration was found, or the one found is broken."""


@dataclass(frozen=True, kw_only=True)
class ExecConfig:
    """A kubeconfig ``user.exec`` credential plugin (client-go's ``api.ExecConfig``)."""

    command: str
    api_version: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # added to this process's environment
    install_hint: str = ""
    provide_cluster_info: bool = False
    interactive_mode: str = "IfAvailable"  # Never | IfAvailable | Always
    # The cluster's ``extensions`` entry named ``client.authentication.k8s.io/exec``, passed
    # to the plugin as ``spec.cluster.config`` when ``provide_cluster_info`` is set.
    cluster_config: Any = None


@dataclass(frozen=True, kw_only=True)
class RestConfig:
    """How to reach and authenticate to one API server.

    ``host`` is a URL (``https://10.0.0.1:6443``, possibly with a path prefix). Credentials
    are tried in client-go's order: a client certificate and a bearer token may both be sent;
    ``bearer_token_file`` (re-read about once a minute) replaces ``bearer_token`` once read;
    ``exec_provider`` is used only when neither a token nor a certificate is configured.
    """

    host: str
    ca_data: bytes = b""  # PEM; empty: the system's trust store
    cert_data: bytes = b""  # PEM client certificate (with ``key_data``)
    key_data: bytes = b""
    bearer_token: str = field(default="", repr=False)
    bearer_token_file: str = ""
    exec_provider: ExecConfig | None = None
    insecure: bool = False  # insecure-skip-tls-verify
    server_name: str = ""  # tls-server-name: SNI and the name the certificate must carry
    proxy_url: str = ""  # http(s)://; empty: $HTTPS_PROXY/$HTTP_PROXY/$NO_PROXY, as client-go

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("the API server's address (host) is empty")
        if bool(self.cert_data) != bool(self.key_data):
            raise ConfigError("a client certificate needs its key (and a key its certificate)")
        if self.insecure and self.ca_data:
            raise ConfigError(
                "insecure-skip-tls-verify and a certificate authority cannot both be set"
            )


def ssl_context(
    config: RestConfig, client_pair: tuple[bytes, bytes] | None = None
) -> ssl.SSLContext:
    """The TLS context for ``config``; ``client_pair`` (cert, key PEM) overrides its own pair.

    The pair comes from an exec plugin when it returns a certificate instead of a token.
    """
    if config.insecure:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif config.ca_data:
        # That CA alone, not the system's roots beside it (client-go's RootCAs).
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            context.load_verify_locations(cadata=config.ca_data.decode("ascii", "replace"))
        except ssl.SSLError as exc:
            raise ConfigError(f"the certificate authority data is not PEM: {exc}") from exc
    else:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    cert, key = client_pair or (config.cert_data, config.key_data)
    if cert and key:
        _load_pair(context, cert, key)
    return context


def _load_pair(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="restconfig-") as tmp:
        cert_path, key_path = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
        cert_path.write_bytes(cert)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        try:
            context.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            raise ConfigError(f"the client certificate or key cannot be loaded: {exc}") from exc
