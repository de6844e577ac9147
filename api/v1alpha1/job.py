"""The ``batch/v1`` Job a DatabaseBackup becomes at one scheduled time.

Role: :func:`build_job` is a pure function from (backup object, scheduled time) to a Job
manifest; :func:`job_name` gives its deterministic name, which is the lock that guarantees one
Job per scheduled time; :func:`storage_location` says where a run writes, and
:func:`dump_location` the exact object URL of each run's dump; :func:`failure_in_words` reads
a failed Job's condition.

Guarantees:

* the name is ``<backup>-<YYYYmmddHHMMSS>`` of the scheduled time in UTC; labels, the
  ``dbbackup.io/scheduled-at`` annotation and a controller owner reference
  (``controller: true``, ``blockOwnerDeletion: true``) as docs/design.md section 1 fixes them;
* the container gets the backup-image contract (:mod:`api.v1alpha1.contract`), the same
  variable set for every Job; credentials only via ``secretKeyRef`` or a read-only Secret
  volume; every ``$`` in a value doubled, the exact inverse of the kubelet's ``$(VAR)``
  expansion, so values cannot reference other variables; no command, args or shell;
* the pod meets the Pod Security "restricted" profile, with a read-only root filesystem, an
  ``emptyDir`` for scratch, ``restartPolicy: Never``, no service links, and no API token unless
  ``spec.pod.serviceAccountName`` is set;
* a ``podFailurePolicy`` fails the Job at once when the container exits with a code the
  contract calls non-retriable (bad configuration, refused credentials), instead of burning
  ``backoffLimit``;
* the same inputs give the same dict (no clock, no randomness); no ``ttlSecondsAfterFinished``
  (the operator prunes by history limits).

Raises :class:`InvalidBackupError` (carrying every problem) for an invalid backup, and
``ValueError`` for a naive ``scheduled_time`` or missing ``metadata.uid``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.v1alpha1 import contract as c
from api.v1alpha1.groupversion import (
    ANNOTATION_REQUESTED_AT,
    ANNOTATION_SCHEDULED_AT,
    API_VERSION,
    JOB_NAME_TIME_FORMAT,
    KIND,
    LABEL_BACKUP,
    LABEL_MANAGED_BY,
    LABEL_TRIGGER,
    MANAGED_BY,
    MANUAL_JOB_INFIX,
    TRIGGER_MANUAL,
)
from api.v1alpha1.markers import encode
from api.v1alpha1.times import format_time
from api.v1alpha1.types import DatabaseBackup, StorageSpec
from api.v1alpha1.validation import FieldProblem, parse_duration, validate

__all__ = [
    "CONTAINER_NAME",
    "DEFAULT_PORTS",
    "POD_FAILURE_POLICY_REASON",
    "DumpLocation",
    "InvalidBackupError",
    "backup_dump_location",
    "backup_job",
    "build_job",
    "build_manual_job",
    "dump_location",
    "escape_value",
    "failure_in_words",
    "job_labels",
    "job_manifest",
    "job_name",
    "manual_job_name",
    "owner_reference",
    "storage_location",
]

CONTAINER_NAME = "backup"
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306, "mongodb": 27017}
SCRATCH_VOLUME = "scratch"
STORAGE_VOLUME = "storage"
GCS_VOLUME = "gcs-credentials"
SECRET_FILE_MODE = 0o444  # readable by the (non-root, arbitrary) container user; read-only
# The Job controller's condition reason when a podFailurePolicy FailJob rule matched; its
# message reads "Container <name> for pod <ns>/<pod> failed with exit code <N> matching ...".
POD_FAILURE_POLICY_REASON = "PodFailurePolicy"
_EXIT_CODE_IN_MESSAGE = re.compile(r"\bfailed with exit code (\d+)\b")


class InvalidBackupError(ValueError):
    """The backup cannot become a Job; ``problems`` lists why (with field paths)."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def job_name(backup_name: str, scheduled_time: datetime) -> str:
    """``<backup>-<YYYYmmddHHMMSS>`` of ``scheduled_time`` in UTC."""
    if scheduled_time.tzinfo is None:
        raise ValueError("scheduled time must be timezone-aware")
    return f"{backup_name}-{scheduled_time.astimezone(UTC).strftime(JOB_NAME_TIME_FORMAT)}"


def job_labels(backup_name: str) -> dict[str, str]:
    """The labels on every Job (and its pods) of a backup; selects them too."""
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_BACKUP: backup_name}


def escape_value(value: str) -> str:
    """Double every ``$``: the kubelet turns ``$$`` into ``$`` and expands ``$(VAR)``."""
    return value.replace("$", "$$")


def _location(storage: StorageSpec) -> str:
    if storage.s3 is not None:
        return _url("s3", storage.s3.bucket, storage.s3.prefix)
    if storage.gcs is not None:
        return _url("gs", storage.gcs.bucket, storage.gcs.prefix)
    if storage.pvc is not None:
        return _pvc_path(storage)
    return ""


def _url(scheme: str, bucket: str, prefix: str | None) -> str:
    return f"{scheme}://{bucket}/{prefix}" if prefix else f"{scheme}://{bucket}"


def _pvc_path(storage: StorageSpec) -> str:
    if storage.pvc is None:
        return ""
    sub = storage.pvc.sub_path
    return f"{c.STORAGE_MOUNT_PATH}/{sub}" if sub else c.STORAGE_MOUNT_PATH


def storage_location(backup: Mapping[str, Any]) -> str:
    """Where a run writes: ``s3://bucket/prefix``, ``gs://bucket/prefix`` or
    ``pvc://claim/subPath``; ``""`` when the storage cannot be read (invalid spec)."""
    try:
        storage = DatabaseBackup.from_dict(backup).spec.storage
    except ValueError:
        return ""
    return _storage_url(storage)


def _storage_url(storage: StorageSpec) -> str:
    if storage.pvc is not None:
        sub = storage.pvc.sub_path
        return f"pvc://{storage.pvc.claim_name}/{sub}" if sub else f"pvc://{storage.pvc.claim_name}"
    return _location(storage)


@dataclass(frozen=True, slots=True)
class DumpLocation:
    """Where a backup's runs write: ``<base>/<job>.<format>.zst`` (the contract's layout)."""

    base: str
    db_type: str

    def __call__(self, job: str) -> str:
        """The exact URL of run ``job``'s dump; the base alone when it cannot be known."""
        if not self.base or self.db_type not in c.DUMP_FORMATS:
            return self.base
        return f"{self.base}/{c.dump_object_name(job, self.db_type)}"


def dump_location(backup: Mapping[str, Any]) -> DumpLocation:
    """:func:`storage_location` and the database type, to name each run's dump."""
    database = (backup.get("spec") or {}).get("database") or {}
    return DumpLocation(storage_location(backup), str(database.get("type") or ""))


def backup_dump_location(b: DatabaseBackup) -> DumpLocation:
    """:func:`dump_location` of an already decoded backup."""
    return DumpLocation(_storage_url(b.spec.storage), b.spec.database.type)


def failure_in_words(reason: str, message: str) -> str:
    """A failed Job's condition as a reason a person reads: ``database authentication failed
    (exit 4)`` when a podFailurePolicy rule matched a contract exit code, else
    ``<reason>: <message>``."""
    if reason == POD_FAILURE_POLICY_REASON:
        found = _EXIT_CODE_IN_MESSAGE.search(message)
        if found:
            return c.describe_exit_code(int(found.group(1)))
    return f"{reason}: {message}" if message else reason


def _pod_failure_policy() -> dict[str, Any]:
    return {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {
                    "containerName": CONTAINER_NAME,
                    "operator": "In",
                    "values": list(c.NON_RETRIABLE_EXIT_CODES),
                },
            }
        ]
    }


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


# The contract's variables every Job carries as plain values, in the contract's order.
_PLAIN_VARIABLES = tuple(var.name for var in c.VARIABLES if var.when == c.ALWAYS)


def _env(b: DatabaseBackup, job: str, scheduled_time: datetime) -> list[dict[str, Any]]:
    spec = b.spec
    db = spec.database
    st = spec.storage
    retention = spec.retention or ""
    seconds = str(int(parse_duration(retention).total_seconds())) if retention else ""
    s3, gcs = st.s3, st.gcs
    bucket = s3.bucket if s3 else gcs.bucket if gcs else ""
    prefix = (s3.prefix if s3 else gcs.prefix if gcs else None) or ""
    plain = {
        c.BACKUP_NAME: b.name,
        c.BACKUP_NAMESPACE: b.namespace,
        c.BACKUP_UID: str(b.metadata.get("uid", "")),
        c.BACKUP_JOB_NAME: job,
        c.BACKUP_SCHEDULED_TIME: format_time(scheduled_time),
        c.BACKUP_RETENTION: retention,
        c.BACKUP_RETENTION_SECONDS: seconds,
        c.DB_TYPE: db.type,
        c.DB_HOST: db.host,
        c.DB_PORT: str(db.port or DEFAULT_PORTS[db.type]),
        c.DB_NAME: db.name or "",
        c.STORAGE_TYPE: "s3" if s3 else "gcs" if gcs else "pvc",
        c.STORAGE_URL: _location(st),
        c.STORAGE_BUCKET: bucket,
        c.STORAGE_PREFIX: prefix,
        c.STORAGE_REGION: (s3.region if s3 else None) or "",
        c.STORAGE_ENDPOINT: (s3.endpoint if s3 else None) or "",
        c.STORAGE_PATH: _pvc_path(st),
        c.HOME: c.SCRATCH_DIR,
        c.TMPDIR: c.SCRATCH_DIR,
    }
    env: list[dict[str, Any]] = [
        {"name": name, "value": escape_value(plain[name])} for name in _PLAIN_VARIABLES
    ]
    if db.credentials_secret_ref is not None:
        ref = db.credentials_secret_ref
        env.append(_secret_env(c.DB_USER, ref.name, ref.username_key))
        env.append(_secret_env(c.DB_PASSWORD, ref.name, ref.password_key))
    if s3 is not None and s3.credentials_secret_ref is not None:
        ref3 = s3.credentials_secret_ref
        env.append(_secret_env(c.AWS_ACCESS_KEY_ID, ref3.name, ref3.access_key_id_key))
        env.append(_secret_env(c.AWS_SECRET_ACCESS_KEY, ref3.name, ref3.secret_access_key_key))
    if gcs is not None and gcs.credentials_secret_ref is not None:
        env.append({"name": c.GOOGLE_APPLICATION_CREDENTIALS, "value": c.GCS_KEY_FILE})
    return env


def _volumes(b: DatabaseBackup) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [{"name": SCRATCH_VOLUME, "emptyDir": {}}]
    mounts: list[dict[str, Any]] = [{"name": SCRATCH_VOLUME, "mountPath": c.SCRATCH_DIR}]
    st = b.spec.storage
    if st.pvc is not None:
        volumes.append(
            {"name": STORAGE_VOLUME, "persistentVolumeClaim": {"claimName": st.pvc.claim_name}}
        )
        mount: dict[str, Any] = {"name": STORAGE_VOLUME, "mountPath": _pvc_path(st)}
        if st.pvc.sub_path:
            mount["subPath"] = st.pvc.sub_path
        mounts.append(mount)
    if st.gcs is not None and st.gcs.credentials_secret_ref is not None:
        ref = st.gcs.credentials_secret_ref
        volumes.append(
            {
                "name": GCS_VOLUME,
                "secret": {
                    "secretName": ref.name,
                    "items": [{"key": ref.key, "path": c.GCS_KEY_FILE.rsplit("/", 1)[1]}],
                    "defaultMode": SECRET_FILE_MODE,
                },
            }
        )
        mounts.append({"name": GCS_VOLUME, "mountPath": c.GCS_KEY_DIR, "readOnly": True})
    return volumes, mounts


def _container(
    b: DatabaseBackup, job: str, scheduled_time: datetime, mounts: list[dict[str, Any]]
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": CONTAINER_NAME, "image": b.spec.image}
    if b.spec.image_pull_policy:
        container["imagePullPolicy"] = b.spec.image_pull_policy
    container["env"] = _env(b, job, scheduled_time)
    pod = b.spec.pod
    if pod is not None and pod.resources is not None:
        resources = encode(pod.resources)
        if resources:
            container["resources"] = resources
    container["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container["volumeMounts"] = mounts
    return container


def _pod_spec(b: DatabaseBackup, job: str, scheduled_time: datetime) -> dict[str, Any]:
    pod = b.spec.pod
    volumes, mounts = _volumes(b)
    security: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "enableServiceLinks": False,
        "automountServiceAccountToken": bool(pod and pod.service_account_name),
        "securityContext": security,
        "containers": [_container(b, job, scheduled_time, mounts)],
        "volumes": volumes,
    }
    if pod is None:
        return spec
    for attr, key in (
        ("run_as_user", "runAsUser"),
        ("run_as_group", "runAsGroup"),
        ("fs_group", "fsGroup"),
    ):
        value = getattr(pod, attr)
        if value is not None:
            security[key] = value
    if pod.service_account_name:
        spec["serviceAccountName"] = pod.service_account_name
    optional = {
        "nodeSelector": dict(pod.node_selector),
        "tolerations": encode(pod.tolerations),
        "affinity": encode(pod.affinity) if pod.affinity else None,
        "imagePullSecrets": encode(pod.image_pull_secrets),
        "priorityClassName": pod.priority_class_name,
    }
    spec.update((k, v) for k, v in optional.items() if v)
    return spec


def build_job(
    backup: Mapping[str, Any], scheduled_time: datetime, *, validated: bool = False
) -> dict[str, Any]:
    """The Job for ``backup`` at ``scheduled_time`` (see module guarantees).

    ``validated=True`` is for a caller that has just run :func:`validate` on this very
    object and found no problem (the reconciler, in the same pass): it skips a second walk
    of the schema, a tenth of the reconciler's CPU in a herd."""
    return backup_job(_checked_backup(backup, validated), scheduled_time)


def backup_job(b: DatabaseBackup, scheduled_time: datetime) -> dict[str, Any]:
    """:func:`build_job` of a backup already decoded from an object :func:`validate` found
    no problem in (the reconciler decodes once per generation)."""
    if not b.name or not b.metadata.get("uid"):
        raise ValueError("backup needs metadata.name and metadata.uid to own a Job")
    return job_manifest(
        b,
        name=job_name(b.name, scheduled_time),
        when=scheduled_time,
        labels=job_labels(b.name),
        annotations={ANNOTATION_SCHEDULED_AT: format_time(scheduled_time)},
        owner=owner_reference(API_VERSION, KIND, b.name, str(b.metadata.get("uid", ""))),
    )


def manual_job_name(backup_name: str, suffix: str) -> str:
    """``<backup>-manual-<suffix>``: never a scheduled ``<backup>-<YYYYmmddHHMMSS>`` name
    (see :data:`~api.v1alpha1.groupversion.MANUAL_JOB_INFIX`)."""
    if not suffix or not suffix.isalnum() or suffix.isdigit():
        raise ValueError(f"manual run suffix {suffix!r} must be alphanumeric with a letter")
    return f"{backup_name}{MANUAL_JOB_INFIX}{suffix}"


def build_manual_job(
    backup: Mapping[str, Any], requested_at: datetime, suffix: str
) -> dict[str, Any]:
    """An on-demand run of ``backup`` from its current spec (``kubectl create job --from``):
    owned by the backup, named :func:`manual_job_name`, labelled ``dbbackup.io/trigger:
    manual``, with ``dbbackup.io/requested-at`` instead of a scheduled time, so the operator
    records it as a run without moving the schedule. ``blockOwnerDeletion`` is left out: the
    user creating it needs only ``create`` on Jobs, as with ``kubectl create job --from``."""
    b = _checked_backup(backup, False)
    owner = owner_reference(API_VERSION, KIND, b.name, str(b.metadata.get("uid", "")))
    owner.pop("blockOwnerDeletion")
    return job_manifest(
        b,
        name=manual_job_name(b.name, suffix),
        when=requested_at,
        labels={**job_labels(b.name), LABEL_TRIGGER: TRIGGER_MANUAL},
        annotations={ANNOTATION_REQUESTED_AT: format_time(requested_at)},
        owner=owner,
    )


def _checked_backup(backup: Mapping[str, Any], validated: bool) -> DatabaseBackup:
    problems = [] if validated else validate(backup)
    if problems:
        raise InvalidBackupError(problems)
    b = DatabaseBackup.from_dict(backup)
    if not b.name or not b.metadata.get("uid"):
        raise ValueError("backup needs metadata.name and metadata.uid to own a Job")
    return b


def owner_reference(api_version: str, kind: str, name: str, uid: str) -> dict[str, Any]:
    """A controller owner reference (``controller``, ``blockOwnerDeletion``)."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def job_manifest(
    b: DatabaseBackup,
    *,
    name: str,
    when: datetime,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    owner: Mapping[str, Any],
    backoff_limit: int | None = None,
    args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The Job running ``b``'s image with the contract's environment for run ``name`` at
    ``when``; ``args`` are the container's arguments (none for a backup: the image's
    entrypoint backs up). Shared by scheduled, manual and restore Jobs."""
    pod = b.spec.pod
    pod_meta: dict[str, Any] = {"labels": {**(pod.labels if pod else {}), **labels}}
    if pod is not None and pod.annotations:
        pod_meta["annotations"] = dict(pod.annotations)
    limit = b.spec.backoff_limit if backoff_limit is None else backoff_limit
    job_spec: dict[str, Any] = {"backoffLimit": limit}
    if b.spec.active_deadline_seconds is not None:
        job_spec["activeDeadlineSeconds"] = b.spec.active_deadline_seconds
    job_spec["podFailurePolicy"] = _pod_failure_policy()
    spec = _pod_spec(b, name, when)
    if args:
        spec["containers"][0]["args"] = list(args)
    job_spec["template"] = {"metadata": pod_meta, "spec": spec}
    metadata: dict[str, Any] = {"name": name}
    if b.namespace:
        metadata["namespace"] = b.namespace
    metadata |= {
        "labels": dict(labels),
        "annotations": dict(annotations),
        "ownerReferences": [dict(owner)],
    }
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": job_spec}
