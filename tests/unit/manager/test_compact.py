"""share_strings: cached objects share their keys and short values, and stay equal."""

from __future__ import annotations

import json

from manager.compact import SHARED_MAX_LEN, share_strings

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
