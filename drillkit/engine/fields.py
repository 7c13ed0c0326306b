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

from drillkit.engine.replay import UNREPLAYABLE, unreplayable
from drillkit.store.files import effective_t
from drillkit.store.port import Event

P = ParamSpec("P")
R = TypeVar("R")


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
