"""Review: `timeline`, `export`, `report`, `coverage` (SPEC §5, §6)."""

from collections.abc import Callable
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from drillkit.cli.common import display_zone, emit, output_option, print_json, record_due, say, warn, workspace

if TYPE_CHECKING:
    from drillkit.config.workspace import Workspace
    from drillkit.render.runview import RunView


class ExportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"
    csv = "csv"


class ReportFormat(StrEnum):
    md = "md"
    json = "json"
    html = "html"


class Lang(StrEnum):
    en = "en"
    zh = "zh"


def timeline(
    run: str = typer.Argument(..., help="Run id."),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of headings and labels: en or zh."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout: the timeline's rows."),
) -> None:
    """Show a run's timeline in the terminal (times in the display zone, drill clock T+hh:mm:ss)."""
    from drillkit.render import timeline as text

    view = _view(run, lang, None)
    if as_json:
        print_json(text.document(view))
    else:
        say(text.render(view))
    _fail_if_tampered(view)


def export(  # noqa: PLR0917  # typer maps each CLI option to one parameter
    run: str = typer.Argument(..., help="Run id."),
    fmt: ExportFormat = typer.Option(ExportFormat.md, "--format", "-f", help="md, html, json or csv."),
    output: Path | None = output_option(),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of headings and labels: en or zh."),
    tz: str | None = typer.Option(None, "--tz", help="Display time zone (default: the global --tz, drill.toml, UTC)."),
    bom: bool = typer.Option(True, "--bom/--no-bom", help="csv: start with a byte-order mark (for Excel and WPS)."),
) -> None:
    """Export the post-incident timeline and after-action report; exit 1 if the record fails verification."""
    view = _view(run, lang, tz)
    emit(_render(view, fmt, bom=bom), output)
    _fail_if_tampered(view)


def _view(run: str, lang: Lang, tz: str | None) -> "RunView":
    from drillkit.model.clock import default_clock
    from drillkit.model.timefmt import check_zone
    from drillkit.render.runview import load_view

    ws, clock = workspace(), default_clock()
    zone = check_zone(tz) if tz else display_zone(ws)
    view = load_view(ws, run, zone=zone, lang=lang.value, now=clock.now())
    if view.document["integrity"]["verdict"] == "open" and record_due(ws, clock, view.run["id"], view.events):
        view = load_view(ws, run, zone=zone, lang=lang.value, now=clock.now())
    return view


def _render(view: "RunView", fmt: ExportFormat, *, bom: bool = True) -> str:
    if fmt is ExportFormat.json:
        import orjson

        return orjson.dumps(view.document, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
    if fmt is ExportFormat.csv:
        from drillkit.render import csvout

        return csvout.render(view, bom=bom)
    if fmt is ExportFormat.html:
        from drillkit.render import html

        return html.render(view)
    from drillkit.render import markdown

    return markdown.render(view)


def _fail_if_tampered(view: "RunView") -> None:
    if view.document["integrity"]["verdict"] == "tampered":
        warn(f"drill: the record of {view.run['id']} fails verification (see `drill verify {view.run['id']}`)")
        raise typer.Exit(1)


def report(  # noqa: PLR0917  # typer maps each CLI option to one parameter
    since: str | None = typer.Option(None, "--since", help="Runs started on or after DATE (YYYY-MM-DD or a time)."),
    until: str | None = typer.Option(None, "--until", help="Runs started before DATE; a bare date includes that day."),
    playbook: str | None = typer.Option(None, "--playbook", help="Only this playbook's runs."),
    fmt: ReportFormat = typer.Option(ReportFormat.md, "--format", "-f", help="md, json or html."),
    include_drills: bool = typer.Option(False, "--include-drills", help="Count drills and simulations too."),
    output: Path | None = output_option(),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of headings and labels: en or zh."),
) -> None:
    """Figures across runs: runs by mode, metric medians, p90s and targets met, breaches, expectations."""
    from drillkit.model.errors import UsageError
    from drillkit.services.history import known_playbook
    from drillkit.services.report import Selection, answer, bound

    ws = workspace()
    zone = display_zone(ws)
    lower, upper = bound(since, "--since", zone), bound(until, "--until", zone, end_of_day=True)
    if lower is not None and upper is not None and lower >= upper:
        raise UsageError(f"--since {since} is not before --until {until}; no run could match")
    selection = Selection(
        since=lower,
        until=upper,
        playbook=known_playbook(ws, playbook) if playbook is not None else None,
        include_drills=include_drills,
    )
    render = partial(_render_figures, fmt=fmt, lang=lang, zone=zone)
    emit(answer(ws, selection, (fmt.value, lang.value, zone), render, catch_up=_due_recorder(ws)), output)


def _due_recorder(ws: "Workspace") -> Callable[[str], bool]:
    """Records what came due in an open run (as `status` does; warns when only a writer could);
    a record that cannot be read is left to the report, which leaves it out."""
    from drillkit.model.clock import default_clock
    from drillkit.model.errors import DrillError
    from drillkit.store.files import RunRecord

    clock = default_clock()

    def record(run_id: str) -> bool:
        try:
            return record_due(ws, clock, run_id, RunRecord(ws, run_id).read())
        except DrillError:
            return False

    return record


def _render_figures(document: dict[str, object], fmt: ReportFormat, lang: Lang, zone: str) -> str:
    """The report as text; JSON needs neither the renderers nor the labels (nor their imports)."""
    if fmt is ReportFormat.json:
        import orjson

        return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
    from drillkit.render import figures
    from drillkit.render.labels import Labels

    render = figures.render_html if fmt is ReportFormat.html else figures.render_markdown
    return render(document, Labels(lang.value), zone)


def coverage(as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """Every playbook's last drill, next scheduled drill and overdue status; exit 1 if any is overdue."""
    from drillkit.model.clock import default_clock
    from drillkit.services.coverage import coverage as build

    ws = workspace()
    rows = build(ws, default_clock())
    if as_json:
        print_json(rows)
    else:
        say(_coverage_table(rows, display_zone(ws)))
    if any(row["overdue"] or row["status"] == "invalid" for row in rows):
        raise typer.Exit(1)


def _coverage_table(rows: list[dict[str, object]], zone: str) -> str:
    from drillkit.model.clock import parse_utc
    from drillkit.model.durations import format_duration
    from drillkit.model.timefmt import local
    from drillkit.render.table import table

    def when(value: object) -> str:
        return local(parse_utc(str(value)), zone) if value else "-"

    return table(
        ["playbook", "every", "last drill", "due by", "next scheduled", "status"],
        [
            [
                row["playbook"],
                format_duration(float(str(row["exercise_every"]))) if row["exercise_every"] else "-",
                when(row["last_drill"]),
                when(row["due_by"]),
                when(row["next_drill"]),
                row["status"],
            ]
            for row in rows
        ],
    )


def register(app: typer.Typer) -> None:
    for command in (timeline, export, report, coverage):
        app.command()(command)
