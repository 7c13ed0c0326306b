"""Schedule use cases: add (checking the scenario), list, pause/resume/remove, the calendar, next drills."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice, takewhile
from typing import TYPE_CHECKING, Any

from drillkit.config.workspace import Workspace
from drillkit.model.blackouts import Blackout
from drillkit.model.clock import Clock, default_clock, format_utc
from drillkit.model.durations import format_duration
from drillkit.model.errors import UsageError
from drillkit.model.timefmt import YEARS, local
from drillkit.schedule.drafts import add_drafted, draft_schedule
from drillkit.schedule.port import Fire, Schedule, ScheduleStore, unknown_schedule
from drillkit.schedule.store import existing_store, open_store, reading_store
from drillkit.schedule.upcoming import blackouts, next_fire, next_fires, upcoming_fires

if TYPE_CHECKING:
    from drillkit.render.yearplan import PlanItem
    from drillkit.services.views import Tell

YEAR_PLAN_FIRES = 400  # a schedule's fires listed in a year's plan, at most (daily drills fit)
ADDED_SHOWS = 5  # fires shown when a schedule is added: enough to see a cron expression's pattern
_DONE = {"remove": "removed", "pause": "paused", "resume": "resumed"}


@dataclass(frozen=True, kw_only=True)
class Added:
    """A schedule just added, and its next fires that will start (`ADDED_SHOWS` at most; none when all
    are blacked out)."""

    schedule: Schedule
    next_fires: list[datetime]


def add_schedule(ws: Workspace, clock: Clock, **request: Any) -> Added:
    """Check and add a schedule of a scenario that loads (`request`: the keywords of
    `draft_schedule`). Everything is checked before the store is opened, so a refused
    request creates nothing: a schedule that can never fire (every fire inside a blackout
    window) is refused too."""
    from drillkit.plans.library import Plans  # pydantic, ~200 ms: `schedule list` does without

    now, windows = clock.now(), blackouts(ws)
    Plans(ws).scenario(request["scenario"])
    drafted = draft_schedule(now, **request)
    upcoming = next_fires(drafted, now, windows, ADDED_SHOWS)
    if not upcoming:
        kind, expr = request["when"]
        shown = format_duration(int(expr)) if kind == "every" else expr
        raise UsageError(
            f"schedule {kind} {shown!r} never fires: every fire is inside a blackout window of drill.toml"
            " ([schedule] blackout); nothing to schedule"
        )
    with open_store(ws) as store:
        schedule = add_drafted(store, drafted, request.get("schedule_id"))
    return Added(schedule=schedule, next_fires=upcoming)


def change_schedule(ws: Workspace, clock: Clock, schedule_id: str, action: str) -> str:
    """`remove`, `pause` or `resume` a schedule; returns what was done (`removed`…). A schedule
    that cannot be read may be removed or paused, but resuming it is refused: it would not fire."""
    with existing_store(ws, schedule_id) as store:
        if action == "resume":
            store.get(schedule_id)
        if action == "remove":
            store.remove(schedule_id, clock.now())
        else:
            store.set_paused(schedule_id, action == "pause", clock.now())
    return _DONE[action]


@dataclass(frozen=True, kw_only=True)
class _Looking:
    """What every row of `schedule list` is computed against."""

    now: datetime
    windows: list[Blackout]
    zone: str
    count: int


def readable_schedules(store: ScheduleStore, tell: Tell) -> list[Schedule]:
    """The schedules that can be read; each one that cannot is named through `tell`, in one line."""
    stored = store.stored()
    for unreadable in stored.unreadable:
        tell(f"drill: {unreadable}")
    return stored.readable


def schedule_rows(ws: Workspace, clock: Clock, zone: str, tell: Tell, count: int = 1) -> list[dict[str, Any]]:
    """Every schedule that can be read as `schedule list` shows it (its JSON document), with its next
    `count` fires, read in one look at the store; the others are named through `tell`."""
    looking = _Looking(now=clock.now(), windows=blackouts(ws), zone=zone, count=count)
    with reading_store(ws) as store:
        schedules, last = readable_schedules(store, tell), store.last_fires()
    return [_row(s, looking, last.get(s.id)) for s in schedules]


def _row(s: Schedule, looking: _Looking, last: Fire | None) -> dict[str, Any]:
    """One schedule; its next fires are the ones that will start (blacked-out fires skipped)."""
    fires = next_fires(s, looking.now, looking.windows, looking.count)
    upcoming, zone = (fires[0] if fires else None), looking.zone
    return {
        "id": s.id,
        "scenario": s.scenario,
        "kind": s.kind,
        "expr": format_duration(int(s.expr)) if s.kind == "every" else s.expr,
        "tz": s.tz,
        "jitter": s.jitter,
        "grace": s.grace,
        "paused": s.paused,
        "next_fire": format_utc(upcoming) if upcoming else None,
        "next_fire_local": local(upcoming, zone) if upcoming else None,
        "next_fires": [format_utc(fire) for fire in fires],
        "next_fires_local": [local(fire, zone) for fire in fires],
        "last_fire": {"nominal": format_utc(last.nominal), "status": last.status, "run": last.run} if last else None,
    }


def fire_history(ws: Workspace, schedule_id: str, zone: str, last: int) -> list[dict[str, Any]]:
    """The schedule's latest `last` ledger rows, oldest first, as `schedule history` shows them (its
    JSON document). A removed schedule keeps its ledger, so its history is still shown."""
    with reading_store(ws) as store:
        fires, known = store.fires(schedule_id), store.stored().ids
    if not fires and schedule_id not in known:
        raise unknown_schedule(schedule_id, known)
    return [_history_row(fire, zone) for fire in fires[-last:]]


def _history_row(fire: Fire, zone: str) -> dict[str, Any]:
    first = fire.missed_from
    return {
        "nominal": format_utc(fire.nominal),
        "nominal_local": local(fire.nominal, zone),
        "status": fire.status,
        "run": fire.run,
        "missed_from": format_utc(first) if first else None,
        "missed_from_local": local(first, zone) if first else None,
        "missed_count": fire.missed_count,
        "detail": fire.detail,
    }


def calendar_text(ws: Workspace, clock: Clock, zone: str, tell: Tell) -> str:
    """The upcoming scheduled drills as an iCalendar file (fires inside a blackout window left out;
    `zone`, the display zone, for a calendar with none); schedules that cannot be read are named
    through `tell`."""
    from drillkit.render.ics import calendar, upcoming  # ~60 ms, for this export only

    now, windows = clock.now(), blackouts(ws)
    with reading_store(ws) as store:
        schedules = readable_schedules(store, tell)
    return calendar(upcoming(schedules, _titles(ws, schedules), now, windows), now, zone)


def year_plan_text(ws: Workspace, year: int, fmt: str, tell: Tell) -> str:
    """`drill schedule export --format md|csv --year`: the year's exercise plan from the schedules
    that can be read (the others named through `tell`)."""
    from drillkit.render import yearplan

    items = year_plan(ws, year, tell)
    return yearplan.markdown(year, items) if fmt == "md" else yearplan.csv_text(items)


def year_plan(ws: Workspace, year: int, tell: Tell) -> list[PlanItem]:
    """One item per readable schedule whose scenario loads and that fires in `year` (blackouts left out)."""
    from drillkit.plans.library import Plans
    from drillkit.render.yearplan import PlanItem

    if year not in YEARS:
        raise UsageError(f"--year {year}: give a year such as 2027")
    windows = blackouts(ws)
    with reading_store(ws) as store:
        schedules = readable_schedules(store, tell)
    loaded = Plans(ws).loadable({s.scenario for s in schedules})
    items = []
    for schedule in sorted(schedules, key=lambda s: s.id):
        times = _fires_in(schedule, year, windows)
        if schedule.scenario not in loaded or not times:
            continue
        scenario, playbook = loaded[schedule.scenario]
        purpose = [objective.title for objective in scenario.objectives.values()]
        items.append(
            PlanItem(
                title=scenario.title,
                purpose=purpose,
                form=scenario.form,
                times=times,
                participants=dict(scenario.participants),
                playbook=f"{playbook.playbook}: {playbook.title}",
            )
        )
    return items


def _fires_in(schedule: Schedule, year: int, windows: Sequence[Blackout]) -> list[str]:
    """The schedule's fires in `year`, in its zone: none from before it was added (they were
    never owed), and at most `YEAR_PLAN_FIRES`, a last entry saying so when more follow."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(schedule.tz)
    start = max(datetime(year, 1, 1, tzinfo=zone) - timedelta(microseconds=1), schedule.anchor)
    end = datetime(year + 1, 1, 1, tzinfo=zone)
    fires = list(
        islice(takewhile(lambda when: when < end, upcoming_fires(schedule, start, windows)), YEAR_PLAN_FIRES + 1)
    )
    listed = [f"{when.astimezone(zone):%Y-%m-%d %H:%M} {schedule.tz}" for when in fires[:YEAR_PLAN_FIRES]]
    if len(fires) > YEAR_PLAN_FIRES:
        listed.append(
            f"… 仅列出前 {YEAR_PLAN_FIRES} 次 / only the first {YEAR_PLAN_FIRES} drills of the year are listed"
        )
    return listed


def _titles(ws: Workspace, schedules: list[Schedule]) -> dict[str, tuple[str, int]]:
    """Scenario id → (title, time limit in whole seconds, as a calendar's DURATION takes them) for
    the scenarios that load."""
    from drillkit.plans.library import Plans  # pydantic, ~200 ms: `schedule list` does without

    loaded = Plans(ws).loadable({s.scenario for s in schedules})
    return {sid: (scenario.title, math.ceil(scenario.time_limit)) for sid, (scenario, _p) in loaded.items()}


def next_fires_by_playbook(ws: Workspace, tell: Tell, clock: Clock | None = None) -> dict[str, str]:
    """Playbook id → the earliest next fire that will start (UTC, RFC 3339) over its scenarios' schedules.

    Schedules whose scenario is missing or invalid are left out: they cannot start a drill. So are
    schedules that cannot be read, each named through `tell`.
    """
    now, windows = (clock or default_clock()).now(), blackouts(ws)
    with reading_store(ws) as store:
        schedules = readable_schedules(store, tell)
    playbook_of = _playbooks_of({s.scenario for s in schedules}, ws)
    earliest: dict[str, datetime] = {}
    for schedule in schedules:
        upcoming, playbook = next_fire(schedule, now, windows), playbook_of.get(schedule.scenario)
        if upcoming is not None and playbook and (playbook not in earliest or upcoming < earliest[playbook]):
            earliest[playbook] = upcoming
    return {playbook: format_utc(when) for playbook, when in earliest.items()}


def _playbooks_of(scenarios: set[str], ws: Workspace) -> dict[str, str]:
    """Scenario id → its playbook id, for the scenarios that load."""
    from drillkit.plans.library import Plans  # pydantic, ~200 ms: `schedule list` does without

    return {scenario: playbook.playbook for scenario, (_s, playbook) in Plans(ws).loadable(scenarios).items()}
