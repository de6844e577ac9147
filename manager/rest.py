"""JSON over HTTP to the API server, on :mod:`manager.http1` (urllib3 behind a proxy).

:class:`RestClient` speaks to one server from a :class:`~manager.restconfig.RestConfig`: pools
of keep-alive connections (one ``ssl.SSLContext`` built from the config), credentials from
:mod:`manager.credentials` on every request, JSON bodies as plain dicts (≈10 µs per Job against
≈138 µs for a generated model), encoded and decoded by ``orjson`` (a Job from a v1.32 server,
7 KiB: 59 → 28 µs to decode, 83 → 7 µs to encode, against ``json``). Through a proxy every
request takes urllib3's path. It does not import the official client (docs/design.md §3,
"The transport": memory, start time and CPU per request).

Guarantees:

* every non-2xx answer raises the matching :mod:`manager.errors` class; a request that got no
  answer raises ``TransportError`` with the transport's exception chained (a credential plugin
  that fails is such a request);
* every request has a timeout (connect, read): a stalled server cannot hang a caller;
* :meth:`RestClient.watch` yields decoded watch events one line at a time and closes the
  connection when the caller stops iterating;
* ``observer`` (if given) sees every request's method, resource path and status code, for the
  ``rest_client_requests_total`` metric;
* a 401 tells the credentials (an exec plugin runs again for the next request, as client-go's).

It does not retry: retry policy belongs to callers (reflector backoff, work-queue requeue).
"""

from __future__ import annotations

import logging
import ssl
import threading
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import urllib3

from manager.credentials import Credentials, credentials_for
from manager.errors import ApiError, TransportError, error_from_response
from manager.http1 import ConnectionPool
from manager.listdecode import NotAList, decode_list
from manager.restconfig import RestConfig, ssl_context

__all__ = [
    "BACKGROUND",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_POOL_SIZE",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_USER_AGENT",
    "JSON",
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "QueryValue",
    "RequestObserver",
    "RestClient",
    "WatchEvent",
]

log = logging.getLogger(__name__)

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
# DeleteOptions.propagationPolicy: the object goes at once, its dependents (a Job's Pods) after,
# by the garbage collector.
BACKGROUND = "Background"

DEFAULT_CONNECT_TIMEOUT = 5.0  # seconds; client-go's dialer uses 30 s, a local API answers in ms
DEFAULT_POOL_SIZE = 16  # connections; covers informers + workers + elector of one operator
DEFAULT_USER_AGENT = "python-controller-manager"  # a program built on the runtime sets its own
DEFAULT_READ_TIMEOUT = 30.0  # seconds; bounds a hung server, yet leaves room for large lists

QueryValue = str | int | bool | None
RequestObserver = Callable[[str, str, int], None]
"""Called with (method, path, status code; 0 when no answer) after every request."""

WatchEvent = dict[str, Any]
"""A decoded watch line: ``{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": {...}}``."""


def _encode_query(query: Mapping[str, QueryValue] | None) -> str:
    if not query:
        return ""
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        else:
            pairs.append((key, str(value)))
    return urllib.parse.urlencode(pairs)


# No hidden retries: urllib3 would resend on connection errors and sleep out a 429/503
# Retry-After itself; retry policy belongs to callers (module docstring).
_NO_RETRIES = urllib3.Retry(total=0, redirect=0, raise_on_status=False)
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _environment_proxy(url: urllib.parse.SplitResult) -> str:
    """``$HTTPS_PROXY``/``$HTTP_PROXY`` unless loopback or ``$NO_PROXY`` (``*``, names and
    their subdomains) exempts the host."""
    host = url.hostname or ""
    if host in _LOOPBACK or host.startswith("127."):
        return ""  # Go's ProxyFromEnvironment never proxies loopback either
    proxies = urllib.request.getproxies_environment()
    for entry in proxies.get("no", "").replace(" ", "").split(","):
        suffix = entry.lstrip("*").lstrip(".")
        if entry == "*" or (suffix and (host == suffix or host.endswith("." + suffix))):
            return ""
    return proxies.get(url.scheme, "")


def _encode_body(body: Any) -> bytes | None:
    if body is None:
        return None
    return body if isinstance(body, bytes) else orjson.dumps(body)


@dataclass(frozen=True)
class _Pools:
    """One set of connections: urllib3's (watches; all through a proxy) and the lean one."""

    streaming: urllib3.HTTPConnectionPool
    lean: ConnectionPool | None
    manager: urllib3.PoolManager | None = None

    def close(self) -> None:
        if self.manager is not None:
            self.manager.clear()
        if self.lean is not None:
            self.lean.close()


class RestClient:
    """A thread-safe JSON client for one API server (one pool of connections)."""

    def __init__(
        self,
        config: RestConfig,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        pool_size: int = DEFAULT_POOL_SIZE,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        observer: RequestObserver | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        url = urllib.parse.urlsplit(config.host)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {config.host!r}")
        self.host = config.host
        self._config = config
        self._url = url
        self._prefix = url.path.rstrip("/")
        self._pool_size = pool_size
        self._credentials = credentials or credentials_for(config)
        self._headers = {"Accept": JSON, "User-Agent": user_agent}
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._observer = observer
        self._lock = threading.Lock()
        self._pair: tuple[bytes, bytes] | None = None  # the client pair the pools present
        self._fixed_headers = (
            f"Host: {url.netloc}\r\nAccept: {JSON}\r\nUser-Agent: {user_agent}\r\n"
        ).encode("latin-1")
        self._pools = self._new_pools(None)

    def _new_pools(self, pair: tuple[bytes, bytes] | None) -> _Pools:
        config, url = self._config, self._url
        options: dict[str, Any] = {"maxsize": self._pool_size, "block": False}
        tls: ssl.SSLContext | None = None
        if url.scheme == "https":
            tls = options["ssl_context"] = ssl_context(config, pair)
            if config.insecure:
                options["cert_reqs"] = "CERT_NONE"
                options["assert_hostname"] = False
                # Asked for in the kubeconfig: said once here, not warned on every request.
                log.warning("insecure-skip-tls-verify: not verifying %s", config.host)
                warnings.filterwarnings(
                    "ignore",
                    message=f"Unverified HTTPS request is being made to host '{url.hostname}'",
                    category=urllib3.exceptions.InsecureRequestWarning,
                )
            elif config.server_name:
                options["server_hostname"] = config.server_name
                options["assert_hostname"] = config.server_name
        proxy = config.proxy_url or _environment_proxy(url)
        manager = (
            urllib3.ProxyManager(proxy, num_pools=1, **options)
            if proxy
            else urllib3.PoolManager(num_pools=1, **options)
        )
        # Through a proxy every request takes urllib3's path (it speaks CONNECT); otherwise
        # one-shot requests take the lean one (manager.http1: a fifth of the CPU per request).
        lean = None
        if not proxy:
            port = url.port or (443 if url.scheme == "https" else 80)
            server_name = config.server_name if tls is not None and not config.insecure else None
            lean = ConnectionPool(
                url.hostname or "",
                port,
                tls=tls,
                server_hostname=server_name or url.hostname,
                maxsize=self._pool_size,
            )
        return _Pools(manager.connection_from_url(f"{url.scheme}://{url.netloc}"), lean, manager)

    def _pools_for(self, pair: tuple[bytes, bytes] | None) -> _Pools:
        """The pools; new ones when an exec plugin rotated the client certificate."""
        if pair == self._pair:
            return self._pools
        with self._lock:
            if pair != self._pair:
                old = self._pools
                self._pools = self._new_pools(pair)
                self._pair = pair
                old.close()  # connections made with the old certificate
            return self._pools

    def close(self) -> None:
        """Release pooled connections."""
        self._pools.close()

    # -- requests ----------------------------------------------------------------------------

    def _prepare(
        self, method: str, path: str, query: Mapping[str, QueryValue] | None
    ) -> tuple[str, str | None, _Pools]:
        """The request target, the Authorization value (None or "" for none) and the pools."""
        encoded = _encode_query(query)
        target = f"{self._prefix}{path}?{encoded}" if encoded else f"{self._prefix}{path}"
        try:
            auth = self._credentials.authorization()
            pools = self._pools_for(self._credentials.client_pair())
        except Exception as exc:  # a credential plugin or token file failed: no request made
            self._observe(method, path, 0)
            raise TransportError(f"{method} {path}: getting credentials: {exc}", status=0) from exc
        return target, auth, pools

    def _open(
        self,
        method: str,
        path: str,
        prepared: tuple[str, str | None, _Pools],
        body: Any,
        content_type: str,
        timeout: tuple[float, float] | None,
        *,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """The request through urllib3 (everything through a proxy); ``prepared`` is what
        :meth:`_prepare` returned for it."""
        target, auth, pools = prepared
        headers = dict(self._headers)
        if auth:
            headers["Authorization"] = auth
        data = _encode_body(body)
        if data is not None:
            headers["Content-Type"] = content_type
        connect, read = timeout or (self._connect_timeout, self._read_timeout)
        try:
            response = pools.streaming.urlopen(
                method,
                target,
                body=data,
                headers=headers,
                retries=_NO_RETRIES,
                redirect=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(connect=connect, read=read),
                preload_content=not stream,
                release_conn=not stream,
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            self._observe(method, path, 0)
            raise TransportError(f"{method} {path}: {exc}", status=0) from exc
        if response.status == 401:
            self._credentials.unauthorized(auth)
        return response

    def _exchange(
        self,
        method: str,
        path: str,
        query: Mapping[str, QueryValue] | None,
        body: Any,
        content_type: str,
        timeout: tuple[float, float] | None,
    ) -> tuple[int, bytes, str | None]:
        """One whole request: (status, body, Retry-After)."""
        prepared = self._prepare(method, path, query)
        target, auth, pools = prepared
        if pools.lean is None:
            response = self._open(method, path, prepared, body, content_type, timeout)
            return response.status, response.data, response.headers.get("Retry-After")
        headers = self._fixed_headers
        if auth:
            headers += f"Authorization: {auth}\r\n".encode("latin-1")
        data = _encode_body(body)
        if data is not None:
            headers += f"Content-Type: {content_type}\r\n".encode("latin-1")
        connect, read = timeout or (self._connect_timeout, self._read_timeout)
        try:
            answer = pools.lean.request(
                method, target, headers, data, connect_timeout=connect, read_timeout=read
            )
        except OSError as exc:
            self._observe(method, path, 0)
            raise TransportError(f"{method} {path}: {exc}", status=0) from exc
        if answer.status == 401:
            self._credentials.unauthorized(auth)
        return answer.status, answer.body, answer.headers.get("retry-after")

    def _observe(self, method: str, path: str, status: int) -> None:
        if self._observer is not None:
            self._observer(method, path, status)

    def _raise_for_status(
        self, method: str, path: str, status: int, data: bytes, retry: Any
    ) -> None:
        self._observe(method, path, status)
        if 200 <= status <= 299:
            return
        raise error_from_response(status, data, retry)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        content_type: str = JSON,
        timeout: tuple[float, float] | None = None,
        decode: bool = True,
    ) -> dict[str, Any]:
        """Send one request and return the decoded JSON body (``{}`` for an empty body).

        ``decode=False`` checks the status as always but returns ``{}`` without decoding a
        successful answer: a writer that never reads it back saves the decoding (a Job's
        answer is ~60 µs of JSON, on the herd's critical path: docs/design.md §6).
        """
        status, data, retry_after = self._exchange(method, path, query, body, content_type, timeout)
        self._raise_for_status(method, path, status, data, retry_after)
        if not data or not decode:
            return {}
        try:
            decoded = orjson.loads(data)
        except ValueError as exc:
            raise ApiError(f"{method} {path}: response is not JSON", status=status) from exc
        return decoded if isinstance(decoded, dict) else {"items": decoded}

    def list(
        self,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        each: Callable[[Any], None],
    ) -> dict[str, Any]:
        """GET a collection: ``each`` is called with every item in order, each decoded and
        dropped before the next (:mod:`manager.listdecode`); returns the list without its
        ``items`` (its ``metadata``: resourceVersion, continue)."""
        status, data, retry_after = self._exchange("GET", path, query, None, JSON, None)
        self._raise_for_status("GET", path, status, data, retry_after)
        try:
            return decode_list(data, each)
        except NotAList as exc:
            message = f"GET {path}: response is not a JSON list: {exc}"
            raise ApiError(message, status=status) from exc

    def get(self, path: str, **query: QueryValue) -> dict[str, Any]:
        return self.request("GET", path, query=query)

    def create(self, path: str, body: Mapping[str, Any], *, decode: bool = True) -> dict[str, Any]:
        return self.request("POST", path, body=dict(body), decode=decode)

    def replace(self, path: str, body: Mapping[str, Any], *, decode: bool = True) -> dict[str, Any]:
        return self.request("PUT", path, body=dict(body), decode=decode)

    def patch(self, path: str, body: Any, content_type: str = MERGE_PATCH) -> dict[str, Any]:
        return self.request("PATCH", path, body=body, content_type=content_type)

    def delete(
        self,
        path: str,
        *,
        propagation_policy: str | None = None,
        preconditions: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if preconditions:
            body["preconditions"] = dict(preconditions)
        return self.request("DELETE", path, body=body)

    # -- watch -------------------------------------------------------------------------------

    def watch(
        self,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        read_timeout: float,
        on_open: Callable[[Callable[[], None]], None] | None = None,
    ) -> Iterator[WatchEvent]:
        """Stream watch events from ``path`` (``watch=true`` is added).

        ``read_timeout`` bounds the silence between two chunks: a stalled stream raises
        ``TransportError`` instead of hanging. Ask the server for bookmarks and a
        ``timeoutSeconds`` below ``read_timeout`` so a healthy stream is never silent that long.
        ``on_open`` (if given) receives, once the response is open, a function that aborts the
        stream from another thread: a read blocked on it then ends at once (shutdown).
        """
        full_query: dict[str, QueryValue] = dict(query or {})
        full_query["watch"] = True
        prepared = self._prepare("GET", path, full_query)
        target, auth, pools = prepared
        if pools.lean is not None:
            yield from self._watch_lean(pools.lean, path, target, auth, read_timeout, on_open)
            return
        response = self._open(
            "GET", path, prepared, None, JSON, (self._connect_timeout, read_timeout), stream=True
        )
        if on_open is not None:
            on_open(response.shutdown)
        try:
            if not 200 <= response.status <= 299:
                retry = response.headers.get("Retry-After")
                self._raise_for_status("WATCH", path, response.status, response.read(), retry)
            self._observe("WATCH", path, response.status)
            buffer = b""
            for chunk in response.stream(64 * 1024, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield _decode_event(line)
            if buffer.strip():
                yield _decode_event(buffer)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransportError(f"WATCH {path}: {exc}", status=0) from exc
        finally:
            if not response.closed:
                response.close()  # an unfinished stream: its connection cannot be reused
            response.release_conn()

    def _watch_lean(
        self,
        lean: ConnectionPool,
        path: str,
        target: str,
        auth: str | None,
        read_timeout: float,
        on_open: Callable[[Callable[[], None]], None] | None,
    ) -> Iterator[WatchEvent]:
        headers = self._fixed_headers
        if auth:
            headers += f"Authorization: {auth}\r\n".encode("latin-1")
        try:
            stream = lean.stream(
                "GET",
                target,
                headers,
                connect_timeout=self._connect_timeout,
                read_timeout=read_timeout,
            )
        except OSError as exc:
            self._observe("WATCH", path, 0)
            raise TransportError(f"WATCH {path}: {exc}", status=0) from exc
        if stream.status == 401:
            self._credentials.unauthorized(auth)
        if on_open is not None:
            on_open(stream.abort)
        try:
            if not 200 <= stream.status <= 299:
                retry = stream.headers.get("retry-after")
                self._raise_for_status("WATCH", path, stream.status, stream.read_all(), retry)
            self._observe("WATCH", path, stream.status)
            for line in _lines(stream.chunks()):
                yield _decode_event(line)
        except OSError as exc:
            raise TransportError(f"WATCH {path}: {exc}", status=0) from exc
        finally:
            stream.close()


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Complete non-empty lines from a stream's pieces (a watch sends one event per line,
    usually one line per chunk: that case is passed through as is)."""
    buffer = b""
    for chunk in chunks:
        if not buffer and chunk.endswith(b"\n") and chunk.count(b"\n") == 1:
            if chunk.strip():
                yield chunk
            continue
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line
    if buffer.strip():
        yield buffer


def _decode_event(line: bytes) -> WatchEvent:
    try:
        event = orjson.loads(line)
    except ValueError as exc:
        raise TransportError(f"watch stream sent a line that is not JSON: {line[:80]!r}") from exc
    if not isinstance(event, dict) or "type" not in event:
        raise TransportError(f"watch stream sent a line that is not an event: {line[:80]!r}")
    return event
