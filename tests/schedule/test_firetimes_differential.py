"""Fire times against two other cron implementations, cronsim and croniter, on random expressions.

Each case is a random five-field expression (lists, ranges, steps, names, `L`, `LW`, `DOW#N`,
`DOWL`), a zone and a start; drillkit's next five fires must equal the peer's. Where a peer
follows a different documented rule, the case is left out explicitly, never silently:

- cronsim, like Debian cron, applies the wall-clock rule (a skipped time fires when the clocks
  jump, a repeated time fires once) only when neither the minute nor the hour field starts with
  `*`; for the others it counts elapsed time, so `*/15 * * * *` fires twice in a repeated hour.
  drillkit applies the wall-clock rule to every expression (`schedule/firetimes.py`), so for such
  expressions, in zones with daylight-saving time, fires on the days the offset changes are left
  out of both sides.
- cronsim gives up after 50 years without a fire; drillkit searches on (`0 0 29 2 */7`), so
  only the fires cronsim found are compared.
- croniter is compared only in zones without daylight-saving time (its handling of skipped and
  repeated times differs from both), and not on the cases where its own rules differ: it takes a
  field such as `*/2` as restricting the day (cron and cronsim take any field starting with `*`
  as not restricting it), it combines `DOW#N` with a restricted day-of-month by AND, it reads a
  start with a step (`5/2`) its own way, and it has no `5L`.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from croniter import croniter
from cronsim import CronSim, CronSimError

from drillkit.schedule.firetimes import Recurrence

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Sydney"]
WITHOUT_DST = ["UTC", "Asia/Shanghai"]
FIRES = 5
END = datetime(9999, 1, 1, tzinfo=UTC)
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


class Expressions:
    """Random cron expressions over everything drillkit accepts."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def __call__(self) -> str:
        fields = [self._plain(0, 59), self._plain(0, 23), self._day(), self._plain(1, 12, _MONTHS), self._weekday()]
        return " ".join(fields)

    def _plain(self, low: int, high: int, names: list[str] | None = None) -> str:  # noqa: PLR0911  # one per shape
        rng = self.rng
        first, last = sorted(rng.sample(range(low, high + 1), 2))
        shape = rng.choice(["*", "*/k", "n", "a-b", "a-b/k", "n/k", "list"])
        if shape == "*":
            return "*"
        if shape == "*/k":
            return f"*/{rng.randint(1, max(1, (high - low) // 2))}"
        if shape == "n":
            return self._value(low, high, names)
        if shape == "a-b":
            return f"{first}-{last}"
        if shape == "a-b/k":
            return f"{first}-{last}/{rng.randint(1, 4)}"
        if shape == "n/k":
            return f"{first}/{rng.randint(1, 4)}"
        return ",".join(sorted({self._value(low, high, names) for _ in range(rng.randint(2, 3))}))

    def _value(self, low: int, high: int, names: list[str] | None) -> str:
        number = self.rng.randint(low, high)
        if names and number - low < len(names) and self.rng.random() < 0.3:
            return names[number - low]
        return str(number)

    def _day(self) -> str:
        roll = self.rng.random()
        if roll < 0.1:
            return "L"
        if roll < 0.18:
            return "LW"
        if roll < 0.25:
            return f"{self.rng.randint(1, 28)},{self.rng.choice(['L', 'LW'])}"
        return self._plain(1, 31)

    def _weekday(self) -> str:
        rng, roll = self.rng, self.rng.random()
        if roll < 0.12:
            return f"{rng.choice([str(rng.randint(0, 7)), rng.choice(_DAYS)])}#{rng.randint(1, 5)}"
        if roll < 0.22:
            return f"{rng.randint(0, 7)}L"
        if roll < 0.27:
            return f"{rng.randint(0, 6)}#{rng.randint(1, 5)},{rng.randint(0, 6)}L"
        return self._plain(0, 7, _DAYS)


@cache
def offset_change_days(zone_name: str) -> frozenset[date]:
    """The local days (2025-2099) on which the zone's UTC offset changes, and the day after."""
    zone, days = ZoneInfo(zone_name), set()
    day = datetime(2025, 1, 1)
    while day.year < 2100:
        if day.replace(tzinfo=zone).utcoffset() != (day + timedelta(days=1)).replace(tzinfo=zone).utcoffset():
            days |= {day.date(), (day + timedelta(days=1)).date()}
        day += timedelta(days=1)
    return frozenset(days)


def a_start(rng: random.Random, zone_name: str) -> datetime:
    """A random minute in 2026-2030; half of them in the day before an offset change, where DST bites."""
    changes = sorted(d for d in offset_change_days(zone_name) if d.year < 2031)
    if changes and rng.random() < 0.5:
        midnight = datetime.combine(rng.choice(changes), datetime.min.time(), ZoneInfo(zone_name))
        return midnight.astimezone(UTC) - timedelta(minutes=rng.randint(0, 1440))
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 5 * 365 * 1440))


def drillkit_fires(expr: str, zone: str, start: datetime) -> list[datetime]:
    return Recurrence.make("cron", expr, zone, start).fires(start, END, FIRES)


def cronsim_fires(expr: str, zone: str, start: datetime) -> list[datetime] | None:
    """cronsim's next fires in UTC; None when it refuses the expression (a day no month has)."""
    try:
        found = []
        for fire in CronSim(expr, start.astimezone(ZoneInfo(zone))):
            found.append(fire.astimezone(UTC))
            if len(found) == FIRES:
                break
    except CronSimError:
        return None
    return found


def comparable(fires: list[datetime], expr: str, zone: str, horizon: datetime) -> list[datetime]:
    """The fires both sides promise the same: up to `horizon`, and off offset-change days where
    cronsim counts elapsed time (module docstring)."""
    minute, hour = expr.split()[:2]
    elapsed_rule = zone not in WITHOUT_DST and (minute.startswith("*") or hour.startswith("*"))
    changes = offset_change_days(zone) if elapsed_rule else frozenset()
    return [f for f in fires if f <= horizon and f.astimezone(ZoneInfo(zone)).date() not in changes]


def test_next_fires_equal_cronsims_over_five_zones() -> None:
    expressions, rng = Expressions(seed=20), random.Random(21)
    compared, differences = 0, []
    for _ in range(2500):
        expr, zone = expressions(), rng.choice(ZONES)
        start = a_start(rng, zone)
        ours, theirs = drillkit_fires(expr, zone, start), cronsim_fires(expr, zone, start)
        if theirs is None:
            assert ours == [], f"{expr!r}: cronsim refuses it as never matching, drillkit fires"
            continue
        horizon = min(ours[-1] if len(ours) == FIRES else END, theirs[-1] if len(theirs) == FIRES else END)
        if len(theirs) < FIRES:  # cronsim gave up after 50 years without a fire
            horizon = theirs[-1] if theirs else start
        if comparable(ours, expr, zone, horizon) != comparable(theirs, expr, zone, horizon):
            differences.append((expr, zone, start.isoformat(), ours, theirs))
        compared += 1
    assert differences == []
    assert compared > 2400


def _croniter_reads_it_alike(expr: str) -> bool:
    """Not one of the cases where croniter's rules differ (module docstring)."""
    minute, hour, day, month, weekday = expr.split()
    if any(re.search(r"(^|,)\d+/", field) for field in (minute, hour, day, month, weekday)):
        return False
    if "L" in weekday or ("#" in weekday and day != "*"):
        return False
    return not any(field != "*" and field.startswith("*") for field in (day, weekday))


def test_next_fires_equal_croniters_where_its_rules_are_the_same() -> None:
    expressions, rng = Expressions(seed=22), random.Random(23)
    compared, differences = 0, []
    for _ in range(2500):
        expr, zone = expressions(), rng.choice(WITHOUT_DST)
        if not _croniter_reads_it_alike(expr):
            continue
        start = a_start(rng, zone)
        try:
            walker = croniter(expr.lower(), start.astimezone(ZoneInfo(zone)))
            theirs = [walker.get_next(datetime).astimezone(UTC) for _ in range(FIRES)]
        except (ValueError, KeyError, StopIteration):  # croniter's errors derive from these
            continue  # croniter refuses or cannot find five fires: nothing to compare
        ours = drillkit_fires(expr, zone, start)
        if ours != theirs:
            differences.append((expr, zone, start.isoformat(), ours, theirs))
        compared += 1
    assert differences == []
    assert compared > 400
