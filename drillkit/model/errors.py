"""The error tree. Every error a user can cause is a DrillError with an exit code.

Messages name the thing that failed and what is allowed instead; the CLI shows them once,
on one line, and exits with `exit_code`.
"""

from __future__ import annotations

from typing import NamedTuple


class DrillError(Exception):
    """Root of every error drillkit reports to a user."""

    exit_code = 2


class DrillWarning(UserWarning):
    """What a user must hear while the command goes on (a run left unsealed, a seal key others can
    read): raised with `warnings.warn` where it is found, at any layer, and shown by the CLI once,
    on one line of stderr; the command keeps its own exit code."""


class UsageError(DrillError):
    """Bad arguments or a bad file: nothing was written."""


class Rejected(DrillError):
    """The playbook does not allow the command now: nothing was written."""


class NotFound(DrillError):
    """A playbook, scenario, run or schedule that does not exist."""


class Conflict(DrillError):
    """Another process holds the lock (a conductor or a scheduler)."""

    exit_code = 3


class RecordError(DrillError):
    """The record cannot be written or read safely (I/O error, corruption)."""

    exit_code = 1


class RunExists(RecordError):
    """A record with this run id is already there (ids share a second and differ in 16 random bits)."""


class Problem(NamedTuple):
    """One validation problem, mapped to a place in a file."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class InvalidFile(DrillError):
    """A playbook or scenario with problems; carries all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:3]))
