"""JSON over HTTP to the API server, on the official client's transport.

:class:`RestClient` uses ``kubernetes.client.ApiClient`` for what it is good at — kubeconfig
auth (tokens, exec plugins, client certificates), TLS and a pooled ``urllib3`` connection —
and skips what is slow on hot paths: building pydantic models. Bodies are decoded to plain
dicts (≈10 µs per Job against ≈138 µs for a model, measured in docs/design.md §6).

Guarantees:

* every non-2xx answer raises the matching :mod:`manager.errors` class, with the original
  ``ApiException`` chained; a request that got no answer raises ``TransportError``;
* every request has a timeout (connect, read): a stalled server cannot hang a caller;
* :meth:`RestClient.watch` yields decoded watch events one line at a time and closes the
  connection when the caller stops iterating;
* ``observer`` (if given) sees every request's method, resource path and status code, for the
  ``rest_client_requests_total`` metric.

It does not retry: retry policy belongs to callers (reflector backoff, work-queue requeue).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import urllib3
from kubernetes.client import ApiClient, ApiException, Configuration

from manager.errors import ApiError, TransportError, error_from_response

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


class RestClient:
    """A thread-safe JSON client for one API server (one pooled ``ApiClient``)."""

    def __init__(
        self,
        configuration: Configuration,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        pool_size: int = DEFAULT_POOL_SIZE,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        observer: RequestObserver | None = None,
    ) -> None:
        configuration.connection_pool_maxsize = pool_size
        # No hidden retries: urllib3's default would resend on connection errors and sleep out
        # a 429/503 Retry-After itself; retry policy belongs to callers (module docstring).
        configuration.retries = urllib3.Retry(total=0, redirect=0, raise_on_status=False)
        self._api = ApiClient(configuration)
        self._api.user_agent = user_agent
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._observer = observer
        self.host = str(configuration.host)

    @property
    def api_client(self) -> ApiClient:
        """The underlying official client, for callers that need a generated API class."""
        return self._api

    def close(self) -> None:
        """Release pooled connections."""
        self._api.close()

    # -- requests ----------------------------------------------------------------------------

    def _open(
        self,
        method: str,
        path: str,
        query: Mapping[str, QueryValue] | None,
        body: Any,
        content_type: str,
        timeout: tuple[float, float] | None,
    ) -> Any:
        encoded = _encode_query(query)
        resource_path = f"{path}?{encoded}" if encoded else path
        headers = {"Accept": JSON}
        if body is not None:
            headers["Content-Type"] = content_type
        # Bodies are plain JSON data already: the transport json.dumps them as they are. The
        # client's sanitize_for_serialization (for its models) would walk every value of a
        # Job first, ~0.4 ms of client CPU per request (make bench's floor profile).
        _, url, header_params, _, _ = self._api.param_serialize(
            method=method,
            resource_path=resource_path,
            header_params=headers,
            body=None,
            auth_settings=["BearerToken"],
        )
        serialized_body = body
        try:
            return self._api.call_api(
                method,
                url,
                header_params=header_params,
                body=serialized_body,
                _request_timeout=timeout or (self._connect_timeout, self._read_timeout),
            )
        except ApiException as exc:  # raised by the transport for invalid arguments only
            self._observe(method, path, 0)
            raise TransportError(f"{method} {path}: {exc}", status=0) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            self._observe(method, path, 0)
            raise TransportError(f"{method} {path}: {exc}", status=0) from exc

    def _observe(self, method: str, path: str, status: int) -> None:
        if self._observer is not None:
            self._observer(method, path, status)

    def _raise_for_status(self, method: str, path: str, response: Any, data: bytes) -> None:
        status = int(response.status)
        self._observe(method, path, status)
        if 200 <= status <= 299:
            return
        err = error_from_response(status, data, response.getheader("Retry-After"))
        cause = ApiException(status=status, reason=str(response.reason))
        cause.body = data.decode("utf-8", "replace")
        raise err from cause

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        content_type: str = JSON,
        timeout: tuple[float, float] | None = None,
    ) -> dict[str, Any]:
        """Send one request and return the decoded JSON body (``{}`` for an empty body)."""
        response = self._open(method, path, query, body, content_type, timeout)
        try:
            data = response.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            self._observe(method, path, 0)
            raise TransportError(f"{method} {path}: {exc}", status=0) from exc
        finally:
            response.response.release_conn()
        self._raise_for_status(method, path, response, data)
        if not data:
            return {}
        try:
            decoded = json.loads(data)
        except ValueError as exc:
            raise ApiError(
                f"{method} {path}: response is not JSON", status=int(response.status)
            ) from exc
        return decoded if isinstance(decoded, dict) else {"items": decoded}

    def get(self, path: str, **query: QueryValue) -> dict[str, Any]:
        return self.request("GET", path, query=query)

    def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, body=dict(body))

    def replace(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PUT", path, body=dict(body))

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
        response = self._open(
            "GET", path, full_query, None, JSON, (self._connect_timeout, read_timeout)
        )
        raw = response.response
        if on_open is not None:
            on_open(raw.shutdown)
        try:
            if not 200 <= int(response.status) <= 299:
                self._raise_for_status("WATCH", path, response, response.read())
            self._observe("WATCH", path, int(response.status))
            buffer = b""
            for chunk in raw.stream(64 * 1024, decode_content=True):
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
            raw.release_conn() if raw.closed else raw.close()


def _decode_event(line: bytes) -> WatchEvent:
    try:
        event = json.loads(line)
    except ValueError as exc:
        raise TransportError(f"watch stream sent a line that is not JSON: {line[:80]!r}") from exc
    if not isinstance(event, dict) or "type" not in event:
        raise TransportError(f"watch stream sent a line that is not an event: {line[:80]!r}")
    return event
