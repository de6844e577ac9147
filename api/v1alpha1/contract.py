"""The backup-image contract: the environment variables every backup container receives.

Role: the one source of truth for the variable names (the Job builder sets them from here) and
for their documentation (``CONTRACT.md`` is generated from :data:`VARIABLES` by
``python -m api.v1alpha1.crdgen --contract``; a test keeps the committed file equal to it).

Guarantees: every variable whose ``when`` is ``always`` is set in every Job, in this order,
to an empty string when it does not apply, so an image can rely on the full set; credential
variables are set only when the backup references a Secret, and only as ``secretKeyRef``
(never a literal value); file paths are fixed constants.
The object layout (:func:`dump_object_name`, :func:`manifest_object_name`) and the exit codes
(:data:`EXIT_CODES`) are defined here once, so the operator and ``dbbackup-runner`` agree.
Non-goals: how an image dumps or uploads, or how it applies retention (the image decides).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COMPRESSION",
    "COMPRESSION_EXTENSION",
    "DUMP_FORMATS",
    "EXIT_CODES",
    "EXIT_CONFIG",
    "EXIT_DB_AUTH",
    "EXIT_DB_UNREACHABLE",
    "EXIT_INTERNAL",
    "EXIT_STORAGE",
    "EXIT_TOOL_FAILED",
    "EXIT_UPLOAD",
    "EXIT_VERIFY",
    "GCS_KEY_DIR",
    "GCS_KEY_FILE",
    "MANIFEST_EXTENSION",
    "NON_RETRIABLE_EXIT_CODES",
    "SCRATCH_DIR",
    "STORAGE_MOUNT_PATH",
    "VARIABLES",
    "EnvVar",
    "ExitCode",
    "describe_exit_code",
    "dump_object_name",
    "manifest_object_name",
    "markdown",
]

SCRATCH_DIR = "/tmp"  # an emptyDir: the root filesystem is read-only
STORAGE_MOUNT_PATH = "/backup"  # where a pvc storage target is mounted
GCS_KEY_DIR = "/var/run/secrets/dbbackup.io/gcs"
GCS_KEY_FILE = f"{GCS_KEY_DIR}/key.json"

# Names. Constants so a typo is a NameError, not a silently missing variable.
BACKUP_NAME = "BACKUP_NAME"
BACKUP_NAMESPACE = "BACKUP_NAMESPACE"
BACKUP_UID = "BACKUP_UID"
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
        BACKUP_UID,
        ALWAYS,
        "Its `metadata.uid` (tells a re-created backup of the same name apart).",
        "0f9b6c3e-5d1a-4c2b-9e8f-7a6b5c4d3e2f",
    ),
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
        "S3-compatible endpoint URL; empty means AWS. `dbbackup-runner` also reads it for "
        "`gcs` (a JSON-API endpoint such as an emulator; empty means Google's).",
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

# The object layout: <STORAGE_URL>/<BACKUP_JOB_NAME>.<format>.<compression extension>, and the
# manifest <BACKUP_JOB_NAME>.json beside it.
DUMP_FORMATS = {"postgresql": "sql", "mysql": "sql", "mariadb": "sql", "mongodb": "archive"}
COMPRESSION = "zstd"
COMPRESSION_EXTENSION = "zst"
MANIFEST_EXTENSION = "json"


def dump_object_name(job_name: str, db_type: str) -> str:
    """The dump's object name: ``<job>.sql.zst`` (SQL engines) or ``<job>.archive.zst``."""
    return f"{job_name}.{DUMP_FORMATS[db_type]}.{COMPRESSION_EXTENSION}"


def manifest_object_name(job_name: str) -> str:
    """The manifest's object name, ``<job>.json``; it is written last, after the dump."""
    return f"{job_name}.{MANIFEST_EXTENSION}"


@dataclass(frozen=True, slots=True)
class ExitCode:
    """One exit status of a backup container: its number, its cause in words, retriable."""

    code: int
    reason: str
    retriable: bool


EXIT_INTERNAL = 1
EXIT_CONFIG = 2
EXIT_DB_UNREACHABLE = 3
EXIT_DB_AUTH = 4
EXIT_TOOL_FAILED = 5
EXIT_STORAGE = 6
EXIT_UPLOAD = 7
EXIT_VERIFY = 8

EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(EXIT_INTERNAL, "backup interrupted or internal error", True),
    ExitCode(EXIT_CONFIG, "bad configuration", False),
    ExitCode(EXIT_DB_UNREACHABLE, "database unreachable", True),
    ExitCode(EXIT_DB_AUTH, "database authentication failed", False),
    ExitCode(EXIT_TOOL_FAILED, "database dump or restore tool failed", True),
    ExitCode(EXIT_STORAGE, "storage unreachable or refused", True),
    ExitCode(EXIT_UPLOAD, "upload failed", True),
    ExitCode(EXIT_VERIFY, "verification failed", True),
)
NON_RETRIABLE_EXIT_CODES: tuple[int, ...] = tuple(e.code for e in EXIT_CODES if not e.retriable)
_EXIT_REASONS = {e.code: e.reason for e in EXIT_CODES}


def describe_exit_code(code: int) -> str:
    """``database authentication failed (exit 4)``; ``exit 42`` for a code not listed."""
    reason = _EXIT_REASONS.get(code)
    return f"{reason} (exit {code})" if reason else f"exit {code}"


_PREAMBLE = """\
# The backup-image contract

The operator does not dump databases itself: for every scheduled run it creates a Job whose
single container runs `spec.image` with its own entrypoint (no command, no arguments, no
shell) and these environment variables. The image dumps `DB_*`, writes to `STORAGE_*`, applies
the retention to what it finds there, and exits 0 on success; a non-zero exit is retried up to
`spec.backoffLimit` times, then the run counts as failed. An on-demand run (`kubectl dbbackup
run`) is the same Job under another name (`<backup>-manual-<suffix>`, which `BACKUP_JOB_NAME`
carries). A `DatabaseRestore`'s Job is the one exception to "no arguments": the same image and
variables (the database possibly overridden), with `restore --from <run>`, and no retry.

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

**Object layout.** A run writes its dump to `<STORAGE_URL>/<BACKUP_JOB_NAME>.<format>.zst`
(`sql` for PostgreSQL, MySQL and MariaDB, `archive` for MongoDB; zstd-compressed), then, only
after the upload
completed, a manifest `<BACKUP_JOB_NAME>.json` beside it (identity, scheduled, start and finish
times, engine, server and tool versions, format, compression, size, SHA-256). A dump without its
manifest is incomplete: never restorable, never the last good backup. The operator records the
dump's exact URL in `status.history[].location`.

**Exit codes** of `dbbackup-runner`:

| exit code | cause | retried |
| --- | --- | --- |
| 0 | success | |
{{exit_rows}}
The Job's `podFailurePolicy` fails it at once on a code that is not retried; the operator turns
the Job's failure into `failureReason`, e.g. `database authentication failed (exit 4)`.

The Jobs have no `ttlSecondsAfterFinished`: the operator deletes finished Jobs beyond
`spec.successfulJobsHistoryLimit` / `spec.failedJobsHistoryLimit`, and records every run in
`status.history`, which outlives the Jobs.
"""


def markdown() -> str:
    """``CONTRACT.md``: the table of :data:`VARIABLES` with its preamble and notes."""
    rows = "".join(f"| `{v.name}` | {v.when} | {v.meaning} | `{v.example}` |\n" for v in VARIABLES)
    exit_rows = "".join(
        f"| {e.code} | {e.reason} | {'yes' if e.retriable else 'no'} |\n" for e in EXIT_CODES
    )
    return _PREAMBLE + rows + _POSTAMBLE.replace("{exit_rows}", exit_rows)
