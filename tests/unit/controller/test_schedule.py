"""Table tests for the schedule decision, ported in spirit from Kubernetes' CronJob
controller (``pkg/controller/cronjob/utils_test.go``: ``TestMostRecentScheduleTime`` and
``TestNextScheduleTime``), with exact answers for non-uniform schedules where upstream's
interval estimate was approximate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from api.v1alpha1 import parse_schedule
from controller.schedule import TOO_MANY_MISSED, ScheduleMemo, decide

T1 = datetime(2016, 5, 19, 10, 0, tzinfo=UTC)  # a Thursday, as upstream's tests use


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


@dataclass(frozen=True)
class Case:
    name: str
    schedule: str
    now: datetime
    created: datetime = (
        T1 - h(1) + timedelta(minutes=10)
    )  # 09:10, as upstream's "justBeforeThePriorHour"-ish
    last: datetime | None = None
    deadline: int | None = None
    want_recent: datetime | None = None
    want_missed: int = 0
    want_too_late: bool = False
    want_next: datetime | None = None


MOST_RECENT = [
    Case("now before next schedule", "0 * * * *", now=T1 - timedelta(minutes=30),
         want_next=T1),
    Case("now just after next schedule", "0 * * * *", now=T1 + timedelta(minutes=1),
         want_recent=T1, want_missed=1, want_next=T1 + h(1)),
    Case("missed 5 schedules", "0 * * * *", now=T1 + h(4) + timedelta(minutes=1),
         want_recent=T1 + h(4), want_missed=5, want_next=T1 + h(5)),
    Case("complex schedule", "30 6-16/4 * * 1-5", created=datetime(2016, 5, 19, 6, 0, tzinfo=UTC),
         now=datetime(2016, 5, 19, 16, 31, tzinfo=UTC),
         want_recent=datetime(2016, 5, 19, 14, 30, tzinfo=UTC), want_missed=3,
         want_next=datetime(2016, 5, 20, 6, 30, tzinfo=UTC)),
    Case("another complex schedule", "30 10,11,12 * * 1-5",
         created=datetime(2016, 5, 19, 9, 0, tzinfo=UTC),
         now=datetime(2016, 5, 19, 12, 31, tzinfo=UTC),
         want_recent=datetime(2016, 5, 19, 12, 30, tzinfo=UTC), want_missed=3,
         want_next=datetime(2016, 5, 20, 10, 30, tzinfo=UTC)),
    Case("longer gap between executions over a weekend", "30 6-16/4 * * 1-5",
         created=datetime(2016, 5, 20, 15, 0, tzinfo=UTC),  # Friday
         now=datetime(2016, 5, 23, 7, 0, tzinfo=UTC),  # Monday
         want_recent=datetime(2016, 5, 23, 6, 30, tzinfo=UTC), want_missed=1,
         want_next=datetime(2016, 5, 23, 10, 30, tzinfo=UTC)),
    Case("last schedule time wins over creation", "0 * * * *", last=T1 + h(2),
         now=T1 + h(3) + timedelta(minutes=5), want_recent=T1 + h(3), want_missed=1,
         want_next=T1 + h(4)),
    Case("nothing new since the last schedule time", "0 * * * *", last=T1,
         now=T1 + timedelta(minutes=59), want_next=T1 + h(1)),
    Case("starting deadline limits what counts as missed", "0 * * * *", deadline=3600,
         now=T1 + h(9) + timedelta(minutes=30), want_recent=T1 + h(9), want_missed=1,
         want_next=T1 + h(10)),
    Case("a slot past the starting deadline is too late", "0 * * * *", deadline=600,
         now=T1 + timedelta(minutes=11), want_recent=T1, want_missed=1, want_too_late=True,
         want_next=T1 + h(1)),
    Case("rogue: too many missed still yields the latest slot", "* * * * *",
         created=T1 - timedelta(days=365), now=T1 + timedelta(seconds=5),
         want_recent=T1, want_missed=TOO_MANY_MISSED + 1, want_next=T1 + timedelta(minutes=1)),
    Case("creation time in the future (clock skew)", "0 * * * *", created=T1 + h(5),
         now=T1 + timedelta(minutes=1), want_next=T1 + h(1)),
    Case("monthly: the exact most recent first-of-month", "0 0 1 * *",
         created=datetime(2016, 1, 15, tzinfo=UTC), now=datetime(2016, 5, 19, tzinfo=UTC),
         want_recent=datetime(2016, 5, 1, tzinfo=UTC), want_missed=4,
         want_next=datetime(2016, 6, 1, tzinfo=UTC)),
]  # fmt: skip


@pytest.mark.parametrize("case", MOST_RECENT, ids=lambda c: c.name)
def test_most_recent_schedule_time(case: Case) -> None:
    schedule = parse_schedule(case.schedule, "UTC", "ns/name")
    got = decide(
        schedule,
        now=case.now,
        created=case.created,
        last_schedule_time=case.last,
        starting_deadline_seconds=case.deadline,
    )
    assert got.most_recent == case.want_recent
    assert got.missed == case.want_missed
    assert got.too_late == case.want_too_late
    assert got.next_time == case.want_next
    assert got.too_many_missed == (case.want_missed > TOO_MANY_MISSED)


@pytest.mark.parametrize(
    ("now", "want"),
    [
        (T1 - timedelta(seconds=1), T1),
        (T1, T1 + h(1)),  # strictly after now
        (T1 + timedelta(minutes=59, seconds=59), T1 + h(1)),
        (T1 + h(100), T1 + h(101)),  # far past the last schedule: still the next slot after now
    ],
)
def test_next_schedule_time(now: datetime, want: datetime) -> None:
    schedule = parse_schedule("0 * * * *", "UTC", "ns/name")
    got = decide(
        schedule, now=now, created=T1 - h(1), last_schedule_time=None,
        starting_deadline_seconds=None,
    )  # fmt: skip
    assert got.next_time == want


def test_missed_counting_is_bounded_for_a_decade_of_minutes() -> None:
    schedule = parse_schedule("* * * * *", "UTC", "ns/name")
    got = decide(
        schedule, now=T1, created=T1 - timedelta(days=3650), last_schedule_time=None,
        starting_deadline_seconds=None,
    )  # fmt: skip
    assert got.missed == TOO_MANY_MISSED + 1
    assert got.most_recent == T1


@pytest.mark.parametrize("expression", ["H 1 * * *", "h 1 * * *"])
def test_memoized_fire_times_keep_each_backups_hashed_minute(expression: str) -> None:
    """croniter hashes ``H`` and ``h`` alike: the memoized answers must stay per backup, or a
    thousand hashed backups would all fire at the first one's minute."""
    when = datetime(2025, 3, 27, tzinfo=UTC)
    memo = ScheduleMemo()
    first, second = (memo.parse(expression, "UTC", f"default/{n}") for n in ("a", "zz"))
    assert first.next_after(when) == parse_schedule(expression, "UTC", "default/a").next_after(when)
    assert second.next_after(when) == parse_schedule(expression, "UTC", "default/zz").next_after(
        when
    )
    assert first.next_after(when) != second.next_after(when)


def test_an_unhashed_schedule_is_parsed_once_for_every_backup() -> None:
    memo = ScheduleMemo()
    assert memo.parse("0 1 * * *", "UTC", "default/a") is memo.parse(
        "0 1 * * *", "UTC", "default/b"
    )


def test_each_memo_is_its_owners_own() -> None:
    """Two reconcilers (two memos) share nothing: what one parsed, the other parses anew."""
    first, second = ScheduleMemo(), ScheduleMemo()
    assert first.parse("0 1 * * *", "UTC", "default/a") is not second.parse(
        "0 1 * * *", "UTC", "default/a"
    )


def test_a_memo_past_its_bound_still_answers_right() -> None:
    memo = ScheduleMemo(fire_times=2)
    expressions = ["0 1 * * *", "30 2 * * *", "*/7 * * * *"]
    when = datetime(2025, 3, 27, 0, 30, 15, tzinfo=UTC)
    for _ in range(2):  # the second round reads what the first evicted or kept
        for expression in expressions:
            schedule = memo.parse(expression, "Europe/Berlin", "default/a")
            direct = parse_schedule(expression, "Europe/Berlin", "default/a")
            assert schedule.next_after(when) == direct.next_after(when)
            assert schedule.prev_at_or_before(when) == direct.prev_at_or_before(when)


def test_memoized_answers_are_the_schedules_own_across_a_minute() -> None:
    """Asked twice in one minute, the memo answers as the schedule would (the answers depend
    on the minute only), and a decision over it is the same as over the bare schedule."""
    memo = ScheduleMemo()
    memoized = memo.parse("*/5 * * * *", "Europe/Berlin", "ns/name")
    bare = parse_schedule("*/5 * * * *", "Europe/Berlin", "ns/name")
    for second in (0, 59):
        when = T1 + timedelta(minutes=3, seconds=second)
        assert memoized.next_after(when) == bare.next_after(when)
        assert memoized.prev_at_or_before(when) == bare.prev_at_or_before(when)
    decisions = [
        decide(s, now=T1, created=T1 - h(2), last_schedule_time=None,
               starting_deadline_seconds=None)
        for s in (memoized, bare)
    ]  # fmt: skip
    assert decisions[0] == decisions[1]
