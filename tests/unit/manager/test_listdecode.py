"""Decoding a list one item at a time: the same values as decoding it whole, and clear
errors for what is not a JSON object."""

from __future__ import annotations

import json
from typing import Any

import pytest

from manager.listdecode import NotAList, decode_list


def _decode(data: bytes) -> tuple[list[Any], dict[str, Any]]:
    items: list[Any] = []
    rest = decode_list(data, items.append)
    return items, rest


def test_items_and_the_rest_equal_a_whole_decode() -> None:
    whole = {
        "kind": "JobList",
        "apiVersion": "batch/v1",
        "metadata": {"resourceVersion": "42", "continue": "abc"},
        "items": [
            {"metadata": {"name": "a", "labels": {"x": ']},{"items":['}}, "n": [1, 2.5, None]},
            {"metadata": {"name": "b\u00e9\u2603"}, "ok": True, "items": [{"nested": "yes"}]},
        ],
    }
    for text in (
        json.dumps(whole),
        json.dumps(whole, indent=2),
        json.dumps(whole, separators=(",", ":")),
    ):
        items, rest = _decode(text.encode())
        assert items == whole["items"]
        assert rest == {k: v for k, v in whole.items() if k != "items"}


def test_items_before_metadata_and_empty_items() -> None:
    items, rest = _decode(b'{"items": [], "metadata": {"resourceVersion": "7"}}')
    assert items == [] and rest == {"metadata": {"resourceVersion": "7"}}
    items, rest = _decode(b" { } ")
    assert items == [] and rest == {}
    items, rest = _decode(b'{"items": null, "kind": "List"}')  # no array: kept as it is
    assert items == [] and rest == {"items": None, "kind": "List"}


def test_each_item_is_handed_over_before_the_next_is_decoded() -> None:
    data = b'{"items": [{"n": 1}, {"n": 2}, broken]}'
    seen: list[Any] = []
    with pytest.raises(NotAList, match="no value at"):
        decode_list(data, seen.append)
    assert seen == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "expected '{' at 0, found the end"),
        (b"[1, 2]", "expected '{' at 0"),
        (b'{"items": [{"a": 1}', "found the end"),
        (b'{"items": [{"a": 1}] "kind": 1}', "expected ','"),
        (b'{"kind" 1}', "expected ':'"),
        (b"{kind: 1}", "expected '\"'"),
        (b'{"kind": "bad \\q escape"}', "Invalid \\\\escape"),
        (b'{"kind": "\xff"}', "not UTF-8"),
    ],
)
def test_what_is_not_a_json_object_says_what_and_where(data: bytes, message: str) -> None:
    with pytest.raises(NotAList, match=message):
        decode_list(data, lambda _item: None)


def test_what_each_raises_passes_through() -> None:
    def refuse(_item: Any) -> None:
        raise IndexError("the sink's own error")

    with pytest.raises(IndexError, match="the sink's own error"):
        decode_list(b'{"items": [1]}', refuse)
