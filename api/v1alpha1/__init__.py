"""``dbbackup.io/v1alpha1``: the DatabaseBackup resource, its validation, and its Jobs.

Plain data in, plain data out: nothing here does I/O or imports the runtime. The public surface:

* names (:mod:`~api.v1alpha1.groupversion`): ``GROUP``, ``VERSION``, ``KIND``, ``PLURAL``...;
* types (:mod:`~api.v1alpha1.types`): frozen dataclasses, ``DatabaseBackup.from_dict``;
* :func:`validate` -> ``[FieldProblem(path, message)]``;
* :func:`parse_schedule` -> :class:`CronSchedule` (``next_after``, ``prev_at_or_before``),
  raising :class:`ScheduleError`;
* :func:`build_job`, :func:`job_name`, :func:`storage_location`, :func:`dump_location`,
  :func:`failure_in_words`;
* the CRD is generated from the types: ``python -m api.v1alpha1.crdgen``.
"""

from api.v1alpha1.groupversion import (
    ANNOTATION_SCHEDULED_AT,
    API_VERSION,
    CATEGORIES,
    GROUP,
    KIND,
    LABEL_BACKUP,
    LABEL_MANAGED_BY,
    LIST_KIND,
    MANAGED_BY,
    MAX_NAME_LENGTH,
    PLURAL,
    SHORT_NAMES,
    SINGULAR,
    VERSION,
)
from api.v1alpha1.job import (
    InvalidBackupError,
    build_job,
    dump_location,
    escape_value,
    failure_in_words,
    format_time,
    job_labels,
    job_name,
    storage_location,
)
from api.v1alpha1.markers import DecodeError
from api.v1alpha1.schedule import CronSchedule, ScheduleError, hash_seed, parse_schedule
from api.v1alpha1.types import DatabaseBackup, DatabaseBackupSpec, DatabaseBackupStatus
from api.v1alpha1.validation import FieldProblem, apply_defaults, parse_duration, validate

__all__ = [
    "ANNOTATION_SCHEDULED_AT",
    "API_VERSION",
    "CATEGORIES",
    "GROUP",
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
    "CronSchedule",
    "DatabaseBackup",
    "DatabaseBackupSpec",
    "DatabaseBackupStatus",
    "DecodeError",
    "FieldProblem",
    "InvalidBackupError",
    "ScheduleError",
    "apply_defaults",
    "build_job",
    "dump_location",
    "escape_value",
    "failure_in_words",
    "format_time",
    "hash_seed",
    "job_labels",
    "job_name",
    "parse_duration",
    "parse_schedule",
    "storage_location",
    "validate",
]
