"""Review: `timeline`, `export`, `report`, `coverage` (SPEC §5, §6)."""

from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from drillkit.cli.common import Lang, display_zone, emit, exit_with, print_json, run_argument, say, warn, workspace
from drillkit.cli.output import force_option, output_option
from drillkit.model.clock import default_clock

if TYPE_CHECKING:
    from drillkit.render.runview import RunView


class ExportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"
    csv = "csv"
    bundle = "bundle"


class ReportFormat(StrEnum):
    md = "md"
    json = "json"
    html = "html"


def timeline(
    run: str = run_argument(),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of headings and labels: en or zh."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout: the timeline's rows."),
) -> None:
    """Show a run's timeline in the terminal (times in the display zone, drill clock T+hh:mm:ss)."""
    from drillkit.render import timeline as text
    from drillkit.services.review import tampered_exit

    view = _view(run, lang, None)
    if as_json:
        print_json(text.document(view))
    else:
        say(text.render(view))
    exit_with(tampered_exit(view, warn))


def export(  # noqa: PLR0917  # typer maps each CLI option to one parameter
    run: str = run_argument(),
    fmt: ExportFormat = typer.Option(
        ExportFormat.md, "--format", "-f", help="md, html, json, csv, or bundle (an evidence .zip, needs -o)."
    ),
    output: Path | None = output_option(),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of headings and labels: en or zh."),
    tz: str | None = typer.Option(None, "--tz", help="Display time zone (default: the global --tz, drill.toml, UTC)."),
    bom: bool = typer.Option(True, "--bom/--no-bom", help="csv: start with a byte-order mark (for Excel and WPS)."),
    force: bool = force_option(),
) -> None:
    """Export the post-incident timeline and after-action report; exit 1 if the record fails verification."""
    from drillkit.render.formats import export_text
    from drillkit.services.review import tampered_exit

    if fmt is ExportFormat.bundle:
        _bundle(run, output, force)
        return
    view = _view(run, lang, tz)
    emit(export_text(view, fmt.value, bom=bom), output, force=force)
    exit_with(tampered_exit(view, warn))


def _bundle(run: str, output: Path | None, force: bool) -> None:
    """The evidence bundle to FILE; exit 1 when the run fails verification (the bundle shows it too)."""
    from drillkit.cli.output import write_output
    from drillkit.model.errors import UsageError
    from drillkit.services.review import PASSING, evidence_bundle

    if output is None:
        raise UsageError("--format bundle writes a zip: name it with -o FILE.zip")
    ws = workspace()
    data, verdict = evidence_bundle(ws, run)
    write_output(ws, output, data, force=force)
    warn(f"wrote {output}")
    if verdict.verdict not in PASSING:
        warn(f"drill: the record of {run} fails verification (see `drill verify {run}`)")
        exit_with(1)


def _view(run: str, lang: Lang, tz: str | None) -> "RunView":
    from drillkit.model.timefmt import check_zone  # zoneinfo (~3 ms): --help and TAB completion go without
    from drillkit.services.review import run_view

    ws = workspace()
    zone = check_zone(tz) if tz is not None else display_zone(ws)
    return run_view(ws, default_clock(), run, zone=zone, lang=lang.value, tell=warn)


def report(  # noqa: PLR0917  # typer maps each CLI option to one parameter
    since: str | None = typer.Option(None, "--since", help="Runs started on or after DATE (YYYY-MM-DD or a time)."),
    until: str | None = typer.Option(None, "--until", help="Runs started before DATE; a bare date includes that day."),
    playbook: str | None = typer.Option(None, "--playbook", help="Only this playbook's runs."),
    fmt: ReportFormat = typer.Option(ReportFormat.md, "--format", "-f", help="md, json or html."),
    include_drills: bool = typer.Option(False, "--include-drills", help="Count drills and simulations too."),
    output: Path | None = output_option(),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of headings and labels: en or zh."),
    force: bool = force_option(),
) -> None:
    """Figures across runs: runs by mode, metric medians, p90s and targets met, breaches, expectations."""
    from drillkit.render.formats import figures_text
    from drillkit.services.report import ReportQuestion, report_text

    ws = workspace()
    zone = display_zone(ws)
    key = (fmt.value, lang.value, zone)
    question = ReportQuestion(since=since, until=until, playbook=playbook, include_drills=include_drills, key=key)
    render = partial(figures_text, fmt=fmt.value, lang=lang.value, zone=zone)
    emit(report_text(ws, default_clock(), question, render, warn), output, force=force)


def coverage(as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """Every playbook's last drill, next scheduled drill and overdue status; exit 1 if any is overdue."""
    from drillkit.render.summaries import coverage_table, forecast_lines
    from drillkit.services.coverage import coverage as build
    from drillkit.services.coverage import coverage_exit

    ws = workspace()
    rows = build(ws, default_clock(), warn)
    if as_json:
        print_json(rows)
    else:
        say(coverage_table(rows, display_zone(ws)) + forecast_lines(rows))
    exit_with(coverage_exit(rows))


def register(app: typer.Typer) -> None:
    for command in (timeline, export, report, coverage):
        app.command()(command)
