"""validate(): one case per rule, each checking the field path; defaults; and agreement with
the emulator's CRD validation (which evaluates the generated CRD, CEL rules included)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from api.v1alpha1 import FieldProblem, apply_defaults, parse_duration, validate
from api.v1alpha1.crdgen import crd
from emulator.schema import StructuralSchema

Obj = dict[str, Any]


def base() -> Obj:
    return {
        "apiVersion": "dbbackup.io/v1alpha1",
        "kind": "DatabaseBackup",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "schedule": "0 1 * * *",
            "database": {"type": "postgresql", "host": "postgres"},
            "image": "ghcr.io/example/postgres-backup:latest",
            "storage": {"s3": {"bucket": "my-database-backups"}},
        },
    }


def setp(path: str, value: Any) -> Callable[[Obj], None]:
    """A mutation that sets ``path`` (dots; ``None`` deletes) on an object."""

    def mutate(obj: Obj) -> None:
        *parents, last = path.split(".")
        node = obj
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)

    return mutate


# (id, mutation, expected path, text the message must contain)
SCHEMA_CASES: list[tuple[str, Callable[[Obj], None], str, str]] = [
    ("schedule-required", setp("spec.schedule", None), "spec.schedule", "Required"),
    ("database-required", setp("spec.database", None), "spec.database", "Required"),
    ("image-required", setp("spec.image", None), "spec.image", "Required"),
    ("storage-required", setp("spec.storage", None), "spec.storage", "Required"),
    ("db-type-required", setp("spec.database.type", None), "spec.database.type", "Required"),
    ("db-host-required", setp("spec.database.host", None), "spec.database.host", "Required"),
    ("db-type-enum", setp("spec.database.type", "oracle"), "spec.database.type", "Unsupported"),
    (
        "concurrency-enum",
        setp("spec.concurrencyPolicy", "Sometimes"),
        "spec.concurrencyPolicy",
        "supported values",
    ),
    (
        "pull-policy-enum",
        setp("spec.imagePullPolicy", "Often"),
        "spec.imagePullPolicy",
        "IfNotPresent",
    ),
    ("port-minimum", setp("spec.database.port", 0), "spec.database.port", "greater than"),
    ("port-maximum", setp("spec.database.port", 70000), "spec.database.port", "less than"),
    ("port-type", setp("spec.database.port", "5432"), "spec.database.port", "integer"),
    ("suspend-type", setp("spec.suspend", "yes"), "spec.suspend", "boolean"),
    (
        "history-minimum",
        setp("spec.successfulJobsHistoryLimit", -1),
        "spec.successfulJobsHistoryLimit",
        "greater than",
    ),
    (
        "failed-history-maximum",
        setp("spec.failedJobsHistoryLimit", 101),
        "spec.failedJobsHistoryLimit",
        "less than",
    ),
    ("backoff-maximum", setp("spec.backoffLimit", 21), "spec.backoffLimit", "less than"),
    (
        "starting-deadline-minimum",
        setp("spec.startingDeadlineSeconds", -1),
        "spec.startingDeadlineSeconds",
        "greater than",
    ),
    (
        "active-deadline-minimum",
        setp("spec.activeDeadlineSeconds", 0),
        "spec.activeDeadlineSeconds",
        "greater than",
    ),
    ("image-no-space", setp("spec.image", "bad image"), "spec.image", "should match"),
    ("image-max-length", setp("spec.image", "i" * 513), "spec.image", "no more than 512"),
    ("host-max-length", setp("spec.database.host", "h" * 254), "spec.database.host", "253"),
    (
        "secret-name-pattern",
        setp("spec.database.credentialsSecretRef", {"name": "Not_A_Name"}),
        "spec.database.credentialsSecretRef.name",
        "should match",
    ),
    (
        "secret-name-required",
        setp("spec.database.credentialsSecretRef", {"usernameKey": "u"}),
        "spec.database.credentialsSecretRef.name",
        "Required",
    ),
    (
        "bucket-pattern",
        setp("spec.storage.s3.bucket", "My_Bucket"),
        "spec.storage.s3.bucket",
        "match",
    ),
    (
        "bucket-min-length",
        setp("spec.storage.s3.bucket", "ab"),
        "spec.storage.s3.bucket",
        "least 3",
    ),
    (
        "endpoint-pattern",
        setp("spec.storage.s3.endpoint", "minio:9000"),
        "spec.storage.s3.endpoint",
        "should match",
    ),
    (
        "prefix-leading-slash",
        setp("spec.storage.s3.prefix", "/x"),
        "spec.storage.s3.prefix",
        "match",
    ),
    ("storage-none", setp("spec.storage", {}), "spec.storage", "exactly one of s3, gcs or pvc"),
    (
        "storage-two",
        setp("spec.storage.pvc", {"claimName": "backups"}),
        "spec.storage",
        "exactly one",
    ),
    (
        "claim-name-required",
        setp("spec.storage", {"pvc": {"subPath": "x"}}),
        "spec.storage.pvc.claimName",
        "Required",
    ),
    (
        "sub-path-pattern",
        setp("spec.storage", {"pvc": {"claimName": "b", "subPath": "/abs"}}),
        "spec.storage.pvc.subPath",
        "should match",
    ),
    (
        "sub-path-dotdot",
        setp("spec.storage", {"pvc": {"claimName": "b", "subPath": "a/../b"}}),
        "spec.storage.pvc.subPath",
        "'..'",
    ),
    ("retention-pattern", setp("spec.retention", "2 weeks"), "spec.retention", "should match"),
    (
        "toleration-operator-enum",
        setp("spec.pod", {"tolerations": [{"key": "k", "operator": "Like"}]}),
        "spec.pod.tolerations[0].operator",
        "Unsupported",
    ),
    (
        "tolerations-max-items",
        setp("spec.pod", {"tolerations": [{"operator": "Exists"}] * 33}),
        "spec.pod.tolerations",
        "at most 32",
    ),
    (
        "label-value-pattern",
        setp("spec.pod", {"labels": {"team": "not ok!"}}),
        "spec.pod.labels[team]",
        "should match",
    ),
    (
        "quantity-pattern",
        setp("spec.pod", {"resources": {"limits": {"memory": "lots"}}}),
        "spec.pod.resources.limits[memory]",
        "should match",
    ),
    (
        "run-as-root",
        setp("spec.pod", {"runAsUser": 0}),
        "spec.pod.runAsUser",
        "greater than",
    ),
    (
        "name-too-long",
        setp("metadata.name", "n" * 49),
        "metadata.name",
        "at most 48 characters",
    ),
    ("status-phase-enum", setp("status", {"phase": "Done"}), "status.phase", "Unsupported"),
    (
        "status-time-format",
        setp("status", {"lastScheduleTime": "yesterday"}),
        "status.lastScheduleTime",
        "date-time",
    ),
    (
        "condition-required-fields",
        setp(
            "status",
            {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "lastTransitionTime": "2025-03-27T01:00:00Z",
                        "message": "",
                    }
                ]
            },
        ),
        "status.conditions[0].reason",
        "Required",
    ),
]

# Checks no schema can make: only validate() reports these.
SEMANTIC_CASES: list[tuple[str, Callable[[Obj], None], str, str]] = [
    ("cron-out-of-range", setp("spec.schedule", "60 * * * *"), "spec.schedule", "invalid cron"),
    ("cron-bad-step", setp("spec.schedule", "*/0 * * * *"), "spec.schedule", "invalid cron"),
    ("cron-six-fields", setp("spec.schedule", "0 0 1 * * *"), "spec.schedule", "5 fields"),
    ("cron-never-fires", setp("spec.schedule", "0 0 31 2 *"), "spec.schedule", "never fires"),
    ("cron-never-fires-30-feb", setp("spec.schedule", "0 0 30 2 *"), "spec.schedule", "never"),
    ("cron-unknown-macro", setp("spec.schedule", "@every 1h"), "spec.schedule", "unknown macro"),
    (
        "cron-tz-prefix",
        setp("spec.schedule", "CRON_TZ=Europe/Berlin 0 1 * * *"),
        "spec.schedule",
        "spec.timeZone",
    ),
    ("tz-prefix", setp("spec.schedule", "TZ=UTC 0 1 * * *"), "spec.schedule", "spec.timeZone"),
    ("time-zone-unknown", setp("spec.timeZone", "Mars/Olympus"), "spec.timeZone", "unknown"),
    ("retention-below-1h", setp("spec.retention", "59m"), "spec.retention", "at least 1h"),
    ("retention-zero", setp("spec.retention", "0d"), "spec.retention", "at least 1h"),
]


def problems_for(mutate: Callable[[Obj], None]) -> list[FieldProblem]:
    obj = base()
    mutate(obj)
    return validate(obj)


def test_base_object_is_valid() -> None:
    assert validate(base()) == []


@pytest.mark.parametrize(
    ("mutate", "path", "text"),
    [c[1:] for c in SCHEMA_CASES + SEMANTIC_CASES],
    ids=[c[0] for c in SCHEMA_CASES + SEMANTIC_CASES],
)
def test_each_rule_reports_its_field(mutate: Callable[[Obj], None], path: str, text: str) -> None:
    problems = problems_for(mutate)
    assert [p.path for p in problems] == [path], problems
    assert text in problems[0].message


@pytest.fixture(scope="module")
def emulator_schema() -> StructuralSchema:
    return StructuralSchema.from_crd_version(crd()["spec"]["versions"][0])


@pytest.mark.parametrize(
    ("mutate", "path"),
    [(c[1], c[2]) for c in SCHEMA_CASES],
    ids=[c[0] for c in SCHEMA_CASES],
)
def test_the_crd_rejects_the_same_field(
    emulator_schema: StructuralSchema, mutate: Callable[[Obj], None], path: str
) -> None:
    """The generated CRD, evaluated by the emulator (CEL included), agrees with validate()."""
    obj = base()
    mutate(obj)
    errors = [
        e
        for e in emulator_schema.validate(emulator_schema.apply_defaults(obj))
        # The server's note that CEL was skipped because of an earlier error.
        if "validation rules were not checked" not in e.message
    ]
    fields = {e.field for e in errors}
    if path == "metadata.name":  # a root rule: the server reports it at the root
        assert fields == {"<nil>"}
        assert "metadata.name" in errors[0].message
    else:
        assert fields == {path}, errors


@pytest.mark.parametrize(
    "mutate", [c[1] for c in SEMANTIC_CASES], ids=[c[0] for c in SEMANTIC_CASES]
)
def test_semantic_problems_pass_the_crd_or_fail_it_at_the_same_field(
    emulator_schema: StructuralSchema, mutate: Callable[[Obj], None]
) -> None:
    obj = base()
    mutate(obj)
    errors = emulator_schema.validate(emulator_schema.apply_defaults(obj))
    assert {e.field for e in errors} <= {p.path for p in validate(obj)}


@pytest.mark.parametrize(
    "schedule",
    [
        "H 1 * * *",
        "H(0-29)/10 * * * *",
        "H H * * 1-5",
        "@hourly",
        "@daily",
        "@midnight",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        "*/15 * * * *",
        "0 0 29 2 *",
        "0 3 * * mon-fri",
        "  0 1 * * *  ",
    ],
)
def test_accepted_schedules(schedule: str) -> None:
    assert problems_for(setp("spec.schedule", schedule)) == []


@pytest.mark.parametrize("retention", ["1h", "60m", "3600s", "336h", "14d", "1d12h"])
def test_accepted_retentions(retention: str) -> None:
    assert problems_for(setp("spec.retention", retention)) == []


def test_parse_duration_units() -> None:
    assert parse_duration("14d").total_seconds() == 14 * 86400
    assert parse_duration("1h30m15s").total_seconds() == 5415
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration("336h\n")


def test_unknown_time_zone_does_not_hide_a_bad_schedule() -> None:
    obj = base()
    obj["spec"] |= {"timeZone": "Nowhere/Land", "schedule": "61 * * * *"}
    assert [p.path for p in validate(obj)] == ["spec.timeZone", "spec.schedule"]


def test_every_problem_is_reported_at_once() -> None:
    obj = base()
    obj["spec"] |= {"image": "a b", "retention": "5m", "concurrencyPolicy": "Never"}
    obj["spec"]["storage"] = {}
    assert {p.path for p in validate(obj)} == {
        "spec.image",
        "spec.retention",
        "spec.concurrencyPolicy",
        "spec.storage",
    }


def test_validate_does_not_mutate_its_input() -> None:
    obj = base()
    before = copy.deepcopy(obj)
    validate(obj)
    apply_defaults(obj)
    assert obj == before


def test_apply_defaults_matches_the_crd_defaulting(emulator_schema: StructuralSchema) -> None:
    obj = base()
    obj["spec"]["database"]["credentialsSecretRef"] = {"name": "db"}
    obj["spec"]["storage"]["s3"]["credentialsSecretRef"] = {"name": "s3"}
    ours = apply_defaults(obj)
    assert ours == emulator_schema.apply_defaults(obj)
    assert ours["spec"]["timeZone"] == "UTC"
    assert ours["spec"]["database"]["credentialsSecretRef"]["passwordKey"] == "password"


def test_samples_are_valid() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "config" / "samples"
    samples = sorted(root.glob("dbbackup_v1alpha1_*_backup.yaml"))  # the restore is not one
    assert len(samples) == 3
    for path in samples:
        assert validate(yaml.safe_load(path.read_text())) == [], path.name


@pytest.mark.parametrize(
    "mutate",
    [c[1] for c in SCHEMA_CASES + SEMANTIC_CASES],
    ids=[c[0] for c in SCHEMA_CASES + SEMANTIC_CASES],
)
def test_validate_sees_the_defaults_without_copying_or_mutating(
    mutate: Callable[[Obj], None],
) -> None:
    """validate() checks a copy-on-write defaulted view: the same verdict as on the object
    the API server stores (defaults applied), and the caller's object is left as it was."""
    obj = base()
    mutate(obj)
    before = copy.deepcopy(obj)
    assert validate(obj) == validate(apply_defaults(obj))
    assert obj == before
