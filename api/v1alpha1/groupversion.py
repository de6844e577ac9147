"""Names of the ``dbbackup.io/v1alpha1`` API: group, version, kind, and the labels it stamps.

Role: the one place these strings are spelled (docs/design.md section 1). The CRD generator, the
Job builder, the controller and the RBAC files all read them from here.
Guarantees: constants only (a kind's other names derived from it by :func:`_kind_names`);
importing this module has no side effects.
Non-goals: REST paths (``manager.scheme.ResourceType`` builds those from these names).
"""

from __future__ import annotations

__all__ = [
    "ANNOTATION_REQUESTED_AT",
    "ANNOTATION_RESTORE_SOURCE",
    "ANNOTATION_SCHEDULED_AT",
    "API_VERSION",
    "CATEGORIES",
    "GROUP",
    "JOB_NAME_MAX_LENGTH",
    "JOB_NAME_TIME_FORMAT",
    "KIND",
    "LABEL_BACKUP",
    "LABEL_MANAGED_BY",
    "LABEL_RESTORE",
    "LABEL_TRIGGER",
    "LIST_KIND",
    "MANAGED_BY",
    "MANUAL_JOB_INFIX",
    "MAX_NAME_LENGTH",
    "PLURAL",
    "RESTORE_JOB_SUFFIX",
    "RESTORE_KIND",
    "RESTORE_LIST_KIND",
    "RESTORE_MAX_NAME_LENGTH",
    "RESTORE_PLURAL",
    "RESTORE_SHORT_NAMES",
    "RESTORE_SINGULAR",
    "SHORT_NAMES",
    "SINGULAR",
    "TRIGGER_MANUAL",
    "VERSION",
]


def _kind_names(kind: str) -> tuple[str, str, str, str]:
    """``(kind, list kind, plural, singular)`` of ``kind``, named as Kubernetes' own kinds are:
    the list kind adds ``List``, the singular is the kind in lower case, the plural adds ``s``
    (``kubebuilder create api`` derives them the same way)."""
    singular = kind.lower()
    return kind, f"{kind}List", f"{singular}s", singular


GROUP = "dbbackup.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND, LIST_KIND, PLURAL, SINGULAR = _kind_names("DatabaseBackup")
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

# Manual runs (``kubectl dbbackup run``): ``<backup>-manual-<5 random characters>``. A
# scheduled Job's name ends in ``-`` and 14 digits; a manual one ends in ``-manual-`` and five
# characters, so neither can ever take the other's name. 48 + 8 + 5 = 61 <= 63.
MANUAL_JOB_INFIX = "-manual-"
LABEL_TRIGGER = f"{GROUP}/trigger"
TRIGGER_MANUAL = "manual"
ANNOTATION_REQUESTED_AT = f"{GROUP}/requested-at"

# The DatabaseRestore kind (docs/design.md section 7). Its one Job is ``<restore>-restore``: the
# name is the lock that keeps one restore Job per DatabaseRestore across restarts and leader
# changes, and it cannot collide with a backup's Jobs (they end in digits or a manual suffix).
RESTORE_KIND, RESTORE_LIST_KIND, RESTORE_PLURAL, RESTORE_SINGULAR = _kind_names("DatabaseRestore")
RESTORE_SHORT_NAMES: tuple[str, ...] = ("dbrestore",)
RESTORE_JOB_SUFFIX = "-restore"
RESTORE_MAX_NAME_LENGTH = JOB_NAME_MAX_LENGTH - len(RESTORE_JOB_SUFFIX)
LABEL_RESTORE = f"{GROUP}/restore"
# The exact dump a restore Job restores, on the Job itself, so status can be rebuilt from it.
ANNOTATION_RESTORE_SOURCE = f"{GROUP}/restore-source"
