"""Schedule: `schedule add|list|remove|pause|resume|export` and the `scheduler` daemon."""

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from drillkit.cli.common import display_zone, emit, exit_with, print_json, say, stop_on_signals, warn, workspace
from drillkit.cli.output import force_option, output_option
from drillkit.model.clock import default_clock, parse_utc
from drillkit.model.durations import MAX_DURATION, parse_duration, parse_span
from drillkit.model.errors import UsageError

schedule_app = typer.Typer(
    help="Exercise schedules: drills that start by themselves (run `drill scheduler`).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class _Unreadable:
    """Names each stored schedule that cannot be read on stderr, and counts them: a command that
    leaves one out of what it shows or writes exits 1 (it ran and found a failure, SPEC §5)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, line: str) -> None:
        warn(line)
        self.count += 1

    def exit(self) -> None:
        exit_with(1 if self.count else 0)


class ExportFormat(StrEnum):
    ics = "ics"
    md = "md"
    csv = "csv"


def _when(cron: str | None, at: str | None, every: str | None) -> tuple[str, str]:
    """Exactly one of --cron, --at, --every, as (kind, expression)."""
    given = [(kind, value) for kind, value in (("cron", cron), ("at", at), ("every", every)) if value is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of --cron EXPR, --at DATETIME or --every DURATION")
    kind, value = given[0]
    if kind != "every":
        return kind, value
    return kind, str(_seconds(value, "--every", read=parse_span))


def _seconds(
    text: str, option: str, at_most: int | None = None, read: Callable[[str, int], int] = parse_duration
) -> int:
    """An option's duration: `parse_span` where zero makes no sense (an interval; a grace time,
    which a fire always overruns by a moment), `parse_duration` where it means none (jitter)."""
    try:
        return read(text, at_most or MAX_DURATION)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


@schedule_app.command("add")
def add(  # noqa: PLR0917  # typer maps each CLI option to one parameter
    scenario: str = typer.Argument(..., help="Scenario id."),
    cron: str | None = typer.Option(
        None,
        "--cron",
        help="Cron expression in the zone, e.g. '0 9 * * mon'. Day-of-month takes L (last day) and LW (last"
        " weekday); day-of-week takes fri#2 (second Friday) and 5L (last Friday). When both day fields are"
        " restricted a day matching EITHER fires, as in cron: '0 9 1-7 * wed' is days 1-7 and every Wednesday"
        " (the first Wednesday is '0 9 * * wed#1').",
    ),
    at: str | None = typer.Option(None, "--at", help="One drill at this wall-clock time, e.g. 2026-12-01T09:00."),
    every: str | None = typer.Option(None, "--every", help="Every DURATION of elapsed time from now, e.g. 30d."),
    tz: str | None = typer.Option(None, "--tz", help="Zone of the times (default: the display zone)."),
    jitter: str | None = typer.Option(
        None, "--jitter", help="Start at a random moment up to DURATION later (at most 1d, under an --every interval)."
    ),
    grace: str = typer.Option(
        "1h", "--grace", help="How late a missed fire may still start (longer than 0s, at most 7d)."
    ),
    schedule_id: str | None = typer.Option(None, "--id", help="Schedule id (default: the scenario id)."),
) -> None:
    """Schedule a scenario's drill; prints the schedule id."""
    from drillkit.model.timefmt import check_zone, local  # zoneinfo (~3 ms): --help and TAB completion go without
    from drillkit.schedule.drafts import MAX_GRACE, MAX_JITTER
    from drillkit.services.schedules import add_schedule

    ws = workspace()
    added = add_schedule(
        ws,
        default_clock(),
        scenario=scenario,
        when=_when(cron, at, every),
        tz=check_zone(tz) if tz else display_zone(ws),
        jitter=_seconds(jitter, "--jitter", MAX_JITTER) if jitter else 0,
        grace=_seconds(grace, "--grace", MAX_GRACE, read=parse_span),
        schedule_id=schedule_id,
    )
    say(added.schedule.id)
    zone = display_zone(ws)
    shown = "".join(f"\n  {local(fire, zone)}" for fire in added.next_fires) or " -"
    warn(f"scheduled {scenario}; next drills:{shown}")


def _last_text(row: dict[str, Any], zone: str) -> str:
    """The last fire's status and nominal time in the display zone (the JSON keeps UTC)."""
    from drillkit.model.timefmt import local  # zoneinfo (~3 ms): --help and TAB completion go without

    last = row["last_fire"]
    return "-" if last is None else f"{last['status']} {local(parse_utc(last['nominal']), zone)}"


@schedule_app.command("list")
def list_schedules(
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    count: int = typer.Option(1, "--next", min=1, max=100, help="Show the next N fires of each schedule (1-100)."),
) -> None:
    """List schedules with their next fire times in the display zone (skipping fires in a blackout window);
    a schedule that cannot be read is named on stderr (exit 1)."""
    from drillkit.render.table import table
    from drillkit.services.schedules import schedule_rows

    ws, unreadable = workspace(), _Unreadable()
    zone = display_zone(ws)
    rows = schedule_rows(ws, default_clock(), zone, unreadable, count)
    if as_json:
        print_json(rows)
    else:
        headers = ["id", "scenario", "when", "tz", "state", "next fire", "last fire"]
        say(table(headers, [line for r in rows for line in _lines(r, zone)]))
    unreadable.exit()


def _lines(row: dict[str, Any], zone: str) -> list[list[str]]:
    """One schedule's lines of the table: the first with everything, one more per further fire."""
    first = [
        row["id"],
        row["scenario"],
        f"{row['kind']} {row['expr']}",
        row["tz"],
        "paused" if row["paused"] else "active",
        row["next_fire_local"] or "-",
        _last_text(row, zone),
    ]
    return [first] + [["", "", "", "", "", later, ""] for later in row["next_fires_local"][1:]]


@schedule_app.command("history")
def history(
    schedule_id: str = typer.Argument(..., help="Schedule id (a removed schedule's ledger is kept)."),
    last: int = typer.Option(20, "--last", min=1, help="Show the latest N ledger rows."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
) -> None:
    """What the scheduler decided about each fire: started (with its run), missed or coalesced
    after an outage, skipped (overlap: the previous drill still running), blackout, failed."""
    from drillkit.render.table import table
    from drillkit.services.schedules import fire_history

    ws = workspace()
    zone = display_zone(ws)
    rows = fire_history(ws, schedule_id, zone, last)
    if as_json:
        print_json(rows)
        return
    say(table(["fire", "status", "run", "detail"], [_history_line(row) for row in rows]))


def _history_line(row: dict[str, Any]) -> list[str]:
    """One ledger row; a row that stands for several fires says how many, from when."""
    detail = row["detail"] or ""
    if (row["missed_count"] or 0) > 1:
        detail = f"{row['missed_count']} fires from {row['missed_from_local']}; {detail}"
    return [row["nominal_local"], row["status"], row["run"] or "-", detail or "-"]


def _change(schedule_id: str, action: str) -> None:
    from drillkit.services.schedules import change_schedule

    done = change_schedule(workspace(), default_clock(), schedule_id, action)
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
    fmt: ExportFormat = typer.Option(
        ..., "--format", "-f", help="ics: a calendar of the upcoming drills; md or csv: the year's exercise plan."
    ),
    year: int | None = typer.Option(None, "--year", help="md and csv: the plan's year (default: this year)."),
    output: Path | None = output_option(),
    force: bool = force_option(),
) -> None:
    """Export the upcoming scheduled drills as a calendar, or a year's exercise plan (年度演练计划);
    fires inside a blackout window left out, and a schedule that cannot be read named on stderr (exit 1)."""
    from drillkit.services.schedules import calendar_text, year_plan_text

    unreadable = _Unreadable()
    if fmt is ExportFormat.ics:
        if year is not None:
            raise UsageError("--year is for --format md or csv; the calendar holds the coming year")
        ws = workspace()
        emit(calendar_text(ws, default_clock(), display_zone(ws), unreadable), output, force=force)
    else:
        chosen = default_clock().now().year if year is None else year
        emit(year_plan_text(workspace(), chosen, fmt.value, unreadable), output, force=force)
    unreadable.exit()


def scheduler(
    once: bool = typer.Option(False, "--once", help="Handle everything due now, then exit."),
) -> None:
    """The scheduler daemon: starts scheduled drills and conducts detached runs (exit 3 if one runs)."""
    from drillkit.services.daemon import run_scheduler  # APScheduler and structlog: only the daemon pays for them

    outcome = run_scheduler(workspace(), default_clock(), once=once, on_stop_signals=stop_on_signals, announce=warn)
    warn(outcome.summary)
    if outcome.dropped or outcome.set_aside or outcome.lost:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
    app.command()(scheduler)
