"""The evaluation of a drill (SPEC §10): each objective's rating, the score and the grade.

An objective's rating is the mean of its evaluators' latest ratings, in points; one that no
evaluator rated is rated from its evidence (the verdicts of the injects and metrics it names);
the score is the weighted mean over the objectives that have a rating. Every figure carries the
arithmetic that made it (`how`), so a report shows how the grade was reached.
"""

from __future__ import annotations

from typing import Any

from drillkit.engine.fields import reads_a_line
from drillkit.model.events import EventType
from drillkit.model.plans import GRADES, Objective, Scenario, Scoring
from drillkit.store.files import effective_t
from drillkit.store.port import Event

COUNTED = frozenset({"met", "late", "missed"})  # void, pending and unmeasured evidence is left out


def evaluation(
    scenario: Scenario, evaluators: list[str], events: list[Event], verdicts: dict[str, str]
) -> dict[str, Any]:
    """`verdicts`: each inject id and metric name → its verdict in this run."""
    scoring = scenario.scored
    latest = latest_ratings(events)
    objectives = [
        _objective(name, objective, latest.get(name, {}), verdicts, scoring)
        for name, objective in scenario.objectives.items()
    ]
    score, how = _score(objectives)
    return {
        "evaluators": evaluators,
        "scoring": {"points": {r: scoring.value(r) for r in "PSMU"}, "grades": _grades(scoring)},
        "objectives": objectives,
        "score": score,
        "grade": scoring.grade(score) if score is not None else None,
        "how": how,
        "strengths": _said(events, "strength"),
        "improvements": _said(events, "improve"),
        "feedback": [_feedback(e) for e in events if e["event"] == EventType.FEEDBACK],
    }


@reads_a_line
def _feedback(event: Event) -> dict[str, Any]:
    return {"t": effective_t(event), "by": event["actor"], "role": event.get("role"), "text": event["text"]}


def latest_ratings(events: list[Event]) -> dict[str, dict[str, str]]:
    """Objective → evaluator → that evaluator's latest rating."""
    latest: dict[str, dict[str, str]] = {}
    for event in events:
        if event["event"] == EventType.OBSERVATION:
            objective, evaluator, rating = _rated(event)
            latest.setdefault(objective, {})[evaluator] = rating
    return latest


@reads_a_line
def _rated(observation: Event) -> tuple[str, str, str]:
    """Which objective, by whom, rated what."""
    return observation["objective"], observation["actor"], observation["rating"]


def evidence_rating(verdicts: list[str]) -> str | None:
    """All met: P; some late, none missed: S; all missed: U; some missed: M; nothing counted: None."""
    counted = [v for v in verdicts if v in COUNTED]
    if not counted:
        return None
    if all(v == "met" for v in counted):
        return "P"
    if "missed" not in counted:
        return "S"
    return "U" if all(v == "missed" for v in counted) else "M"


def _objective(
    name: str, objective: Objective, ratings: dict[str, str], verdicts: dict[str, str], scoring: Scoring
) -> dict[str, Any]:
    evidence = [{"name": e, "verdict": verdicts.get(e)} for e in objective.evidence]
    from_evidence = evidence_rating([str(e["verdict"]) for e in evidence])
    points, how = _points(ratings, from_evidence, scoring)
    return {
        "id": name,
        "title": objective.title,
        "capability": objective.capability,
        "criteria": list(objective.criteria),
        "weight": objective.weight,
        "evidence": evidence,
        "evidence_rating": from_evidence,
        "ratings": [{"by": by, "rating": rating, "points": scoring.value(rating)} for by, rating in ratings.items()],
        "rated_by": "evaluators" if ratings else ("evidence" if from_evidence else None),
        "points": points,
        "how": how,
    }


def _points(ratings: dict[str, str], from_evidence: str | None, scoring: Scoring) -> tuple[float | None, str]:
    if ratings:
        values = [scoring.value(r) for r in ratings.values()]
        mean = round(sum(values) / len(values), 1)
        terms = " + ".join(f"{by} {r} {scoring.value(r)}" for by, r in ratings.items())
        return mean, f"({terms}) / {len(values)} = {_num(mean)}" if len(values) > 1 else f"{terms}"
    if from_evidence is not None:
        return float(scoring.value(from_evidence)), f"evidence {from_evidence} {scoring.value(from_evidence)}"
    return None, "not rated"


def _score(objectives: list[dict[str, Any]]) -> tuple[float | None, str]:
    rated = [o for o in objectives if o["points"] is not None]
    if not rated:
        return None, "no objective rated"
    weight = sum(o["weight"] for o in rated)
    score = round(sum(o["points"] * o["weight"] for o in rated) / weight, 1)
    terms = " + ".join(f"{_num(o['points'])}×{o['weight']}" for o in rated)
    return score, f"({terms}) / {weight} = {_num(score)}"


def _grades(scoring: Scoring) -> dict[str, int]:
    return {grade: scoring.least(grade) for grade in GRADES}


def _said(events: list[Event], key: str) -> list[dict[str, Any]]:
    """Each strength or area for improvement an evaluator wrote, in record order."""
    return [_said_of(e, key) for e in events if e["event"] == EventType.OBSERVATION and e.get(key)]


@reads_a_line
def _said_of(observation: Event, key: str) -> dict[str, Any]:
    return {"objective": observation["objective"], "by": observation["actor"], "text": observation[key]}


def _num(value: float) -> str:
    return f"{value:g}"


def scores_pass(objective: dict[str, Any], scoring: Scoring) -> bool:
    """A retest passes an objective rated P or S: at least the points of S (SPEC §10)."""
    return objective["points"] is not None and objective["points"] >= scoring.value("S")
