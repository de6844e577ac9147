"""Whether a read asks for a ``Table``, and the Table answers of reads and watches.

Role: the request side of server-side printing. kube-apiserver picks the first acceptable
clause of the ``Accept`` header (``negotiation.NegotiateMediaTypeOptions``, clauses ordered by
``q`` and specificity): ``as=Table;g=meta.k8s.io;v=v1`` (or ``v1beta1``) is a Table, only in
JSON or YAML; a clause asking for another conversion is skipped; when no clause is acceptable
the answer is ``406 NotAcceptable``. A Table's options come from the query: ``includeObject``
is ``Metadata`` (the default), ``Object`` or ``None``, anything else a ``400``.

A watch (``kubectl get -w``) streams each event's object as a one-row Table; the first event
carries the column definitions and the later ones ``columnDefinitions: null``
(``watchEmbeddedEncoder`` turns ``NoHeaders`` on after the first object). ``ERROR`` events
keep their Status; a ``BOOKMARK``'s object goes through the printer as any other (the
encoder does not tell them apart). A watch that is a "watch list" (``sendInitialEvents``,
which a watch with ``allowWatchBookmarks`` and no resourceVersion defaults to) cannot be a
Table.

Non-goals: ``as=PartialObjectMetadata[List]`` (answered as a plain read), YAML bodies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulator.errors import ApiStatusError, bad_request
from emulator.table import INCLUDE_OBJECT, TABLE_VERSIONS, Printer, to_table
from emulator.watch import encode_line

__all__ = ["TableRequest", "TableStream", "negotiate"]

META_GROUP = "meta.k8s.io"
TABLE_SUBTYPES = ("json", "yaml")  # RequestScope.AllowsMediaTypeTransform for Table
BUILTIN_TYPES = (("application", "json"), ("application", "yaml"),
                 ("application", "vnd.kubernetes.protobuf"))  # fmt: skip
CUSTOM_TYPES = BUILTIN_TYPES[:2]  # custom resources have no protobuf form
NOT_ACCEPTABLE = (
    "only the following media types are accepted: "
    "application/json, application/yaml, application/vnd.kubernetes.protobuf"
)


@dataclass(frozen=True, slots=True)
class TableRequest:
    """A read answered as a ``meta.k8s.io/<version>`` Table."""

    version: str
    include_object: str


@dataclass(frozen=True, slots=True)
class _Clause:
    type: str
    subtype: str
    q: float
    params: dict[str, str] = field(default_factory=dict)


def _clauses(accept: str) -> list[_Clause]:
    """``goautoneg.ParseAccept``: clauses by ``q``, then the more specific first."""
    clauses = []
    for text in accept.split(","):
        parts = [p.strip() for p in text.split(";")]
        media, params = parts[0], dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        type_, _, subtype = media.partition("/")
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 0.0
        clauses.append(_Clause(type_.strip(), (subtype or "*").strip(), q, params))
    return sorted(clauses, key=lambda c: (-c.q, c.type == "*", c.subtype == "*"))


def _watch_list(query: dict[str, str]) -> bool:
    """``isListWatchRequest`` after ``SetListOptionsDefaults`` (the WatchList gate is on)."""
    if query.get("allowWatchBookmarks") not in ("true", "1"):
        return False
    if "sendInitialEvents" in query:
        return query["sendInitialEvents"] in ("true", "1")
    return not query.get("resourceVersionMatch") and query.get("resourceVersion", "") in ("", "0")


def negotiate(
    accept: str, query: dict[str, str], *, custom: bool, watch: bool
) -> TableRequest | None:
    """The Table a read asks for, None for a plain answer; 406 when nothing is acceptable,
    400 for a bad ``includeObject``."""
    if not accept.strip():
        return None
    served = CUSTOM_TYPES if custom else BUILTIN_TYPES
    conversions = False
    for clause in _clauses(accept):
        if not any(clause.type in (t, "*") and clause.subtype in (s, "*") for t, s in served):
            continue
        kind = clause.params.get("as")
        if kind is None and "g" not in clause.params and "v" not in clause.params:
            return None
        conversions = True
        meta = clause.params.get("g") == META_GROUP and clause.params.get("v") in TABLE_VERSIONS
        if meta and kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            return None  # not served as such (see Non-goals): the plain object
        if meta and kind == "Table" and clause.subtype in (*TABLE_SUBTYPES, "*"):
            if watch and _watch_list(query):
                continue
            return TableRequest(clause.params["v"], _include_object(query))
    if conversions:
        raise ApiStatusError(406, "NotAcceptable", NOT_ACCEPTABLE)
    return None  # only media types the emulator does not negotiate: it answers JSON


def _include_object(query: dict[str, str]) -> str:
    include = query.get("includeObject") or "Metadata"
    if include not in INCLUDE_OBJECT:
        raise bad_request(
            "Unable to convert to Table as requested: includeObject: Invalid value: "
            f"\"{include}\": must be 'Metadata', 'Object', 'None', or empty"
        )
    return include


class TableStream:
    """One watch stream's Table encoding: headers on the first event only."""

    def __init__(self, request: TableRequest, printer: Printer) -> None:
        self.request = request
        self.printer = printer
        self._headers_sent = False

    def line(self, type_: str, obj: dict[str, Any], now: datetime) -> bytes:
        """The watch line of one event or bookmark (``ERROR`` Statuses do not come here)."""
        meta = {"resourceVersion": (obj.get("metadata") or {}).get("resourceVersion", "")}
        table = to_table(
            [obj],
            self.printer,
            version=self.request.version,
            include_object=self.request.include_object,
            now=now,
            list_metadata=meta,
            no_headers=self._headers_sent,
        )
        self._headers_sent = True
        return encode_line(type_, table)
