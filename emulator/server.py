"""``ApiServer``: the emulator as a context manager, with in-process helpers for tests.

Starts a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port unless one is given) and a garbage
collector thread; :meth:`ApiServer.stop` (or leaving the ``with`` block) closes every connection
and joins both threads. ``default`` and ``kube-system`` exist from the start.

Public surface (docs/contracts.md): ``url``, ``port``, ``ADMIN_TOKEN``, ``add_user``,
``write_kubeconfig``, ``client_configuration``, ``audit``, ``faults``; and, for test setup,
``create_object``/``get_object``/``list_objects``/``update_object``/``delete_object`` that run
the same semantics as HTTP requests (as the admin, without audit records or faults).

Guarantees: requests are served concurrently; watches are fed in commit order; the server never
binds anything but 127.0.0.1; its HTTPS port's key pair is generated at start
(:mod:`emulator.certs`), never read from disk. Non-goals: client certificates, persistence
across restarts.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import socket
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import yaml

from emulator.audit import ADMIN_TOKEN, AuditLog, Users
from emulator.backend import Backend
from emulator.certs import ServingPair, serving_pair
from emulator.faults import Faults
from emulator.gc import GarbageCollector
from emulator.handler import handler_class
from emulator.listing import Lister
from emulator.objects import Cluster
from emulator.openapi_serve import OpenAPIService
from emulator.rbac import Authorizer
from emulator.resources import NAMESPACE_KEY, Registry, ResourceInfo
from emulator.storage import DEFAULT_HISTORY_SIZE, Storage

if TYPE_CHECKING:  # the official client loads only for tests that ask for it (~50 MiB)
    from kubernetes.client import Configuration

__all__ = ["ADMIN_TOKEN", "DEFAULT_BOOKMARK_INTERVAL", "ApiServer"]

DEFAULT_BOOKMARK_INTERVAL = 1.0  # seconds of idle stream before a BOOKMARK (the server: ~1 min)
INITIAL_NAMESPACES = ("default", "kube-system")
SHUTDOWN_POLL = 0.02  # seconds; how fast serve_forever notices stop()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], backend: Backend, tls: ssl.SSLContext | None = None
    ) -> None:
        self.tls = tls
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler_class(backend))

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, address

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (OSError, ssl.SSLError):
                self.shutdown_request(request)
                return
        self._track(request, client_address)

    def _track(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.connections.discard(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class ApiServer:
    """A Kubernetes API server emulator on 127.0.0.1."""

    ADMIN_TOKEN = ADMIN_TOKEN

    def __init__(
        self,
        *,
        port: int = 0,
        history_size: int = DEFAULT_HISTORY_SIZE,
        rbac: bool = False,
        clock: Callable[[], datetime] | None = None,
        bookmark_interval: float = DEFAULT_BOOKMARK_INTERVAL,
    ) -> None:
        self.registry = Registry()
        self.storage = Storage(history_size=history_size)
        self.cluster = Cluster(storage=self.storage, registry=self.registry, clock=clock or _utcnow)
        self.users = Users()
        self.audit = AuditLog()
        self.faults = Faults(self.storage.watchers)
        self.authorizer = Authorizer(self._rbac_lookup) if rbac else None
        self.bookmark_interval = bookmark_interval
        self.clock = clock or _utcnow
        self.stopping = threading.Event()
        self._lists = Lister(self.cluster, self.stopping)
        self._backend = Backend(
            registry=self.registry, cluster=self.cluster, lists=self._lists,
            storage=self.storage, users=self.users, authorizer=self.authorizer,
            audit=self.audit, faults=self.faults, clock=self.clock, stopping=self.stopping,
            bookmark_interval=bookmark_interval,
            advertised_address=lambda: f"127.0.0.1:{self.port}",
            openapi=OpenAPIService.of(self.registry, self.storage),
        )  # fmt: skip
        self._requested_port = port
        self._http: _HTTPServer | None = None
        self._https: _HTTPServer | None = None
        self._tls: ServingPair | None = None
        self._threads: list[threading.Thread] = []
        self._gc = GarbageCollector(self.cluster.deletion, self.stopping)
        for name in INITIAL_NAMESPACES:
            self.create_object(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            )

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> ApiServer:
        if self._http is not None:
            return self
        self._tls = serving_pair()
        self._http = _HTTPServer(("127.0.0.1", self._requested_port), self._backend)
        self._https = _HTTPServer(("127.0.0.1", 0), self._backend, self._tls.context)
        self._threads = [
            threading.Thread(
                target=self._http.serve_forever,
                args=(SHUTDOWN_POLL,),
                name="emulator-http",
                daemon=True,
            ),
            threading.Thread(
                target=self._https.serve_forever,
                args=(SHUTDOWN_POLL,),
                name="emulator-https",
                daemon=True,
            ),
            threading.Thread(target=self._gc.run, name="emulator-gc", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        if self._http is None or self._https is None:
            return
        self.stopping.set()
        with self.storage.lock:
            self.storage.changed.notify_all()
        for http in (self._http, self._https):
            http.shutdown()
            http.close_connections()
            http.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._http = self._https = None

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the server is not started")
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        """Plain HTTP (the Python client sends bearer tokens over it; fastest for tests)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def secure_url(self) -> str:
        """HTTPS with this server's own certificate (kubectl sends tokens only over TLS)."""
        if self._https is None:
            raise RuntimeError("the server is not started")
        return f"https://127.0.0.1:{self._https.server_address[1]}"

    # -- identity and clients -------------------------------------------------------------------

    def add_user(self, token: str, user: str, groups: list[str] | tuple[str, ...] = ()) -> None:
        """Map a bearer token to a user name and groups."""
        self.users.add(token, user, tuple(groups))

    def client_configuration(self, token: str | None = None) -> Configuration:
        """A ``kubernetes.client.Configuration`` for this server (admin token by default)."""
        from kubernetes.client import Configuration

        config = Configuration()
        config.host = self.url
        config.api_key = {"authorization": f"Bearer {token or ADMIN_TOKEN}"}
        return config

    def write_kubeconfig(self, path: str | Path, token: str | None = None) -> Path:
        """Write a kubeconfig (context ``emulator``, namespace ``default``) usable as is.

        It points at :attr:`secure_url` with the certificate embedded: kubectl does not send
        bearer tokens over plain HTTP.
        """
        if self._tls is None:
            raise RuntimeError("the server is not started")
        ca = base64.b64encode(self._tls.ca_pem).decode()
        cluster = {"server": self.secure_url, "certificate-authority-data": ca}
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": cluster}],
            "users": [{"name": "emulator-user", "user": {"token": token or ADMIN_TOKEN}}],
            "contexts": [
                {
                    "name": "emulator",
                    "context": {"cluster": "emulator", "user": "emulator-user",
                                "namespace": "default"},
                }
            ],
            "current-context": "emulator",
            "preferences": {},
        }  # fmt: skip
        target = Path(path)
        target.write_text(yaml.safe_dump(doc, sort_keys=False))
        return target

    def _rbac_lookup(self, plural: str, namespace: str | None) -> list[dict[str, Any]]:
        storage_key = ("rbac.authorization.k8s.io", plural)
        with self.storage.lock:
            keys = self.storage.keys_in(storage_key, namespace)
            objs = [self.storage.get(storage_key, k) for k in keys]
        return [o for o in objs if o is not None]

    # -- in-process helpers -----------------------------------------------------------------------

    def resource_for(self, api_version: str, kind: str) -> ResourceInfo:
        group, _, version = api_version.rpartition("/")
        for info in self.registry.all():
            if (info.group, info.version, info.kind) == (group, version, kind):
                return info
        raise KeyError(f"no served resource for {api_version} {kind}")

    def create_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj`` (``apiVersion``/``kind`` pick the resource); returns a copy."""
        info = self.resource_for(obj["apiVersion"], obj["kind"])
        namespace = obj.get("metadata", {}).get("namespace") or (
            "default" if info.namespaced else None
        )
        return copy.deepcopy(self.cluster.create(info, namespace, obj))

    def get_object(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The stored object (a copy), or None."""
        info = self.resource_for(api_version, kind)
        key = f"{namespace}/{name}" if info.namespaced else name
        obj = self.storage.get(info.storage_key, key)
        return None if obj is None else copy.deepcopy(obj)

    def list_objects(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str = "",
    ) -> list[dict[str, Any]]:
        """Stored objects (copies), optionally in one namespace and matching a selector."""
        info = self.resource_for(api_version, kind)
        body = self._lists.list_body(info, namespace, {"labelSelector": label_selector})
        return copy.deepcopy(body["items"])

    def update_object(self, obj: dict[str, Any], *, subresource: str = "") -> dict[str, Any]:
        """PUT ``obj`` (or its status); the same conflict rules as over HTTP."""
        info = self.resource_for(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        stored = self.cluster.update(info, meta.get("namespace"), meta["name"], obj,
                                     subresource=subresource)  # fmt: skip
        return copy.deepcopy(stored)

    def delete_object(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation_policy: str | None = None,
    ) -> bool:
        """Delete; True when the object is gone, False while finalizers hold it."""
        info = self.resource_for(api_version, kind)
        _, gone = self.cluster.delete(info, namespace, name, propagation=propagation_policy)
        return gone

    def namespaces(self) -> list[str]:
        return self.storage.keys_in(NAMESPACE_KEY, None)
