"""An inline SVG time chart of a run: one lane per state over the drill clock, with each stay
as a bar, state deadlines as dashed marks, breaches as red diamonds and injects as triangles.

Every text in it is escaped; it needs no script, font file or request.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from drillkit.engine.fields import reads_a_line
from drillkit.model.durations import format_clock
from drillkit.model.events import EventType
from drillkit.render.cells import html_text as escape
from drillkit.render.runview import RunView
from drillkit.store.port import Event

# RIGHT leaves room for half the last tick label (`T+02:00:00`, centred on the axis's end): with
# less, that label was cut off at the chart's right edge, on screen and on paper. The lane labels'
# column is at least LEFT wide and grows with the longest label up to MAX_LEFT; a label longer
# than that is drawn narrower (`textLength`) rather than cut off at the chart's left edge.
LEFT, MAX_LEFT, RIGHT, TOP, LANE, AXIS = 150, 360, 44, 8, 26, 34
WIDTH = 960
LABEL_PX, GAP, PAD = 12, 8, 6  # lane label font size (the report's CSS), gap to the lane, left margin
_STEPS = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


@dataclass(frozen=True)
class Scale:
    end: float
    left: int

    def x(self, t: float) -> float:
        return round(self.left + (WIDTH - self.left - RIGHT) * min(max(t, 0.0), self.end) / self.end, 1)


def render(view: RunView) -> str:
    lanes = [view.labels("injected"), view.labels("breach"), *view.playbook.states]
    scale = Scale(_end(view), _left(lanes))
    height = TOP + LANE * len(lanes) + AXIS
    parts = [
        f'<svg id="state-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="state-chart-title">',
        f'<title id="state-chart-title">{escape(view.labels.clock(view.run["mode"], "chart"))}</title>',
        *_lanes(lanes, scale.left),
        *_axis(scale, TOP + LANE * len(lanes)),
        *_bars(view, scale, lanes),
        *_deadlines(view, scale, lanes),
        *_injects(view, scale),
        *_breaches(view, scale),
        "</svg>",
    ]
    return "\n".join(parts)


def _end(view: RunView) -> float:
    """The chart's right edge: the last thing it shows, at least a minute."""
    times = [span.end for span in view.spans] + [float(e["due"]) for e in view.document["expectations"]]
    return max([60.0, *times])


def _label_width(text: str) -> float:
    """A generous estimate of a label's drawn width in the sans-serif fonts a report is read with:
    a wide (CJK) character, a capital, `m` or `w` takes at most one em, any other two thirds."""
    return LABEL_PX * sum(_em(char) for char in text)


def _em(char: str) -> float:
    return 1.0 if char.isupper() or char in "mw" or unicodedata.east_asian_width(char) in "WF" else 0.67


def _left(lanes: list[str]) -> int:
    """Where the lanes begin: after the widest label, within LEFT..MAX_LEFT."""
    widest = max(_label_width(name) for name in lanes)
    return min(max(LEFT, math.ceil(widest) + GAP + PAD), MAX_LEFT)


def _lane_y(index: int) -> int:
    return TOP + LANE * index


def _lanes(lanes: list[str], left: int) -> list[str]:
    parts = []
    room = left - GAP - PAD
    for index, name in enumerate(lanes):
        y = _lane_y(index)
        shade = ' class="lane-alt"' if index % 2 else ' class="lane"'
        squeeze = f' textLength="{room}" lengthAdjust="spacingAndGlyphs"' if _label_width(name) > room else ""
        parts.append(f'<rect{shade} x="{left}" y="{y}" width="{WIDTH - left - RIGHT}" height="{LANE}"/>')
        parts.append(f'<text class="lane-label" x="{left - GAP}" y="{y + LANE / 2 + 4}"{squeeze}>{escape(name)}</text>')
    return parts


def _axis(scale: Scale, y: int) -> list[str]:
    step = next((s for s in _STEPS if scale.end / s <= 10), _STEPS[-1])
    parts = [f'<line class="axis" x1="{scale.left}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>']
    tick = 0
    while tick <= scale.end:
        x = scale.x(tick)
        parts.append(f'<line class="tick" x1="{x}" y1="{TOP}" x2="{x}" y2="{y + 4}"/>')
        parts.append(f'<text class="tick-label" x="{x}" y="{y + 18}">{format_clock(tick)}</text>')
        tick += step
    return parts


def _bars(view: RunView, scale: Scale, lanes: list[str]) -> list[str]:
    parts = []
    for span in view.spans:
        y = _lane_y(lanes.index(span.state, 2)) + 5
        x1, x2 = scale.x(span.start), scale.x(span.end)
        final = " final" if view.playbook.states[span.state].final else ""
        tip = f"{span.state}: {format_clock(span.start)} – {format_clock(span.end)}"
        size = f'width="{max(x2 - x1, 2.0)}" height="{LANE - 10}"'
        parts.append(_tipped("rect", f'class="stay{final}" x="{x1}" y="{y}" {size}', tip))
    return parts


def _deadlines(view: RunView, scale: Scale, lanes: list[str]) -> list[str]:
    """A dashed mark where each stay's deadline fell (with the severity in force then)."""
    parts = []
    for span in view.spans:
        due = view.deadlines.get((span.state, span.start))
        if due is None or due > scale.end:
            continue
        x, y = scale.x(due), _lane_y(lanes.index(span.state, 2))
        tip = f"{view.labels('deadline')} {span.state} {format_clock(due)}"
        parts.append(_tipped("line", f'class="deadline" x1="{x}" y1="{y + 2}" x2="{x}" y2="{y + LANE - 2}"', tip))
    return parts


def _injects(view: RunView, scale: Scale) -> list[str]:
    return [_inject(e, scale) for e in view.events if e["event"] == EventType.INJECT_DELIVERED]


@reads_a_line
def _inject(delivered: Event, scale: Scale) -> str:
    x, y = scale.x(float(delivered["due"])), _lane_y(0) + LANE / 2
    tip = f"{delivered['inject']} {format_clock(delivered['due'])}: {delivered['message']}"
    return _tipped("path", f'class="inject" d="M{x - 6} {y - 7} L{x + 6} {y - 7} L{x} {y + 6} Z"', tip)


def _breaches(view: RunView, scale: Scale) -> list[str]:
    parts = []
    y = _lane_y(1) + LANE / 2
    for breach in view.document["breaches"]:
        x = scale.x(float(breach["due"]))
        who = f"({breach['owner'] or '-'}: {breach['assignee'] or '-'})"
        tip = f"{view.labels.what(breach['what'])} {format_clock(breach['due'])} {who}"
        parts.append(_tipped("path", f'class="breach" d="M{x} {y - 7} L{x + 7} {y} L{x} {y + 7} L{x - 7} {y} Z"', tip))
    return parts


def _tipped(tag: str, attributes: str, tip: str) -> str:
    """An element with a hover text (its `<title>`), escaped."""
    return f"<{tag} {attributes}><title>{escape(tip)}</title></{tag}>"
