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

:class:`ScheduleMemo` parses each (expression, time zone, hash seed) once and memoizes its fire
times per whole minute: a croniter query costs ~0.1 ms and a herd of backups on ``0 1 * * *``
asks the same questions thousands of times in the same minute. The answers depend only on
those keys (``CronSchedule`` floors every query to the minute), so the memo never changes a
decision. It is an object with its owner's lifetime, injected like the clock (the operator
gives one to its reconciler), not process-global state; :func:`decide` itself memoizes
nothing and takes any :class:`CronSchedule`.
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
    "MemoizedSchedule",
    "ScheduleDecision",
    "ScheduleMemo",
    "decide",
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


_MISS = object()
_Key = tuple[str, str, str, str, datetime]  # (kind, expression, zone, seed, minute)


class ScheduleMemo:
    """Parsed schedules and their fire times, kept for the lifetime of its owner.

    Thread-safe (workers share it). Both maps are bounded, oldest first out:
    :data:`SCHEDULE_CACHE_SIZE` schedules, :data:`FIRE_TIME_CACHE_SIZE` answers."""

    def __init__(
        self,
        *,
        schedules: int = SCHEDULE_CACHE_SIZE,
        fire_times: int = FIRE_TIME_CACHE_SIZE,
    ) -> None:
        self._fire_times_max = fire_times
        self._answers: OrderedDict[_Key, datetime | None] = OrderedDict()
        self._lock = threading.Lock()
        # An invalid schedule raises every time (lru_cache does not keep errors).
        self._parse_once = functools.lru_cache(maxsize=schedules)(self._parse)

    def parse(self, expression: str, time_zone: str, hash_id: str) -> MemoizedSchedule:
        """``api.v1alpha1.parse_schedule``, parsed once per (expression, zone, seed): an
        unhashed expression is one parse for every backup (``hash_seed``). Raises
        ``ScheduleError`` as ``parse_schedule`` does."""
        return self._parse_once(expression, time_zone, hash_seed(expression, hash_id))

    def _parse(self, expression: str, time_zone: str, seed: str) -> MemoizedSchedule:
        return MemoizedSchedule(parse_schedule(expression, time_zone, seed), seed, self)

    def answer(
        self, key: _Key, when: datetime, compute: Callable[[datetime], datetime | None]
    ) -> datetime | None:
        """``compute(when)``, remembered under ``key`` (which names ``when``'s minute)."""
        with self._lock:
            hit = self._answers.get(key, _MISS)
        if hit is not _MISS:
            return hit  # type: ignore[return-value]
        value = compute(when)
        with self._lock:
            self._answers[key] = value
            if len(self._answers) > self._fire_times_max:
                self._answers.popitem(last=False)
        return value


class MemoizedSchedule:
    """A parsed ``api.v1alpha1.CronSchedule`` whose answers its :class:`ScheduleMemo` keeps."""

    __slots__ = ("_key", "_memo", "schedule")

    def __init__(self, schedule: ApiCronSchedule, seed: str, memo: ScheduleMemo) -> None:
        self.schedule = schedule
        self._key = (schedule.expression, str(schedule.zone), seed)
        self._memo = memo

    def _minute(self, kind: str, when: datetime) -> _Key:
        minute = when.astimezone(UTC).replace(second=0, microsecond=0)
        return (kind, *self._key, minute)

    def next_after(self, when: datetime) -> datetime:
        value = self._memo.answer(self._minute("next", when), when, self.schedule.next_after)
        assert value is not None  # next_after always answers
        return value

    def prev_at_or_before(self, when: datetime) -> datetime | None:
        return self._memo.answer(self._minute("prev", when), when, self.schedule.prev_at_or_before)


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
