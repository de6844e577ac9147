"""GenerationMemo: computed once per (uid, generation), handed back equal (from its encoding)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from controller.memo import GenerationMemo, backup_key
from controller.verdict import SpecVerdict, read_verdict

SAMPLE = (
    Path(__file__).resolve().parents[3]
    / "config/samples/dbbackup_v1alpha1_postgres_daily_backup.yaml"
)


def backup(i: int, generation: int = 1) -> dict[str, Any]:
    """A valid DatabaseBackup as the cache hands it over (its own strings, not shared)."""
    obj = yaml.safe_load(SAMPLE.read_text())
    obj["metadata"].update(namespace="default", name=f"pg-{i:05d}", uid=f"uid-{i:05d}-aaaa",
                           generation=generation, resourceVersion=str(i))  # fmt: skip
    obj["spec"]["database"]["host"] = f"pg-{i}.db.svc"
    return copy.deepcopy(obj)


def test_computes_once_per_generation_and_hands_back_equal_values() -> None:
    calls: list[str] = []

    def compute(obj: dict[str, Any]) -> SpecVerdict:
        calls.append(obj["metadata"]["name"])
        return read_verdict(obj)

    memo = GenerationMemo(compute)
    first = memo.get(backup(1))
    again = memo.get(backup(1))
    assert again == first == read_verdict(backup(1))
    assert first.backup is not None and first.backup.spec.database.host == "pg-1.db.svc"
    assert calls == ["pg-00001"]
    assert memo.get(backup(1, generation=2)) == first  # same spec, a new generation
    assert calls == ["pg-00001", "pg-00001"]
    memo.forget("default", "pg-00001")
    memo.get(backup(1, generation=2))
    assert len(calls) == 3


def test_without_a_uid_or_generation_it_computes_every_time() -> None:
    calls: list[str] = []

    def compute(obj: dict[str, Any]) -> int:
        calls.append(obj["metadata"]["name"])
        return len(calls)

    memo = GenerationMemo(compute)
    obj = backup(1)
    del obj["metadata"]["uid"]
    assert [memo.get(obj), memo.get(obj)] == [1, 2]


def test_backup_keys_share_their_strings() -> None:
    a = backup_key("".join(["def", "ault"]), "".join(["pg-", "1"]))
    b = backup_key("".join(["defa", "ult"]), "".join(["pg", "-1"]))
    assert a == b and a[0] is b[0] and a[1] is b[1]
