"""Why each verdict is what it is (SPEC §5: every verdict carries its reason).

A `Why` is the reason as English text, `verdict: clause` ("late: notify_customers done at
T+00:31:00 by carol, due T+00:25:00"), which is what the JSON document carries. It is a `str`, so
the document serialises and compares as plain text; it also keeps its clause's template key and
values, so a report in another language can word the clause its own way (`render/labels.py`
holds the Chinese templates, one for each key below).
"""

from __future__ import annotations

from drillkit.model.durations import format_clock

# The clause of each reason, by key. `{outcome}` is a run outcome word (translated on its own).
CLAUSES: dict[str, str] = {
    # metrics
    "no_target": "no target at severity {severity}",
    "reached": "{to} reached at {at} by {by}, due {due}",
    "not_reached": "{to} not reached by its due time {due}",
    "resolved_without": "the run resolved at {end} without reaching {to}",
    "not_yet": "{to} not reached yet, due {due}",
    "not_started": "{source} not entered yet",
    "void_before_due": "the run was {outcome} at {end}, before {to} was reached or due ({due})",
    "void_not_started": "the run was {outcome} at {end}, before {source} was entered",
    # inject expectations
    "done": "{action} done at {at} by {by}, due {due}",
    "done_before": "{action} already done at {at} by {by}, before the inject",
    "no_longer_held": "{action} done at {at} by {by}, who no longer held {role} ({holder} since {since})",
    "never_held": "{action} done at {at} by {by}, who did not hold {role}",
    "other_role": "{action} done at {at} by {by} acting as {acted}, not as {role}",
    "not_done": "{action} not done by {due}",
    "resolved_without_action": "the run resolved at {end} without {action}",
    "awaited": "{action} due {due}",
    "void_not_due": "the run was {outcome} at {end}, before {action} was due ({due})",
    "void_undelivered": "the run was {outcome} at {end}, before the inject at {inject_at}",
    # breaches in the accountability table
    "left": "{state} left at {at} by {by}",
    "escalated": "escalated by deadline at {at} (no one acted)",
    "stayed": "{state} never left: the run was {outcome} at {end}",
    "still_in": "still in {state}",
    "never_reached": "{to} never reached: the run was {outcome} at {end}",
}
OUTCOME_WORDS = {"aborted": "aborted", "timed-out": "timed out", "resolved": "resolved"}


class Why(str):
    """A verdict's reason: English text that keeps its parts (see the module docstring)."""

    verdict: str | None
    key: str
    values: dict[str, str]
    clause: str

    def __new__(cls, verdict: str | None, key: str, **values: str) -> Why:
        english = {**values, "outcome": OUTCOME_WORDS.get(values.get("outcome", ""), values.get("outcome", ""))}
        clause = CLAUSES[key].format(**english)
        made = super().__new__(cls, f"{verdict}: {clause}" if verdict else clause)
        made.verdict, made.key, made.values, made.clause = verdict, key, values, clause
        return made


def at(seconds: float | None) -> str:
    """A drill time in a reason: `T+hh:mm:ss`, or `-` when there is none."""
    return format_clock(seconds) if seconds is not None else "-"
