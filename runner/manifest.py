"""The manifest written beside each dump, and how names in storage are read.

Role: :class:`Manifest` is the JSON object ``<job>.json`` (written last, only after the dump's
upload completed); :func:`job_of` tells which run an object name belongs to.
Guarantees: the JSON keys are stable (camelCase, ``version`` 1); :meth:`Manifest.from_json`
raises ``ValueError`` for anything that is not a manifest of this layout, so a stray file
under the prefix is never taken for a backup. Non-goals: deciding what is complete
(:mod:`runner.catalog`).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from api.v1alpha1 import contract as c
from api.v1alpha1.times import format_time, parse_rfc3339

__all__ = ["MANIFEST_VERSION", "Manifest", "job_of"]

MANIFEST_VERSION = 1
_SUFFIXES = tuple(
    sorted(
        {f".{fmt}.{c.COMPRESSION_EXTENSION}" for fmt in c.DUMP_FORMATS.values()}
        | {f".{c.MANIFEST_EXTENSION}"}
    )
)


def job_of(object_name: str) -> str | None:
    """The run (Job name) an object belongs to, or ``None`` if the name is not of the layout."""
    for suffix in _SUFFIXES:
        if object_name.endswith(suffix) and len(object_name) > len(suffix):
            return object_name[: -len(suffix)]
    return None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_KEYS = {_camel(f): f for f in ("scheduled_time", "started_at", "finished_at")}


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a complete backup is: identity, times, engine and tool, and the dump's checksum."""

    namespace: str
    name: str
    uid: str
    job: str
    scheduled_time: datetime
    started_at: datetime
    finished_at: datetime
    engine: str
    server_version: str
    tool: str
    tool_version: str
    format: str
    compression: str
    object: str
    size: int
    sha256: str

    def to_json(self) -> bytes:
        """The manifest as UTF-8 JSON, keys in declaration order."""
        out: dict[str, Any] = {"version": MANIFEST_VERSION}
        for key, value in asdict(self).items():
            out[_camel(key)] = format_time(value) if isinstance(value, datetime) else value
        return (json.dumps(out, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse a manifest; ``ValueError`` when ``data`` is not one."""
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"not JSON: {err}") from None
        if not isinstance(raw, dict) or raw.get("version") != MANIFEST_VERSION:
            raise ValueError("not a dbbackup manifest (version 1)")
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = _camel(f.name)
            if key not in raw:
                raise ValueError(f"manifest has no {key!r}")
            value = raw[key]
            if key in _KEYS:
                value = parse_rfc3339(str(value))
            elif f.name == "size":
                if not isinstance(value, int) or value < 0:
                    raise ValueError("manifest size is not a non-negative integer")
            elif not isinstance(value, str):
                raise ValueError(f"manifest {key!r} is not a string")
            values[f.name] = value
        if job_of(values["object"]) != values["job"]:
            raise ValueError("manifest object does not belong to its job")
        if not re.fullmatch(r"[0-9a-f]{64}", values["sha256"]):
            raise ValueError("manifest sha256 is not 64 hex digits")
        return cls(**values)
