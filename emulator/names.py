"""Name rules of ``apimachinery/pkg/util/validation``, shared by the built-in kinds' checks.

Role: DNS-1123 labels and subdomains, and ``IsQualifiedName`` (an optional DNS-subdomain
prefix and ``/``, then a name part of at most 63 characters), returning upstream's problem
texts so callers can wrap each in a ``field.Invalid`` cause. Non-goals: label values,
annotation sizes, IP and port rules.
"""

from __future__ import annotations

import re

__all__ = [
    "DNS1123_LABEL",
    "DNS1123_SUBDOMAIN",
    "SUBDOMAIN_ERROR",
    "qualified_name_problems",
]

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
SUBDOMAIN_MAX_LENGTH = 253
SUBDOMAIN_ERROR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character"
)
QUALIFIED_NAME_MAX_LENGTH = 63
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
QUALIFIED_NAME_ERROR = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def qualified_name_problems(value: str) -> list[str]:
    """``IsQualifiedName``: what is wrong with ``value``, in upstream's words ([] if nothing)."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name " + QUALIFIED_NAME_ERROR + " with an optional DNS subdomain prefix "
            "and '/' (e.g. 'example.com/MyName')"
        ]
    problems: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        elif len(prefix) > SUBDOMAIN_MAX_LENGTH or not DNS1123_SUBDOMAIN.match(prefix):
            problems.append("prefix part " + SUBDOMAIN_ERROR)
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX_LENGTH:
        problems.append(f"name part must be no more than {QUALIFIED_NAME_MAX_LENGTH} characters")
    if not QUALIFIED_NAME.match(name):
        problems.append("name part " + QUALIFIED_NAME_ERROR)
    return problems
