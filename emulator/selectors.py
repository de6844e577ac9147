"""Label and field selectors as the API concepts page ("Label selectors", "Field selectors")
and the labels user guide define them.

Label selectors: comma-separated requirements, all of which must hold: ``key=value``,
``key==value``, ``key!=value`` (also true when the label is absent), ``key in (a,b)``,
``key notin (a,b)`` (also true when absent), ``key`` (exists) and ``!key`` (does not exist).
Field selectors: ``=``, ``==``, ``!=`` on ``metadata.name`` and ``metadata.namespace`` (every
resource) plus the few per-resource fields the real server supports for the types we serve; any
other field is a 400 ``field label not supported``.

Non-goals: set-based field selectors (the real server has none either).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.errors import bad_request

__all__ = ["Selector", "parse_field_selector", "parse_label_selector"]

Matcher = Callable[[dict[str, Any]], bool]
_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(rf"^\s*({_KEY})\s*(==|!=|=)\s*({_VALUE})\s*$")
_EXISTS = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")

# Per-resource field labels beyond metadata.name / metadata.namespace (pkg/registry/*).
EXTRA_FIELDS: dict[tuple[str, str], frozenset[str]] = {
    ("", "events"): frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    ("events.k8s.io", "events"): frozenset(
        {
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
        }
    ),
    ("", "secrets"): frozenset({"type"}),
    ("", "namespaces"): frozenset({"status.phase"}),
    ("batch", "jobs"): frozenset({"status.successful"}),
}


# Field labels of a resource served from another's storage, as that storage names them
# (pkg/apis/events/v1 AddFieldLabelConversionsForEvent).
FIELD_LABEL_PREFIXES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("events.k8s.io", "events"): (
        ("regarding.", "involvedObject."),
        ("reportingController", "reportingComponent"),
    ),
}


@dataclass(frozen=True)
class Selector:
    """A parsed selector; ``matches(obj)`` is true when every requirement holds."""

    requirements: tuple[Matcher, ...]

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: dict[str, Any]) -> bool:
        return all(req(obj) for req in self.requirements)


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = obj.get("metadata", {}).get("labels") or {}
    return labels


def _label_requirement(text: str) -> Matcher:
    if m := _SET.match(text):
        key, op = m.group(1), m.group(3)
        values = frozenset(v.strip() for v in m.group(4).split(",") if v.strip())
        if op == "in":
            return lambda o: _labels(o).get(key) in values
        return lambda o: _labels(o).get(key) not in values
    if m := _EQ.match(text):
        key, op, value = m.group(1), m.group(3), m.group(4)
        if op == "!=":
            return lambda o: _labels(o).get(key) != value
        return lambda o: _labels(o).get(key) == value
    if m := _EXISTS.match(text):
        negate, key = m.group(1) == "!", m.group(2)
        if negate:
            return lambda o: key not in _labels(o)
        return lambda o: key in _labels(o)
    raise bad_request(f"unable to parse requirement: {text.strip()!r}")


def parse_label_selector(text: str | None) -> Selector:
    """Parse ``labelSelector``; a syntax error is a 400 like the real server's."""
    if not text:
        return Selector(())
    return Selector(tuple(_label_requirement(p) for p in _split_top_level(text)))


def _field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, dict):
        return str(node.get("component", ""))  # core Event "source" is source.component
    return str(node)


def _field_requirement(path: str, value: str, *, negate: bool) -> Matcher:
    if negate:
        return lambda o: _field_value(o, path) != value
    return lambda o: _field_value(o, path) == value


def parse_field_selector(text: str | None, group: str, resource: str) -> Selector:
    """Parse ``fieldSelector`` for ``group/resource``; unknown fields are a 400."""
    if not text:
        return Selector(())
    allowed = {"metadata.name", "metadata.namespace"} | EXTRA_FIELDS.get(
        (group, resource), frozenset()
    )
    requirements: list[Matcher] = []
    for part in _split_top_level(text):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        path, op, value = m.group(1), m.group(2), m.group(3)
        if path not in allowed:
            raise bad_request(f"field label not supported: {path}")
        for label, stored in FIELD_LABEL_PREFIXES.get((group, resource), ()):
            if path.startswith(label):
                path = stored + path[len(label) :]
        requirements.append(_field_requirement(path, value, negate=op == "!="))
    return Selector(tuple(requirements))
