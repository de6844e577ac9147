"""The ``DatabaseBackup`` resource as frozen dataclasses: spec, storage, pod overrides, status.

Role: the single declaration of every field of the API. Descriptions, defaults, enums,
patterns and bounds are written beside each field with :func:`~api.v1alpha1.markers.prop`;
the CRD (``python -m api.v1alpha1.crdgen``) and :func:`~api.v1alpha1.validation.validate` are
derived from these classes, so they describe the same thing.

Guarantees: :meth:`DatabaseBackup.from_dict` applies the same defaults the CRD applies, never
mutates its input and ignores unknown fields. Non-goals: semantic validation (cron syntax,
time zones, retention bounds: :mod:`api.v1alpha1.validation`); every ``*SecretRef`` names a
Secret in the backup's own namespace, so no reference has a ``namespace`` field.
"""

# Fields are declared with ``prop()``, a ``dataclasses.field`` wrapper ruff cannot see through.
# ruff: noqa: RUF009

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from api.v1alpha1.groupversion import MAX_NAME_LENGTH
from api.v1alpha1.markers import Rule, field_json_name, prop
from api.v1alpha1.root import RootObject, name_length_rule
from api.v1alpha1.status import DatabaseBackupStatus

__all__ = [
    "CONCURRENCY_ALLOW",
    "CONCURRENCY_FORBID",
    "CONCURRENCY_REPLACE",
    "DEFAULT_BACKOFF_LIMIT",
    "DEFAULT_CONCURRENCY_POLICY",
    "DEFAULT_FAILED_JOBS_HISTORY_LIMIT",
    "DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT",
    "DEFAULT_TIME_ZONE",
    "DNS_SUBDOMAIN",
    "SCHEDULE_PATH",
    "STARTING_DEADLINE_PATH",
    "TIME_ZONE_PATH",
    "DatabaseBackup",
    "DatabaseBackupSpec",
    "DatabaseBackupStatus",  # re-exported from api.v1alpha1.status
    "DatabaseSpec",
    "GCSStorage",
    "PVCStorage",
    "PodOverrides",
    "S3Storage",
    "StorageSpec",
]

# spec.concurrencyPolicy, as CronJob's: start anyway, skip the run, or stop the running one.
CONCURRENCY_ALLOW = "Allow"
CONCURRENCY_FORBID = "Forbid"
CONCURRENCY_REPLACE = "Replace"

# Defaults, each a named constant (CronJob's where the field is CronJob's).
DEFAULT_TIME_ZONE = "UTC"
DEFAULT_CONCURRENCY_POLICY = CONCURRENCY_FORBID  # a backup overlapping the last rarely helps
DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT = 3  # CronJob's default
DEFAULT_FAILED_JOBS_HISTORY_LIMIT = 1  # CronJob's default
DEFAULT_BACKOFF_LIMIT = 2  # a dump is heavy: retry twice, not the Job default of six times
DEFAULT_DB_USERNAME_KEY = "username"
DEFAULT_DB_PASSWORD_KEY = "password"
DEFAULT_S3_ACCESS_KEY_ID_KEY = "AWS_ACCESS_KEY_ID"
DEFAULT_S3_SECRET_ACCESS_KEY_KEY = "AWS_SECRET_ACCESS_KEY"
DEFAULT_GCS_KEY = "key.json"

# Patterns are RE2-compatible (the API server is Go) and mean the same in Python's ``re``.
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
NO_SPACE = r"^\S+$"
SCHEDULE_SHAPE = r"^\s*(@[a-z]+|\S+(\s+\S+){4})\s*$"
DURATION = r"^([0-9]{1,6}[dhms])+$"
QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]"
    r"|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
INT32_MAX = 2147483647
DNS_MAX = 253


def _secret_name(description: str) -> Any:
    return prop(description, required=True, max_length=DNS_MAX, pattern=DNS_SUBDOMAIN)


def _secret_key(description: str, default: str) -> Any:
    return prop(description, default=default, max_length=DNS_MAX, pattern=SECRET_KEY)


# -- database -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class DatabaseCredentialsRef:
    """A Secret in the backup's namespace holding the database user name and password."""

    name: str = _secret_name("Name of the Secret (in the backup's namespace).")
    username_key: str = _secret_key("Key of the user name in the Secret.", DEFAULT_DB_USERNAME_KEY)
    password_key: str = _secret_key("Key of the password in the Secret.", DEFAULT_DB_PASSWORD_KEY)


@dataclass(frozen=True, kw_only=True, slots=True)
class DatabaseSpec:
    """The database to back up."""

    type: str = prop(
        "Database engine; the backup image dispatches on it.",
        required=True,
        enum=("postgresql", "mysql", "mariadb", "mongodb"),
    )
    host: str = prop(
        "Host name or IP address of the database server.",
        required=True,
        max_length=DNS_MAX,
        pattern=r"^[A-Za-z0-9_.:\[\]-]+$",
    )
    port: int | None = prop(
        "TCP port; the engine's well-known port (5432, 3306, 27017) when unset.",
        minimum=1,
        maximum=65535,
    )
    name: str | None = prop(
        "Database to dump; when unset the image dumps every database the user can read.",
        max_length=128,
        pattern=NO_SPACE,
    )
    credentials_secret_ref: DatabaseCredentialsRef | None = prop(
        "Secret with the database credentials, passed to the Job as secretKeyRef variables."
    )


# -- storage --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class S3CredentialsRef:
    """A Secret in the backup's namespace holding an S3 access key pair."""

    name: str = _secret_name("Name of the Secret (in the backup's namespace).")
    access_key_id_key: str = _secret_key(
        "Key of the access key id in the Secret.", DEFAULT_S3_ACCESS_KEY_ID_KEY
    )
    secret_access_key_key: str = _secret_key(
        "Key of the secret access key in the Secret.", DEFAULT_S3_SECRET_ACCESS_KEY_KEY
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class GCSCredentialsRef:
    """A Secret in the backup's namespace holding a service account key file (JSON)."""

    name: str = _secret_name("Name of the Secret (in the backup's namespace).")
    key: str = _secret_key("Key of the key file in the Secret.", DEFAULT_GCS_KEY)


_PREFIX: dict[str, Any] = {"max_length": 1024, "pattern": r"^[^/\s]\S*$"}


def _bucket_name(max_length: int, pattern: str) -> Any:
    """A bucket's name: required and at least 3 characters for both S3 and GCS, which differ
    in the longest name and the characters allowed."""
    return prop("Bucket name.", required=True, min_length=3, max_length=max_length, pattern=pattern)


@dataclass(frozen=True, kw_only=True, slots=True)
class S3Storage:
    """An S3 (or S3-compatible) bucket."""

    bucket: str = _bucket_name(63, r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
    prefix: str | None = prop("Key prefix inside the bucket (no leading slash).", **_PREFIX)
    region: str | None = prop("Bucket region.", max_length=64, pattern=r"^[a-z0-9-]+$")
    endpoint: str | None = prop(
        "Endpoint URL of an S3-compatible service; unset means AWS.",
        max_length=1024,
        pattern=r"^https?://\S+$",
    )
    credentials_secret_ref: S3CredentialsRef | None = prop(
        "Secret with the access key pair; unset when the pod's service account grants access."
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class GCSStorage:
    """A Google Cloud Storage bucket."""

    bucket: str = _bucket_name(222, r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$")
    prefix: str | None = prop("Object name prefix inside the bucket.", **_PREFIX)
    credentials_secret_ref: GCSCredentialsRef | None = prop(
        "Secret with a key file, mounted read-only; unset when workload identity grants access."
    )


def _relative_path_ok(value: Any) -> bool:
    return isinstance(value, str) and ".." not in value.split("/")


@dataclass(frozen=True, kw_only=True, slots=True)
class PVCStorage:
    """A PersistentVolumeClaim in the backup's namespace, mounted into the backup pod."""

    claim_name: str = prop(
        "Name of the claim.", required=True, max_length=DNS_MAX, pattern=DNS_SUBDOMAIN
    )
    sub_path: str | None = prop(
        "Directory inside the volume (relative, no '..').",
        max_length=1024,
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
        rules=(
            Rule(
                cel="!self.split('/').exists(s, s == '..')",
                message="must not contain '..'",
                check=_relative_path_ok,
            ),
        ),
    )


def _one_storage(value: Any) -> bool:
    return isinstance(value, Mapping) and sum(k in value for k in ("s3", "gcs", "pvc")) == 1


@dataclass(frozen=True, kw_only=True, slots=True)
class StorageSpec:
    """Where backups go: exactly one of s3, gcs or pvc."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        Rule(
            cel="(has(self.s3) ? 1 : 0) + (has(self.gcs) ? 1 : 0) + (has(self.pvc) ? 1 : 0) == 1",
            message="exactly one of s3, gcs or pvc must be set",
            check=_one_storage,
        ),
    )

    s3: S3Storage | None = prop("An S3 or S3-compatible bucket.")
    gcs: GCSStorage | None = prop("A Google Cloud Storage bucket.")
    pvc: PVCStorage | None = prop("A PersistentVolumeClaim, mounted at the storage path.")


# -- pod overrides --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ResourceRequirements:
    """Compute resources of the backup container (core/v1 ResourceRequirements)."""

    limits: Mapping[str, int | str] = prop(
        "Maximum resources, e.g. cpu: 500m, memory: 1Gi.",
        factory=dict,
        max_properties=16,
        value_max_length=64,
        value_pattern=QUANTITY,
    )
    requests: Mapping[str, int | str] = prop(
        "Requested resources, e.g. cpu: 100m, memory: 256Mi.",
        factory=dict,
        max_properties=16,
        value_max_length=64,
        value_pattern=QUANTITY,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Toleration:
    """A toleration (core/v1 Toleration) for the backup pod."""

    key: str | None = prop("Taint key; empty with operator Exists matches all.", max_length=316)
    operator: str | None = prop("Key relation to the value.", enum=("Exists", "Equal"))
    value: str | None = prop("Taint value matched with operator Equal.", max_length=63)
    effect: str | None = prop(
        "Taint effect to match; empty matches all.",
        enum=("NoSchedule", "PreferNoSchedule", "NoExecute"),
    )
    toleration_seconds: int | None = prop(
        "How long a NoExecute taint is tolerated, in seconds.", minimum=0
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalObjectReference:
    """A reference to an object in the backup's namespace by name."""

    name: str = _secret_name("Name of the object (in the backup's namespace).")


@dataclass(frozen=True, kw_only=True, slots=True)
class PodOverrides:
    """What platform teams set on backup pods; everything else is fixed by the operator."""

    resources: ResourceRequirements | None = prop("Compute resources of the backup container.")
    node_selector: Mapping[str, str] = prop(
        "Node labels the pod must run on.",
        factory=dict,
        max_properties=32,
        value_max_length=63,
        value_pattern=LABEL_VALUE,
    )
    tolerations: tuple[Toleration, ...] = prop(
        "Tolerations of the pod.", factory=tuple, max_items=32
    )
    affinity: Mapping[str, Any] | None = prop(
        "Scheduling constraints (core/v1 Affinity), checked by the API server when the Job "
        "is created.",
        preserve_unknown=True,
    )
    service_account_name: str | None = prop(
        "ServiceAccount the pod runs as (e.g. for workload identity); when unset the pod gets "
        "no API token.",
        max_length=DNS_MAX,
        pattern=DNS_SUBDOMAIN,
    )
    image_pull_secrets: tuple[LocalObjectReference, ...] = prop(
        "Secrets for pulling the backup image.", factory=tuple, max_items=16
    )
    priority_class_name: str | None = prop(
        "PriorityClass of the pod.", max_length=DNS_MAX, pattern=DNS_SUBDOMAIN
    )
    annotations: Mapping[str, str] = prop(
        "Annotations added to the pod.", factory=dict, max_properties=64, value_max_length=8192
    )
    labels: Mapping[str, str] = prop(
        "Labels added to the pod; the operator's own labels take precedence.",
        factory=dict,
        max_properties=32,
        value_max_length=63,
        value_pattern=LABEL_VALUE,
    )
    run_as_user: int | None = prop(
        "UID the container runs as (must not be 0); defaults to the image's USER.",
        minimum=1,
        maximum=INT32_MAX,
    )
    run_as_group: int | None = prop("GID the container runs as.", minimum=0, maximum=INT32_MAX)
    fs_group: int | None = prop(
        "Group that owns mounted volumes, so a non-root backup can write to a PVC.",
        minimum=0,
        maximum=INT32_MAX,
    )


# -- spec -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class DatabaseBackupSpec:
    """The desired schedule, database, image, storage and retention of a backup."""

    schedule: str = prop(
        "Cron schedule: five fields (minute hour day-of-month month day-of-week), or @hourly, "
        "@daily, @midnight, @weekly, @monthly, @yearly, @annually. 'H' in a field picks a "
        "stable value derived from the backup's namespace/name, spreading load (e.g. "
        "'H 1 * * *'). The time zone is spec.timeZone, not a CRON_TZ= prefix.",
        required=True,
        max_length=256,
        pattern=SCHEDULE_SHAPE,
    )
    time_zone: str = prop(
        "IANA time zone the schedule is interpreted in.",
        default=DEFAULT_TIME_ZONE,
        max_length=64,
        pattern=r"^[A-Za-z0-9_+/-]+$",
    )
    suspend: bool = prop("Stop scheduling new runs; running ones continue.", default=False)
    concurrency_policy: str = prop(
        "What to do when a run is due while the previous one is still running.",
        default=DEFAULT_CONCURRENCY_POLICY,
        enum=(CONCURRENCY_FORBID, CONCURRENCY_ALLOW, CONCURRENCY_REPLACE),
    )
    starting_deadline_seconds: int | None = prop(
        "A run that cannot start within this many seconds of its scheduled time is skipped.",
        minimum=0,
        maximum=INT32_MAX,
    )
    successful_jobs_history_limit: int = prop(
        "Finished successful Jobs to keep.",
        default=DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT,
        minimum=0,
        maximum=100,
    )
    failed_jobs_history_limit: int = prop(
        "Finished failed Jobs to keep.",
        default=DEFAULT_FAILED_JOBS_HISTORY_LIMIT,
        minimum=0,
        maximum=100,
    )
    backoff_limit: int = prop(
        "Retries of a failed backup pod before the run counts as failed.",
        default=DEFAULT_BACKOFF_LIMIT,
        minimum=0,
        maximum=20,
    )
    active_deadline_seconds: int | None = prop(
        "Seconds a run may take before it is stopped and counts as failed.",
        minimum=1,
        maximum=INT32_MAX,
    )
    database: DatabaseSpec = prop("The database to back up.", required=True)
    image: str = prop(
        "Backup image implementing the backup-image contract (environment variables).",
        required=True,
        max_length=512,
        pattern=NO_SPACE,
    )
    image_pull_policy: str | None = prop(
        "Pull policy of the backup image; the Kubernetes default when unset.",
        enum=("Always", "IfNotPresent", "Never"),
    )
    storage: StorageSpec = prop("Where backups are written.", required=True)
    retention: str | None = prop(
        "How long the image keeps backups, e.g. 336h or 14d (units d, h, m, s; at least 1h); "
        "unset keeps them all.",
        max_length=32,
        pattern=DURATION,
    )
    pod: PodOverrides | None = prop("Settings for the backup pod.")


# -- the resource ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class DatabaseBackup(RootObject):
    """DatabaseBackup runs a backup of one database on a cron schedule, as a Job per run."""

    RULES: ClassVar[tuple[Rule, ...]] = (
        name_length_rule(
            MAX_NAME_LENGTH,
            f"metadata.name must be at most {MAX_NAME_LENGTH} characters, so that "
            "Job names (<name>-<YYYYmmddHHMMSS>) fit in 63",
        ),
    )

    spec: DatabaseBackupSpec = prop("Desired state of the backup.", required=True)
    status: DatabaseBackupStatus | None = prop("Observed state of the backup.")

    @classmethod
    def identity_and_spec(cls, obj: Mapping[str, Any]) -> DatabaseBackup:
        """:meth:`from_dict` of what one (uid, generation) fixes: ``metadata`` reduced to name,
        namespace and uid, no ``status`` (both change without a new generation), so that a
        decoded backup can be kept for as long as its generation lasts."""
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        identity = {key: meta[key] for key in ("name", "namespace", "uid") if key in meta}
        return cls.from_dict({**obj, "metadata": identity, "status": None})


# Field paths the operator names in conditions and Events, derived from the declarations.
SCHEDULE_PATH = f"spec.{field_json_name(DatabaseBackupSpec, 'schedule')}"
TIME_ZONE_PATH = f"spec.{field_json_name(DatabaseBackupSpec, 'time_zone')}"
STARTING_DEADLINE_PATH = f"spec.{field_json_name(DatabaseBackupSpec, 'starting_deadline_seconds')}"
