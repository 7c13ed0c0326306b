"""Fire times against a brute-force oracle that walks the wall clock minute by minute."""

from __future__ import annotations

import time as walltime
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice, takewhile
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from drillkit.model.blackouts import parse_blackouts, resolve_wall
from drillkit.model.errors import UsageError
from drillkit.schedule.firetimes import Recurrence, clear_fires, parse_cron

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _walls(year: int, wall: time, weekday: int | None = None) -> list[datetime]:
    """Every wall-clock time `wall` of the year in order (only on `weekday` if given)."""
    day, found = date(year, 1, 1), []
    while day.year == year:
        if weekday is None or day.weekday() == weekday:
            found.append(datetime.combine(day, wall))
        day += timedelta(days=1)
    return found


def _oracle(
    zone: ZoneInfo, targets: dict[str, list[datetime]], start: datetime, end: datetime
) -> dict[str, list[datetime]]:
    """A fire is the first minute whose local wall clock reads at or past the target time."""
    fired: dict[str, list[datetime]] = {name: [] for name in targets}
    position = dict.fromkeys(targets, 0)
    instant = start
    while instant <= end:
        wall = instant.astimezone(zone).replace(tzinfo=None)
        for name, walls in targets.items():
            if position[name] < len(walls) and wall >= walls[position[name]]:
                fired[name].append(instant)
                position[name] += 1
        instant += MINUTE
    return fired


@pytest.mark.parametrize("zone_name", ["America/New_York", "Europe/Berlin", "Asia/Shanghai"])
def test_a_year_of_fires_equals_the_minute_by_minute_oracle(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    schedules = {
        "0 0 * * *": _walls(2026, time(0, 0)),
        "30 2 * * *": _walls(2026, time(2, 30)),
        "0 9 * * mon": _walls(2026, time(9, 0), weekday=0),
    }
    start = datetime(2026, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(2027, 1, 1, tzinfo=zone).astimezone(UTC) - MINUTE
    expected = _oracle(zone, schedules, start, end)
    for expr, walls in schedules.items():
        fires = Recurrence.make("cron", expr, zone_name, ANCHOR).fires(start - MINUTE, end, limit=1000)
        assert fires == expected[expr], expr
        assert len(fires) == len(walls) == len(set(fires)), expr


def test_a_skipped_time_fires_when_the_clocks_jump_and_a_repeated_time_fires_once() -> None:
    new_york, berlin = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
    assert resolve_wall(datetime(2026, 3, 8, 2, 30), new_york) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert resolve_wall(datetime(2026, 10, 25, 2, 30), berlin) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    daily = Recurrence.make("cron", "30 2 * * *", "Europe/Berlin", ANCHOR)
    repeated_day = daily.fires(datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 26, tzinfo=UTC), 10)
    assert repeated_day == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]


def test_wall_times_inside_one_skipped_hour_share_one_fire() -> None:
    every_quarter = Recurrence.make("cron", "*/15 2 8 3 *", "America/New_York", ANCHOR)
    fires = every_quarter.fires(datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC), 10)
    assert fires == [datetime(2026, 3, 8, 7, 0, tzinfo=UTC)]


def test_cron_fields_accept_names_ranges_steps_and_macros() -> None:
    spec = parse_cron("*/20 9-17/4 * jan,jul mon-fri")
    assert spec.minutes == {0, 20, 40}
    assert spec.hours == {9, 13, 17}
    assert spec.months == {1, 7}
    assert spec.weekdays == {0, 1, 2, 3, 4}
    assert parse_cron("@weekly") == parse_cron("0 0 * * 1")
    assert parse_cron("0 0 * * 7").weekdays == parse_cron("0 0 * * sun").weekdays == {6}


def test_both_day_fields_restricted_match_either_as_in_classic_cron() -> None:
    first_or_friday = Recurrence.make("cron", "0 12 1 * fri", "UTC", ANCHOR)
    fires = first_or_friday.fires(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 31, tzinfo=UTC), 10)
    assert [f.day for f in fires] == [1, 8, 15, 22, 29]


def _days(expr: str, since: datetime, count: int) -> list[str]:
    fires = Recurrence.make("cron", expr, "UTC", ANCHOR).fires(since, datetime(9999, 1, 1, tzinfo=UTC), count)
    return [f.date().isoformat() for f in fires]


def test_nth_and_last_weekdays_and_last_days_of_the_month() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    second_friday = ["2026-01-09", "2026-02-13", "2026-03-13"]
    assert _days("0 9 * * fri#2", since, 3) == _days("0 9 * * 5#2", since, 3) == second_friday
    last_friday = ["2026-01-30", "2026-02-27", "2026-03-27"]
    assert _days("0 9 * * 5L", since, 3) == _days("0 9 * * friL", since, 3) == last_friday
    assert _days("0 9 L * *", since, 3) == ["2026-01-31", "2026-02-28", "2026-03-31"]
    assert _days("0 9 LW * *", since, 3) == ["2026-01-30", "2026-02-27", "2026-03-31"]  # 31 Jan is a Saturday
    assert _days("0 9 1,L * *", since, 3) == ["2026-01-01", "2026-01-31", "2026-02-01"]
    assert _days("0 9 * 2 mon#5", since, 2) == ["2044-02-29", "2072-02-29"]  # a fifth Monday in February


def test_the_search_has_no_horizon_and_a_day_no_month_has_never_fires() -> None:
    leap_sundays = _days("0 0 29 2 */7", ANCHOR, 4)
    assert leap_sundays == ["2032-02-29", "2060-02-29", "2088-02-29", "2128-02-29"]
    began = walltime.monotonic()
    assert Recurrence.make("cron", "0 0 30 2 *", "UTC", ANCHOR).next_after(ANCHOR) is None
    assert Recurrence.make("cron", "0 0 31 4,6,9,11 *", "UTC", ANCHOR).next_after(ANCHOR) is None
    assert walltime.monotonic() - began < 2


def test_both_day_fields_restricted_is_either_so_the_first_week_or_any_wednesday() -> None:
    fires = _days("0 9 1-7 * wed", datetime(2026, 12, 1, tzinfo=UTC), 100)
    assert fires[:8] == [f"2026-12-0{d}" for d in range(1, 8)] + ["2026-12-09"]
    assert _days("0 9 * * wed#1", datetime(2026, 12, 1, tzinfo=UTC), 2) == ["2026-12-02", "2027-01-06"]


@pytest.mark.parametrize(
    "bad",
    [
        *["* * * *", "60 * * * *", "0 0 * * funday", "*/0 * * * *", "5-1 * * * *", "0 0 * * fri#6"],
        *["0 0 * * 8L", "0 0 L-2 * *", "0 0 * * L", "0 0 LW/2 * *", "0 0 * * 9#1"],
    ],
)
def test_bad_cron_expressions_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError, match="cron"):
        parse_cron(bad)


def test_every_counts_elapsed_time_from_the_anchor() -> None:
    hourly = Recurrence.make("every", "3600", "Europe/Berlin", ANCHOR)
    assert hourly.next_after(ANCHOR) == ANCHOR + timedelta(hours=1)
    assert hourly.next_after(ANCHOR - timedelta(days=1)) == ANCHOR + timedelta(hours=1)
    late = ANCHOR + timedelta(hours=5, minutes=10)
    assert hourly.last_between(ANCHOR, late) == ANCHOR + timedelta(hours=5)
    assert hourly.last_between(ANCHOR + timedelta(hours=5), late) is None


def test_every_has_no_fire_past_the_last_time_a_datetime_holds() -> None:
    """`drill schedule export --year 9998` of an `--every 3650d` schedule asks for the fire after 9998."""
    ten_years = Recurrence.make("every", str(3650 * 86400), "UTC", ANCHOR)
    last = ten_years.next_after(datetime(9990, 1, 1, tzinfo=UTC))
    assert last is not None
    assert ten_years.next_after(last) is None
    assert list(clear_fires(ten_years, [], datetime(9990, 1, 1, tzinfo=UTC))) == [last]


def test_at_fires_once_at_its_wall_clock_time() -> None:
    once = Recurrence.make("at", "2026-12-01T09:00", "Asia/Shanghai", ANCHOR)
    assert once.next_after(ANCHOR) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert once.next_after(datetime(2026, 12, 1, 1, 0, tzinfo=UTC)) is None


def test_last_between_looks_back_over_a_long_outage_without_walking_every_fire() -> None:
    every_minute = Recurrence.make("cron", "* * * * *", "UTC", ANCHOR)
    ten_years = datetime(2036, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert every_minute.last_between(ANCHOR, ten_years) == datetime(2036, 1, 1, tzinfo=UTC)


def test_blackout_windows_dated_and_weekly() -> None:
    dated, weekend = parse_blackouts(
        (
            {"start": "2026-12-24T00:00", "end": "2026-12-26T00:00", "tz": "Asia/Shanghai"},
            {"days": ["sat", "sun"], "from": "00:00", "to": "24:00"},
        ),
        "Europe/Berlin",
    )
    assert dated.covers(datetime(2026, 12, 23, 16, 0, tzinfo=UTC))
    assert not dated.covers(datetime(2026, 12, 25, 16, 0, tzinfo=UTC))
    assert weekend.covers(datetime(2026, 6, 6, 22, 30, tzinfo=UTC))  # Sunday 00:30 in Berlin
    assert not weekend.covers(datetime(2026, 6, 7, 22, 30, tzinfo=UTC))  # Monday 00:30 in Berlin


@pytest.mark.parametrize(
    "window",
    [
        {"start": "2026-01-02T00:00", "end": "2026-01-01T00:00"},
        {"start": "soon", "end": "2026-01-01T00:00"},
        {"start": "2026-01-01T00:00", "end": "9999-12-31T23:59"},
        {"from": "10:00", "to": "09:00"},
        {"days": ["x"]},
        {"start": "2026-01-01T00:00", "end": "2026-01-02T00:00", "tz": "Mars/Base"},
    ],
)
def test_bad_blackout_windows_name_the_window(window: dict[str, object]) -> None:
    with pytest.raises(UsageError, match="blackout window 1"):
        parse_blackouts((window,), "UTC")


BERLIN_WINDOWS: list[dict[str, Any]] = [
    {"from": "02:30", "to": "04:00"},  # straddles both changes: 02:00-03:00 is skipped in March, repeated in October
    {"from": "01:00", "to": "02:45"},
    {"days": ["sat", "sun"], "from": "00:00", "to": "24:00"},
    {"days": ["sun"], "from": "23:00", "to": "24:00"},
    {"start": "2026-10-25T02:10", "end": "2026-10-25T02:20"},  # the first 02:10 to the first 02:20
]


@pytest.mark.parametrize("window", BERLIN_WINDOWS)
@pytest.mark.parametrize("day", [datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 10, 24, tzinfo=UTC)])
def test_clear_fires_leave_out_exactly_the_fires_a_window_covers(window: dict[str, Any], day: datetime) -> None:
    windows = parse_blackouts((window,), "Europe/Berlin")
    every_minute = Recurrence.make("cron", "* * * * *", "UTC", ANCHOR)
    until = day + timedelta(days=2)  # the Sunday of a change, in Berlin, and the Saturday before
    oracle = [f for f in every_minute.fires(day, until, 10_000) if not windows[0].covers(f)]
    assert list(takewhile(lambda fire: fire <= until, clear_fires(every_minute, windows, day))) == oracle


def test_a_long_window_is_jumped_over_and_a_permanent_one_has_no_next_fire() -> None:
    every_minute = Recurrence.make("cron", "* * * * *", "Asia/Shanghai", ANCHOR)
    holiday = parse_blackouts(({"start": "2026-01-01T00:00", "end": "2026-01-15T00:00"},), "Asia/Shanghai")
    assert next(clear_fires(every_minute, holiday, ANCHOR)) == datetime(2026, 1, 14, 16, 0, tzinfo=UTC)
    weekends = parse_blackouts(({"days": ["sat", "sun"], "from": "00:00", "to": "24:00"},), "UTC")
    assert next(clear_fires(every_minute, weekends, datetime(2026, 1, 3, tzinfo=UTC))) == datetime(
        2026, 1, 5, tzinfo=UTC
    )
    always = parse_blackouts(({"from": "00:00", "to": "24:00"},), "UTC")
    began = walltime.monotonic()
    assert next(clear_fires(every_minute, always, ANCHOR), None) is None
    assert walltime.monotonic() - began < 5
    hourly = Recurrence.make("every", "3600", "UTC", ANCHOR)
    nights = parse_blackouts(({"from": "00:00", "to": "06:00"},), "UTC")
    assert [f.hour for f in islice(clear_fires(hourly, nights, ANCHOR), 20)] == [*range(6, 24), 6, 7]
    assert next(clear_fires(hourly, nights, ANCHOR, search=1)) == datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
    assert next(clear_fires(hourly, nights, ANCHOR, search=0), None) is None
