"""parse_schedule(): macros, the hashed H form, time zones, and the fire-time queries the
controller relies on (strictly after / at or before, whole minutes, aware UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.v1alpha1 import ScheduleError, parse_schedule
from api.v1alpha1.schedule import MACROS

T0 = datetime(2025, 3, 27, 1, 0, tzinfo=UTC)


def test_next_after_is_strictly_after_and_prev_includes_the_instant() -> None:
    s = parse_schedule("0 1 * * *", "UTC", "ns/a")
    assert s.next_after(T0) == T0 + timedelta(days=1)
    assert s.prev_at_or_before(T0) == T0
    assert s.prev_before(T0) == T0 - timedelta(days=1)
    just_after = T0 + timedelta(seconds=59, microseconds=999)
    assert s.prev_at_or_before(just_after) == T0
    assert s.next_after(T0 - timedelta(microseconds=1)) == T0


def test_results_are_aware_utc_whole_minutes() -> None:
    s = parse_schedule("*/7 * * * *", "Asia/Kolkata", "ns/a")
    got = s.next_after(datetime(2025, 1, 1, 0, 0, 33, 5, tzinfo=UTC))
    assert got.tzinfo == UTC
    assert (got.second, got.microsecond) == (0, 0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_schedule("0 1 * * *", "UTC", "ns/a").next_after(datetime(2025, 1, 1))


def test_time_zone_moves_the_slot() -> None:
    s = parse_schedule("0 1 * * *", "Europe/Berlin", "ns/a")
    assert s.next_after(T0) == datetime(2025, 3, 28, 0, 0, tzinfo=UTC)  # CET = UTC+1
    # After the switch to summer time (30 March) 01:00 Berlin is 23:00 UTC the day before.
    assert s.next_after(datetime(2025, 4, 1, tzinfo=UTC)) == datetime(2025, 4, 1, 23, tzinfo=UTC)


@pytest.mark.parametrize(("macro", "expression"), sorted(MACROS.items()))
def test_macros_mean_what_kubernetes_means(macro: str, expression: str) -> None:
    """@daily is midnight (as Kubernetes' CronJob reads it), not a hashed time of day."""
    ours = parse_schedule(macro, "UTC", "ns/a")
    plain = parse_schedule(expression, "UTC", "ns/a")
    when = T0
    for _ in range(3):
        assert ours.next_after(when) == plain.next_after(when)
        when = plain.next_after(when)


def test_hashed_minute_is_stable_per_backup_and_spreads_backups() -> None:
    def minute(hash_id: str) -> int:
        return parse_schedule("H 1 * * *", "UTC", hash_id).next_after(T0).minute

    assert minute("default/a") == minute("default/a")
    spread = {minute(f"team-{i}/db") for i in range(1000)}
    assert len(spread) >= 55  # 1000 backups use (nearly) every minute of the hour
    for i in range(50):
        got = parse_schedule("H 1 * * *", "UTC", f"n/{i}").next_after(T0)
        assert got.hour == 1


def test_hashed_range_stays_in_range() -> None:
    for i in range(100):
        got = parse_schedule("H(0-29) * * * *", "UTC", f"n/{i}").next_after(T0)
        assert got.minute < 30


@pytest.mark.parametrize(
    ("expression", "field", "text"),
    [
        ("CRON_TZ=UTC 0 1 * * *", "schedule", "spec.timeZone"),
        ("TZ=Europe/Berlin 0 1 * * *", "schedule", "spec.timeZone"),
        ("0 0 31 2 *", "schedule", "never fires"),
        ("0 1 * *", "schedule", "5 fields"),
        ("0 0 0 1 * *", "schedule", "5 fields"),
        ("@reboot", "schedule", "unknown macro"),
        ("99 * * * *", "schedule", "invalid cron"),
    ],
)
def test_schedule_errors(expression: str, field: str, text: str) -> None:
    with pytest.raises(ScheduleError) as err:
        parse_schedule(expression, "UTC", "ns/a")
    assert err.value.field == field
    assert text in err.value.message


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime"])
def test_unknown_time_zones(zone: str) -> None:
    with pytest.raises(ScheduleError) as err:
        parse_schedule("0 1 * * *", zone, "ns/a")
    assert err.value.field == "timeZone"


def test_leap_day_schedule_finds_slots_years_apart() -> None:
    s = parse_schedule("0 0 29 2 *", "UTC", "ns/a")
    assert s.next_after(T0) == datetime(2028, 2, 29, tzinfo=UTC)
    assert s.prev_at_or_before(T0) == datetime(2024, 2, 29, tzinfo=UTC)
