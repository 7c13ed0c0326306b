"""The after-action report as Markdown (GitHub-flavoured tables)."""

from __future__ import annotations

import re

from drillkit.model.inert import inert
from drillkit.render.aar import Section, footer, title
from drillkit.render.evaluated import report_sections
from drillkit.render.runview import RunView

_SPECIAL = re.compile(r"([\\`*\[\]<|]|(?<!\w)_|_(?!\w))")


def escape(text: str) -> str:
    """Record text as literal Markdown: no markup, links or raw HTML, one line per cell."""
    return _SPECIAL.sub(r"\\\1", " ".join(inert(text).split()))


def render(view: RunView) -> str:
    parts = [f"# {view.mark()}{escape(title(view).removeprefix(view.mark()))}", ""]
    for section in report_sections(view):
        parts.extend(_section(section))
    parts.extend(["---", "", f"{escape(view.labels('integrity'))}: {escape(footer(view))}", ""])
    return "\n".join(parts)


def _section(section: Section) -> list[str]:
    lines = [f"## {escape(section.title)}", ""]
    if not section.headers:
        lines.extend(f"- **{escape(label)}**: {escape(value)}" for label, value in section.rows)
        return [*lines, ""]
    lines.append(table(section.headers, section.rows))
    return [*lines, ""]


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = [_row(headers), "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend(_row(row) for row in rows)
    return "\n".join(lines)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(escape(cell) for cell in cells) + " |"
