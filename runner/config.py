"""The runner's configuration, read once from the backup-image contract's environment.

Role: :func:`load_config` turns the environment (a mapping, so tests pass their own) into a
frozen :class:`Config`, or raises :class:`~runner.errors.ConfigError` naming every problem.
Guarantees: credentials are kept out of ``repr`` (they never reach a log by accident); the
dump's object name comes from :mod:`api.v1alpha1.contract`, as the operator computes it.
Non-goals: talking to the database or the storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from api.v1alpha1 import contract as c
from api.v1alpha1.times import parse_rfc3339
from runner.errors import ConfigError

__all__ = ["DB_TYPES", "STORAGE_TYPES", "Config", "load_config"]

DB_TYPES = tuple(c.DUMP_FORMATS)
STORAGE_TYPES = ("s3", "gcs", "pvc")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a run needs; secrets are excluded from ``repr``."""

    backup_name: str
    namespace: str
    uid: str
    job_name: str
    scheduled_time: datetime
    retention_seconds: int | None
    db_type: str
    db_host: str
    db_port: int
    db_name: str
    storage_type: str
    storage_url: str
    bucket: str
    prefix: str
    region: str
    endpoint: str
    path: str
    scratch_dir: str
    db_user: str = field(default="", repr=False)
    db_password: str = field(default="", repr=False)
    aws_access_key_id: str = field(default="", repr=False)
    aws_secret_access_key: str = field(default="", repr=False)
    gcs_key_file: str = ""

    @property
    def dump_name(self) -> str:
        """This run's dump object name."""
        return c.dump_object_name(self.job_name, self.db_type)

    @property
    def manifest_name(self) -> str:
        """This run's manifest object name."""
        return c.manifest_object_name(self.job_name)

    def secrets(self) -> tuple[str, ...]:
        """The values that must never be logged."""
        values = (self.db_password, self.aws_secret_access_key, self.aws_access_key_id)
        return tuple(v for v in values if v)


def _int(env: Mapping[str, str], name: str, problems: list[str]) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name} must be an integer, not {raw!r}")
        return None
    if value < 0:
        problems.append(f"{name} must not be negative")
        return None
    return value


def load_config(env: Mapping[str, str], *, need_job: bool = True) -> Config:
    """Read the contract's variables from ``env``. ``need_job=False`` (list, verify,
    restore) does not require this run's identity (job name, scheduled time)."""
    problems: list[str] = []
    get = env.get
    db_type = get(c.DB_TYPE, "")
    if db_type not in DB_TYPES:
        problems.append(f"{c.DB_TYPE} must be one of {', '.join(DB_TYPES)}, not {db_type!r}")
    storage_type = get(c.STORAGE_TYPE, "")
    if storage_type not in STORAGE_TYPES:
        problems.append(
            f"{c.STORAGE_TYPE} must be one of {', '.join(STORAGE_TYPES)}, not {storage_type!r}"
        )
    for name in (c.BACKUP_NAME, c.DB_HOST):
        if not get(name):
            problems.append(f"{name} is required")
    job = get(c.BACKUP_JOB_NAME, "")
    scheduled = datetime.now(UTC).replace(microsecond=0)
    if need_job:
        if not job:
            problems.append(f"{c.BACKUP_JOB_NAME} is required")
        elif "/" in job or job.startswith("."):
            problems.append(f"{c.BACKUP_JOB_NAME} must be a plain name, not {job!r}")
        raw_time = get(c.BACKUP_SCHEDULED_TIME, "")
        try:
            scheduled = parse_rfc3339(raw_time)
        except ValueError:
            problems.append(f"{c.BACKUP_SCHEDULED_TIME} must be RFC 3339, not {raw_time!r}")
    port = _int(env, c.DB_PORT, problems)
    if port is None and not any(p.startswith(c.DB_PORT) for p in problems):
        problems.append(f"{c.DB_PORT} is required")
    retention = _int(env, c.BACKUP_RETENTION_SECONDS, problems)
    bucket = get(c.STORAGE_BUCKET, "")
    path = get(c.STORAGE_PATH, "")
    if storage_type in ("s3", "gcs") and not bucket:
        problems.append(f"{c.STORAGE_BUCKET} is required for {storage_type}")
    if storage_type == "pvc" and not path:
        problems.append(f"{c.STORAGE_PATH} is required for pvc")
    if problems:
        raise ConfigError("; ".join(problems))
    return Config(
        backup_name=get(c.BACKUP_NAME, ""),
        namespace=get(c.BACKUP_NAMESPACE, ""),
        uid=get(c.BACKUP_UID, ""),
        job_name=job,
        scheduled_time=scheduled,
        retention_seconds=retention,
        db_type=db_type,
        db_host=get(c.DB_HOST, ""),
        db_port=port or 0,
        db_name=get(c.DB_NAME, ""),
        storage_type=storage_type,
        storage_url=get(c.STORAGE_URL, ""),
        bucket=bucket,
        prefix=get(c.STORAGE_PREFIX, "").strip("/"),
        region=get(c.STORAGE_REGION, ""),
        endpoint=get(c.STORAGE_ENDPOINT, ""),
        path=path,
        scratch_dir=get(c.TMPDIR, "") or c.SCRATCH_DIR,
        db_user=get(c.DB_USER, ""),
        db_password=get(c.DB_PASSWORD, ""),
        aws_access_key_id=get(c.AWS_ACCESS_KEY_ID, ""),
        aws_secret_access_key=get(c.AWS_SECRET_ACCESS_KEY, ""),
        gcs_key_file=get(c.GOOGLE_APPLICATION_CREDENTIALS, ""),
    )
