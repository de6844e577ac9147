"""What one generation of a backup says, computed once per (uid, generation).

Role: the validation verdict of a ``DatabaseBackup``, the backup decoded into
``api.v1alpha1.DatabaseBackup`` when the verdict is clean, and where its runs write; the
reconciler keeps one per backup in a ``controller.memo.GenerationMemo``, so a herd's passes
and status-only updates neither re-validate nor re-decode. Guarantees: the decoded backup
holds the identity (name, namespace, uid) and the spec only — ``status`` and the rest of
``metadata`` change without a new generation and are read from the cached object each pass.
Non-goals: reading the status (``controller.databasebackup``), the schedule
(``controller.schedule``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.v1alpha1 import (
    SCHEDULE_PATH,
    TIME_ZONE_PATH,
    DatabaseBackup,
    FieldProblem,
    backup_dump_location,
    dump_location,
    validate,
)
from api.v1alpha1.job import DumpLocation

__all__ = ["SpecVerdict", "invalid_reason", "read_verdict"]


@dataclass(frozen=True, slots=True)
class SpecVerdict:
    """``problems`` found by ``validate``; ``backup`` decoded when there is none; the dump
    ``location`` of each run (the storage's base alone when the spec cannot say more)."""

    problems: tuple[FieldProblem, ...]
    backup: DatabaseBackup | None
    location: DumpLocation


def read_verdict(obj: dict[str, Any]) -> SpecVerdict:
    """The verdict on ``obj``, a DatabaseBackup as the cache holds it."""
    problems = tuple(validate(obj))
    if problems:
        return SpecVerdict(problems, None, dump_location(obj))
    backup = DatabaseBackup.identity_and_spec(obj)
    return SpecVerdict(problems, backup, backup_dump_location(backup))


def invalid_reason(problems: Sequence[FieldProblem]) -> str:
    """The ``Ready=False`` reason and Event reason for an invalid spec (the CronJob
    controller's, where it has one)."""
    paths = {str(p.path) for p in problems}
    if any(p.startswith(SCHEDULE_PATH) for p in paths):
        return "InvalidSchedule"
    if any(p.startswith(TIME_ZONE_PATH) for p in paths):
        return "UnknownTimeZone"
    return "InvalidSpec"
