"""Server-side printing: ``meta.k8s.io`` ``Table`` answers, and the custom resources' columns.

Role: what ``kubectl get`` shows. kubectl asks for
``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the cells it gets, so the columns,
their order and the text in each cell are the API server's. :func:`to_table` builds the Table
of any :class:`Printer`; built-in kinds' printers are in :mod:`emulator.table_builtin`, and a
custom resource's come from the CRD's ``additionalPrinterColumns`` (``apiextensions-apiserver``
``tableconvertor``, :func:`crd_printer`):

* the first column is always ``Name``; a version without printer columns gets ``Age``
  (``.metadata.creationTimestamp``, type ``date``);
* a ``string`` column's cell is the JSONPath result printed as text; ``integer``, ``number`` and
  ``boolean`` cells are JSON values of that type, or null; a ``date`` cell is the time elapsed
  since that instant in ``HumanDuration`` form (``11m``, ``2d3h``), ``<invalid>`` for an instant
  more than a second in the future or a value that is not RFC 3339: a ``date`` column is an age,
  never a time to come; a missing field is a null cell (kubectl prints it empty);
* each row's ``object`` is a ``PartialObjectMetadata`` (``includeObject=Metadata``, the
  default), the whole object (``Object``) or ``null`` (``None``) (``handlers/response.go``).

Ages are measured on the emulator's own clock, the one that stamps ``creationTimestamp``.
Non-goals: JSONPath beyond field names, ``[index]`` and ``['key']`` (the simple paths the CRD
validation admits cover every column the project ships).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "CREATION_DESCRIPTION",
    "INCLUDE_OBJECT",
    "NAME_DESCRIPTION",
    "TABLE_VERSIONS",
    "Printer",
    "PrinterColumn",
    "crd_columns",
    "crd_printer",
    "human_duration",
    "since",
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


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time (``metav1.Time`` or ``MicroTime``), or None if unset or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def since(value: Any, now: datetime) -> str:
    """``translateTimestampSince``: the age of an instant, ``<unknown>`` if it is unset."""
    moment = parse_time(value)
    if moment is None:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


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
        moment = parse_time(value)
        if moment is None:
            return "<invalid>"
        return human_duration((now - moment).total_seconds())
    return None


@dataclass(frozen=True, slots=True)
class Printer:
    """A kind's columns (``TableColumnDefinition``s) and the function giving a row's cells."""

    columns: tuple[dict[str, Any], ...]
    cells: Callable[[dict[str, Any], datetime], list[Any]]
    # A row's ``conditions`` (a finished Pod's ``Completed``), None for none.
    conditions: Callable[[dict[str, Any]], list[dict[str, Any]] | None] | None = None

    def row(self, obj: dict[str, Any], now: datetime) -> dict[str, Any]:
        """A ``TableRow`` without its object."""
        row: dict[str, Any] = {"cells": self.cells(obj, now)}
        conditions = self.conditions(obj) if self.conditions is not None else None
        if conditions is not None:
            row["conditions"] = conditions
        return row


def crd_printer(columns: Sequence[PrinterColumn]) -> Printer:
    """A custom resource's printer: ``Name``, then each printer column's JSONPath cell."""
    definitions = (
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": NAME_DESCRIPTION,
            "priority": 0,
        },
        *(c.definition() for c in columns),
    )

    def cells(obj: dict[str, Any], now: datetime) -> list[Any]:
        row: list[Any] = [(obj.get("metadata") or {}).get("name", "")]
        for column in columns:
            found, value = _find(obj, column.json_path)
            row.append(_cell(column, value, now) if found else None)
        return row

    return Printer(definitions, cells)


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
    printer: Printer,
    *,
    version: str,
    include_object: str,
    now: datetime,
    list_metadata: dict[str, Any],
    no_headers: bool = False,
) -> dict[str, Any]:
    """The ``Table`` of ``items`` (one item for a GET of one object).

    ``no_headers`` (a watch stream's events after the first) sends ``columnDefinitions: null``,
    as the server encodes a Table whose definitions were left out.
    """
    rows = [
        {**printer.row(obj, now), "object": _row_object(obj, include_object, version)}
        for obj in items
    ]
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": list_metadata,
        "columnDefinitions": None if no_headers else list(printer.columns),
        "rows": rows,
    }
