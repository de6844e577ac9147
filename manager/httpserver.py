"""A small threaded HTTP server for the metrics and health-probe endpoints.

The Manager serves ``/metrics`` on ``--metrics-bind-address`` and ``/healthz``, ``/readyz`` on
``--health-probe-bind-address``. Both are tiny read-only endpoints, so they share this helper:
a ``ThreadingHTTPServer`` on a daemon thread that hands every GET to a routing function.

Bind addresses use controller-runtime's spelling:

* ``":8080"`` — port 8080 on all (IPv4) interfaces;
* ``"127.0.0.1:0"`` — an ephemeral loopback port, read back from ``BackgroundHTTPServer.port``;
* ``"[::1]:8080"`` — IPv6;
* ``"0"`` (or ``""``) — disabled: :func:`parse_bind_address` returns ``None``.

With ``tls`` (a callable returning the current ``ssl.SSLContext``, asked once per connection
so a rotated certificate applies to the next one) the server speaks HTTPS; the TLS handshake
runs on the connection's thread, bounded by :data:`HANDSHAKE_TIMEOUT`, so a slow client never
holds up the accept loop.

Guarantees: the socket is bound when :func:`start_http_server` returns (a bind error raises
there, not later on a thread); a request handler that raises answers 500 instead of killing
the server; :meth:`BackgroundHTTPServer.close` stops serving and releases the port. It is not a
general web framework: GET/HEAD only, no authentication (routes add their own, see
:mod:`manager.metricsauth`).
"""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "BackgroundHTTPServer",
    "HTTPRequest",
    "HTTPResponse",
    "Route",
    "TLSContext",
    "parse_bind_address",
    "start_http_server",
]

log = logging.getLogger(__name__)

TEXT_PLAIN = "text/plain; charset=utf-8"
# Seconds a client gets to finish the TLS handshake and send its request line; Go's
# http.Server as controller-runtime configures it has no limit, this keeps a stuck client
# from holding a thread forever.
HANDSHAKE_TIMEOUT = 10.0

TLSContext = Callable[[], ssl.SSLContext]
"""Returns the SSLContext for the next connection."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HTTPRequest:
    """What a route sees of a request: path without query, parsed query, lower-cased headers."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class HTTPResponse:
    """What a route answers."""

    status: int
    body: bytes
    content_type: str = TEXT_PLAIN
    headers: Mapping[str, str] = field(default_factory=dict)


Route = Callable[[HTTPRequest], HTTPResponse]


def parse_bind_address(address: str) -> tuple[str, int] | None:
    """``":8080"`` → ``("", 8080)``; ``"host:port"`` → ``(host, port)``; ``"0"``/``""`` → None."""
    address = address.strip()
    if address in ("", "0"):
        return None
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise ValueError(f"bind address {address!r} must be host:port, :port or 0")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"bind address {address!r} has an invalid port") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"bind address {address!r} has a port out of range")
    return host, port


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], route: Route, tls: TLSContext | None = None
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.route = route
        self.tls = tls
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        conn, client = super().get_request()
        if self.tls is None:
            return conn, client
        conn.settimeout(HANDSHAKE_TIMEOUT)
        wrapped = self.tls().wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return wrapped, client

    def process_request_thread(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (OSError, ssl.SSLError) as err:
                log.debug("TLS handshake failed", extra={"error": str(err)})
                self.shutdown_request(request)
                return
        super().process_request_thread(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        request = HTTPRequest(
            method=self.command,
            path=parsed.path,
            query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        try:
            response = self.server.route(request)
        except Exception:
            log.exception("HTTP handler failed", extra={"path": parsed.path})
            response = HTTPResponse(status=500, body=b"internal server error\n")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("HTTP request", extra={"request": format % args})


class BackgroundHTTPServer:
    """A bound, serving HTTP server; as a Runnable, ``start(stop)`` closes it when stopped."""

    def __init__(
        self,
        address: tuple[str, int],
        route: Route,
        *,
        name: str = "http",
        tls: TLSContext | None = None,
    ) -> None:
        self._server = _Server(address, route, tls)
        self.scheme = "http" if tls is None else "https"
        self._server.timeout = 0  # handle_request() after select said ready: never waits
        # The serving loop sleeps in select() until a request or a byte on this pair: no
        # polling while idle (serve_forever wakes every poll_interval to look for shutdown).
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name=f"{name}-server", daemon=True)
        self._closed = False
        self._lock = threading.Lock()
        self._thread.start()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._server, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._closed:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake_reader in ready or self._closed:
                    return
                self._server.handle_request()

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "") -> str:
        """``http[s]://host:port/path``; an all-interfaces server is reached through 127.0.0.1."""
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}{path}"

    def start(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set, then close (the serving thread runs from construction)."""
        stop.wait()
        self.close()

    def close(self) -> None:
        """Stop serving and release the port; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake_writer.send(b"x")
        self._thread.join(timeout=5.0)
        self._server.server_close()
        self._wake_reader.close()
        self._wake_writer.close()


def start_http_server(
    bind_address: str, route: Route, *, name: str, tls: TLSContext | None = None
) -> BackgroundHTTPServer | None:
    """Bind ``bind_address`` and serve ``route`` on a thread; None when the address is ``"0"``."""
    address = parse_bind_address(bind_address)
    if address is None:
        return None
    server = BackgroundHTTPServer(address, route, name=name, tls=tls)
    log.info("serving HTTP", extra={"server": name, "address": server.url()})
    return server
