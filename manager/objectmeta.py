"""Reading plain API objects' metadata, for code that must not trust an object's shape.

Role: the runtime passes API objects as the JSON decoder made them (``Object``, a plain dict);
:func:`metadata_of` is client-go's ``meta.Accessor`` for them: the ``metadata`` mapping, or an
empty one when an object lacks it or holds something else, so handlers, predicates and
reconcilers never fail on a malformed object. Guarantees: reads only; the dict returned is the
object's own (callers copy before editing, as with every cached object).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Object", "metadata_of"]

Object = dict[str, Any]


def metadata_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj["metadata"]`` when it is a mapping of the decoder's kind, else ``{}``."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}
