"""Schedule: `schedule add|list|remove|pause|resume|export` and the `scheduler` daemon."""

import threading
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from drillkit.cli.common import display_zone, emit, output_option, print_json, say, stop_on_signals, warn, workspace
from drillkit.model.events import SchedulerEvent

if TYPE_CHECKING:
    from datetime import datetime

    from drillkit.config.workspace import Workspace
    from drillkit.model.blackouts import Blackout
    from drillkit.schedule.store import Fire, Schedule

schedule_app = typer.Typer(
    help="Exercise schedules: drills that start by themselves (run `drill scheduler`).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class ExportFormat(StrEnum):
    ics = "ics"


def _when(cron: str | None, at: str | None, every: str | None) -> tuple[str, str]:
    """Exactly one of --cron, --at, --every, as (kind, expression)."""
    from drillkit.model.errors import UsageError

    given = [(kind, value) for kind, value in (("cron", cron), ("at", at), ("every", every)) if value is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of --cron EXPR, --at DATETIME or --every DURATION")
    kind, value = given[0]
    return (kind, str(_seconds(value, "--every"))) if kind == "every" else (kind, value)


def _seconds(text: str, option: str, at_most: int | None = None) -> int:
    from drillkit.model.durations import MAX_DURATION, parse_duration
    from drillkit.model.errors import UsageError

    try:
        return parse_duration(text, at_most or MAX_DURATION)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


@schedule_app.command("add")
def add(  # noqa: PLR0917  # typer maps each CLI option to one parameter
    scenario: str = typer.Argument(..., help="Scenario id."),
    cron: str | None = typer.Option(None, "--cron", help="Cron expression in the zone, e.g. '0 9 * * mon'."),
    at: str | None = typer.Option(None, "--at", help="One drill at this wall-clock time, e.g. 2026-12-01T09:00."),
    every: str | None = typer.Option(None, "--every", help="Every DURATION of elapsed time from now, e.g. 30d."),
    tz: str | None = typer.Option(None, "--tz", help="Zone of the times (default: the display zone)."),
    jitter: str | None = typer.Option(
        None, "--jitter", help="Start at a random moment up to DURATION later (at most 1d, under an --every interval)."
    ),
    grace: str = typer.Option("1h", "--grace", help="How late a missed fire may still start (at most 7d)."),
    schedule_id: str | None = typer.Option(None, "--id", help="Schedule id (default: the scenario id)."),
) -> None:
    """Schedule a scenario's drill; prints the schedule id."""
    from drillkit.model.clock import default_clock
    from drillkit.model.timefmt import check_zone, local
    from drillkit.schedule.store import MAX_GRACE, MAX_JITTER, add_schedule, blackouts, next_fire

    ws, now = workspace(), default_clock().now()
    windows = blackouts(ws)
    request: dict[str, Any] = {
        "scenario": scenario,
        "when": _when(cron, at, every),
        "tz": check_zone(tz) if tz else display_zone(ws),
        "jitter": _seconds(jitter, "--jitter", MAX_JITTER) if jitter else 0,
        "grace": _seconds(grace, "--grace", MAX_GRACE),
        "schedule_id": schedule_id,
    }
    schedule = add_schedule(ws, now, **request)
    say(schedule.id)
    upcoming = next_fire(schedule, now, windows)
    warn(f"scheduled {scenario}; next drill {local(upcoming, display_zone(ws)) if upcoming else '-'}")


def _rows(ws: "Workspace", zone: str) -> list[dict[str, Any]]:
    """Every schedule as `schedule list` shows it, read in one look at the store."""
    from drillkit.model.clock import default_clock
    from drillkit.schedule.store import ScheduleStore, blackouts

    now, windows = default_clock().now(), blackouts(ws)
    with ScheduleStore.reading(ws) as store:
        schedules, last = store.schedules(), store.last_fires()
    return [_row(s, now, windows, last.get(s.id), zone) for s in schedules]


def _row(s: "Schedule", now: "datetime", windows: "list[Blackout]", last: "Fire | None", zone: str) -> dict[str, Any]:
    """One schedule; its next fire is the next one that will start (blacked-out fires skipped)."""
    from drillkit.model.clock import format_utc
    from drillkit.model.durations import format_duration
    from drillkit.model.timefmt import local
    from drillkit.schedule.store import next_fire

    upcoming = next_fire(s, now, windows)
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
        "last_fire": {"nominal": format_utc(last.nominal), "status": last.status, "run": last.run} if last else None,
    }


def _last_text(row: dict[str, Any], zone: str) -> str:
    """The last fire's status and nominal time in the display zone (the JSON keeps UTC)."""
    from drillkit.model.clock import parse_utc
    from drillkit.model.timefmt import local

    last = row["last_fire"]
    return "-" if last is None else f"{last['status']} {local(parse_utc(last['nominal']), zone)}"


@schedule_app.command("list")
def list_schedules(as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """List schedules with their next fire time in the display zone (skipping fires in a blackout window)."""
    from drillkit.render.table import table

    ws = workspace()
    zone = display_zone(ws)
    rows = _rows(ws, zone)
    if as_json:
        print_json(rows)
        return
    headers = ["id", "scenario", "when", "tz", "state", "next fire", "last fire"]
    say(
        table(
            headers,
            [
                [
                    r["id"],
                    r["scenario"],
                    f"{r['kind']} {r['expr']}",
                    r["tz"],
                    "paused" if r["paused"] else "active",
                    r["next_fire_local"] or "-",
                    _last_text(r, zone),
                ]
                for r in rows
            ],
        )
    )


def _change(schedule_id: str, action: str) -> None:
    from drillkit.model.clock import default_clock
    from drillkit.schedule.store import ScheduleStore

    ws, now = workspace(), default_clock().now()
    store = ScheduleStore.open_existing(ws, schedule_id)
    try:
        if action == "remove":
            store.remove(schedule_id, now)
        else:
            store.set_paused(schedule_id, action == "pause", now)
    finally:
        store.close()
    done = {"remove": "removed", "pause": "paused", "resume": "resumed"}[action]
    warn(f"schedule {schedule_id}: {done}")


@schedule_app.command("remove")
def remove(schedule_id: str = typer.Argument(..., help="Schedule id.")) -> None:
    """Delete a schedule (its fire ledger is kept)."""
    _change(schedule_id, "remove")


@schedule_app.command("pause")
def pause(schedule_id: str = typer.Argument(..., help="Schedule id.")) -> None:
    """Stop a schedule firing until it is resumed."""
    _change(schedule_id, "pause")


@schedule_app.command("resume")
def resume(schedule_id: str = typer.Argument(..., help="Schedule id.")) -> None:
    """Let a paused schedule fire again, from now on."""
    _change(schedule_id, "resume")


@schedule_app.command("export")
def export(
    fmt: ExportFormat = typer.Option(..., "--format", "-f", help="ics: an iCalendar file of the upcoming drills."),
    output: Path | None = output_option(),
) -> None:
    """Export the upcoming scheduled drills as a calendar (fires inside a blackout window left out)."""
    from drillkit.model.clock import default_clock
    from drillkit.render.ics import calendar, upcoming
    from drillkit.schedule.store import ScheduleStore, blackouts

    ws, now = workspace(), default_clock().now()
    windows = blackouts(ws)
    with ScheduleStore.reading(ws) as store:
        schedules = store.schedules()
    text = calendar(upcoming(schedules, _titles(ws, schedules), now, windows), now)
    emit(text, output)


def _titles(ws: "Workspace", schedules: "list[Schedule]") -> dict[str, tuple[str, int]]:
    """Scenario id → (title, time limit in seconds) for the scenarios that load."""
    from drillkit.plans.library import Plans

    loaded = Plans(ws).loadable({s.scenario for s in schedules})
    return {scenario_id: (scenario.title, scenario.time_limit) for scenario_id, (scenario, _p) in loaded.items()}


def scheduler(
    once: bool = typer.Option(False, "--once", help="Handle everything due now, then exit."),
) -> None:
    """The scheduler daemon: starts scheduled drills and conducts detached runs (exit 3 if one runs)."""
    from drillkit.model.clock import default_clock
    from drillkit.services import scheduler as scheduling

    ws, clock = workspace(), default_clock()
    scheduling.check_settings(ws)
    early_stop = threading.Event()
    if not once:  # a stop that comes while the scheduler starts up is kept, not fatal
        stop_on_signals(early_stop.set)
    with scheduling.exclusive(ws):
        scheduling.check_store(ws)
        with scheduling.scheduler_log(ws, clock) as log:
            daemon = scheduling.Daemon(
                ws=ws,
                clock=clock,
                starter=scheduling.DrillStarter(ws, clock),
                conducting=scheduling.RunConducting(
                    ws,
                    clock,
                    report=lambda text: log.warning(SchedulerEvent.NOTIFY, detail=text),
                    dropped=lambda run, error: log.error(SchedulerEvent.RUN_DROPPED, run=run, error=str(error)),
                ),
                log=log,
            )
            if not once:
                stop_on_signals(daemon.stop)
                if early_stop.is_set():
                    daemon.stop()
                warn("scheduler running; Ctrl-C or SIGTERM stops it (drills keep running)")
            tally = scheduling.run(daemon, once=once)
    warn("scheduler: " + (", ".join(f"{n} {status}" for status, n in sorted(tally.items())) or "nothing due"))
    if tally[scheduling.DROPPED]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
    app.command()(scheduler)
