"""Reading the fields of a record's lines that the replay does not take (SPEC §4).

A line edited by hand and rechained (so `drill verify` cannot tell) may lack a field, or hold one
that is no value of its kind, that only a reader needs: who made a transition, which trigger it
was, a breach's due time, an evaluator's rating, a note's text. Each function that reads one line
is wrapped in `reads_a_line`, so such a line is refused as the replay refuses a line it cannot take
(one line naming the run and the seq, exit 1), never met as an internal error.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from drillkit.model.errors import RecordError
from drillkit.store.files import effective_t
from drillkit.store.port import Event

P = ParamSpec("P")
R = TypeVar("R")
UNREPLAYABLE = (KeyError, TypeError, ValueError, AttributeError)  # what a hand-edited line that still parses raises


def unreplayable(run: str, event: Event, exc: Exception) -> RecordError:
    """The one line naming the run and the seq of a line that cannot be taken, and what it lacks."""
    detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
    return RecordError(
        f"the record of {run} cannot be replayed at seq {event.get('seq', '?')}: {detail} (see drill verify)"
    )


def reads_a_line(read: Callable[Concatenate[Event, P], R]) -> Callable[Concatenate[Event, P], R]:
    """`read`, whose first argument is one line of a record and which reads no other line, with
    a line it cannot read refused by the replay's own message."""

    @wraps(read)
    def reading(event: Event, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return read(event, *args, **kwargs)
        except UNREPLAYABLE as exc:
            raise unreplayable(event.get("run", "?"), event, exc) from None

    return reading


@reads_a_line
def actor(event: Event) -> str:
    """Who wrote the line."""
    return str(event["actor"])


took_effect = reads_a_line(effective_t)  # of a line the replay may have passed over (a note)
