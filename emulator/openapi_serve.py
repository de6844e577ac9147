"""``/openapi/v3``, ``/openapi/v3/<api|apis/group>/<version>`` and ``/openapi/v2``.

Role: ``kubectl explain`` reads field descriptions from these, and ``kubectl apply``/``edit``/
``replace``/``create -f`` read the v3 document of the object's group/version to learn that the
server validates fields (:mod:`emulator.openapi_paths`), so they send
``fieldValidation=Strict`` (:mod:`emulator.field_validation`).

What kube-openapi's v3 handler does, reproduced: the discovery document lists each served
group/version as ``{"serverRelativeURL": "/openapi/v3/<gv>?hash=<H>"}`` where ``H`` is the
upper-case hex SHA-512 of that document's JSON (kubectl caches a document by that URL); a
group/version document carries ``ETag: "<H>"``; with ``?hash=`` equal to it the answer is
``Cache-Control: public, immutable`` with a one-year ``Expires``, with a stale hash a ``301`` to
the current URL; ``If-None-Match`` with the current ETag is a ``304``. A document is built from
the live registry: the built-in kinds' schemas (:mod:`emulator.openapi_builtin`), and for custom
resources the CRD's (:mod:`emulator.openapi_crd`), so a created, changed or deleted CRD changes
its document and its hash at once. Every document holds the schemas its paths and schemas
reference. Non-goals: the protobuf forms (an ``Accept`` naming only protobuf gets ``406``; for
``/openapi/v2`` kubectl asks for protobuf only, see docs/emulator.md), the ``/openapi/v3/api``
and ``/openapi/v3/apis/<group>`` group documents.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Protocol

from emulator.openapi_builtin import SCHEMAS, kind_schema_name, to_v2
from emulator.openapi_crd import crd_schema_name, crd_schemas
from emulator.openapi_paths import resource_paths
from emulator.resources import CRD_KEY, Registry, ResourceInfo
from emulator.storage import Storage

__all__ = ["Answer", "OpenAPIService"]

REF = re.compile(r'"\$ref":\s*"#/(?:components/schemas|definitions)/([^"]+)"')
BUILTIN_INFO = {"title": "Kubernetes", "version": "1.32"}
CRD_INFO = {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"}
SECURITY = {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication",
                            "name": "authorization", "in": "header"}}  # fmt: skip


class _Headers(Protocol):
    def get(self, name: str, /) -> str | None: ...


@dataclass
class Answer:
    """An HTTP answer: status, body and headers (Content-Length is the writer's)."""

    code: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Doc:
    body: bytes
    etag: str
    modified: datetime


def _digest(body: bytes) -> str:
    return hashlib.sha512(body).hexdigest().upper()


def _encode(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _closure(roots: dict[str, dict[str, Any]], paths: Any) -> dict[str, dict[str, Any]]:
    """``roots`` plus every built-in schema they or ``paths`` reference, sorted by name."""
    out = dict(roots)
    pending = REF.findall(json.dumps([roots, paths]))
    while pending:
        name = pending.pop()
        if name in out or name not in SCHEMAS:
            continue
        out[name] = SCHEMAS[name]
        pending += REF.findall(json.dumps(SCHEMAS[name]))
    return dict(sorted(out.items()))


def _accepts_json(accept: str) -> bool:
    if not accept.strip():
        return True
    for clause in accept.split(","):
        media = clause.split(";")[0].strip().lower()
        if media in ("*/*", "application/*", "application/json"):
            return True
    return False


class OpenAPIService:
    """The OpenAPI documents of a registry and its CRDs; ``crds()`` lists the stored CRDs."""

    def __init__(self, registry: Registry, crds: Callable[[], list[dict[str, Any]]]) -> None:
        self._registry = registry
        self._crds = crds
        self._lock = threading.Lock()
        self._cache: dict[tuple[Any, ...], _Doc] = {}
        self._checks: dict[tuple[Any, ...], tuple[str, Mapping[str, Mapping[str, Any]]]] = {}

    @classmethod
    def of(cls, registry: Registry, storage: Storage) -> OpenAPIService:
        """The service of an emulator: its registry and the CRDs in its storage."""

        def crds() -> list[dict[str, Any]]:
            with storage.lock:
                keys = storage.keys_in(CRD_KEY, None)
                return [o for o in (storage.get(CRD_KEY, k) for k in keys) if o is not None]

        return cls(registry, crds)

    # -- schemas ----------------------------------------------------------------------------

    def _crd_for(self, info: ResourceInfo) -> dict[str, Any] | None:
        for crd in self._crds():
            spec = crd.get("spec") or {}
            if spec.get("group") == info.group and spec["names"]["plural"] == info.plural:
                return crd
        return None

    def _kind(self, info: ResourceInfo, v2: bool) -> tuple[str, str, dict[str, dict[str, Any]]]:
        """(kind schema name, list schema name, schemas a CRD adds) of one resource."""
        if info.custom:
            crd = self._crd_for(info)
            own = crd_schemas(crd, info.version, v2=v2) if crd is not None else {}
            name = crd_schema_name(info.group, info.version, info.kind)
            list_kind = ((crd or {}).get("spec", {}).get("names", {}).get("listKind")
                         or f"{info.kind}List")  # fmt: skip
            return name, crd_schema_name(info.group, info.version, list_kind), own
        name = kind_schema_name(info.group, info.kind) or info.kind
        return name, f"{name}List", {}

    def _paths_and_roots(
        self, infos: list[ResourceInfo], *, v2: bool
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The paths of ``infos`` and the schemas their CRDs add, in one document's form."""
        paths: dict[str, Any] = {}
        roots: dict[str, dict[str, Any]] = {}
        for info in infos:
            name, list_name, own = self._kind(info, v2=v2)
            roots.update(own)
            paths.update(resource_paths(info, name, list_name, v2=v2))
        return paths, roots

    def schemas_for(self, info: ResourceInfo) -> tuple[str, Mapping[str, Mapping[str, Any]]]:
        """(the kind's schema name, the v3 schemas to resolve it in) for field validation;
        kept until the CRD changes, as every write asks."""
        key = ("check", *self._key([info]))
        with self._lock:
            hit = self._checks.get(key)
        if hit is None:
            name, _, own = self._kind(info, v2=False)
            hit = (name, {**SCHEMAS, **own})
            with self._lock:
                if len(self._checks) > 256:
                    self._checks.clear()
                self._checks[key] = hit
        return hit

    def _key(self, infos: list[ResourceInfo]) -> tuple[Any, ...]:
        """What a document depends on: its resources and the CRDs they come from."""
        key: list[Any] = []
        for info in infos:
            crd = self._crd_for(info) if info.custom else None
            rv = (crd or {}).get("metadata", {}).get("resourceVersion")
            key.append((info, rv))
        return tuple(key)

    # -- documents --------------------------------------------------------------------------

    def _cached(self, key: tuple[Any, ...], build: Callable[[], dict[str, Any]]) -> _Doc:
        with self._lock:
            doc = self._cache.get(key)
        if doc is None:
            body = _encode(build())
            doc = _Doc(body, _digest(body), datetime.now(UTC).replace(microsecond=0))
            with self._lock:
                if len(self._cache) > 256:
                    self._cache.clear()
                self._cache[key] = doc
        return doc

    def _v3_doc(self, group: str, version: str) -> _Doc | None:
        infos = sorted((i for i in self._registry.all() if i.group_version == (group, version)),
                       key=lambda i: i.plural)  # fmt: skip
        if not infos:
            return None

        def build() -> dict[str, Any]:
            paths, roots = self._paths_and_roots(infos, v2=False)
            components: dict[str, Any] = {"schemas": _closure(roots, paths)}
            custom = any(i.custom for i in infos)
            if not custom:
                components["securitySchemes"] = SECURITY
            return {"openapi": "3.0.0", "info": CRD_INFO if custom else BUILTIN_INFO,
                    "paths": dict(sorted(paths.items())), "components": components}  # fmt: skip

        return self._cached(("v3", group, version, self._key(infos)), build)

    def _v2_doc(self) -> _Doc:
        infos = sorted(self._registry.all(), key=lambda i: (i.group, i.version, i.plural))

        def build() -> dict[str, Any]:
            paths, roots = self._paths_and_roots(infos, v2=True)
            definitions = {k: v if k in roots else to_v2(v)
                           for k, v in _closure(roots, paths).items()}  # fmt: skip
            return {"swagger": "2.0", "info": BUILTIN_INFO, "paths": dict(sorted(paths.items())),
                    "definitions": definitions, "securityDefinitions": SECURITY,
                    "security": [{"BearerToken": []}]}  # fmt: skip

        return self._cached(("v2", self._key(infos)), build)

    def discovery(self) -> bytes:
        """The ``/openapi/v3`` document: every served group/version with its hashed URL."""
        paths: dict[str, Any] = {}
        for group, versions in sorted(self._registry.group_versions().items()):
            for version in versions:
                doc = self._v3_doc(group, version)
                if doc is not None:
                    gv = _gv_path(group, version)
                    paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={doc.etag}"}
        return _encode({"paths": dict(sorted(paths.items()))})

    # -- HTTP -------------------------------------------------------------------------------

    def answer(self, path: str, query: Mapping[str, str], headers: _Headers) -> Answer:
        """The answer to a GET of an ``/openapi/...`` path (404 when it names nothing)."""
        if path == "/openapi/v3":
            body = self.discovery()
            now = format_datetime(datetime.now(UTC), usegmt=True)
            return Answer(200, body, {"Content-Type": "text/plain; charset=utf-8",
                                      "Last-Modified": now,
                                      "Cache-Control": "no-cache, private"})  # fmt: skip
        if path == "/openapi/v2":
            return self._answer_doc(self._v2_doc(), "", query, headers)
        parts = path.split("/")[3:]
        doc = None
        if len(parts) == 2 and parts[0] == "api":
            doc = self._v3_doc("", parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = self._v3_doc(parts[1], parts[2])
        if doc is None:
            body = _encode(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "reason": "NotFound",
                    "code": 404,
                    "message": "the server could not find the requested resource",
                }
            )
            return Answer(404, body, {"Content-Type": "application/json",
                                      "Cache-Control": "no-cache, private"})  # fmt: skip
        return self._answer_doc(doc, "/".join(parts), query, headers)

    def _answer_doc(
        self, doc: _Doc, gv: str, query: Mapping[str, str], headers: _Headers
    ) -> Answer:
        out = {"Vary": "Accept", "Etag": f'"{doc.etag}"',
               "Last-Modified": format_datetime(doc.modified, usegmt=True)}  # fmt: skip
        if not _accepts_json(headers.get("Accept") or ""):
            return Answer(406, b"", {"Vary": "Accept", "Cache-Control": "no-cache, private"})
        wanted = query.get("hash", "")
        if gv and wanted and wanted != doc.etag:
            location = f"/openapi/v3/{gv}?hash={doc.etag}"
            return Answer(301, b"", {"Location": location, "Cache-Control": "no-cache, private"})
        if gv and wanted:
            expires = datetime.now(UTC) + timedelta(days=365)
            out["Cache-Control"] = "public, immutable"
            out["Expires"] = expires.strftime("%a, %d %b %Y %H:%M:%S UTC")
        else:
            out["Cache-Control"] = "no-cache, private"
        if (headers.get("If-None-Match") or "").strip() == out["Etag"]:
            return Answer(304, b"", out)
        out["Content-Type"] = "application/json"
        return Answer(200, doc.body, out)
