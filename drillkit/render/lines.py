"""One-line texts for events, status and run lists in the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from drillkit.engine.fields import reads_a_line
from drillkit.model.clock import parse_utc
from drillkit.model.durations import format_clock, format_duration
from drillkit.model.timefmt import local
from drillkit.render.eventtext import acting_role, detail
from drillkit.render.labels import DRILL_MARK, Labels, drill_mark
from drillkit.render.table import table

if TYPE_CHECKING:
    from drillkit.store.index import RunSummary

ENGLISH = Labels("en")


@reads_a_line
def event_line(event: dict[str, Any]) -> str:
    role = acting_role(event)
    who = event["actor"] + (f" ({role})" if role else "")
    return f"#{event['seq']} {format_clock(event['t'])} {event['event']} by {who}: {detail(event)}"


def status_text(doc: dict[str, Any], zone: str, say: Labels = ENGLISH) -> str:
    """`drill status` in the terminal, in `say`'s language (ids from the plan stay as written)."""
    none, who = say("none"), doc["assignee"] or say("unassigned")
    duration = format_duration(doc["in_state_for"])
    lines = [
        f"{drill_mark(doc['mode'])}{doc['run']} — {doc['title']}",
        say("status.severity").format(
            severity=doc["severity"], state=doc["state"], owner=doc["owner"] or "-", assignee=who, duration=duration
        ),
        say("status.started").format(
            started=local(parse_utc(doc["started"]), zone),
            clock=format_clock(doc["clock"]),
            clock_label=say.clock(doc["mode"]),
        )
        + (say("status.speed").format(speed=f"{doc['speed']:g}") if doc["speed"] != 1 else ""),
    ]
    if doc["outcome"]:
        lines.append(say("status.ended").format(outcome=say.value(doc["outcome"])))
    for role, triggers in doc["allowed_triggers"].items():
        lines.append(say("status.allowed").format(role=role, triggers=", ".join(triggers) or none))
    if not doc["outcome"]:
        lines.append(say("status.allowed_any").format(triggers=", ".join(doc["allowed_without_role"]) or none))
    lines.append(say("status.open_items").format(items=", ".join(doc["open_items"]) or none))
    for deadline in doc["deadlines"]:
        left = deadline["left"]
        when = say("status.in" if left >= 0 else "status.overdue").format(left=format_duration(abs(left)))
        lines.append(
            say("status.deadline").format(what=say.what(deadline["what"]), due=format_clock(deadline["due"]), when=when)
        )
    lines.extend(say("status.expect").format(text=expectation_text(row, say)) for row in doc["expectations"])
    for breach in doc["breaches"]:
        owner, assignee = breach["owner"] or "-", breach["assignee"] or say("unassigned")
        lines.append(
            say("status.breach").format(
                what=say.what(breach["what"]), due=format_clock(breach["due"]), owner=owner, assignee=assignee
            )
        )
    return "\n".join(lines)


def expectation_text(row: dict[str, Any], say: Labels = ENGLISH) -> str:
    """`[inject] action (role) due T+…: …`: the countdown while pending, else the verdict."""
    role = f" ({row['role']})" if row["role"] else ""
    text = say("expect.due").format(
        inject=row["inject"], expect=say.what(row["expect"]), role=role, due=format_clock(row["due"])
    )
    verdict = say.value(row["verdict"])
    if row["verdict"] != "pending":
        if row["at"] is None:
            return text + say("expect.judged").format(verdict=verdict)
        return text + say("expect.done").format(verdict=verdict, at=format_clock(row["at"]), by=row["by"])
    if not row["delivered"]:
        return text + say("expect.coming").format(at=format_clock(row["inject_at"]))
    left = row["left"]
    return text + say("expect.overdue" if left < 0 else "expect.left").format(left=format_duration(abs(left)))


def runs_table(runs: Sequence[RunSummary], zone: str, verdicts: Mapping[str, Any]) -> str:
    """One row per run; `verdicts` by run id (see `services.views.RunVerdict`)."""
    rows = [
        [
            r.id,
            r.mode if r.mode == "incident" else f"{r.mode} ({DRILL_MARK})",
            r.playbook,
            _severity(r, verdicts.get(r.id)),
            local(parse_utc(r.started), zone),
            r.outcome or "open",
            *_verdict_cells(verdicts.get(r.id)),
        ]
        for r in runs
    ]
    return table(["run", "mode", "playbook", "severity", "started", "outcome", "breaches", "verdict"], rows)


def _severity(run: RunSummary, verdict: Any) -> str:
    """The run's severity now, from its whole record where it was judged; else as the listing,
    which reads only the record's end, found it."""
    return run.severity if verdict is None else str(verdict.severity)


def _verdict_cells(verdict: Any) -> list[str]:
    """`breaches`, and `met (3/4)`: the verdict with the targets and expectations met of those judged."""
    if verdict is None:
        return ["-", "-"]
    counted = f" ({verdict.met}/{verdict.judged})" if verdict.judged else ""
    return [str(verdict.breaches), verdict.verdict + counted]
