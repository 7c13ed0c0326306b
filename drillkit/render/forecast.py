"""`drill forecast` in the terminal (en/zh): what the answer rests on, then the metrics, the
breaches per owner role and the escalations, each with the what-if beside the plan."""

from __future__ import annotations

from functools import partial
from typing import Any

from drillkit.model.durations import format_duration
from drillkit.render.table import table

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
        "No past runs of this playbook: the plan's deadlines are the only knowledge (each stay lasts"
        " its deadline), so the answer is certain only if the plan is followed to the letter.",
        "该预案没有历史运行：仅以预案时限为依据（每个状态停留至其时限），结果只说明严格按预案执行时的情况。",
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
}


def _say(lang: str, key: str, **values: object) -> str:
    return _TEXT[key][1 if lang == "zh" else 0].format(**values)


def render(document: dict[str, Any], lang: str) -> str:
    """The forecast as text: a header, what it rests on, and three tables."""
    say = partial(_say, lang)
    lines = [say("title", **{k: document[k] for k in ("playbook", "severity", "runs", "seed")}), _basis(document, lang)]
    what_if = document["what_if"]
    if what_if is not None:
        changes = ", ".join(f"{key}={format_duration(value)}" for key, value in what_if["changes"].items())
        lines.append(say("changes", changes=changes))
    lines += ["", _metrics(document, lang), "", _breaches(document, lang)]
    if document["plan"]["escalations"]:
        lines += ["", _escalations(document, lang)]
    return "\n".join(lines)


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
    )
    if basis["kind"] != "deadlines" and basis["runs"] < basis["enough"]:
        line += " " + _say(lang, "thin")
    return line


def _columns(document: dict[str, Any], lang: str, *names: str) -> list[str]:
    tag = f" ({_say(lang, 'what_if')})"
    headers = [_say(lang, name) for name in names]
    return headers + ([h + tag for h in headers] if document["what_if"] is not None else [])


def _paired(document: dict[str, Any], section: str, cells: Any) -> list[list[object]]:
    """Rows of a section: the plan's cells, then the what-if's for the same row."""
    plan = document["plan"][section]
    other = document["what_if"][section] if document["what_if"] is not None else None
    return [[*head, *cells(row), *(cells(other[i]) if other is not None else [])] for i, (head, row) in enumerate(plan)]


def _metrics(document: dict[str, Any], lang: str) -> str:
    rows = [((m["name"], m["owner"] or "-"), m) for m in document["plan"]["metrics"]]
    document = {**document, "plan": {**document["plan"], "metrics": rows}}
    cells = lambda m: [_duration(m["target"], lang), _p(m["p"]), _interval(m)]  # noqa: E731
    headers = [_say(lang, "metric"), _say(lang, "owner"), *_columns(document, lang, "target", "p", "interval")]
    return table(headers, _paired(document, "metrics", cells))


def _breaches(document: dict[str, Any], lang: str) -> str:
    rows = [((b["owner"] or "-",), b) for b in document["plan"]["breaches"]]
    document = {**document, "plan": {**document["plan"], "breaches": rows}}
    headers = [_say(lang, "owner"), *_columns(document, lang, "expected")]
    return table(headers, _paired(document, "breaches", lambda b: [f"{b['expected']:.2f}"]))


def _escalations(document: dict[str, Any], lang: str) -> str:
    rows = [((e["state"], f"{e['trigger']} → {e['to']}"), e) for e in document["plan"]["escalations"]]
    document = {**document, "plan": {**document["plan"], "escalations": rows}}
    headers = [_say(lang, "state"), _say(lang, "escalation"), *_columns(document, lang, "p_fire", "interval")]
    return table(headers, _paired(document, "escalations", lambda e: [_p(e["p"]), _interval(e)]))


def _duration(seconds: int | None, lang: str) -> str:
    return _say(lang, "none") if seconds is None else format_duration(seconds)


def _p(p: float | None) -> str:
    return "-" if p is None else f"{p:.1%}"


def _interval(row: dict[str, Any]) -> str:
    return "-" if row["p"] is None else f"{row['low']:.1%} – {row['high']:.1%}"
