"""The ``DatabaseRestore`` resource as frozen dataclasses: which backup, which run, where to.

Role: the single declaration of the restore kind's fields, the same way
:mod:`api.v1alpha1.types` declares ``DatabaseBackup``: the CRD (``make manifests``) and the
decoder are derived from these classes. A DatabaseRestore asks for one restore of one run of a
``DatabaseBackup`` in the same namespace; the operator runs it as one Job it owns.

Guarantees: :meth:`DatabaseRestore.from_dict` applies the CRD's defaults, never mutates its
input and ignores unknown fields; the whole ``spec`` is immutable once created (a CEL
transition rule, ``self == oldSelf``): a restore is a one-shot request, and editing it after
its Job started would make status lie about what ran. Names are bounded so the Job name
``<restore>-restore`` fits 63 characters.
Non-goals: checking that the backup or the run exists (the controller reports that as a
condition: the API server cannot know).
"""

# Fields are declared with ``prop()``, a ``dataclasses.field`` wrapper ruff cannot see through.
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from api.v1alpha1.groupversion import RESTORE_JOB_SUFFIX, RESTORE_MAX_NAME_LENGTH
from api.v1alpha1.markers import Rule, prop
from api.v1alpha1.root import RootObject, name_length_rule
from api.v1alpha1.status import (
    MESSAGE_MAX,
    RFC3339,
    Condition,
    conditions_field,
    observed_generation_field,
)
from api.v1alpha1.types import DNS_MAX, DNS_SUBDOMAIN, NO_SPACE, DatabaseSpec, PodOverrides

__all__ = [
    "DEFAULT_RESTORE_SOURCE",
    "RESTORE_PHASES",
    "BackupReference",
    "DatabaseRestore",
    "DatabaseRestoreSpec",
    "DatabaseRestoreStatus",
]

DEFAULT_RESTORE_SOURCE = "latest"  # the newest successful run, resolved when the Job is made
RESTORE_PHASES = ("Pending", "Running", "Succeeded", "Failed")
# latest, a run's Job name (a DNS label), or an object URL / absolute path under the storage.
SOURCE_PATTERN = r"^(latest|[a-z0-9]([-a-z0-9]*[a-z0-9])?|(s3|gs|pvc)://\S+|/\S+)$"
SOURCE_MAX = 2048


def _always(_value: Any) -> bool:
    """A transition rule never fails on create; the API server enforces it on update."""
    return True


@dataclass(frozen=True, kw_only=True, slots=True)
class BackupReference:
    """The DatabaseBackup (same namespace) whose runs are restored."""

    name: str = prop(
        "Name of the DatabaseBackup.", required=True, max_length=DNS_MAX, pattern=DNS_SUBDOMAIN
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class DatabaseRestoreSpec:
    """Which run of which backup to restore, and into which database."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="self == oldSelf",
            message="spec is immutable: delete the DatabaseRestore and create a new one",
            check=_always,
        ),
    )

    backup_ref: BackupReference = prop("The DatabaseBackup to restore from.", required=True)
    source: str = prop(
        "What to restore: 'latest' (the backup's newest successful run), the Job name of a run "
        "from its history, or the exact URL of a dump under the backup's storage.",
        default=DEFAULT_RESTORE_SOURCE,
        max_length=SOURCE_MAX,
        pattern=SOURCE_PATTERN,
    )
    database: DatabaseSpec | None = prop(
        "Restore into this database instead of the backup's own (e.g. a staging copy); the "
        "engine type must be the backup's."
    )
    image: str | None = prop(
        "Runner image; the backup's spec.image when unset.", max_length=512, pattern=NO_SPACE
    )
    image_pull_policy: str | None = prop(
        "Pull policy of the image; the backup's when unset.",
        enum=("Always", "IfNotPresent", "Never"),
    )
    active_deadline_seconds: int | None = prop(
        "Seconds the restore may take before it is stopped and counts as failed.",
        minimum=1,
        maximum=2147483647,
    )
    pod: PodOverrides | None = prop("Settings for the restore pod; the backup's when unset.")


@dataclass(frozen=True, kw_only=True, slots=True)
class DatabaseRestoreStatus:
    """The observed state of a restore, rebuilt by the operator from its Job."""

    phase: str | None = prop("Pending, Running, Succeeded or Failed.", enum=RESTORE_PHASES)
    source: str | None = prop("The exact dump URL being restored.", max_length=SOURCE_MAX)
    job: str | None = prop("Name of the restore Job.", max_length=63)
    start_time: str | None = prop(
        "When the restore Job started (RFC 3339).", format=RFC3339, max_length=64
    )
    completion_time: str | None = prop(
        "When the restore Job finished (RFC 3339).", format=RFC3339, max_length=64
    )
    failure_reason: str | None = prop("Why the restore failed, in words.", max_length=MESSAGE_MAX)
    observed_generation: int | None = observed_generation_field()
    conditions: tuple[Condition, ...] = conditions_field(
        "Conditions; Ready=False says why the restore cannot start or failed."
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class DatabaseRestore(RootObject):
    """DatabaseRestore restores one run of a DatabaseBackup, once, as a Job it owns."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        name_length_rule(
            RESTORE_MAX_NAME_LENGTH,
            f"metadata.name must be at most {RESTORE_MAX_NAME_LENGTH} characters, so "
            f"that the Job name (<name>{RESTORE_JOB_SUFFIX}) fits in 63",
        ),
    )

    spec: DatabaseRestoreSpec = prop("Desired restore.", required=True)
    status: DatabaseRestoreStatus | None = prop("Observed state of the restore.")
