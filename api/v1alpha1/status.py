"""The status half of ``DatabaseBackup``: conditions, run history, and the status itself.

Role: declarations only (see :mod:`api.v1alpha1.types` for how fields are declared); the
operator writes these through the status subresource, and the CRD's schema for them is
generated from here, so fields the controller writes are never pruned.
Guarantees: every string is bounded; times are RFC 3339 strings (``format: date-time``).
Non-goals: how status is computed (``controller.status``).
"""

# Fields are declared with ``prop()``, a ``dataclasses.field`` wrapper ruff cannot see through.
# Declaration order is the order of the keys the operator writes (docs/design.md, "Status on
# the wire"): kept as the status writes have always been, so that a status PUT is the same
# byte for byte whichever way it was computed.

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.v1alpha1.markers import decode, prop

__all__ = [
    "CONDITION_FALSE",
    "CONDITION_READY",
    "CONDITION_TRUE",
    "PHASES",
    "PHASE_FAILED",
    "PHASE_PENDING",
    "PHASE_RUNNING",
    "PHASE_SUCCEEDED",
    "RESULTS",
    "BackupRun",
    "Condition",
    "DatabaseBackupStatus",
    "conditions_field",
    "observed_generation_field",
]


RFC3339 = "date-time"
CONDITION_REASON = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
# A backup's phase; a run's result is one of the last three (a run is never Pending).
PHASE_PENDING = "Pending"
PHASE_RUNNING = "Running"
PHASE_SUCCEEDED = "Succeeded"
PHASE_FAILED = "Failed"
PHASES = (PHASE_PENDING, PHASE_RUNNING, PHASE_SUCCEEDED, PHASE_FAILED)
RESULTS = (PHASE_RUNNING, PHASE_SUCCEEDED, PHASE_FAILED)
CONDITION_READY = "Ready"  # the summary condition: are backups scheduled and succeeding?
CONDITION_TRUE = "True"
CONDITION_FALSE = "False"
CONDITION_STATUSES = (CONDITION_TRUE, CONDITION_FALSE, "Unknown")
TRIGGERS = ("manual",)
MESSAGE_MAX = 32768  # metav1.Condition's message bound
CONDITIONS_MAX = 16  # conditions per object: a handful of types, with room to grow


def observed_generation_field() -> Any:
    """A status's ``observedGeneration``, as every status of this API declares it."""
    return prop("metadata.generation this status was computed from.", minimum=0)


def conditions_field(description: str) -> Any:
    """A status's ``conditions``: a list-map keyed by ``type`` (one condition per type)."""
    return prop(description, factory=tuple, max_items=CONDITIONS_MAX, list_map_keys=("type",))


@dataclass(frozen=True, kw_only=True, slots=True)
class Condition:
    """A Kubernetes condition (metav1.Condition shape)."""

    type: str = prop(
        "Condition type, e.g. Ready.", required=True, max_length=316, pattern=CONDITION_REASON
    )
    status: str = prop("True, False or Unknown.", required=True, enum=CONDITION_STATUSES)
    reason: str = prop(
        "CamelCase reason for the last transition.",
        required=True,
        min_length=1,
        max_length=1024,
        pattern=CONDITION_REASON,
    )
    message: str = prop("Human-readable detail.", required=True, max_length=MESSAGE_MAX)
    last_transition_time: str = prop(
        "When status last changed (RFC 3339).", required=True, format=RFC3339, max_length=64
    )
    observed_generation: int | None = prop(
        "metadata.generation the condition was computed from.", minimum=0
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class BackupRun:
    """One run of the backup, kept in status after its Job is pruned."""

    job: str = prop("Name of the Job.", required=True, max_length=63)
    result: str = prop("Running, Succeeded or Failed.", required=True, enum=RESULTS)
    scheduled_time: str | None = prop(
        "Scheduled time of the run (RFC 3339).", format=RFC3339, max_length=64
    )
    trigger: str | None = prop(
        "'manual' for an on-demand run (kubectl dbbackup run); unset for a scheduled one.",
        enum=TRIGGERS,
    )
    requested_time: str | None = prop(
        "When an on-demand run was requested (RFC 3339); it has no scheduled time.",
        format=RFC3339,
        max_length=64,
    )
    location: str | None = prop("Storage location written to.", max_length=2048)
    start_time: str | None = prop("When the Job started (RFC 3339).", format=RFC3339, max_length=64)
    completion_time: str | None = prop(
        "When the Job finished (RFC 3339).", format=RFC3339, max_length=64
    )
    failure_reason: str | None = prop("Why the run failed.", max_length=MESSAGE_MAX)


@dataclass(frozen=True, kw_only=True, slots=True)
class DatabaseBackupStatus:
    """The observed state of a backup, rebuilt by the operator from its Jobs."""

    phase: str | None = prop("Summary of the latest run.", enum=PHASES)
    active_job: str | None = prop("Name of the Job running now, if any.", max_length=63)
    failure_reason: str | None = prop(
        "Why the latest finished run failed; cleared by a success.", max_length=MESSAGE_MAX
    )
    last_schedule_time: str | None = prop(
        "Scheduled time of the latest run (RFC 3339).", format=RFC3339, max_length=64
    )
    last_successful_backup: str | None = prop(
        "Completion time of the latest successful run (RFC 3339).", format=RFC3339, max_length=64
    )
    history: tuple[BackupRun, ...] = prop(
        "The latest runs, oldest first.", factory=tuple, max_items=50, keep_empty=True
    )
    observed_generation: int | None = observed_generation_field()
    next_scheduled_backup: str | None = prop(
        "When the next run is due (RFC 3339).", format=RFC3339, max_length=64
    )
    conditions: tuple[Condition, ...] = conditions_field(
        "Conditions; Ready summarises whether backups are scheduled and succeeding."
    )

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> DatabaseBackupStatus:
        """The status of the API object ``obj``, decoded (raises ``DecodeError``); an object
        without one has the empty status."""
        return decode(cls, obj.get("status"), "status")
