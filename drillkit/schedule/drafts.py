"""A schedule asked for, checked before any store is touched, and added under a free id.

Whether its scenario exists is the adding service's question (`services/schedules.py`):
this layer knows fire times, not plans.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from drillkit.model.durations import format_duration
from drillkit.model.errors import UsageError
from drillkit.schedule.port import DEFAULT_GRACE, Schedule, ScheduleStore

MAX_GRACE = 7 * 86400  # a fire missed for longer is recorded missed, not started a week late
MAX_JITTER = 86400  # an unannounced drill moves within its day, not into another week
_SCHEDULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def draft_schedule(
    now: datetime,
    *,
    scenario: str,
    when: tuple[str, str],
    tz: str,
    jitter: int = 0,
    grace: int = DEFAULT_GRACE,
    schedule_id: str | None = None,
) -> Schedule:
    """A schedule checked without the store; `when` is (kind, expression). Its id, when not
    given, is the scenario's until `add_drafted` finds a free one. Only fires after `now` are
    owed: the cursor starts at the moment the schedule is drafted."""
    _check_id(schedule_id or scenario)
    anchor = now.replace(microsecond=0)
    schedule = Schedule(
        id=schedule_id or scenario,
        scenario=scenario,
        kind=when[0],
        expr=when[1],
        tz=tz,
        jitter=jitter,
        grace=grace,
        anchor=anchor,
        handled_until=anchor,
        created=now,
    )
    if schedule.recurrence().next_after(now) is None:
        raise UsageError(f"schedule {when[0]} {when[1]!r} never fires after now; nothing to schedule")
    _check_jitter(when, jitter)
    return schedule


def add_drafted(store: ScheduleStore, drafted: Schedule, schedule_id: str | None) -> Schedule:
    """A drafted schedule added under the id asked for, else the first free one after its scenario's."""
    schedule = drafted if schedule_id else replace(drafted, id=_free_id(store, drafted.scenario))
    _check_id(schedule.id)
    store.add(schedule)
    return schedule


def _check_jitter(when: tuple[str, str], jitter: int) -> None:
    """A jittered drill starts before the next one is due."""
    if when[0] == "every" and jitter >= int(when[1]):
        every = format_duration(int(when[1]))
        raise UsageError(f"--jitter {format_duration(jitter)} must be shorter than the --every interval of {every}")


def _check_id(schedule_id: str) -> None:
    if not _SCHEDULE_ID.match(schedule_id):
        raise UsageError(f"schedule id {schedule_id!r} must be lowercase letters, digits and '-', at most 64")


def _free_id(store: ScheduleStore, scenario: str) -> str:
    taken = set(store.stored().ids)
    candidates = [scenario] + [f"{scenario}-{n}" for n in range(2, len(taken) + 3)]
    return next(c for c in candidates if c not in taken)
