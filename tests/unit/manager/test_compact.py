"""share_strings: cached objects share their keys and short values, and stay equal; a Codec
keeps them as a few bytes each and gives back equal, fresh copies."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from manager.compact import SHARED_MAX_LEN, Codec, share_strings
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
