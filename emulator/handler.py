"""The HTTP/1.1 front of the emulator: routing, authentication, authorization, audit, faults.

One :class:`Handler` per connection (``ThreadingHTTPServer``), keep-alive between requests.
Resource paths follow the API concepts page ("Resource URIs"):
``/api/v1/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]`` and the same under
``/apis/<group>/<version>``; ``?watch=true`` turns a collection GET into a watch, streamed with
chunked transfer encoding, one JSON event per line (several lines may share a chunk).

Order of work per request: authenticate (401) → resolve the request (404 for unknown paths) →
faults (latency, injected failures) → authorize when RBAC is on (403) → serve → audit record.
Watches: ``resourceVersion`` unset or ``0`` starts with synthetic ADDED events; a resourceVersion
older than the retained history yields one ``ERROR`` event carrying a 410 ``Expired`` Status (the
watch cache's behaviour); ``timeoutSeconds`` ends the stream; ``allowWatchBookmarks`` adds
BOOKMARK events when the stream is idle.

Protobuf bodies (built-in kinds, :mod:`emulator.protobuf`) are read when ``Content-Type`` says
so and written when ``Accept`` prefers them, Status errors included. Reads and watches asking for
a ``Table`` get one (:mod:`emulator.table_request`).

Non-goals: TLS, protobuf watch streams, server-side apply, ``dryRun``.
"""

from __future__ import annotations

import json
import logging
import queue
import ssl
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from emulator import discovery, protobuf, reviews
from emulator.audit import AuditRecord
from emulator.backend import Backend
from emulator.errors import ApiStatusError, bad_request, forbidden, status_body
from emulator.field_validation import Checker, directive
from emulator.managed_fields import manager_name
from emulator.openapi_serve import Answer
from emulator.rbac import Attributes, forbidden_status_message
from emulator.request_info import RequestInfo
from emulator.resources import ResourceInfo
from emulator.selectors import parse_field_selector, parse_label_selector
from emulator.table import to_table
from emulator.table_builtin import printer_for
from emulator.table_request import TableRequest, TableStream, negotiate
from emulator.watch import Control, Event, Watcher, encode_line

__all__ = ["Handler", "RequestInfo", "handler_class"]

log = logging.getLogger(__name__)
DEFAULT_WATCH_TIMEOUT = 1800.0  # seconds; kube-apiserver --min-request-timeout
POLL = 0.2  # seconds between checks for server shutdown on an idle stream
MAX_BATCH = 256  # watch lines coalesced into one chunk when they are already queued
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def handler_class(backend: Backend) -> type[Handler]:
    """A :class:`Handler` class whose requests are served by ``backend``."""

    class BoundHandler(Handler):
        api = backend

    return BoundHandler


class Handler(BaseHTTPRequestHandler):
    """Serves one connection with the collaborators in :attr:`api` (:func:`handler_class`)."""

    protocol_version = "HTTP/1.1"
    server_version = "emulator"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
    _audited = False  # this request's audit record is already written (watch: at start)
    _table_stream: TableStream | None = None  # a watch that streams Tables
    _audit_context: tuple[RequestInfo, str, str]
    api: ClassVar[Backend]

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("request " + format, *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- plumbing -----------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _body(self) -> Any:
        raw = self._raw_body
        if not raw:
            return None
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if protobuf.is_protobuf(content_type):
            return protobuf.decode(raw)
        if content_type and "json" not in content_type:
            raise ApiStatusError(
                415, "UnsupportedMediaType", "the body of the request was in an unknown format"
                " - accepted media types include: application/json"
            )  # fmt: skip
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as err:
            raise bad_request(f"the body of the request is not valid JSON: {err}") from err

    def _send(
        self,
        code: int,
        payload: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        # Audit before the client can see the answer, so a test that reads the audit log
        # right after a response always finds that request's record.
        self._audit_response_started(code)
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, private")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        for warning in self._warnings:
            self.send_header("Warning", warning)
        self.end_headers()
        self.wfile.write(payload)

    def _send_obj(self, code: int, obj: Any, info: ResourceInfo | None = None) -> None:
        if info is not None and isinstance(obj, dict) and obj.get("apiVersion") != info.api_version:
            obj = dict(obj, apiVersion=info.api_version)
        payload, content_type = self._encoded(obj)
        self._send(code, payload, content_type=content_type)

    def _encoded(self, obj: Any) -> tuple[bytes, str]:
        """``obj`` as ``Accept`` prefers: protobuf for a kind that has a schema, else JSON."""
        if protobuf.prefers_protobuf(self.headers.get("Accept") or ""):
            payload = protobuf.encode(obj)
            if payload is not None:
                return payload, protobuf.MEDIA_TYPE
        return _json(obj), "application/json"

    def _send_table(
        self,
        info: ResourceInfo,
        items: list[dict[str, Any]],
        list_metadata: dict[str, Any],
        request: TableRequest,
    ) -> None:
        """A ``Table`` of ``items`` (:mod:`emulator.table`) in ``meta.k8s.io/<version>``."""
        items = [dict(obj, apiVersion=info.api_version, kind=info.kind) for obj in items]
        table = to_table(
            items,
            printer_for(info),
            version=request.version,
            include_object=request.include_object,
            now=self.api.clock(),
            list_metadata=list_metadata,
        )
        self._send(200, _json(table))

    # -- request flow -------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        request = RequestInfo(verb=method.lower())
        user, groups = "", tuple[str, ...]()
        code = 500
        self._audited = False
        self._warnings: list[str] = []
        self._audit_context = (request, user, parsed.path)
        self._raw_body = self._read_body()
        try:
            auth = self.headers.get("Authorization") or ""
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
            identity = self.api.users.authenticate(token)
            if identity is None:
                raise ApiStatusError(401, "Unauthorized", "Unauthorized")
            user, groups = identity.name, identity.groups
            self._audit_context = (request, user, parsed.path)
            request = self._resolve(method, parsed.path, query)
            self._audit_context = (request, user, parsed.path)
            self._apply_faults(request, user)
            self._authorize(request, user, groups, parsed.path)
            code = self._serve(method, parsed.path, query, request)
        except ApiStatusError as err:
            code = err.code
            payload, content_type = self._encoded(err.body)
            self._send(err.code, payload, err.headers, content_type)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            # The client went away mid-response (a killed process, a closed TLS stream):
            # nothing can be sent any more, so record it as nginx's 499 and drop the connection.
            code = 499
            self.close_connection = True
        except Exception:  # a bug must become a 500, not a dead connection
            log.exception("request failed", extra={"path": self.path})
            code = 500
            body = status_body(500, "InternalError", "an error on the server has prevented it")
            self._send(500, _json(body))
        finally:
            if not self._audited:
                self._record(request, user, code, parsed.path)

    def _audit_response_started(self, code: int) -> None:
        """Record the request when its response starts (once), as the real audit log's
        ``ResponseStarted`` stage does: a watch open for minutes is visible now."""
        if self._audited:
            return
        request, user, path = self._audit_context
        self._record(request, user, code, path)
        self._audited = True

    def _record(self, request: RequestInfo, user: str, code: int, path: str) -> None:
        self.api.audit.append(
            AuditRecord(
                user=user, verb=request.verb, group=request.group, resource=request.resource,
                subresource=request.subresource, namespace=request.namespace,
                name=request.name, code=code, timestamp=self.api.clock(), path=path,
            )
        )  # fmt: skip

    def _resolve(self, method: str, path: str, query: dict[str, str]) -> RequestInfo:
        parts = [p for p in path.split("/") if p]
        verb = method.lower()
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return RequestInfo(verb=verb)
        if not rest:
            return RequestInfo(verb=verb, group=group, version=version)
        if rest[0] == "watch":
            rest = rest[1:]
            query["watch"] = "true"
        namespace = ""
        if (
            len(rest) >= 3
            and rest[0] == "namespaces"
            and not (len(rest) == 3 and rest[2] in NAMESPACE_SUBRESOURCES)
        ):
            namespace, rest = rest[1], rest[2:]
        resource, name = rest[0], rest[1] if len(rest) > 1 else ""
        subresource = rest[2] if len(rest) > 2 else ""
        info = self.api.registry.lookup(group, version, resource)
        request = RequestInfo(
            verb=verb, group=group, version=version, resource=resource,
            subresource=subresource, namespace=namespace, name=name, info=info,
        )  # fmt: skip
        watch = query.get("watch") in ("true", "1")
        if method == "GET":
            request.verb = "watch" if watch else ("get" if name else "list")
        elif method == "POST":
            request.verb = "create"
        elif method == "PUT":
            request.verb = "update"
        elif method == "PATCH":
            request.verb = "patch"
        elif method == "DELETE":
            request.verb = "delete" if name else "deletecollection"
        bad_scope = info is not None and (
            (namespace and not info.namespaced) or len(rest) > 3
            or (subresource and not (subresource == "status" and info.status_subresource))
            or (method == "POST" and info.namespaced and not namespace)
        )  # fmt: skip
        if info is None or bad_scope:
            raise ApiStatusError(
                404, "NotFound", "the server could not find the requested resource"
            )
        return request

    def _apply_faults(self, request: RequestInfo, user: str) -> None:
        attrs = {
            "verb": request.verb, "resource": request.resource,
            "namespace": request.namespace, "name": request.name, "user": user,
        }  # fmt: skip
        latency, rule = self.api.faults.for_request(attrs)
        if latency > 0:
            self.api.stopping.wait(latency)
        if rule is not None:
            headers = {}
            if rule.retry_after is not None:
                headers["Retry-After"] = str(rule.retry_after)
            reason = {429: "TooManyRequests", 503: "ServiceUnavailable", 504: "Timeout"}.get(
                rule.code, "InternalError"
            )
            message = "injected fault" if rule.code != 429 else "Too many requests"
            details = {"retryAfterSeconds": rule.retry_after} if rule.retry_after else None
            raise ApiStatusError(rule.code, reason, message, details, headers)

    def _authorize(
        self, request: RequestInfo, user: str, groups: tuple[str, ...], path: str
    ) -> None:
        if self.api.authorizer is None:
            return
        attrs = Attributes(
            user=user, groups=groups, verb=request.verb, api_group=request.group,
            resource=request.resource, subresource=request.subresource,
            namespace=request.namespace, name=request.name,
            non_resource_url="" if request.resource else path,
        )  # fmt: skip
        if not self.api.authorizer.authorize(attrs).allowed:
            message = forbidden_status_message(attrs)
            raise forbidden(request.group, request.resource, request.name, message)

    # -- serving ------------------------------------------------------------------------------

    def _serve(self, method: str, path: str, query: dict[str, str], request: RequestInfo) -> int:
        info = request.info
        if info is None:
            return self._serve_discovery(method, path, request)
        if info.storage_key in reviews.REVIEW_RESOURCES:  # answered, never stored
            review = reviews.answer(self.api.users, self.api.authorizer, request, self._body())
            self._send_obj(201, review, info)
            return 201
        ns = request.namespace or None
        cluster = self.api.cluster
        verb = request.verb
        if info.custom and protobuf.only_protobuf(self.headers.get("Accept") or ""):
            raise protobuf.not_acceptable()  # custom resources have no protobuf form
        table = None
        if verb in ("get", "list", "watch"):
            accept = self.headers.get("Accept") or ""
            table = negotiate(accept, query, custom=info.custom, watch=verb == "watch")
        if verb == "get":
            obj = cluster.get(info, ns, request.name)
            if table is None:
                self._send_obj(200, obj, info)
            else:
                meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
                self._send_table(info, [obj], meta, table)
        elif verb == "list":
            body = self.api.lists.list_body(info, ns, query)
            if table is None:
                self._send_obj(200, body, info)
            else:
                self._send_table(info, body["items"], body["metadata"], table)
        elif verb == "watch":
            self._table_stream = None if table is None else TableStream(table, printer_for(info))
            self._serve_watch(info, request, query)
        elif verb == "create":
            manager = self._field_manager(query)
            body = self._validated_body(info, query, verb)
            self._send_obj(201, cluster.create(info, ns, body, manager=manager), info)
        elif verb == "update":
            obj = cluster.update(info, ns, request.name, self._validated_body(info, query, verb),
                                 subresource=request.subresource,
                                 manager=self._field_manager(query))  # fmt: skip
            self._send_obj(200, obj, info)
        elif verb == "patch":
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            check = self._checker(info, query, verb).patch_check(self._raw_body, content_type)
            obj = cluster.patch(info, ns, request.name, content_type, self._body(),
                                subresource=request.subresource,
                                manager=self._field_manager(query), check=check)  # fmt: skip
            self._send_obj(200, obj, info)
        elif verb == "delete":
            options = self._delete_options(query)
            obj, gone_now = cluster.delete(
                info, ns, request.name,
                propagation=options.get("propagationPolicy"),
                preconditions=options.get("preconditions"),
            )  # fmt: skip
            # 202 only for an object not deleted at once with ``orphanDependents: false``
            # (handlers/delete.go keeps 200 otherwise, finalizers or not, for old clients).
            accepted = not gone_now and options.get("orphanDependents") is False
            self._send_obj(202 if accepted else 200, obj, info)
        elif verb == "deletecollection":
            options = self._delete_options(query)
            policy = options.get("propagationPolicy")
            self._send_obj(200, self.api.lists.delete_collection(info, ns, query, policy))
        return 200 if verb != "create" else 201

    def _checker(self, info: ResourceInfo, query: dict[str, str], verb: str) -> Checker:
        """Finds unknown and repeated fields as ``?fieldValidation`` asks."""
        root, schemas = self.api.openapi.schemas_for(info)
        return Checker(root=root, schemas=schemas, custom=info.custom, kind=info.kind,
                       version=info.version, mode=directive(query, verb),
                       warnings=self._warnings)  # fmt: skip

    def _validated_body(self, info: ResourceInfo, query: dict[str, str], verb: str) -> Any:
        checker = self._checker(info, query, verb)
        body = self._body()
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if body is None or (content_type and "json" not in content_type):
            return body  # a protobuf body has no unknown or repeated fields to report
        return checker.check_body(self._raw_body, body)

    def _field_manager(self, query: dict[str, str]) -> str:
        """Who owns what this write sets (:mod:`emulator.managed_fields`)."""
        return manager_name(query.get("fieldManager", ""), self.headers.get("User-Agent") or "")

    def _delete_options(self, query: dict[str, str]) -> dict[str, Any]:
        body = self._body()
        options: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
        if "propagationPolicy" in query:
            options["propagationPolicy"] = query["propagationPolicy"]
        if query.get("orphanDependents") in ("true", "false"):
            options["orphanDependents"] = query["orphanDependents"] == "true"
        if options.get("orphanDependents") is not None and "propagationPolicy" not in options:
            options["propagationPolicy"] = "Orphan" if options["orphanDependents"] else "Background"
        return options

    def _serve_discovery(self, method: str, path: str, request: RequestInfo) -> int:
        registry = self.api.registry
        doc: dict[str, Any] | None
        if method != "GET":
            raise ApiStatusError(405, "MethodNotAllowed", "the server does not allow this method")
        stripped = path.rstrip("/")
        if stripped == "/version":
            doc = discovery.VERSION_INFO
        elif stripped == "/api":
            doc = discovery.api_versions(self.api.advertised_address())
        elif stripped == "/apis":
            doc = discovery.group_list(registry)
        elif stripped in ("/healthz", "/livez", "/readyz"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return 200
        elif stripped.startswith("/openapi/"):
            return self._send_answer(self.api.openapi.answer(stripped, self._query(), self.headers))
        elif request.version:
            doc = discovery.resource_list(registry, request.group, request.version)
        else:
            doc = None
        if doc is None:
            raise ApiStatusError(
                404, "NotFound", "the server could not find the requested resource"
            )
        self._send(200, _json(doc))
        return 200

    def _query(self) -> dict[str, str]:
        query = urllib.parse.urlsplit(self.path).query
        return {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}

    def _send_answer(self, answer: Answer) -> int:
        """Write an answer whose headers its maker chose (:mod:`emulator.openapi_serve`)."""
        self._audit_response_started(answer.code)
        self.send_response(answer.code)
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)
        return answer.code

    # -- watch --------------------------------------------------------------------------------

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _serve_watch(self, info: ResourceInfo, request: RequestInfo, query: dict[str, str]) -> None:
        rv_text = query.get("resourceVersion", "")
        try:
            since = int(rv_text) if rv_text not in ("", "0") else None
        except ValueError as err:
            raise bad_request(f"invalid resource version: {rv_text}") from err
        try:
            timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        except ValueError as err:
            raise bad_request("invalid timeoutSeconds") from err
        fields_text = query.get("fieldSelector", "")
        if request.name:
            fields_text = ",".join(filter(None, [fields_text, f"metadata.name={request.name}"]))
        watcher = Watcher(
            storage_key=info.storage_key, api_version=info.api_version,
            namespace=request.namespace or None,
            labels=parse_label_selector(query.get("labelSelector")),
            fields=parse_field_selector(fields_text, info.group, info.plural),
        )  # fmt: skip
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        self._audit_response_started(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.close_connection = True
        if self.api.faults.take_expire(info.plural):
            watcher.control(Control("gone", f"too old resource version: {rv_text} (forced)"))
        else:
            self.api.storage.watch(watcher, since=since)
        try:
            self._stream(info, watcher, timeout, bookmarks)
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            self.api.storage.unwatch(watcher)

    def _stream(
        self, info: ResourceInfo, watcher: Watcher, timeout: float, bookmarks: bool
    ) -> None:
        start = time.monotonic()
        deadline = start + timeout
        interval = self.api.bookmark_interval
        next_bookmark = start + interval
        stopping = self.api.stopping
        while not stopping.is_set():
            now = time.monotonic()
            if now >= deadline:
                return
            if bookmarks and now >= next_bookmark:
                next_bookmark = now + interval
                self._bookmark(info, watcher)
                continue
            wait = min(deadline, next_bookmark if bookmarks else deadline) - now
            try:
                item = watcher.queue.get(timeout=min(wait, POLL))
            except queue.Empty:
                continue
            batch: list[bytes] = []
            while True:
                if isinstance(item, Control):
                    if batch:
                        self._write_chunk(b"".join(batch))
                    self._control(item, deadline, watcher)
                    return
                self._emit(info, item[0], item[1], batch)
                if len(batch) >= MAX_BATCH:
                    break
                try:
                    item = watcher.queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write_chunk(b"".join(batch))
                next_bookmark = time.monotonic() + interval

    def _emit(self, info: ResourceInfo, type_: str, event: Event, batch: list[bytes]) -> None:
        rule = self.api.faults.for_event(info.plural)
        if self._table_stream is None:
            line = event.line(type_, info.api_version)
        else:
            obj = event.served(type_, info.api_version)
            line = self._table_stream.line(type_, obj, self.api.clock())
        if rule is None:
            batch.append(line)
        elif rule.action == "duplicate":
            batch.extend((line, line))
        elif rule.action == "delay":
            if batch:
                self._write_chunk(b"".join(batch))
                batch.clear()
            self.api.stopping.wait(rule.seconds)
            batch.append(line)
        # "drop": nothing is sent

    def _control(self, control: Control, deadline: float, watcher: Watcher) -> None:
        if control.action == "gone":
            body = status_body(410, "Expired", control.message)
            self._write_chunk(encode_line("ERROR", body))
        elif control.action == "stall":
            # Send nothing (events are swallowed) until the deadline, or until the stream is
            # closed (``close_watches``): "stalled until closed", as documented in faults.py.
            while not self.api.stopping.is_set() and time.monotonic() < deadline:
                try:
                    item = watcher.queue.get(timeout=POLL)
                except queue.Empty:
                    continue
                if isinstance(item, Control) and item.action == "close":
                    break
            raise BrokenPipeError("stalled stream ends without a terminating chunk")

    def _bookmark(self, info: ResourceInfo, watcher: Watcher) -> None:
        with self.api.storage.lock:
            if not watcher.queue.empty():
                return
            rv = self.api.storage.rv
        obj = {"kind": info.kind, "apiVersion": info.api_version,
               "metadata": {"resourceVersion": str(rv)}}  # fmt: skip
        if self._table_stream is not None:
            self._write_chunk(self._table_stream.line("BOOKMARK", obj, self.api.clock()))
            return
        self._write_chunk(encode_line("BOOKMARK", obj))
