"""``dbbackup.io/v1alpha1``: DatabaseBackup and DatabaseRestore, validation, and their Jobs.

Plain data in, plain data out: nothing here does I/O or imports the runtime. The public surface:

* names (:mod:`~api.v1alpha1.groupversion`): ``GROUP``, ``VERSION``, ``KIND``, ``PLURAL``...;
* types (:mod:`~api.v1alpha1.types`, :mod:`~api.v1alpha1.status`): frozen dataclasses,
  ``DatabaseBackup.from_dict``, the phase and condition names; :class:`ObjectMeta` reads
  any object's metadata;
* :func:`validate` -> ``[FieldProblem(path, message)]``;
* :func:`parse_schedule` -> :class:`CronSchedule` (``next_after``, ``prev_at_or_before``),
  raising :class:`ScheduleError`;
* :func:`build_job` (:func:`backup_job` from a decoded backup), :func:`job_name`,
  :func:`storage_location`, :func:`dump_location`, :func:`failure_in_words`;
* times on the wire (:mod:`~api.v1alpha1.times`): :func:`format_time`, :func:`parse_time`,
  :func:`parse_rfc3339`;
* restores (:mod:`~api.v1alpha1.restore_types`, :mod:`~api.v1alpha1.restore_job`):
  ``DatabaseRestore.from_dict``, :func:`resolve_source`, :func:`build_restore_job`;
  on-demand runs: :func:`build_manual_job`;
* the CRDs are generated from the types: ``python -m api.v1alpha1.crdgen``.
"""

from api.v1alpha1 import groupversion, status
from api.v1alpha1.groupversion import *  # noqa: F403 (every name of the API is public)
from api.v1alpha1.job import (
    InvalidBackupError,
    backup_dump_location,
    backup_job,
    build_job,
    build_manual_job,
    dump_location,
    escape_value,
    failure_in_words,
    job_labels,
    job_name,
    manual_job_name,
    storage_location,
)
from api.v1alpha1.markers import DecodeError
from api.v1alpha1.meta import ObjectMeta, name_of
from api.v1alpha1.restore_job import (
    ResolvedSource,
    SourceError,
    build_restore_job,
    resolve_source,
    restore_job_name,
)
from api.v1alpha1.restore_types import DatabaseRestore
from api.v1alpha1.schedule import CronSchedule, ScheduleError, hash_seed, parse_schedule
from api.v1alpha1.status import *  # noqa: F403 (its names are the package's)
from api.v1alpha1.times import format_time, parse_rfc3339, parse_time
from api.v1alpha1.types import (
    CONCURRENCY_ALLOW,
    CONCURRENCY_FORBID,
    CONCURRENCY_REPLACE,
    SCHEDULE_PATH,
    STARTING_DEADLINE_PATH,
    TIME_ZONE_PATH,
    DatabaseBackup,
    DatabaseBackupSpec,
)
from api.v1alpha1.validation import FieldProblem, apply_defaults, parse_duration, validate

__all__ = [
    "CONCURRENCY_ALLOW",
    "CONCURRENCY_FORBID",
    "CONCURRENCY_REPLACE",
    "SCHEDULE_PATH",
    "STARTING_DEADLINE_PATH",
    "TIME_ZONE_PATH",
    "CronSchedule",
    "DatabaseBackup",
    "DatabaseBackupSpec",
    "DatabaseRestore",
    "DecodeError",
    "FieldProblem",
    "InvalidBackupError",
    "ObjectMeta",
    "ResolvedSource",
    "ScheduleError",
    "SourceError",
    "apply_defaults",
    "backup_dump_location",
    "backup_job",
    "build_job",
    "build_manual_job",
    "build_restore_job",
    "dump_location",
    "escape_value",
    "failure_in_words",
    "format_time",
    "hash_seed",
    "job_labels",
    "job_name",
    "manual_job_name",
    "name_of",
    "parse_duration",
    "parse_rfc3339",
    "parse_schedule",
    "parse_time",
    "resolve_source",
    "restore_job_name",
    "storage_location",
    "validate",
]
# The names of the API (group, kinds, labels, annotations) and of status (phases,
# conditions), each listed once in its module.
__all__ += groupversion.__all__
__all__ += status.__all__
