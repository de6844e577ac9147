"""Values derived from a backup's spec, computed once per (uid, generation).

The API server increments ``metadata.generation`` on every change outside metadata and status,
so a value that reads only the spec and the immutable name, namespace and uid (the validation
verdict, the decoded ``DatabaseBackup``, the storage location) is unchanged while (uid,
generation) is. A herd's passes and every status-only update reuse it instead of
recomputing. An object without a uid or a positive generation did not come from an API
server: it is computed every time.

The value is kept encoded (a :class:`manager.compact.Codec`: its pickle deflated against the
first value's), and each :meth:`GenerationMemo.get` decodes a fresh copy. Kept as objects,
the verdicts of 2,000 backups held ~2 KiB each: the typed tree plus every string it took
from the decoded backup (a fresh copy per decode, shared with nothing). Encoded they are
~40-100 bytes, and decoding one (~16 µs, its dataclasses rebuilt field by field: see
``manager.compact``) costs an eighth of computing it (~120 µs). Values must therefore pickle
(frozen dataclasses, tuples, strings do).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from manager.compact import Codec

__all__ = ["GenerationMemo", "backup_key"]

V = TypeVar("V")


def backup_key(namespace: str, name: str) -> tuple[str, str]:
    """``(namespace, name)`` with both strings interned: the per-backup maps (this memo, the
    known slots, the metrics) then share one copy of each instead of one per decoded object."""
    return sys.intern(namespace), sys.intern(name)


class GenerationMemo(Generic[V]):
    """``compute(backup)``, remembered per (namespace, name) for one (uid, generation)."""

    def __init__(self, compute: Callable[[dict[str, Any]], V]) -> None:
        self._compute = compute
        self._codec: Codec[V] = Codec(typed=True)
        # (namespace, name) → (uid, generation, encoded value); workers never share a key.
        self._known: dict[tuple[str, str], tuple[str, int, bytes]] = {}

    def get(self, backup: dict[str, Any]) -> V:
        meta = backup.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        uid, generation = str(meta.get("uid") or ""), meta.get("generation")
        if not uid or not isinstance(generation, int) or generation <= 0:
            return self._compute(backup)
        key = backup_key(str(meta.get("namespace", "")), str(meta.get("name", "")))
        known = self._known.get(key)
        if known is not None and known[0] == uid and known[1] == generation:
            return self._codec.decode(known[2])
        value = self._compute(backup)
        self._known[key] = (sys.intern(uid), generation, self._codec.encode(value))
        return value

    def forget(self, namespace: str, name: str) -> None:
        self._known.pop((namespace, name), None)
