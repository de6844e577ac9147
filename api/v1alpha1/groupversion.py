"""Names of the ``dbbackup.io/v1alpha1`` API: group, version, kind, and the labels it stamps.

Role: the one place these strings are spelled (docs/design.md section 1). The CRD generator, the
Job builder, the controller and the RBAC files all read them from here.
Guarantees: constants only; importing this module has no side effects.
Non-goals: REST paths (``manager.scheme.ResourceType`` builds those from these names).
"""

from __future__ import annotations

__all__ = [
    "ANNOTATION_SCHEDULED_AT",
    "API_VERSION",
    "CATEGORIES",
    "GROUP",
    "JOB_NAME_MAX_LENGTH",
    "JOB_NAME_TIME_FORMAT",
    "KIND",
    "LABEL_BACKUP",
    "LABEL_MANAGED_BY",
    "LIST_KIND",
    "MANAGED_BY",
    "MAX_NAME_LENGTH",
    "PLURAL",
    "SHORT_NAMES",
    "SINGULAR",
    "VERSION",
]

GROUP = "dbbackup.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "DatabaseBackup"
LIST_KIND = "DatabaseBackupList"
PLURAL = "databasebackups"
SINGULAR = "databasebackup"
SHORT_NAMES: tuple[str, ...] = ("dbbackup",)
CATEGORIES: tuple[str, ...] = ("backups",)

# Job names are ``<backup>-<YYYYmmddHHMMSS>`` (UTC) and must be DNS labels: 63 characters
# (the Job controller also copies the name into the ``batch.kubernetes.io/job-name`` label,
# whose values are limited to 63). 63 - len("-20250327010000") = 48.
JOB_NAME_TIME_FORMAT = "%Y%m%d%H%M%S"
JOB_NAME_MAX_LENGTH = 63
MAX_NAME_LENGTH = JOB_NAME_MAX_LENGTH - 1 - len("20250327010000")

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "dbbackup-operator"
LABEL_BACKUP = f"{GROUP}/backup"
ANNOTATION_SCHEDULED_AT = f"{GROUP}/scheduled-at"
