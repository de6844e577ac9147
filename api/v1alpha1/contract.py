"""The backup-image contract: the environment variables every backup container receives.

Role: the one source of truth for the variable names (the Job builder sets them from here) and
for their documentation (``CONTRACT.md`` is generated from :data:`VARIABLES` by
``python -m api.v1alpha1.crdgen --contract``; a test keeps the committed file equal to it).

Guarantees: every variable whose ``when`` is ``always`` is set in every Job, in this order,
to an empty string when it does not apply, so an image can rely on the full set; credential
variables are set only when the backup references a Secret, and only as ``secretKeyRef``
(never a literal value); file paths are fixed constants.
Non-goals: how an image dumps or uploads, or how it applies retention (the image decides).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "GCS_KEY_DIR",
    "GCS_KEY_FILE",
    "SCRATCH_DIR",
    "STORAGE_MOUNT_PATH",
    "VARIABLES",
    "EnvVar",
    "markdown",
]

SCRATCH_DIR = "/tmp"  # an emptyDir: the root filesystem is read-only
STORAGE_MOUNT_PATH = "/backup"  # where a pvc storage target is mounted
GCS_KEY_DIR = "/var/run/secrets/dbbackup.io/gcs"
GCS_KEY_FILE = f"{GCS_KEY_DIR}/key.json"

# Names. Constants so a typo is a NameError, not a silently missing variable.
BACKUP_NAME = "BACKUP_NAME"
BACKUP_NAMESPACE = "BACKUP_NAMESPACE"
BACKUP_JOB_NAME = "BACKUP_JOB_NAME"
BACKUP_SCHEDULED_TIME = "BACKUP_SCHEDULED_TIME"
BACKUP_RETENTION = "BACKUP_RETENTION"
BACKUP_RETENTION_SECONDS = "BACKUP_RETENTION_SECONDS"
DB_TYPE = "DB_TYPE"
DB_HOST = "DB_HOST"
DB_PORT = "DB_PORT"
DB_NAME = "DB_NAME"
STORAGE_TYPE = "STORAGE_TYPE"
STORAGE_URL = "STORAGE_URL"
STORAGE_BUCKET = "STORAGE_BUCKET"
STORAGE_PREFIX = "STORAGE_PREFIX"
STORAGE_REGION = "STORAGE_REGION"
STORAGE_ENDPOINT = "STORAGE_ENDPOINT"
STORAGE_PATH = "STORAGE_PATH"
HOME = "HOME"
TMPDIR = "TMPDIR"
DB_USER = "DB_USER"
DB_PASSWORD = "DB_PASSWORD"
AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
GOOGLE_APPLICATION_CREDENTIALS = "GOOGLE_APPLICATION_CREDENTIALS"

ALWAYS = "always"


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One variable of the contract: when it is set, what it holds, an example."""

    name: str
    when: str
    meaning: str
    example: str


VARIABLES: tuple[EnvVar, ...] = (
    EnvVar(BACKUP_NAME, ALWAYS, "Name of the DatabaseBackup.", "postgres-daily-backup"),
    EnvVar(BACKUP_NAMESPACE, ALWAYS, "Its namespace.", "default"),
    EnvVar(
        BACKUP_JOB_NAME,
        ALWAYS,
        "Name of this run's Job; unique per scheduled time, use it to name the dump.",
        "postgres-daily-backup-20250327010000",
    ),
    EnvVar(
        BACKUP_SCHEDULED_TIME,
        ALWAYS,
        "Scheduled time of this run, RFC 3339 in UTC.",
        "2025-03-27T01:00:00Z",
    ),
    EnvVar(
        BACKUP_RETENTION,
        ALWAYS,
        "`spec.retention` as written; empty: keep every backup.",
        "336h",
    ),
    EnvVar(
        BACKUP_RETENTION_SECONDS,
        ALWAYS,
        "The retention in seconds; empty: keep every backup.",
        "1209600",
    ),
    EnvVar(DB_TYPE, ALWAYS, "`postgresql`, `mysql`, `mariadb` or `mongodb`.", "postgresql"),
    EnvVar(DB_HOST, ALWAYS, "Database host.", "postgres.default.svc"),
    EnvVar(
        DB_PORT,
        ALWAYS,
        "Database port (the engine's well-known port when `spec.database.port` is unset).",
        "5432",
    ),
    EnvVar(DB_NAME, ALWAYS, "Database to dump; empty: every database the user can read.", "app"),
    EnvVar(STORAGE_TYPE, ALWAYS, "`s3`, `gcs` or `pvc`.", "s3"),
    EnvVar(
        STORAGE_URL,
        ALWAYS,
        "Where to write, as a URL: `s3://bucket/prefix`, `gs://bucket/prefix`, or the mounted "
        "directory for `pvc`.",
        "s3://my-database-backups/postgres/daily",
    ),
    EnvVar(STORAGE_BUCKET, ALWAYS, "Bucket (`s3`, `gcs`); empty for `pvc`.", "my-database-backups"),
    EnvVar(STORAGE_PREFIX, ALWAYS, "Prefix inside the bucket; may be empty.", "postgres/daily"),
    EnvVar(STORAGE_REGION, ALWAYS, "S3 region; may be empty.", "eu-west-1"),
    EnvVar(
        STORAGE_ENDPOINT,
        ALWAYS,
        "S3-compatible endpoint URL; empty means AWS.",
        "https://minio.example:9000",
    ),
    EnvVar(
        STORAGE_PATH,
        ALWAYS,
        f"Directory to write to for `pvc` (the claim, mounted at `{STORAGE_MOUNT_PATH}`, plus "
        "`subPath`); empty otherwise.",
        STORAGE_MOUNT_PATH,
    ),
    EnvVar(
        HOME,
        ALWAYS,
        f"`{SCRATCH_DIR}`: the root filesystem is read-only, tools that write under `$HOME` "
        "need a writable one.",
        SCRATCH_DIR,
    ),
    EnvVar(TMPDIR, ALWAYS, f"`{SCRATCH_DIR}`, an `emptyDir` for temporary files.", SCRATCH_DIR),
    EnvVar(
        DB_USER,
        "`spec.database.credentialsSecretRef` is set",
        "Database user (`secretKeyRef`, key `usernameKey`, default `username`).",
        "(from Secret)",
    ),
    EnvVar(
        DB_PASSWORD,
        "`spec.database.credentialsSecretRef` is set",
        "Database password (`secretKeyRef`, key `passwordKey`, default `password`).",
        "(from Secret)",
    ),
    EnvVar(
        AWS_ACCESS_KEY_ID,
        "`spec.storage.s3.credentialsSecretRef` is set",
        "S3 access key id (`secretKeyRef`, key `accessKeyIdKey`, default `AWS_ACCESS_KEY_ID`).",
        "(from Secret)",
    ),
    EnvVar(
        AWS_SECRET_ACCESS_KEY,
        "`spec.storage.s3.credentialsSecretRef` is set",
        "S3 secret access key (`secretKeyRef`, key `secretAccessKeyKey`, default "
        "`AWS_SECRET_ACCESS_KEY`).",
        "(from Secret)",
    ),
    EnvVar(
        GOOGLE_APPLICATION_CREDENTIALS,
        "`spec.storage.gcs.credentialsSecretRef` is set",
        "Path of the GCS key file, mounted read-only from the Secret (key `key`, default "
        "`key.json`).",
        GCS_KEY_FILE,
    ),
)

_PREAMBLE = """\
# The backup-image contract

The operator does not dump databases itself: for every scheduled run it creates a Job whose
single container runs `spec.image` with its own entrypoint (no command, no arguments, no
shell) and these environment variables. The image dumps `DB_*`, writes to `STORAGE_*`, applies
the retention to what it finds there, and exits 0 on success; a non-zero exit is retried up to
`spec.backoffLimit` times, then the run counts as failed.

Generated from `api/v1alpha1/contract.py` (`make manifests`); do not edit.

| variable | set when | meaning | example |
| --- | --- | --- | --- |
"""

_POSTAMBLE = f"""
The container runs under the Pod Security "restricted" profile: as a non-root user (the
image's numeric `USER`, or `spec.pod.runAsUser`), no privilege escalation, all capabilities
dropped, the `RuntimeDefault` seccomp profile, a read-only root filesystem, and an `emptyDir`
at `{SCRATCH_DIR}` for scratch space. The pod gets no Kubernetes API token unless
`spec.pod.serviceAccountName` is set (for cloud workload identity). Credentials reach the
container only as `secretKeyRef` variables or a read-only Secret volume, never as literal
values. Every `$` in a value is written as `$$`, so the kubelet passes values through
verbatim instead of expanding `$(VAR)` references.

The Jobs have no `ttlSecondsAfterFinished`: the operator deletes finished Jobs beyond
`spec.successfulJobsHistoryLimit` / `spec.failedJobsHistoryLimit`, and records every run in
`status.history`, which outlives the Jobs.
"""


def markdown() -> str:
    """``CONTRACT.md``: the table of :data:`VARIABLES` with its preamble and notes."""
    rows = "".join(f"| `{v.name}` | {v.when} | {v.meaning} | `{v.example}` |\n" for v in VARIABLES)
    return _PREAMBLE + rows + _POSTAMBLE
