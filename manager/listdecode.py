"""Decode a ``<Kind>List`` answer one item at a time, so a large list never exists decoded.

A first list is answered by the server's watch cache in one response whatever ``limit`` asks
(docs/design.md §3, "Informer cache"): 10,000 backups are ~10 MB of JSON and, decoded at once,
~80 MiB of dicts that the allocator keeps after they are freed. Here each item is decoded by
the standard library's C scanner (``json.JSONDecoder.scan_once``) from the position the
previous one ended at, handed to ``each`` and dropped before the next, so the peak is the
answer's text plus one item. The rest of the document (``kind``, ``apiVersion``,
``metadata``) is returned as decoded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["NotAList", "decode_list"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# The decoder's C scanner: (text, index) -> (value, end); set by JSONDecoder.__init__.
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class NotAList(ValueError):
    """The answer is not a JSON object (what ``each`` raises passes through unchanged)."""


def decode_list(data: bytes, each: Callable[[Any], None]) -> dict[str, Any]:
    """Call ``each`` with every element of the top-level ``items`` array, in order; return the
    other members. Raises :class:`NotAList` when ``data`` is not a JSON object; what ``each``
    raises passes through."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotAList(f"not UTF-8: {exc}") from exc
    i = _skip(text, 0)
    _expect(text, i, "{")
    i = _skip(text, i + 1)
    rest: dict[str, Any] = {}
    if _char(text, i) == "}":
        return rest
    while True:
        _expect(text, i, '"')
        key, i = _value(text, i)
        i = _skip(text, i)
        _expect(text, i, ":")
        i = _skip(text, i + 1)
        if key == "items" and _char(text, i) == "[":
            i = _items(text, _skip(text, i + 1), each)
        else:
            rest[key], i = _value(text, i)
        i = _skip(text, i)
        if _char(text, i) == "}":
            return rest
        _expect(text, i, ",")
        i = _skip(text, i + 1)


def _items(text: str, i: int, each: Callable[[Any], None]) -> int:
    """The elements of an array whose ``[`` ends before ``i``; the index after its ``]``."""
    if _char(text, i) == "]":
        return i + 1
    while True:
        item, i = _value(text, i)
        each(item)
        del item  # freed before the next is decoded
        i = _skip(text, i)
        if _char(text, i) == "]":
            return i + 1
        _expect(text, i, ",")
        i = _skip(text, i + 1)


def _value(text: str, i: int) -> tuple[Any, int]:
    try:
        return _SCAN(text, i)
    except StopIteration as exc:  # the scanner's "no JSON value starts here"
        raise NotAList(f"not a JSON object: no value at {i}") from exc
    except json.JSONDecodeError as exc:  # e.g. a bad escape inside a string
        raise NotAList(f"not a JSON object: {exc}") from exc


def _skip(text: str, i: int) -> int:
    match = _WHITESPACE.match(text, i)
    return i if match is None else match.end()


def _char(text: str, i: int) -> str:
    return text[i] if i < len(text) else ""


def _expect(text: str, i: int, char: str) -> None:
    if _char(text, i) != char:
        found = repr(_char(text, i)) if i < len(text) else "the end"
        raise NotAList(f"not a JSON object: expected {char!r} at {i}, found {found}")
