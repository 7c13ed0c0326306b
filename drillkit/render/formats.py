"""A run's export and the report across runs in the format asked for. JSON needs neither the
renderers nor the labels, so each renderer is imported only when its format is asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from drillkit.model.inert import inert_json

if TYPE_CHECKING:
    from drillkit.render.runview import RunView


def as_json(document: object) -> str:
    return inert_json(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode("utf-8")) + "\n"


def export_text(view: RunView, fmt: str, *, bom: bool = True) -> str:
    """`drill export --format`: md, html, json or csv (`bom`: csv starts with a byte-order mark)."""
    if fmt == "json":
        return as_json(view.document)
    if fmt == "csv":
        from drillkit.render import csvout  # each renderer only for its own format

        return csvout.render(view, bom=bom)
    if fmt == "html":
        from drillkit.render import html  # each renderer only for its own format

        return html.render(view)
    from drillkit.render import markdown  # each renderer only for its own format

    return markdown.render(view)


def figures_text(document: dict[str, object], fmt: str, lang: str, zone: str) -> str:
    """`drill report --format`: md, json or html."""
    if fmt == "json":
        return as_json(document)
    from drillkit.render import figures  # the renderers and labels only for a text report
    from drillkit.render.labels import Labels

    render = figures.render_html if fmt == "html" else figures.render_markdown
    return render(document, Labels(lang), zone)
