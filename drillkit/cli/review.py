"""Review: `timeline`, `export`, `report`, `coverage` (SPEC §5, §6)."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from drillkit.cli.common import display_zone, say, warn, workspace

if TYPE_CHECKING:
    from drillkit.export.runview import RunView


class ExportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"
    csv = "csv"


class Lang(StrEnum):
    en = "en"
    zh = "zh"


def timeline(
    run: str = typer.Argument(..., help="Run id."),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of headings and labels: en or zh."),
) -> None:
    """Show a run's timeline in the terminal (times in the display zone, drill clock T+hh:mm:ss)."""
    from drillkit.export import timeline as text

    view = _view(run, lang, None)
    say(text.render(view))
    _fail_if_tampered(view)


def export(
    run: str = typer.Argument(..., help="Run id."),
    fmt: ExportFormat = typer.Option(ExportFormat.md, "--format", "-f", help="md, html, json or csv."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to FILE (0640) instead of stdout."),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of headings and labels: en or zh."),
    tz: str | None = typer.Option(None, "--tz", help="Display time zone (default: the global --tz, drill.toml, UTC)."),
) -> None:
    """Export the post-incident timeline and after-action report; exit 1 if the record fails verification."""
    view = _view(run, lang, tz)
    data = _render(view, fmt)
    if output is None:
        typer.echo(data, nl=False)
    else:
        write_private(output, data.encode("utf-8"))
        warn(f"wrote {output}")
    _fail_if_tampered(view)


def _view(run: str, lang: Lang, tz: str | None) -> RunView:
    from drillkit.export.runview import load_view
    from drillkit.timefmt import check_zone

    ws = workspace()
    zone = check_zone(tz) if tz else display_zone(ws)
    return load_view(ws, run, zone=zone, lang=lang.value)


def _render(view: RunView, fmt: ExportFormat) -> str:
    if fmt is ExportFormat.json:
        import orjson

        return orjson.dumps(view.document, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
    if fmt is ExportFormat.csv:
        from drillkit.export import csvout

        return csvout.render(view.events)
    if fmt is ExportFormat.html:
        from drillkit.export import html

        return html.render(view)
    from drillkit.export import markdown

    return markdown.render(view)


def _fail_if_tampered(view: RunView) -> None:
    if view.document["integrity"]["verdict"] == "tampered":
        warn(f"drill: the record of {view.run['id']} fails verification (see `drill verify {view.run['id']}`)")
        raise typer.Exit(1)


def write_private(path: Path, data: bytes) -> None:
    """Write a file as 0640 whatever the umask: to a temporary name, fsync'd, then renamed."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.fchmod(fd, 0o640)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def register(app: typer.Typer) -> None:
    for command in (timeline, export):
        app.command()(command)
