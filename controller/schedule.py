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

Fire times of ``api.v1alpha1.CronSchedule`` are memoized per (expression, time zone, hash id
when the expression hashes, whole minute): a croniter query costs ~0.1 ms and a herd of
backups on ``0 1 * * *`` asks the same questions thousands of times in the same minute. The
answers depend only on those keys (``CronSchedule`` floors every query to the minute), so the
memo never changes a decision. Other ``CronSchedule`` implementations are not memoized.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from api.v1alpha1 import CronSchedule as ApiCronSchedule
from api.v1alpha1 import hash_seed, parse_schedule

__all__ = [
    "FIRE_TIME_CACHE_SIZE",
    "SCHEDULE_CACHE_SIZE",
    "TOO_MANY_MISSED",
    "CronSchedule",
    "ScheduleDecision",
    "decide",
    "next_after",
    "parse_cached",
    "prev_at_or_before",
]

TOO_MANY_MISSED = 100  # upstream's threshold for the TooManyMissedTimes warning
FIRE_TIME_CACHE_SIZE = 65_536  # memoized answers (~200 B each); a herd needs a handful
SCHEDULE_CACHE_SIZE = 65_536  # parsed schedules, one per (expression, zone, seed)


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


def parse_cached(expression: str, time_zone: str, hash_id: str) -> ApiCronSchedule:
    """``api.v1alpha1.parse_schedule``, parsed once per (expression, zone, seed): a
    ``CronSchedule`` is immutable, and an unhashed expression is one parse for every backup
    (``hash_seed``). An invalid schedule raises every time (errors are not cached)."""
    return _parse_once(expression, time_zone, hash_seed(expression, hash_id))


@functools.lru_cache(maxsize=SCHEDULE_CACHE_SIZE)
def _parse_once(expression: str, time_zone: str, seed: str) -> ApiCronSchedule:
    return parse_schedule(expression, time_zone, seed)


_MISS = object()
_memo: OrderedDict[tuple[object, ...], datetime | None] = OrderedDict()
_memo_lock = threading.Lock()


def _memoized(
    kind: str,
    schedule: CronSchedule,
    when: datetime,
    compute: Callable[[datetime], datetime | None],
) -> datetime | None:
    if not isinstance(schedule, ApiCronSchedule):
        return compute(when)
    hashed = hash_seed(schedule.expression, schedule.hash_id)
    minute = when.astimezone(UTC).replace(second=0, microsecond=0)
    key = (kind, schedule.expression, str(schedule.zone), hashed, minute)
    with _memo_lock:
        hit = _memo.get(key, _MISS)
    if hit is not _MISS:
        return hit  # type: ignore[return-value]
    value = compute(when)
    with _memo_lock:
        _memo[key] = value
        if len(_memo) > FIRE_TIME_CACHE_SIZE:
            _memo.popitem(last=False)
    return value


def next_after(schedule: CronSchedule, when: datetime) -> datetime:
    """``schedule.next_after(when)``, memoized (see the module docstring)."""
    value = _memoized("next", schedule, when, schedule.next_after)
    assert value is not None  # next_after always answers
    return value


def prev_at_or_before(schedule: CronSchedule, when: datetime) -> datetime | None:
    """``schedule.prev_at_or_before(when)``, memoized (see the module docstring)."""
    return _memoized("prev", schedule, when, schedule.prev_at_or_before)


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
    next_time = next_after(schedule, now)
    if earliest >= now:
        return ScheduleDecision(earliest, None, 0, False, next_time)
    most_recent = prev_at_or_before(schedule, now)
    if most_recent is None or most_recent <= earliest:
        return ScheduleDecision(earliest, None, 0, False, next_time)
    missed = 0
    slot = next_after(schedule, counting_from)
    while slot <= now and missed <= TOO_MANY_MISSED:
        missed += 1
        slot = next_after(schedule, slot)
    too_late = starting_deadline_seconds is not None and most_recent < now - timedelta(
        seconds=starting_deadline_seconds
    )
    return ScheduleDecision(earliest, most_recent, max(missed, 1), too_late, next_time)
