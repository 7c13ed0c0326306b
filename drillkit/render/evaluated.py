"""The after-action report of an evaluated drill (SPEC §10): the sections its readers look for,
in their order. The zh report follows GB/T 38645's summary report (基本概要, 演练评估, 发现的问题,
经验教训, 工作建议与整改计划) with GB/T 46792's evaluation; the en report follows HSEEP's AAR/IP
(executive summary, exercise overview, analysis of capabilities, improvement plan). The run's own
tables follow as appendices in both. A run without objectives keeps the report of `aar.sections`."""

from __future__ import annotations

from typing import Any

from drillkit.render import aar
from drillkit.render.aar import Section
from drillkit.render.cells import DASH, clock
from drillkit.render.labels import Labels
from drillkit.render.runview import RunView


def report_sections(view: RunView) -> list[Section]:
    found = view.document.get("evaluation")
    if found is None:
        return aar.sections(view)
    appendix = [
        aar.metrics(view),
        *aar.beside(view),
        aar.state_times(view),
        aar.expectations(view),
        aar.timeline(view),
        aar.accountability(view),
        aar.checklist(view),
        aar.notes(view),
    ]
    say = view.labels
    if say.lang == "zh":
        head = [overview(view, found), analysis(say, found), score(say, found), improvements(say, found)]
        return [*head, strengths(say, found), feedback(say, found), plan(view, found), *appendix]
    summary = [executive_summary(say, found), overview(view, found), analysis(say, found), score(say, found)]
    return [
        *summary,
        strengths(say, found),
        improvements(say, found),
        feedback(say, found),
        plan(view, found),
        *appendix,
    ]


def executive_summary(say: Labels, found: dict[str, Any]) -> Section:
    rated = [o for o in found["objectives"] if o["points"] is not None]
    pairs = [
        [say("score"), _score(found)],
        [say("grade"), _grade(say, found)],
        [say("objectives_rated"), f"{len(rated)} / {len(found['objectives'])}"],
        [say("strengths"), str(len(found["strengths"]))],
        [say("improvements"), str(len(found["improvements"]))],
    ]
    return Section("executive_summary", say("executive_summary"), [], pairs)


def overview(view: RunView, found: dict[str, Any]) -> Section:
    base, say = aar.overview(view), view.labels
    extra = [
        [say("evaluators"), ", ".join(found["evaluators"]) or DASH],
        [say("score"), _score(found)],
        [say("grade"), _grade(say, found)],
    ]
    return Section(base.key, base.title, [], [*base.rows, *extra])


def analysis(say: Labels, found: dict[str, Any]) -> Section:
    rows = [
        [
            f"{o['id']}: {o['title']}",
            o["capability"],
            "; ".join(o["criteria"]) or DASH,
            str(o["weight"]),
            ", ".join(f"{e['name']} {say.value(e['verdict']) if e['verdict'] else DASH}" for e in o["evidence"])
            or DASH,
            o["evidence_rating"] or DASH,
            ", ".join(f"{r['by']} {r['rating']}" for r in o["ratings"]) or DASH,
            _num(o["points"]),
            _how(say, o),
        ]
        for o in found["objectives"]
    ]
    headers = [
        "objective",
        "capability",
        "criteria",
        "weight",
        "evidence",
        "evidence_rating",
        "ratings",
        "points",
        "how",
    ]
    return Section("analysis", say("analysis"), [say(h) for h in headers], rows)


def score(say: Labels, found: dict[str, Any]) -> Section:
    points = ", ".join(f"{rating} {value}" for rating, value in found["scoring"]["points"].items())
    grades = ", ".join(f"{grade} ≥ {least}" for grade, least in found["scoring"]["grades"].items())
    pairs = [
        [say("points_per_rating"), points],
        [say("grade_thresholds"), f"{grades}, {say('else')} 不合格"],
        [say("rule"), say("scoring_rule")],
        [say("score"), f"{found['how']}"],
        [say("grade"), _grade(say, found)],
    ]
    return Section("score", say("score_and_grade"), [], pairs)


def strengths(say: Labels, found: dict[str, Any]) -> Section:
    return _said(say, "strengths", found["strengths"])


def improvements(say: Labels, found: dict[str, Any]) -> Section:
    return _said(say, "improvements", found["improvements"])


def _said(say: Labels, key: str, entries: list[dict[str, Any]]) -> Section:
    rows = [[e["objective"], e["by"], e["text"]] for e in entries]
    headers = [say("objective"), say("evaluator"), say("detail")]
    return Section(key, say(key), headers, rows or [[say("none"), "", ""]])


def feedback(say: Labels, found: dict[str, Any]) -> Section:
    rows = [[clock(f["t"]), f["by"], f["role"] or DASH, f["text"]] for f in found["feedback"]]
    headers = ["clock", "actor", "role", "detail"]
    return Section("feedback", say("feedback"), [say(h) for h in headers], rows or [[say("none"), "", "", ""]])


def plan(view: RunView, found: dict[str, Any]) -> Section:
    """The run's corrective actions, then each area for improvement no action answers yet."""
    say = view.labels
    rows = [
        [
            a["action"],
            a["objective"] or DASH,
            a["title"],
            f"{a['owner_role']}={a['owner']}",
            a["due"],
            say("status." + a["status"]),
        ]
        for a in view.actions
    ]
    answered = {a["objective"] for a in view.actions}
    rows += [
        [DASH, e["objective"], e["text"], DASH, DASH, say("no_action")]
        for e in found["improvements"]
        if e["objective"] not in answered
    ]
    headers = ["action", "objective", "corrective_action", "owner", "due", "status"]
    return Section(
        "improvement_plan",
        say("improvement_plan"),
        [say(h) for h in headers],
        rows or [[say("none"), "", "", "", "", ""]],
    )


def _how(say: Labels, objective: dict[str, Any]) -> str:
    if objective["rated_by"] != "evidence":
        return str(objective["how"])
    return f"{say('from_evidence')}: {objective['evidence_rating']} {_num(objective['points'])}"


def _score(found: dict[str, Any]) -> str:
    return _num(found["score"])


def _grade(say: Labels, found: dict[str, Any]) -> str:
    grade = found["grade"]
    if not grade:
        return DASH
    return grade if say.lang == "zh" else f"{grade} ({say('grade.' + grade)})"


def _num(value: float | None) -> str:
    return DASH if value is None else f"{value:g}"
