"""`drill timeline RUN`: the run's timeline as a terminal table."""

from __future__ import annotations

from drillkit.export.aar import footer, timeline, title
from drillkit.export.runview import RunView
from drillkit.export.table import table


def render(view: RunView) -> str:
    section = timeline(view)
    return "\n".join([title(view), "", table(section.headers, section.rows), "", footer(view)])
