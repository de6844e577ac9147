"""DNS name rules of apimachinery ``pkg/util/validation/validation.go``, with its wording.

Role: ``IsDNS1123Label``, ``IsDNS1123Subdomain`` and ``IsDNS1035Label`` return the list of
messages upstream returns (``MaxLenError`` and ``RegexError`` texts, examples included), which
callers turn into one ``field.Invalid`` each (``ValidateObjectMeta``) or join with ","
(``ValidateCustomResourceDefinitionNames``). Guarantees: pure functions. Non-goals: the
underscore-tolerant variants, label values. ``IsQualifiedName`` (finalizers, event
reporting controllers) is here too.
"""

from __future__ import annotations

import re

__all__ = ["dns1035_label", "dns1123_label", "dns1123_subdomain", "qualified_name_problems"]

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + "(\\." + _LABEL_FMT + ")*"
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL = re.compile(f"^{_LABEL_FMT}$")
_SUBDOMAIN = re.compile(f"^{_SUBDOMAIN_FMT}$")
_DNS1035 = re.compile(f"^{_DNS1035_FMT}$")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``RegexError`` (its odd ",  or" spacing included)."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def dns1123_label(value: str) -> list[str]:
    """``IsDNS1123Label``."""
    errs = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not _LABEL.match(value):
        if _SUBDOMAIN.match(value):
            errs.append("must not contain dots")
        else:
            errs.append(
                _regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                    "characters or '-', and must start and end with an alphanumeric character",
                    _LABEL_FMT,
                    "my-name",
                    "123-abc",
                )
            )
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    """``IsDNS1123Subdomain``."""
    errs = ["must be no more than 253 characters"] if len(value) > 253 else []
    if not _SUBDOMAIN.match(value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                _SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


def dns1035_label(value: str) -> list[str]:
    """``IsDNS1035Label``."""
    errs = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not _DNS1035.match(value):
        errs.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_FMT,
                "my-name",
                "abc-123",
            )
        )
    return errs


_QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED = re.compile(f"^{_QUALIFIED_FMT}$")
_QUALIFIED_MAX_LENGTH = 63
_QUALIFIED_ERROR = _regex_error(
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character",
    _QUALIFIED_FMT,
    "MyName",
    "my.name",
    "123-abc",
)


def qualified_name_problems(value: str) -> list[str]:
    """``IsQualifiedName``: an optional DNS-subdomain prefix and ``/``, then a name part."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name " + _QUALIFIED_ERROR + " with an optional DNS subdomain prefix "
            "and '/' (e.g. 'example.com/MyName')"
        ]
    errs: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + msg for msg in dns1123_subdomain(parts[0])]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > _QUALIFIED_MAX_LENGTH:
        errs.append(f"name part must be no more than {_QUALIFIED_MAX_LENGTH} characters")
    if not _QUALIFIED.match(name):
        errs.append("name part " + _QUALIFIED_ERROR)
    return errs
