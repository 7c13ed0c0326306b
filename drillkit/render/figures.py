"""`drill report` rendered as Markdown or self-contained HTML (a chart per metric over time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drillkit.model.clock import parse_utc
from drillkit.model.timefmt import local
from drillkit.render.cells import DASH, duration
from drillkit.render.cells import html_text as escape
from drillkit.render.labels import Labels

Table = tuple[str, list[str], list[list[str]]]


def tables(block: dict[str, Any], say: Labels) -> list[Table]:
    """The tables of one block of figures (overall, or one playbook)."""
    modes = [[say.value(mode), str(count)] for mode, count in block["by_mode"].items()]
    metrics = [
        [
            m["name"],
            str(m["runs"]),
            str(m["measured"]),
            duration(m["median"]),
            duration(m["p90"]),
            f"{m['share_met']:.0%} ({m['met']}/{m['met'] + m['missed']})" if m["share_met"] is not None else DASH,
        ]
        for m in block["metrics"]
    ]
    breaches = [[owner, str(count)] for owner, count in block["breaches_by_owner"].items()]
    verdicts = [[say.value(verdict), str(count)] for verdict, count in block["expectations"].items()]
    none = [[say("none"), ""]]
    return [
        (say("runs_by_mode"), [say("mode"), say("runs")], modes or none),
        (
            say("metrics"),
            [say("metric"), say("runs"), say("measured"), say("median"), say("p90"), say("share_met")],
            metrics or [[say("none"), "", "", "", "", ""]],
        ),
        (say("breaches_by_owner"), [say("owner"), say("count")], breaches or none),
        (say("expectation_verdicts"), [say("verdict"), say("count")], verdicts),
    ]


def period(document: dict[str, Any], say: Labels, zone: str) -> str:
    since = local(parse_utc(document["since"]), zone) if document["since"] else "…"
    until = local(parse_utc(document["until"]), zone) if document["until"] else "…"
    scope = say("drills_included") if document["include_drills"] else say("incidents_only")
    chosen = f", {say('playbook')} {document['playbook']}" if document["playbook"] else ""
    left_out = f"; {len(document['left_out'])} {say('left_out')}" if document["left_out"] else ""
    return f"{say('period')}: {since} – {until} ({scope}{chosen}){left_out}"


def action_table(document: dict[str, Any], say: Labels) -> Table:
    """Corrective actions opened, closed and overdue in the period: overall, then by playbook."""
    found = document["actions"]
    rows = [[say("overall"), *_action_counts(found["overall"])]]
    rows += [[playbook, *_action_counts(counts)] for playbook, counts in found["playbooks"].items()]
    headers = [say("playbook"), say("actions_opened"), say("actions_closed"), say("actions_overdue")]
    return say("corrective_actions"), headers, rows


def _action_counts(counts: dict[str, int]) -> list[str]:
    return [str(counts["opened"]), str(counts["closed"]), str(counts["overdue"])]


def actions_note(document: dict[str, Any], say: Labels) -> str:
    return say("actions_note").format(day=document["actions"]["as_of"])


def blocks(document: dict[str, Any], say: Labels) -> list[tuple[str, dict[str, Any]]]:
    return [(say("overall"), document["overall"]), *document["playbooks"].items()]


def render_markdown(document: dict[str, Any], say: Labels, zone: str) -> str:
    from drillkit.render import markdown

    lines = [f"# {markdown.escape(say('figures'))}", "", markdown.escape(period(document, say, zone)), ""]
    heading, headers, rows = action_table(document, say)
    note = markdown.escape(actions_note(document, say))
    lines += [f"## {markdown.escape(heading)}", "", note, "", markdown.table(headers, rows), ""]
    if not document["overall"]["runs"]:
        return "\n".join([*lines, markdown.escape(say("no_runs")), ""])
    for name, block in blocks(document, say):
        lines.extend([f"## {markdown.escape(name)}", ""])
        for heading, headers, rows in tables(block, say):
            lines.extend([f"### {markdown.escape(heading)}", "", markdown.table(headers, rows), ""])
    return "\n".join(lines)


def render_html(document: dict[str, Any], say: Labels, zone: str) -> str:
    from drillkit.render import html as page

    parts = [f"<p>{escape(period(document, say, zone))}</p>"]
    heading, headers, rows = action_table(document, say)
    note = escape(actions_note(document, say))
    parts.append(f"<section>\n<h2>{escape(heading)}</h2>\n<p>{note}</p>\n{page.table(headers, rows)}\n</section>")
    if not document["overall"]["runs"]:
        parts.append(f"<p>{escape(say('no_runs'))}</p>")
    else:
        for name, block in blocks(document, say):
            parts.append(_block_html(name, block, document["series"], say))
    body = f"<h1>{escape(say('figures'))}</h1>\n" + "\n".join(parts) + "\n"
    return page.page(say.lang, say("figures"), body, CHART_STYLE)


def _block_html(name: str, block: dict[str, Any], series: list[dict[str, Any]], say: Labels) -> str:
    from drillkit.render import html as page

    parts = [f"<section>\n<h2>{escape(name)}</h2>"]
    for heading, headers, rows in tables(block, say):
        parts.append(f"<h3>{escape(heading)}</h3>\n{page.table(headers, rows)}")
    for line in series:
        if line["playbook"] == name and line["points"]:
            parts.append(metric_chart(line))
    parts.append("</section>")
    return "\n".join(parts)


CHART_STYLE = """
.metric-chart { margin: 1rem 0; }
.metric-chart .point { fill: #3b6fb6; } .metric-chart .point.over { fill: #c62828; }
.metric-chart .trend { fill: none; stroke: #3b6fb6; stroke-width: 1; opacity: .5; }
.metric-chart .target { stroke: #d97a00; stroke-dasharray: 5 3; }
.metric-chart text { font-size: 11px; fill: #57606a; }
"""
# PAD_L holds the y axis's longest label, the top value: `1d2h30m23s` for a day-long restore
# (with 64 it was cut off at the chart's left edge).
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 720, 200, 96, 16, 14, 28


def metric_chart(line: dict[str, Any]) -> str:
    """One metric's measured values over the runs' start times, with its target as a dashed line."""
    points = line["points"]
    starts = [parse_utc(p["started"]).timestamp() for p in points]
    first, span = min(starts), (max(starts) - min(starts)) or 1.0
    targets = [float(p["target"]) for p in points if p["target"] is not None]
    top = max([float(p["value"]) for p in points] + targets + [1.0]) * 1.1

    def x(when: float) -> float:
        return round(PAD_L + (W - PAD_L - PAD_R) * (when - first) / span, 1)

    def y(value: float) -> float:
        return round(H - PAD_B - (H - PAD_B - PAD_T) * value / top, 1)

    dots = [
        f'<circle class="point{" over" if p["target"] is not None and p["value"] > p["target"] else ""}" '
        f'cx="{x(when)}" cy="{y(float(p["value"]))}" r="3"><title>{escape(p["started"])}: '
        f"{escape(duration(p['value']))}</title></circle>"
        for when, p in zip(starts, points, strict=True)
    ]
    trend = " ".join(f"{x(when)},{y(float(p['value']))}" for when, p in zip(starts, points, strict=True))
    target = (
        f'<line class="target" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(targets[-1])}" y2="{y(targets[-1])}"/>'
        if targets
        else ""
    )
    caption = f"{line['playbook']} · {line['metric']}"
    return (
        f'<figure class="metric-chart"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" '
        f'role="img" aria-label="{escape(caption)}">'
        f'<line class="axis" x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}"/>'
        f'<text x="{PAD_L - 6}" y="{y(top / 1.1) + 4}" text-anchor="end">{escape(duration(top / 1.1))}</text>'
        f'<text x="{PAD_L - 6}" y="{H - PAD_B}" text-anchor="end">0s</text>'
        f'<text x="{PAD_L}" y="{H - 8}">{escape(points[0]["started"][:10])}</text>'
        f'<text x="{W - PAD_R}" y="{H - 8}" text-anchor="end">{escape(points[-1]["started"][:10])}</text>'
        f'{target}<polyline class="trend" points="{trend}"/>{"".join(dots)}</svg>'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


@dataclass(frozen=True)
class Spread:
    """One plan's simulated values of a metric: the share of runs in each bar (`step` seconds
    wide, from 0), its target, and the hover text of that target's mark."""

    shares: list[float]
    target: int | None
    target_tip: str


def spread_chart(caption: str, step: int, plan: Spread, other: Spread | None = None) -> str:
    """A metric's forecast spread as bars (runs past the target in red), its target as a dashed
    line; a what-if's spread as an outline and its target as a second line. Drawn on the frame
    of `metric_chart`: same size, axis, labels and target style."""
    bars = max(len(plan.shares), len(other.shares) if other else 0)
    end = float(bars * step)
    top = max([*plan.shares, *(other.shares if other else []), 0.01]) * 1.1

    def x(seconds: float) -> float:
        return round(PAD_L + (W - PAD_L - PAD_R) * min(seconds, end) / end, 1)

    def y(share: float) -> float:
        return round(H - PAD_B - (H - PAD_B - PAD_T) * share / top, 1)

    parts = [f'<line class="axis" x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}"/>']
    parts += [
        f'<text x="{PAD_L - 6}" y="{y(top / 1.1) + 4}" text-anchor="end">{top / 1.1:.0%}</text>',
        f'<text x="{PAD_L - 6}" y="{H - PAD_B}" text-anchor="end">0%</text>',
        f'<text x="{PAD_L}" y="{H - 8}">0s</text>',
        f'<text x="{W - PAD_R}" y="{H - 8}" text-anchor="end">{escape(duration(end))}</text>',
    ]
    for index, share in enumerate(plan.shares):
        over = " over" if plan.target is not None and index * step >= plan.target else ""
        left, right = x(index * step), x((index + 1) * step)
        tip = f"{duration(index * step)} – {duration((index + 1) * step)}: {share:.1%}"
        parts.append(
            f'<rect class="bar{over}" x="{left}" y="{y(share)}" width="{max(right - left - 1, 1.0)}" '
            f'height="{round(H - PAD_B - y(share), 1)}"><title>{escape(tip)}</title></rect>'
        )
    if other is not None:
        corners = [(x(i * step + edge), y(s)) for i, s in enumerate(other.shares) for edge in (0, step)]
        outline = [(float(PAD_L), H - PAD_B), *corners, (x(len(other.shares) * step), H - PAD_B)]
        points = " ".join(f"{px},{py}" for px, py in outline)
        parts.append(f'<polyline class="what-if" points="{points}"/>')
    targets = [(plan, "target")]
    if other is not None and other.target != plan.target:
        targets.append((other, "target what-if"))
    for spread, kind in targets:
        if spread.target is not None:
            at = x(spread.target)
            parts.append(
                f'<line class="{kind}" x1="{at}" y1="{PAD_T}" x2="{at}" y2="{H - PAD_B}">'
                f"<title>{escape(spread.target_tip)}</title></line>"
                f'<text x="{at + 4}" y="{PAD_T + 8}">{escape(duration(spread.target))}</text>'
            )
    return (
        f'<figure class="metric-chart spread"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" '
        f'width="100%" role="img" aria-label="{escape(caption)}">{"".join(parts)}</svg>'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )
