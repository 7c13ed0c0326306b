"""`drill forecast` in the terminal (en/zh): what the answer rests on, then the metrics, the
breaches per owner role and the escalations, each with the what-if beside the plan; or the same as
one self-contained HTML page (`--format html`) with a chart of each metric's spread."""

from __future__ import annotations

from functools import partial
from typing import Any

from drillkit.model.durations import format_duration
from drillkit.render.cells import html_text as escape
from drillkit.render.table import table

Rows = tuple[list[str], list[list[object]]]  # headers and rows of one table

_TEXT: dict[str, tuple[str, str]] = {
    "title": (
        "Forecast for {playbook} at severity {severity}: {runs} simulated runs, seed {seed}",
        "预案 {playbook} 在 {severity} 级下的预测：模拟 {runs} 次，随机种子 {seed}",
    ),
    "severity": ("Based on {n} past runs at severity {severity}.", "依据该级别的 {n} 次历史运行。"),
    "all-severities": (
        "Only {own} past runs at severity {severity} (enough is {enough}): based on {n} runs"
        " at severities {severities}.",
        "该级别历史运行仅 {own} 次（足够为 {enough} 次）：改依据 {severities} 级共 {n} 次历史运行。",
    ),
    "deadlines": (
        "No past runs of this playbook to learn from ({counted}): the plan's deadlines are the only"
        " knowledge (each stay lasts its deadline), so the answer is certain only if the plan is followed"
        " to the letter.",
        "该预案没有可依据的历史运行（{counted}）：仅以预案时限为依据（每个状态停留至其时限），"
        "结果只说明严格按预案执行时的情况。",
    ),
    "incidents": (
        "only resolved incidents{since} count; drills and simulations with --include-drills",
        "仅计{since}已解决的事件；演练与模拟需加 --include-drills",
    ),
    "resolved": ("only resolved runs{since} count", "仅计{since}已解决的运行"),
    "since": (" started since {since}", " {since} 之后开始的"),
    "no_metrics": (
        "The playbook has no metrics: no target to meet, only the breaches and escalations below.",
        "该预案未定义指标：没有可达成的目标，仅有下列超时与自动触发。",
    ),
    "thin": ("The history is thin: read the intervals, not the point values.", "历史数据较少：请看区间，而非点估计。"),
    "metric": ("metric", "指标"),
    "owner": ("owner", "责任角色"),
    "target": ("target", "目标"),
    "p": ("P(met)", "达标概率"),
    "interval": ("95% interval", "95% 区间"),
    "expected": ("expected breaches", "预计超时次数"),
    "state": ("state", "状态"),
    "escalation": ("escalation", "超时自动触发"),
    "p_fire": ("P(fires)", "触发概率"),
    "what_if": ("what-if", "假设调整"),
    "changes": ("What-if: {changes}", "假设调整：{changes}"),
    "plan": ("plan", "现行预案"),
    "none": ("none", "无"),
    "page": ("Forecast: {title}", "预测：{title}"),
    "tables": ("Odds", "概率"),
    "charts": ("Spread of each metric", "各指标的分布"),
    "target_tip": ("target {target}", "目标 {target}"),
    "what_if_tip": ("target with the what-if {target}", "假设调整后的目标 {target}"),
    "caption": (
        "{metric}: share of simulated runs by time from its start to its end; P(met) {p}; never reached {never},"
        " later than the last bar {later}",
        "{metric}：模拟运行按用时的占比；达标概率 {p}；未达到 {never}，晚于最后一栏 {later}",
    ),
    "legend": (
        "Bars: the plan (red: past its target) · dashed line: target · outline and second line: the what-if",
        "柱：现行预案（红色：超过目标）· 虚线：目标 · 轮廓线与第二条虚线：假设调整",
    ),
}


def _say(lang: str, key: str, **values: object) -> str:
    return _TEXT[key][1 if lang == "zh" else 0].format(**values)


def render(document: dict[str, Any], lang: str) -> str:
    """The forecast as text: a header, what it rests on, and its tables."""
    lines = _intro(document, lang)
    for headers, rows in _tables(document, lang):
        lines += ["", table(headers, rows)]
    return "\n".join(lines)


def _intro(document: dict[str, Any], lang: str) -> list[str]:
    """The question, what the answer rests on, the what-if's changes, and a playbook without metrics said so."""
    say = partial(_say, lang)
    lines = [say("title", **{k: document[k] for k in ("playbook", "severity", "runs", "seed")}), _basis(document, lang)]
    what_if = document["what_if"]
    if what_if is not None:
        changes = ", ".join(f"{key}={format_duration(value)}" for key, value in what_if["changes"].items())
        lines.append(say("changes", changes=changes))
    if not document["plan"]["metrics"]:
        lines.append(say("no_metrics"))
    return lines


def _tables(document: dict[str, Any], lang: str) -> list[Rows]:
    """The metrics (if the playbook has any), the breaches, and the escalations (if any)."""
    tables = [_metrics(document, lang)] if document["plan"]["metrics"] else []
    tables.append(_breaches(document, lang))
    if document["plan"]["escalations"]:
        tables.append(_escalations(document, lang))
    return tables


def render_html(document: dict[str, Any], lang: str) -> str:
    """The forecast as one self-contained page: the same header and tables as the text, then a
    chart per metric of its simulated values against its target (the document needs them: a
    forecast asked with `distributions`)."""
    from drillkit.render import html as page
    from drillkit.render.figures import CHART_STYLE

    say = partial(_say, lang)
    heading = say("page", title=document["title"])
    intro = _intro(document, lang)
    tables = "\n".join(
        page.table(headers, [[str(cell) for cell in row] for row in rows]) for headers, rows in _tables(document, lang)
    )
    body = (
        f"<header>\n<h1>{escape(heading)}</h1>\n"
        + "".join(f"<p>{escape(line)}</p>\n" for line in intro)
        + "</header>\n"
        f'<section id="odds">\n<h2>{escape(say("tables"))}</h2>\n{tables}\n</section>\n' + _spread(document, lang)
    )
    return page.page(lang, heading, body, CHART_STYLE + SPREAD_STYLE)


def _spread(document: dict[str, Any], lang: str) -> str:
    """The section of charts, one per metric; none for a playbook without metrics."""
    if not document["plan"]["metrics"]:
        return ""
    say = partial(_say, lang)
    return (
        f'<section id="spread">\n<h2>{escape(say("charts"))}</h2>\n<p>{escape(say("legend"))}</p>\n'
        + "\n".join(_charts(document, lang))
        + "\n</section>\n"
    )


def _charts(document: dict[str, Any], lang: str) -> list[str]:
    from drillkit.render.figures import Spread, spread_chart

    say = partial(_say, lang)
    other = document["what_if"]["metrics"] if document["what_if"] is not None else None
    charts = []
    for index, row in enumerate(document["plan"]["metrics"]):
        shape = row["distribution"]
        caption = say(
            "caption", metric=row["name"], p=_p(row["p"]), never=f"{shape['never']:.1%}", later=f"{shape['later']:.1%}"
        )
        plan = Spread(shape["shares"], row["target"], say("target_tip", target=_duration(row["target"], lang)))
        changed = None
        if other is not None:
            theirs = other[index]
            tip = say("what_if_tip", target=_duration(theirs["target"], lang))
            changed = Spread(theirs["distribution"]["shares"], theirs["target"], tip)
        charts.append(spread_chart(caption, shape["step"], plan, changed))
    return charts


# Added to the report's chart style (`figures.CHART_STYLE`: frame, labels, the target's dashed line).
SPREAD_STYLE = """
#odds table { margin-bottom: 1rem; }
.metric-chart .target.what-if { stroke: #6a4fb3; }
.metric-chart .bar { fill: #3b6fb6; } .metric-chart .bar.over { fill: #c62828; }
.metric-chart polyline.what-if { fill: none; stroke: #6a4fb3; stroke-width: 1.5; }
"""


def _basis(document: dict[str, Any], lang: str) -> str:
    basis = document["basis"]
    line = _say(
        lang,
        basis["kind"],
        n=basis["runs"],
        own=basis.get("own", 0),
        severity=document["severity"],
        severities=", ".join(basis["severities"]),
        enough=basis["enough"],
        counted=_counted(document, lang),
    )
    if basis["kind"] != "deadlines" and basis["runs"] < basis["enough"]:
        line += " " + _say(lang, "thin")
    return line


def _counted(document: dict[str, Any], lang: str) -> str:
    """Which past runs count, so that "no past runs" is not read as "this plan was never run"."""
    since = "" if document["since"] is None else _say(lang, "since", since=document["since"])
    return _say(lang, "resolved" if document["include_drills"] else "incidents", since=since)


def _columns(document: dict[str, Any], lang: str, *names: str) -> list[str]:
    tag = f" ({_say(lang, 'what_if')})"
    headers = [_say(lang, name) for name in names]
    return headers + ([h + tag for h in headers] if document["what_if"] is not None else [])


def _paired(document: dict[str, Any], section: str, cells: Any) -> list[list[object]]:
    """Rows of a section: the plan's cells, then the what-if's for the same row."""
    plan = document["plan"][section]
    other = document["what_if"][section] if document["what_if"] is not None else None
    return [[*head, *cells(row), *(cells(other[i]) if other is not None else [])] for i, (head, row) in enumerate(plan)]


def _metrics(document: dict[str, Any], lang: str) -> Rows:
    rows = [((m["name"], m["owner"] or "-"), m) for m in document["plan"]["metrics"]]
    document = {**document, "plan": {**document["plan"], "metrics": rows}}
    cells = lambda m: [_duration(m["target"], lang), _p(m["p"]), _interval(m)]  # noqa: E731
    headers = [_say(lang, "metric"), _say(lang, "owner"), *_columns(document, lang, "target", "p", "interval")]
    return headers, _paired(document, "metrics", cells)


def _breaches(document: dict[str, Any], lang: str) -> Rows:
    rows = [((b["owner"] or "-",), b) for b in document["plan"]["breaches"]]
    document = {**document, "plan": {**document["plan"], "breaches": rows}}
    headers = [_say(lang, "owner"), *_columns(document, lang, "expected")]
    return headers, _paired(document, "breaches", lambda b: [f"{b['expected']:.2f}"])


def _escalations(document: dict[str, Any], lang: str) -> Rows:
    rows = [((e["state"], f"{e['trigger']} → {e['to']}"), e) for e in document["plan"]["escalations"]]
    document = {**document, "plan": {**document["plan"], "escalations": rows}}
    headers = [_say(lang, "state"), _say(lang, "escalation"), *_columns(document, lang, "p_fire", "interval")]
    return headers, _paired(document, "escalations", lambda e: [_p(e["p"]), _interval(e)])


def _duration(seconds: int | None, lang: str) -> str:
    return _say(lang, "none") if seconds is None else format_duration(seconds)


def _p(p: float | None) -> str:
    return "-" if p is None else f"{p:.1%}"


def _interval(row: dict[str, Any]) -> str:
    return "-" if row["p"] is None else f"{row['low']:.1%} – {row['high']:.1%}"
