"""Values derived from a backup's spec, computed once per (uid, generation).

The API server increments ``metadata.generation`` on every change outside metadata and status,
so a value that reads only the spec and the immutable name, namespace and uid (the validation
verdict, the decoded ``DatabaseBackup``, the storage location) is unchanged while (uid,
generation) is. A herd's passes and every status-only update reuse it instead of
recomputing. An object without a uid or a positive generation did not come from an API
server: it is computed every time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["GenerationMemo"]

V = TypeVar("V")


class GenerationMemo(Generic[V]):
    """``compute(backup)``, remembered per (namespace, name) for one (uid, generation)."""

    def __init__(self, compute: Callable[[dict[str, Any]], V]) -> None:
        self._compute = compute
        # (namespace, name) → (uid, generation, value); workers never share a key.
        self._known: dict[tuple[str, str], tuple[str, int, V]] = {}

    def get(self, backup: dict[str, Any]) -> V:
        meta = backup.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        uid, generation = str(meta.get("uid") or ""), meta.get("generation")
        if not uid or not isinstance(generation, int) or generation <= 0:
            return self._compute(backup)
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        known = self._known.get(key)
        if known is not None and known[0] == uid and known[1] == generation:
            return known[2]
        value = self._compute(backup)
        self._known[key] = (uid, generation, value)
        return value

    def forget(self, namespace: str, name: str) -> None:
        self._known.pop((namespace, name), None)
