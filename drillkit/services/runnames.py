"""Naming a run (SPEC §5): its full id, any unique prefix of it, its last four hex digits when
unique, or `last` (the newest run not ended; `last:PLAYBOOK` for one playbook's).

Every command that takes a RUN resolves it here, once, before anything else is read. A full id
is taken as it is (the store refuses an unknown one); anything else is only ever compared with
the ids the store lists, never turned into a path.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from drillkit.config.workspace import Workspace
from drillkit.model.errors import UsageError
from drillkit.store.stamps import RUN_ID

if TYPE_CHECKING:
    from drillkit.store.port import RecordStore

LAST = "last"
SHOWN = 5  # candidates named in the one-line refusal of an ambiguous name
_HEX4 = re.compile(r"[0-9a-f]{4}")
_EXAMPLE = "20261129T053000Z-core-network-outage-1a2b"


def resolve_run(ws: Workspace, name: str, store: RecordStore | None = None) -> str:
    """The run id `name` stands for among the workspace's runs (or those of `store`: `drill store
    push` names local records, `pull` the team store's); a name that matches none or several is
    refused in one line."""
    if RUN_ID.fullmatch(name):
        return name
    if name == LAST or name.startswith(f"{LAST}:"):
        return newest_open(ws, name.partition(":")[2] or None, store)
    matches = matching_runs(known_runs(ws, store), name)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(
            f"{name!r} is not a run id, nor a unique prefix of one, its last four hex digits or `last`;"
            f" run ids look like {_EXAMPLE} (see `drill runs`)"
        )
    raise UsageError(f"{name!r} names {len(matches)} runs: {_candidates(matches)}; give more of the id")


def known_runs(ws: Workspace, store: RecordStore | None = None) -> list[str]:
    """Every run id in the workspace (or in `store`), newest first (an id starts with its start time)."""
    from drillkit.store.stores import open_store

    return sorted((store or open_store(ws)).runs(), reverse=True)


def matching_runs(ids: list[str], name: str) -> list[str]:
    """The ids `name` may stand for: four hex digits are first taken as an id's last four (`2026`
    would otherwise be a prefix of every run of the year), then as a prefix."""
    if _HEX4.fullmatch(name):
        by_suffix = [run_id for run_id in ids if run_id.endswith(f"-{name}")]
        if by_suffix:
            return by_suffix
    return [run_id for run_id in ids if name and run_id.startswith(name)]


def newest_open(ws: Workspace, playbook: str | None, store: RecordStore | None = None) -> str:
    """`last`: the newest run not ended (of `playbook` when given). A newer record that cannot be
    read as a run may be the open one: `last` is then refused rather than pass over it."""
    from drillkit.store.index import read_runs

    every, left_out = read_runs(ws, store)
    summaries = [s for s in every if playbook in (None, s.playbook)]
    found = next((s.id for s in summaries if s.ended is None), None)
    which = f"{LAST}:{playbook}" if playbook else LAST
    unread = [name.removesuffix(".jsonl") for name in left_out]
    passed_over = [run_id for run_id in unread if _of_playbook(run_id, playbook) and (found is None or run_id > found)]
    if passed_over:
        raise UsageError(
            f"`{which}` cannot tell whether {max(passed_over)} is open: its record cannot be read as a run"
            " (see `drill verify --all`); name the run you mean"
        )
    if found is not None:
        return found
    newest = f"; the newest {'such ' if playbook else ''}run is {summaries[0].id}, ended" if summaries else ""
    raise UsageError(f"`{which}` names the newest run not ended, and no run is open{newest}")


def _of_playbook(run_id: str, playbook: str | None) -> bool:
    """Whether a record's name is the id of a run of `playbook` (of any, for None): `START-PLAYBOOK-XXXX`."""
    if not RUN_ID.fullmatch(run_id):
        return False
    return playbook is None or run_id.partition("-")[2][:-5] == playbook


def _candidates(matches: list[str]) -> str:
    shown = ", ".join(matches[:SHOWN])
    more = len(matches) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "")
