"""When is a backup due? Kubernetes' CronJob scheduling rules, in bounded work.

Ported from the CronJob controller's ``mostRecentScheduleTime`` / ``nextScheduleTime``
(``pkg/controller/cronjob/utils.go``) with one deliberate change: upstream estimates the most
recent missed time from the interval between the first two slots, which is wrong for
non-uniform schedules (``0 0 1 * *``, DST days); here it is found exactly by stepping
*backwards* from ``now`` (one cron evaluation), and missed slots are counted forward only up
to :data:`TOO_MANY_MISSED` + 1. A backup that was down for a year costs ~102 evaluations,
not a year of slots — and, unlike the kubebuilder tutorial, "too many missed" still yields
the most recent slot, so the backup stays scheduled.

All times are timezone-aware UTC; the schedule object deals with the backup's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

__all__ = [
    "TOO_MANY_MISSED",
    "CronSchedule",
    "ScheduleDecision",
    "decide",
]

TOO_MANY_MISSED = 100  # upstream's threshold for the TooManyMissedTimes warning


class CronSchedule(Protocol):
    """A parsed schedule: fire times strictly after / at-or-before a given instant."""

    def next_after(self, when: datetime) -> datetime: ...

    def prev_at_or_before(self, when: datetime) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class ScheduleDecision:
    """What the schedule says at ``now``.

    ``most_recent`` is the latest slot in ``(earliest, now]`` (None if none is due);
    ``missed`` counts the slots in that window, capped at ``TOO_MANY_MISSED + 1``;
    ``too_late`` is True when ``most_recent`` lies before the starting deadline;
    ``next_time`` is the first slot strictly after ``now``.
    """

    earliest: datetime
    most_recent: datetime | None
    missed: int
    too_late: bool
    next_time: datetime

    @property
    def too_many_missed(self) -> bool:
        return self.missed > TOO_MANY_MISSED


def decide(
    schedule: CronSchedule,
    *,
    now: datetime,
    created: datetime,
    last_schedule_time: datetime | None,
    starting_deadline_seconds: int | None,
) -> ScheduleDecision:
    """Apply the CronJob rules: which slot (if any) is due now, and when the next one comes.

    ``earliest`` is the last scheduled time, or the backup's creation when it never ran; a
    creation time in the future (clock skew) simply means nothing is due yet. When a starting
    deadline is set, slots older than ``now - deadline`` are not counted as missed (upstream
    moves ``earliest`` up to the deadline), and a due slot older than the deadline is too late.
    """
    earliest = last_schedule_time or created
    counting_from = earliest
    if starting_deadline_seconds is not None:
        deadline = now - timedelta(seconds=starting_deadline_seconds)
        counting_from = max(counting_from, deadline)
    next_time = schedule.next_after(now)
    if earliest >= now:
        return ScheduleDecision(earliest, None, 0, False, next_time)
    most_recent = schedule.prev_at_or_before(now)
    if most_recent is None or most_recent <= earliest:
        return ScheduleDecision(earliest, None, 0, False, next_time)
    missed = 0
    slot = schedule.next_after(counting_from)
    while slot <= now and missed <= TOO_MANY_MISSED:
        missed += 1
        slot = schedule.next_after(slot)
    too_late = starting_deadline_seconds is not None and most_recent < now - timedelta(
        seconds=starting_deadline_seconds
    )
    return ScheduleDecision(earliest, most_recent, max(missed, 1), too_late, next_time)
