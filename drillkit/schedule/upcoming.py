"""The fires of a schedule that will start: after now, not paused, outside every blackout window."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import islice

from drillkit.config.workspace import Workspace
from drillkit.model.blackouts import Blackout, parse_blackouts
from drillkit.schedule.firetimes import clear_fires
from drillkit.schedule.port import Schedule


def blackouts(ws: Workspace) -> list[Blackout]:
    """The blackout windows of `drill.toml` as it is now; UsageError for a bad file or window."""
    config = ws.config()
    return parse_blackouts(config.blackout, config.timezone)


def upcoming_fires(schedule: Schedule, now: datetime, windows: Sequence[Blackout]) -> Iterator[datetime]:
    """The schedule's fires after now that will start (none when paused), earliest first.

    Fires in a blackout window are left out, by their nominal time (`firetimes.clear_fires`):
    `drill schedule list`, the calendar export and the next drill per playbook all ask here.
    """
    if schedule.paused:
        return iter(())
    return clear_fires(schedule.recurrence(), windows, now)


def next_fire(schedule: Schedule, now: datetime, windows: Sequence[Blackout]) -> datetime | None:
    """The schedule's next fire after now that will start; None when paused, finished or all blacked out."""
    return next(upcoming_fires(schedule, now, windows), None)


def next_fires(schedule: Schedule, now: datetime, windows: Sequence[Blackout], count: int) -> list[datetime]:
    """The schedule's next `count` fires that will start (fewer when it ends sooner)."""
    return list(islice(upcoming_fires(schedule, now, windows), count))
