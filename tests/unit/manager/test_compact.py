"""share_strings: cached objects share their keys and short values, and stay equal; a Codec
keeps them as a few bytes each and gives back equal, fresh copies."""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from manager.compact import MAX_DICTIONARIES, SHARED_MAX_LEN, Codec, share_strings
from manager.informer import strip_bulky_fields

RECORDED = Path(__file__).resolve().parents[3] / "tests/emulator/recorded/jobs-v1.32.json"

JOB = (
    '{"metadata": {"name": "db-1-20250327010000", "namespace": "bench"}, "status": {"conditions":'
    ' [{"type": "Complete", "status": "True", "message": "%s"}], "succeeded": 1, "ready": null}}'
)


def test_two_decoded_objects_share_keys_and_short_values_and_stay_equal() -> None:
    long_message = "x" * (SHARED_MAX_LEN + 1)
    a, b = (json.loads(JOB % long_message) for _ in range(2))
    assert a["status"] is not b["status"]
    ca, cb = share_strings(a), share_strings(b)
    assert ca == a and cb == b  # same content, numbers and nulls included
    key_a = next(iter(ca["status"]["conditions"][0]))
    key_b = next(iter(cb["status"]["conditions"][0]))
    assert key_a is key_b  # one "type" string for both objects
    assert ca["status"]["conditions"][0]["status"] is cb["status"]["conditions"][0]["status"]
    assert ca["metadata"]["namespace"] is cb["metadata"]["namespace"]
    # A long value is left alone: it is rarely repeated, so sharing it would buy nothing.
    assert ca["status"]["conditions"][0]["message"] is a["status"]["conditions"][0]["message"]


def test_the_result_is_a_new_structure() -> None:
    obj = json.loads(JOB % "done")
    shared = share_strings(obj)
    shared["metadata"]["name"] = "changed"
    assert obj["metadata"]["name"] == "db-1-20250327010000"


def _recorded_jobs() -> list[dict[str, Any]]:
    """Jobs as a kube-apiserver v1.32 returned them, without managedFields."""
    pairs = json.loads(RECORDED.read_text())["pairs"]
    return [strip_bulky_fields(p["response"]) for p in pairs]


def test_a_codec_decodes_fresh_equal_copies() -> None:
    codec: Codec[dict[str, Any]] = Codec()
    jobs = _recorded_jobs()
    encoded = [codec.encode(job) for job in jobs]
    decoded = [codec.decode(data) for data in encoded]
    assert decoded == jobs
    again = codec.decode(encoded[1])
    assert again == decoded[1] and again is not decoded[1]
    again["metadata"]["name"] = "edited"  # a caller's copy is the caller's
    assert codec.decode(encoded[1]) == jobs[1]


def test_a_codec_keeps_what_objects_of_one_kind_share_once() -> None:
    """After the first Job (the dictionary), a Job costs its own values, not its keys."""
    codec: Codec[dict[str, Any]] = Codec()
    first, *others = _recorded_jobs()
    codec.encode(first)
    for job in others:
        assert len(codec.encode(job)) * 3 < len(pickle.dumps(job, protocol=5))


def test_a_codec_that_encoded_nothing_decodes_nothing() -> None:
    with pytest.raises(ValueError, match="nothing was encoded"):
        Codec[dict[str, Any]]().decode(b"x")


def _backup(i: int, *, status: bool) -> dict[str, Any]:
    """A DatabaseBackup as the operator's cache holds it, before or after its first status."""
    name = f"db-{i:06d}"
    obj: dict[str, Any] = {
        "apiVersion": "dbbackup.io/v1alpha1", "kind": "DatabaseBackup",
        "metadata": {"name": name, "namespace": "bench", "uid": f"{i:08x}-bc9d-45a9-809f-a19308",
                     "generation": 1, "resourceVersion": str(1000 + i),
                     "creationTimestamp": "2025-03-26T23:00:00Z"},
        "spec": {"schedule": "0 1 * * *", "image": "ghcr.io/example/postgres-backup:latest",
                 "database": {"type": "postgresql", "host": f"pg-{i}.db.svc", "port": 5432},
                 "storage": {"s3": {"bucket": "backups", "prefix": f"pg/{i}"}}},
    }  # fmt: skip
    if status:
        job = f"{name}-20250327010000"
        obj["status"] = {
            "phase": "Running", "activeJob": job, "lastScheduleTime": "2025-03-27T01:00:00Z",
            "history": [{"job": job, "result": "Running", "scheduledTime": "2025-03-27T01:00:00Z",
                         "location": f"s3://backups/pg/{i}/{job}.sql.zst"}],
            "observedGeneration": 1, "nextScheduledBackup": "2025-03-28T01:00:00Z",
            "conditions": [{"type": "Ready", "status": "True", "reason": "Scheduled",
                            "message": "backups are scheduled", "observedGeneration": 1,
                            "lastTransitionTime": "2025-03-27T00:50:32Z"}],
        }  # fmt: skip
    return obj


def test_objects_unlike_the_first_get_a_dictionary_of_their_own() -> None:
    """A first install lists backups without status; once they have one, a backup must not
    cost what the status-less dictionary leaves of it — and what was encoded before stays
    decodable."""
    codec: Codec[dict[str, Any]] = Codec()
    bare = [_backup(i, status=False) for i in range(3)]
    encoded = [codec.encode(obj) for obj in bare]
    with_status = [_backup(i, status=True) for i in range(3, 10)]
    encoded += [codec.encode(obj) for obj in with_status]
    for obj in with_status[1:]:
        assert len(codec.encode(obj)) * 6 < len(pickle.dumps(obj, protocol=5))
    assert [codec.decode(data) for data in encoded] == bare + with_status


def test_every_encoding_stays_decodable_however_many_objects_are_unlike_the_rest() -> None:
    """Dictionaries are bounded in number and never replaced: objects that each compress
    poorly (random values) cannot make earlier encodings undecodable."""
    codec: Codec[dict[str, Any]] = Codec()
    objs = [{"payload": os.urandom(600).hex(), "n": i} for i in range(3 * MAX_DICTIONARIES)]
    encoded = [codec.encode(obj) for obj in objs]
    assert [codec.decode(data) for data in encoded] == objs
    assert [codec.decode(codec.encode(obj)) for obj in reversed(objs)] == objs[::-1]


@dataclass(frozen=True, kw_only=True, slots=True)
class _Inner:
    name: str
    port: int | None = None


@dataclass(frozen=True, slots=True)
class _Outer:
    inners: tuple[_Inner, ...]
    by_name: dict[str, _Inner]
    note: str | None
    derived: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "derived", len(self.inners))


@dataclass
class _Plain:  # not frozen, not slotted: rebuilt the same way
    values: list[int]


def test_a_typed_codec_gives_back_equal_fresh_dataclasses() -> None:
    """Typed values (a memo's verdicts) come back equal, of their own classes, as new objects,
    nested in tuples, dicts and lists, with fields set after ``__init__`` kept as they were."""
    codec: Codec[Any] = Codec(typed=True)
    first = _Inner(name="db", port=5432)
    value = (
        _Outer(inners=(first, _Inner(name="x")), by_name={"db": first}, note=None),
        _Plain([1, 2]),
        [_Inner(name="y", port=None)],
    )
    data = codec.encode(value)
    copy = codec.decode(data)
    assert copy == value
    assert type(copy[0]) is _Outer and type(copy[0].inners[0]) is _Inner
    assert copy[0].derived == 2
    assert copy[0] is not value[0] and copy[1].values is not value[1].values
    assert copy[0].by_name["db"] is copy[0].inners[0]  # shared once, as pickle shares
    with pytest.raises(FrozenInstanceError):
        copy[0].inners[0].name = "changed"  # type: ignore[misc]
    assert codec.decode(codec.encode(copy)) == value


def test_a_typed_codec_writes_no_dataclass_state_for_pickle_to_restore() -> None:
    """The fast path is what is written: the encoding rebuilds each dataclass from its field
    values (the class's own ``__setstate__`` is not what restores it)."""
    calls: list[str] = []
    original = _Inner.__setstate__  # type: ignore[attr-defined]

    def counting(self: _Inner, state: Any) -> None:
        calls.append("setstate")
        original(self, state)

    _Inner.__setstate__ = counting  # type: ignore[attr-defined]
    try:
        plain: Codec[Any] = Codec()
        assert plain.decode(plain.encode(_Inner(name="a"))) == _Inner(name="a")
        plain_calls = len(calls)
        typed: Codec[Any] = Codec(typed=True)
        assert typed.decode(typed.encode(_Inner(name="a"))) == _Inner(name="a")
    finally:
        _Inner.__setstate__ = original  # type: ignore[attr-defined]
    assert plain_calls == 1 and len(calls) == 1
