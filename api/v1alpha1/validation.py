"""Validate a ``DatabaseBackup`` the way the CRD does, and beyond what a schema can.

Role: :func:`validate` returns every problem of an object, each with its field path
(``spec.storage.s3.bucket``), so the reconciler can report a bad backup instead of crashing.

Two layers, one source: (1) the CRD's own checks -- types, required fields, enums, patterns,
bounds, and the ``x-kubernetes-validations`` rules -- evaluated from the very schema
:mod:`api.v1alpha1.openapi` generates for the CRD, after applying its defaults, in the order
the API server uses (a node's rules run only if its own checks passed); (2) what no schema can
say: the cron expression parses (incl. ``H`` hashed by namespace/name) and ever fires, the
time zone exists, ``CRON_TZ=``/``TZ=`` prefixes point to ``spec.timeZone``, retention is at
least one hour.

Guarantees: pure (no I/O, input never mutated); the result is deterministic and sorted by
schema walk order; an object the API server would accept yields only layer-2 problems.
Non-goals: ``metadata`` beyond the name length (the API server validates it).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from api.v1alpha1.openapi import openapi_schema, rules_by_path
from api.v1alpha1.schedule import ScheduleError, hash_seed, load_time_zone, parse_schedule
from api.v1alpha1.types import DEFAULT_TIME_ZONE

__all__ = [
    "MIN_RETENTION",
    "FieldProblem",
    "apply_defaults",
    "parse_duration",
    "validate",
]

SCHEDULE_VERDICTS = 4096  # memoized (schedule, zone, seed) verdicts; seeds only for ``H``
MIN_RETENTION = timedelta(hours=1)  # shorter would delete a backup before the next one ran
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"([0-9]+)([dhms])")
_FULL_DURATION = re.compile(r"^([0-9]+[dhms])+\Z")


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem: ``path`` is the field (``spec.schedule``), ``message`` what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def parse_duration(text: str) -> timedelta:
    """``336h``, ``14d``, ``1h30m`` as a timedelta; raises ``ValueError`` otherwise."""
    if not _FULL_DURATION.match(text):
        raise ValueError(f"invalid duration {text!r}: use a number with d, h, m or s, e.g. 336h")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(text)))


@cache
def _schema() -> dict[str, Any]:
    return openapi_schema()


@cache
def _rule_checks() -> dict[str, tuple[Any, ...]]:
    return rules_by_path()


@lru_cache(maxsize=SCHEDULE_VERDICTS)
def _schedule_error(schedule: str, zone: str, seed: str) -> str | None:
    """The parser's message for a bad schedule, or None. Memoized: parsing expands the cron
    fields (about a tenth of a millisecond), and a herd validates thousands of backups that
    share one schedule."""
    try:
        parse_schedule(schedule, zone, seed)
    except ScheduleError as err:
        return err.message
    return None


def apply_defaults(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` with the CRD's defaults filled in, as the API server stores it."""
    defaulted: dict[str, Any] = copy.deepcopy(_defaulted(dict(obj), _schema()))
    return defaulted


def _defaulted(value: Any, node: Mapping[str, Any]) -> Any:
    """``value`` with the defaults filled in, sharing every part that needed none: the
    read-only view :func:`validate` checks. (A deep copy of each backup was a quarter of
    the reconciler's CPU per fire in a herd.) Never mutates ``value``."""
    if isinstance(value, dict) and "properties" in node:
        out: dict[str, Any] | None = None
        for key, child in node["properties"].items():
            if key in value:
                got = _defaulted(value[key], child)
                if got is value[key]:
                    continue
            elif "default" in child:
                default = child["default"]  # a scalar is immutable: no copy to share it
                if isinstance(default, dict | list):
                    default = copy.deepcopy(default)
                got = _defaulted(default, child)
            else:
                continue
            if out is None:
                out = dict(value)
            out[key] = got
        return value if out is None else out
    if isinstance(value, list) and "items" in node:
        items = [_defaulted(item, node["items"]) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def validate(obj: Mapping[str, Any]) -> list[FieldProblem]:
    """Every problem of a DatabaseBackup object (empty when it is fine); see module doc."""
    full = _defaulted(obj if isinstance(obj, dict) else dict(obj), _schema())
    problems: list[FieldProblem] = []
    _check(full, _schema(), "", problems, schema_path="")
    problems = _semantic(full, problems)
    return problems


# -- layer 1: the schema --------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@cache
def _go_pattern(pattern: str) -> re.Pattern[str]:
    # Go's ``$`` matches only at the very end; Python's also before a final newline.
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)


def _check(
    value: Any, node: Mapping[str, Any], path: str, out: list[FieldProblem], *, schema_path: str
) -> None:
    before = len(out)
    if node.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            out.append(FieldProblem(path, "must be an integer or a string"))
        elif isinstance(value, str):
            _check_string(value, node, path, out)
    else:
        kind = str(node.get("type"))
        what, is_kind = _TYPES[kind]
        if not is_kind(value):
            out.append(FieldProblem(path, f"must be {what}, not {_json_type(value)}"))
        elif kind in _CHECKERS:
            _CHECKERS[kind](value, node, path, out, schema_path)
    if len(out) == before:
        for rule in _rule_checks().get(schema_path, ()):
            if not rule.check(value):
                where = rule.report_path or (path + rule.field_path if rule.field_path else path)
                out.append(FieldProblem(where or "<root>", rule.message))


def _too_many(
    count: int, node: Mapping[str, Any], limit: str, path: str, out: list[FieldProblem]
) -> None:
    if limit in node and count > node[limit]:
        out.append(FieldProblem(path, f"must have at most {node[limit]} items"))


def _check_object(
    value: Any, node: Mapping[str, Any], path: str, out: list[FieldProblem], schema_path: str
) -> None:
    _too_many(len(value), node, "maxProperties", path, out)
    for key in node.get("required", ()):
        if value.get(key) is None:
            out.append(FieldProblem(_join(path, key), "Required value"))
    for key, child in node.get("properties", {}).items():
        if value.get(key) is not None:
            _check(value[key], child, _join(path, key), out, schema_path=_join(schema_path, key))
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):
        for key, item in value.items():
            _check(item, extra, f"{path}[{key}]", out, schema_path=f"{schema_path}[*]")


def _check_array(
    value: Any, node: Mapping[str, Any], path: str, out: list[FieldProblem], schema_path: str
) -> None:
    _too_many(len(value), node, "maxItems", path, out)
    for i, item in enumerate(value):
        _check(item, node["items"], f"{path}[{i}]", out, schema_path=f"{schema_path}[*]")
    keys = node.get("x-kubernetes-list-map-keys")
    if keys:
        seen: set[tuple[Any, ...]] = set()
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                key = tuple(item.get(k) for k in keys)
                if key in seen:
                    out.append(FieldProblem(f"{path}[{i}]", f"Duplicate value: {key!r}"))
                seen.add(key)


def _check_string(
    value: str, node: Mapping[str, Any], path: str, out: list[FieldProblem], _sp: str = ""
) -> None:
    if "enum" in node and value not in node["enum"]:
        supported = ", ".join(f'"{v}"' for v in node["enum"])
        out.append(
            FieldProblem(path, f'Unsupported value: "{value}": supported values: {supported}')
        )
        return
    if "maxLength" in node and len(value) > node["maxLength"]:
        out.append(FieldProblem(path, f"must be no more than {node['maxLength']} characters"))
    if "minLength" in node and len(value) < node["minLength"]:
        out.append(FieldProblem(path, f"must be at least {node['minLength']} characters"))
    if "pattern" in node and not _go_pattern(node["pattern"]).search(value):
        out.append(FieldProblem(path, f"should match '{node['pattern']}'"))
    if node.get("format") == "date-time":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            out.append(FieldProblem(path, f"must be an RFC 3339 date-time: {value!r}"))


def _check_integer(
    value: int, node: Mapping[str, Any], path: str, out: list[FieldProblem], _sp: str
) -> None:
    if "minimum" in node and value < node["minimum"]:
        out.append(FieldProblem(path, f"must be greater than or equal to {node['minimum']}"))
    if "maximum" in node and value > node["maximum"]:
        out.append(FieldProblem(path, f"must be less than or equal to {node['maximum']}"))


# Per schema type: how a value of another type is told apart and named in the problem.
_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    # ``dict`` first: decoded JSON is one, and an ABC's check is the slow path.
    "object": ("an object", lambda v: isinstance(v, dict | Mapping)),
    "array": ("a list", lambda v: isinstance(v, list | tuple)),
    "string": ("a string", lambda v: isinstance(v, str)),
    "integer": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "boolean": ("a boolean", lambda v: isinstance(v, bool)),
}
# What each type checks further once the value has that type (a boolean: nothing).
_CHECKERS: dict[str, Callable[[Any, Mapping[str, Any], str, list[FieldProblem], str], None]] = {
    "object": _check_object,
    "array": _check_array,
    "string": _check_string,
    "integer": _check_integer,
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


# -- layer 2: what a schema cannot say ------------------------------------------------------


def _semantic(full: Mapping[str, Any], problems: list[FieldProblem]) -> list[FieldProblem]:
    spec = full.get("spec")
    if not isinstance(spec, Mapping):
        return problems
    bad = {p.path for p in problems}
    meta = full.get("metadata")
    if not isinstance(meta, Mapping):
        meta = {}
    hash_id = f"{meta.get('namespace', '')}/{meta.get('name', '')}"

    zone = spec.get("timeZone", DEFAULT_TIME_ZONE)
    zone_ok = isinstance(zone, str) and "spec.timeZone" not in bad
    if zone_ok:
        try:
            load_time_zone(zone)
        except ScheduleError as err:
            problems.append(FieldProblem("spec.timeZone", err.message))
            zone_ok = False

    schedule = spec.get("schedule")
    if isinstance(schedule, str) and len(schedule) <= 256:
        # Only the hashed form depends on the seed (``H`` in February's day-of-month may land
        # on a day that never comes): every other expression shares one verdict per zone.
        seed = hash_seed(schedule, hash_id)
        error = _schedule_error(schedule, zone if zone_ok else DEFAULT_TIME_ZONE, seed)
        if error is not None:
            # The parser's message says more than the schema's pattern: it replaces it.
            problems = [p for p in problems if p.path != "spec.schedule"]
            problems.append(FieldProblem("spec.schedule", error))

    retention = spec.get("retention")
    if isinstance(retention, str) and "spec.retention" not in bad:
        try:
            if parse_duration(retention) < MIN_RETENTION:
                problems.append(
                    FieldProblem("spec.retention", f"must be at least 1h, got {retention!r}")
                )
        except ValueError as err:
            problems.append(FieldProblem("spec.retention", str(err)))
    return problems
