"""DNS name rules of apimachinery ``pkg/util/validation/validation.go``, with its wording.

Role: ``IsDNS1123Label``, ``IsDNS1123Subdomain`` and ``IsDNS1035Label`` return the list of
messages upstream returns (``MaxLenError`` and ``RegexError`` texts, examples included), which
callers turn into one ``field.Invalid`` each (``ValidateObjectMeta``) or join with ","
(``ValidateCustomResourceDefinitionNames``). Guarantees: pure functions. Non-goals: the
underscore-tolerant variants, qualified names, label values.
"""

from __future__ import annotations

import re

__all__ = ["dns1035_label", "dns1123_label", "dns1123_subdomain"]

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
