"""Server-side printing: ``meta.k8s.io`` ``Table`` answers for custom resources.

Role: what ``kubectl get`` shows for a custom resource. kubectl asks for
``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the cells it gets, so the columns,
their order and the text in each cell are the API server's, from the CRD's
``additionalPrinterColumns`` (``apiextensions-apiserver`` ``tableconvertor``):

* the first column is always ``Name``; a version without printer columns gets ``Age``
  (``.metadata.creationTimestamp``, type ``date``);
* a ``string`` column's cell is the JSONPath result printed as text; ``integer``, ``number`` and
  ``boolean`` cells are JSON values of that type, or null; a ``date`` cell is the time elapsed
  since that instant in ``HumanDuration`` form (``11m``, ``2d3h``), ``<invalid>`` for an instant
  more than a second in the future or a value that is not RFC 3339: a ``date`` column is an age,
  never a time to come; a missing field is a null cell (kubectl prints ``<none>``);
* each row's ``object`` is a ``PartialObjectMetadata`` (``includeObject=Metadata``, the
  default), the whole object (``Object``) or ``null`` (``None``) (``handlers/response.go``).

Ages are measured on the emulator's own clock, the one that stamps ``creationTimestamp``.
Non-goals: tables of built-in kinds (their hand-written upstream printers), Tables in watch
streams, JSONPath beyond field names, ``[index]`` and ``['key']`` (the simple paths the CRD
validation admits cover every column the project ships).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "INCLUDE_OBJECT",
    "PrinterColumn",
    "crd_columns",
    "human_duration",
    "table_version",
    "to_table",
]

NAME_DESCRIPTION = (  # ObjectMeta.name's documentation, which upstream's Name column carries
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATION_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
TABLE_VERSIONS = ("v1", "v1beta1")  # meta.k8s.io versions a Table is served in
INCLUDE_OBJECT = ("Metadata", "Object", "None")
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]")


@dataclass(frozen=True, slots=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry."""

    name: str
    type: str
    json_path: str
    format: str = ""
    description: str = ""
    priority: int = 0

    def definition(self) -> dict[str, Any]:
        """The ``TableColumnDefinition``."""
        description = self.description or (
            f"Custom resource definition column (in JSONPath format): {self.json_path}"
        )
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": description,
            "priority": self.priority,
        }


AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp", description=CREATION_DESCRIPTION)


def crd_columns(version: dict[str, Any]) -> tuple[PrinterColumn, ...]:
    """The printer columns a CRD version is served with (``serveDefaultColumnsIfEmpty``)."""
    columns = tuple(
        PrinterColumn(
            name=c["name"],
            type=c["type"],
            json_path=c["jsonPath"],
            format=c.get("format") or "",
            description=c.get("description") or "",
            priority=int(c.get("priority") or 0),
        )
        for c in version.get("additionalPrinterColumns") or []
    )
    return columns or (AGE,)


def table_version(accept: str) -> str | None:
    """The ``meta.k8s.io`` version of the Table the ``Accept`` header asks for first, if any."""
    for media_range in accept.split(","):
        parts = [p.strip() for p in media_range.split(";")]
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            if params.get("v") in TABLE_VERSIONS:
                return params["v"]
        elif parts[0] in ("application/json", "*/*", "application/*"):
            return None
    return None


def human_duration(seconds: float) -> str:
    """``duration.HumanDuration``: ~2-3 significant figures, ``<invalid>`` below -1 s."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        return f"{minutes}m" if whole % 60 == 0 else f"{minutes}m{whole % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def _find(obj: Any, path: str) -> tuple[bool, Any]:
    """(found, value) of a simple JSONPath; a missing key is not found (AllowMissingKeys)."""
    value = obj
    for field, index, key in _STEP.findall(path):
        if index:
            if not isinstance(value, list) or int(index) >= len(value):
                return False, None
            value = value[int(index)]
        else:
            name = field or key
            if not isinstance(value, dict) or name not in value:
                return False, None
            value = value[name]
    return True, value


def _text(value: Any) -> str:
    """How JSONPath prints a value: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


def _cell(column: PrinterColumn, value: Any, now: datetime) -> Any:
    """``cellForJSONValue`` (and the string branch of ``ConvertToTable``)."""
    if column.type == "string":
        return _text(value)
    if value is None:
        return None
    if column.type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if column.type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if column.type == "boolean" and isinstance(value, bool):
        return value
    if column.type == "date" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return "<invalid>"
        if moment.tzinfo is None:
            return "<invalid>"
        return human_duration((now - moment).total_seconds())
    return None


def _row_object(obj: dict[str, Any], include: str, version: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": obj.get("metadata") or {},
    }


def to_table(
    items: Sequence[dict[str, Any]],
    columns: Sequence[PrinterColumn],
    *,
    version: str,
    include_object: str,
    now: datetime,
    list_metadata: dict[str, Any],
    no_headers: bool = False,
) -> dict[str, Any]:
    """The ``Table`` of ``items`` (one item for a GET of one object)."""
    definitions = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": NAME_DESCRIPTION,
            "priority": 0,
        },
        *(c.definition() for c in columns),
    ]
    rows = []
    for obj in items:
        cells: list[Any] = [(obj.get("metadata") or {}).get("name", "")]
        for column in columns:
            found, value = _find(obj, column.json_path)
            cells.append(_cell(column, value, now) if found else None)
        rows.append({"cells": cells, "object": _row_object(obj, include_object, version)})
    table: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": list_metadata,
    }
    if not no_headers:
        table["columnDefinitions"] = definitions
    table["rows"] = rows
    return table
