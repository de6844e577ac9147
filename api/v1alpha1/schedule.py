"""Cron schedules in a time zone: parse once, then ask for fire times. Wraps ``croniter``.

Role: the one parser of ``spec.schedule`` + ``spec.timeZone``, shared by validation (is this
schedule acceptable?) and the controller (when is the next / the most recent run?).

Accepted: five fields (minute hour day-of-month month day-of-week, Vixie cron's day-of-month
OR day-of-week rule), the macros ``@yearly @annually @monthly @weekly @daily @midnight
@hourly`` with their standard meaning (``@daily`` is ``0 0 * * *``, exactly as Kubernetes'
CronJob reads it, not a hashed time), and Jenkins' hashed ``H`` form (``H``, ``H(0-29)``,
``H/15``) whose value is derived from ``hash_id`` -- pass ``"<namespace>/<name>"`` so a
thousand ``H 1 * * *`` backups spread over the hour and each keeps its minute forever.

Guarantees: :func:`parse_schedule` raises :class:`ScheduleError` with a message meant for users
(``CRON_TZ=``/``TZ=`` prefixes point to ``spec.timeZone``; a schedule that never fires, such
as ``0 0 31 2 *``, is refused); a :class:`CronSchedule` is immutable and thread-safe (each
query builds its own iterator); fire times are whole minutes, returned as aware UTC datetimes;
a wall-clock time skipped by a DST change (spring forward) fires at the first minute after
the gap, so no day is skipped; a wall-clock time repeated by a DST change (fall back) fires
once, on its first pass.
Non-goals: seconds or year fields, ``@every``, caching (the controller may cache per
expression and zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

__all__ = [
    "MACROS",
    "CronSchedule",
    "ScheduleError",
    "hash_seed",
    "load_time_zone",
    "parse_schedule",
]

MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
FIELDS = 5
# A schedule whose fields match nothing within this many years never fires (29 February on a
# Monday recurs within 28 years; croniter's own search window is 50 years).
MAX_YEARS_BETWEEN_MATCHES = 50
_TZ_PREFIX = re.compile(r"^\s*(CRON_TZ|TZ)=", re.IGNORECASE)
_MINUTE = timedelta(minutes=1)
_PROBE = datetime(2000, 1, 1, tzinfo=UTC)


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; ``field`` is ``schedule`` or ``timeZone``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def load_time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; raises :class:`ScheduleError` (``timeZone``) if unknown."""
    if not name or name.startswith(("/", ".")) or ".." in name.split("/"):
        raise ScheduleError("timeZone", f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as err:
        raise ScheduleError(
            "timeZone", f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)"
        ) from err


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A validated schedule in a time zone; see the module guarantees."""

    expression: str  # the five-field form croniter evaluates (macros expanded)
    zone: ZoneInfo
    hash_id: str

    def _iter(self, start: datetime, *, is_prev: bool) -> croniter:
        return croniter(
            self.expression,
            start.astimezone(self.zone),
            hash_id=self.hash_id,
            is_prev=is_prev,
            max_years_between_matches=MAX_YEARS_BETWEEN_MATCHES,
        )

    def _repeated(self, fire: datetime) -> bool:
        """True for the second pass through a wall-clock time that a DST change repeats.

        Cron matches wall-clock fields, so in a repeated hour (fall back) croniter fires
        twice for one wall time; we keep only the first pass: at most one run per wall time.
        """
        local = fire.astimezone(self.zone)
        return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()

    def next_after(self, when: datetime) -> datetime:
        """The first fire time strictly after ``when`` (an aware datetime)."""
        it = self._iter(_floor_minute(when), is_prev=False)
        while True:
            got: datetime = it.get_next(datetime)
            if not self._repeated(got):
                return got.astimezone(UTC)

    def prev_at_or_before(self, when: datetime) -> datetime | None:
        """The latest fire time at or before ``when``, or None if there is none."""
        it = self._iter(_floor_minute(when) + _MINUTE, is_prev=True)
        try:
            while True:
                got: datetime = it.get_prev(datetime)
                if not self._repeated(got):
                    return got.astimezone(UTC)
        except CroniterBadDateError:
            return None

    def prev_before(self, when: datetime) -> datetime | None:
        """The latest fire time strictly before ``when``, or None if there is none."""
        return self.prev_at_or_before(when - timedelta(microseconds=1))


def _floor_minute(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("schedule queries need an aware datetime")
    return when.astimezone(UTC).replace(second=0, microsecond=0)


def hash_seed(expression: str, hash_id: str) -> str:
    """The seed ``expression``'s fire times depend on: ``hash_id`` for the hashed form (``H``
    or ``h``, both of which croniter hashes), else ``""`` -- every unhashed expression fires at
    the same times whatever the backup, so callers may share one parse or one answer. A day
    name with an H in it (``THU``) counts as hashed: that only costs sharing, never a time."""
    return hash_id if "H" in expression.upper() else ""


def parse_schedule(expression: str, time_zone: str, hash_id: str) -> CronSchedule:
    """Parse ``expression`` in ``time_zone``; raises :class:`ScheduleError` (see module)."""
    zone = load_time_zone(time_zone)
    text = expression.strip()
    if _TZ_PREFIX.match(text):
        raise ScheduleError(
            "schedule",
            "CRON_TZ= and TZ= prefixes are not supported: put the time zone in spec.timeZone",
        )
    if text.startswith("@"):
        macro = text.lower()
        if macro not in MACROS:
            raise ScheduleError(
                "schedule",
                f"unknown macro {text!r} (supported: {', '.join(sorted(MACROS))})",
            )
        text = MACROS[macro]
    fields = text.split()
    if len(fields) != FIELDS:
        raise ScheduleError(
            "schedule",
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}",
        )
    normalized = " ".join(fields)
    try:
        schedule = CronSchedule(normalized, zone, hash_id)
        schedule.next_after(_PROBE)
    except CroniterBadDateError as err:
        raise ScheduleError(
            "schedule", f"{expression.strip()!r} never fires (no matching date)"
        ) from err
    except (CroniterError, ValueError, KeyError, IndexError) as err:
        raise ScheduleError("schedule", f"invalid cron expression {expression!r}: {err}") from err
    return schedule
