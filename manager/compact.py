"""Shared strings for cached objects: one copy of each key and short value, not one per object.

A decoded object owns a fresh string for every key and value. ``json.loads`` shares keys only
within one document, so a list page's items share their keys but each watch event's object
has its own — ``metadata``, ``lastTransitionTime``, ``"True"``, ``"Succeeded"``, the same
timestamps and image names, thousands of times over. :func:`share_strings` rebuilds a decoded
object with its dict keys and its string values of up to :data:`SHARED_MAX_LEN` characters
interned (``sys.intern``: CPython frees an interned string with its last reference, so unique
values cost nothing once their object is gone). Measured on a cached DatabaseBackup: 8.5 KiB
of Python objects → 3.5 KiB, for about 50 µs per object — paid on watch events (one at a
time, off the cache-sync path), not on the initial list, whose page already shares its keys.

A store can go further and keep each object encoded (:func:`encode`, :func:`decode`): one
``bytes`` of about the object's JSON size instead of a tree of dicts, whose dicts alone cost
~1.8 KiB per DatabaseBackup before a single value. A read then decodes a fresh copy (~20-40 µs
for a backup), which is what the runtime's cache does (docs/design.md §6): what a reconcile
reads is one object and its few Jobs, while the cache holds tens of thousands.

The encoding is ``pickle`` (protocol 5) of the decoded JSON: it never leaves the process, and
it encodes ~7x and decodes ~2x faster than ``json`` on a cached backup, at about the same size.

A codec of typed values (``Codec(typed=True)``: a memo's verdicts, trees of frozen slotted
dataclasses) pickles each dataclass as its class's number and its field values, rebuilt with
``object.__setattr__`` per field (:func:`_rebuild`). Plain pickling restores such an object
through the ``__setstate__`` that ``dataclasses`` writes for it, which calls ``fields()`` on
every object: a backup's verdict (9 dataclasses) decoded in ~33 µs that way, ~16 µs this one.
The class numbers are this process's (:data:`_TYPES`, append-only), as the encodings are.

A :class:`Codec` then deflates each pickle against a *preset dictionary* (zlib's ``zdict``): the
pickle of the first object it encoded. Objects of one kind repeat each other's keys, label
values, owner references, image names and timestamps, so what is left of the next one is its
few own values: a Job from a v1.32 server (as ``controller.jobs.cache_job`` keeps it) 830 B →
~110 B, a cached backup ~740 B → under 100 B. The deflate state is sized for such objects
(:data:`WINDOW_BITS`, :data:`MEMORY_LEVEL`): zlib's default one (a 32 KiB window, 64 Ki hash
heads) is allocated and cleared for every encoding, ~38 µs of a backup's ~43 µs; this one
~6 µs, and the encodings are as small. A decode costs ~3 µs more than the pickle's.
One codec per store (per kind): a backup's dictionary would not help a Job.

The first object is not always typical: on a first install every listed backup has no status
yet, and against that dictionary a backup with its status (conditions, history, times) still
costs ~360 B, against ~120 B with a dictionary that has one. So an encoding over
:data:`NEW_DICTIONARY_RATIO` of its pickle makes that pickle the newest dictionary, up to
:data:`MAX_DICTIONARIES` in a codec's life; later encodings use the newest. Each encoding
ends with the index of its dictionary, so every one stays decodable (docs/design.md §6).
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import sys
import threading
import zlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = [
    "COMPRESSION_LEVEL",
    "MAX_DICTIONARIES",
    "MEMORY_LEVEL",
    "NEW_DICTIONARY_RATIO",
    "SHARED_MAX_LEN",
    "WINDOW_BITS",
    "Codec",
    "decode",
    "encode",
    "share_strings",
]

SHARED_MAX_LEN = 64  # longer values (messages, JSON blobs) are rarely repeated verbatim
# zlib's fastest level: against a preset dictionary it is within a few bytes of level 9.
COMPRESSION_LEVEL = 1
# An 8 KiB window: a dictionary and the object being encoded (a few KiB each) fit in it, so
# matches reach back into the dictionary; a larger one only costs its clearing per encoding.
WINDOW_BITS = 13
MEMORY_LEVEL = 6  # 8 Ki hash heads; zlib's default (8: 64 Ki) finds nothing more here
# An encoding over this share of its pickle takes the pickle as the next dictionary (a backup
# with a status against a dictionary without one: ~27 %; against one with: ~9 %; a Job: ~18 %).
NEW_DICTIONARY_RATIO = 0.25
MAX_DICTIONARIES = 4  # per codec, ever: each is kept (~1 KiB) for the encodings made with it

T = TypeVar("T")


def share_strings(value: Any) -> Any:
    """``value`` (decoded JSON) with shared keys and short string values; a new structure."""
    kind = type(value)
    if kind is dict:
        return {sys.intern(k): share_strings(v) for k, v in value.items()}
    if kind is list:
        return [share_strings(v) for v in value]
    if kind is str and len(value) <= SHARED_MAX_LEN:
        return sys.intern(value)
    return value


def encode(obj: dict[str, Any]) -> bytes:
    """``obj`` (decoded JSON: dicts, lists, strings, numbers, booleans, None) as bytes."""
    return pickle.dumps(obj, protocol=5)


def decode(data: bytes) -> dict[str, Any]:
    """A fresh copy of what :func:`encode` was given (only ever bytes this process made)."""
    obj: dict[str, Any] = pickle.loads(data)  # our own bytes only, never input
    return obj


# Dataclasses a typed codec has encoded: (class, its field names), numbered by position.
_TYPES: list[tuple[type, tuple[str, ...]]] = []
_TYPE_NUMBERS: dict[type, int] = {}
_TYPES_LOCK = threading.Lock()
_new = object.__new__
_set = object.__setattr__


def _type_number(cls: type) -> int:
    with _TYPES_LOCK:
        number = _TYPE_NUMBERS.get(cls)
        if number is None:
            number = _TYPE_NUMBERS[cls] = len(_TYPES)
            _TYPES.append((cls, tuple(f.name for f in dataclasses.fields(cls))))
        return number


def _rebuild(number: int, values: tuple[Any, ...]) -> Any:
    """The dataclass instance a typed encoding holds (its ``__init__`` ran when it was made)."""
    cls, names = _TYPES[number]
    obj: Any = _new(cls)
    for name, value in zip(names, values, strict=True):
        _set(obj, name, value)
    return obj


class _TypedPickler(pickle.Pickler):
    """A pickler that writes dataclass instances for :func:`_rebuild` (see the module
    docstring); everything else as ``pickle`` does."""

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        number = _TYPE_NUMBERS.get(cls)
        if number is None:
            if isinstance(obj, type) or not dataclasses.is_dataclass(cls):
                return NotImplemented
            number = _type_number(cls)
        names = _TYPES[number][1]
        return _rebuild, (number, tuple([getattr(obj, name) for name in names]))


def _typed_dumps(obj: Any) -> bytes:
    out = io.BytesIO()
    _TypedPickler(out, protocol=5).dump(obj)
    return out.getvalue()


def _plain_dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=5)


class Codec(Generic[T]):
    """:func:`encode` deflated against a preset dictionary: the first object's pickle, then
    (see the module docstring) that of an object the newest dictionary served poorly.

    Objects are decoded JSON (a store's) or any picklable value of one shape (a memo's typed
    verdicts: ``typed=True`` pickles their dataclasses faster to decode). A dictionary, once
    chosen, is never changed nor dropped, so every encoding this codec made stays decodable by
    it. Thread-safe: dictionaries are only ever appended (under the lock), and decoding only
    reads the one an encoding names.
    """

    __slots__ = ("_dumps", "_lock", "_zdicts")

    def __init__(self, *, typed: bool = False) -> None:
        self._dumps: Callable[[Any], bytes] = _typed_dumps if typed else _plain_dumps
        self._lock = threading.Lock()
        self._zdicts: list[bytes] = []  # append-only; an encoding's last byte indexes it

    def encode(self, obj: T) -> bytes:
        raw = self._dumps(obj)
        zdicts = self._zdicts
        if not zdicts:
            self._add_dictionary(raw, 0)
        index = len(zdicts) - 1
        data = _deflate(index, raw, zdicts[index])
        if len(data) > len(raw) * NEW_DICTIONARY_RATIO and len(zdicts) < MAX_DICTIONARIES:
            index = self._add_dictionary(raw, index + 1)
            data = _deflate(index, raw, zdicts[index])
        return data

    def _add_dictionary(self, raw: bytes, count: int) -> int:
        """Make ``raw`` the newest dictionary unless the codec has ``count`` already (another
        thread was first) or has no room; the index of the newest either way."""
        with self._lock:
            if len(self._zdicts) < min(count + 1, MAX_DICTIONARIES):
                self._zdicts.append(raw)
            return len(self._zdicts) - 1

    def decode(self, data: bytes) -> T:
        """A fresh copy of what :meth:`encode` was given (only ever this codec's bytes)."""
        if not self._zdicts:
            raise ValueError("nothing was encoded by this codec")
        inflate = zlib.decompressobj(WINDOW_BITS, zdict=self._zdicts[data[-1]])
        # The index byte after the stream is left over (``unused_data``), never inflated.
        value: T = pickle.loads(inflate.decompress(data) + inflate.flush())  # our own bytes
        return value


_INDEX_BYTES = tuple(bytes((index,)) for index in range(MAX_DICTIONARIES))


def _deflate(index: int, raw: bytes, zdict: bytes) -> bytes:
    """``raw`` deflated against ``zdict``, then the dictionary's ``index`` (one byte)."""
    deflate = zlib.compressobj(
        COMPRESSION_LEVEL, zlib.DEFLATED, WINDOW_BITS, MEMORY_LEVEL, zdict=zdict
    )
    return b"".join((deflate.compress(raw), deflate.flush(), _INDEX_BYTES[index]))
