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

Fire times are memoized by a :class:`ScheduleMemo`, an object with its owner's lifetime (the
reconciler's): it parses each (expression, time zone, hash seed) once and remembers the answers
of the schedules it parsed per whole minute. A croniter query costs ~0.1 ms and a herd of
backups on ``0 1 * * *`` asks the same questions thousands of times in the same minute. The
answers depend only on those keys (``CronSchedule`` floors every query to the minute), so the
memo never changes a decision. :func:`decide` reads whatever schedule it is given, memoized
or not.
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
    "ScheduleMemo",
    "decide",
    "next_after",
    "parse_cached",
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


class ScheduleMemo:
    """Parsed schedules and their fire times, remembered for as long as this object lives.

    Thread-safe: the reconciler's workers share one. Bounded: at most ``schedules`` parsed
    schedules (least recently used go first) and ``fire_times`` answers (oldest first).
    """

    def __init__(
        self, *, schedules: int = SCHEDULE_CACHE_SIZE, fire_times: int = FIRE_TIME_CACHE_SIZE
    ) -> None:
        self._parse_once = functools.lru_cache(maxsize=schedules)(self._memoized_schedule)
        self._answers: OrderedDict[tuple[object, ...], datetime | None] = OrderedDict()
        self._capacity = fire_times
        self._lock = threading.Lock()

    def parse(self, expression: str, time_zone: str, hash_id: str) -> CronSchedule:
        """``api.v1alpha1.parse_schedule``, parsed once per (expression, zone, seed): a
        ``CronSchedule`` is immutable, and an unhashed expression is one parse for every backup
        (``hash_seed``). An invalid schedule raises every time (errors are not cached)."""
        return self._parse_once(expression, time_zone, hash_seed(expression, hash_id))

    def _memoized_schedule(self, expression: str, time_zone: str, seed: str) -> CronSchedule:
        return _MemoizedSchedule(parse_schedule(expression, time_zone, seed), self)

    def answer(
        self,
        key: tuple[object, ...],
        compute: Callable[[datetime], datetime | None],
        when: datetime,
    ) -> datetime | None:
        """``compute(when)``, remembered under ``key`` plus ``when``'s whole minute."""
        key = (*key, when.astimezone(UTC).replace(second=0, microsecond=0))
        with self._lock:
            hit = self._answers.get(key, _MISS)
        if hit is not _MISS:
            return hit  # type: ignore[return-value]
        value = compute(when)
        with self._lock:
            self._answers[key] = value
            if len(self._answers) > self._capacity:
                self._answers.popitem(last=False)
        return value


_MISS = object()


class _MemoizedSchedule:
    """An ``api.v1alpha1.CronSchedule`` whose answers go through its :class:`ScheduleMemo`."""

    __slots__ = ("_memo", "_next", "_prev", "_schedule")

    def __init__(self, schedule: ApiCronSchedule, memo: ScheduleMemo) -> None:
        self._schedule = schedule
        self._memo = memo
        seed = hash_seed(schedule.expression, schedule.hash_id)
        identity = (schedule.expression, str(schedule.zone), seed)
        self._next = ("next", *identity)
        self._prev = ("prev", *identity)

    def next_after(self, when: datetime) -> datetime:
        value = self._memo.answer(self._next, self._schedule.next_after, when)
        assert value is not None  # next_after always answers
        return value

    def prev_at_or_before(self, when: datetime) -> datetime | None:
        return self._memo.answer(self._prev, self._schedule.prev_at_or_before, when)


# What parse_cached answers from until the reconciler owns its ScheduleMemo (issue 17 item 4).
_SHARED = ScheduleMemo()


def parse_cached(expression: str, time_zone: str, hash_id: str) -> CronSchedule:
    """:meth:`ScheduleMemo.parse` on a process-wide memo, for callers that hold none."""
    return _SHARED.parse(expression, time_zone, hash_id)


def next_after(schedule: CronSchedule, when: datetime) -> datetime:
    """``schedule.next_after(when)``."""
    return schedule.next_after(when)


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
