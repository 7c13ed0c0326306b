"""Workspace-wide views of plans: the playbook list, and new workspaces from the samples."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drillkit.config.workspace import DIR_MODE, FILE_MODE, Workspace
from drillkit.model.errors import InvalidFile, UsageError
from drillkit.plans.library import Plans

if TYPE_CHECKING:
    from drillkit.services.views import Tell

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def playbook_rows(ws: Workspace, tell: Tell) -> tuple[list[dict[str, Any]], list[str]]:
    """id, title, kind, version, last drill and next scheduled drill of each valid playbook, and the
    files of those left out as not valid, which are named through `tell` in one line (`drill
    validate` says what is wrong with each): one broken plan never hides the others. Records that
    cannot be read as runs, and schedules that cannot be read, are named through `tell` too."""
    from drillkit.services.history import last_drills, listed_runs, next_drills

    plans = Plans(ws)
    last = last_drills(listed_runs(ws, tell))
    upcoming = next_drills(ws, tell)
    rows, invalid = [], []
    for playbook_id in plans.playbook_ids():
        try:
            pb = plans.playbook(playbook_id)
        except InvalidFile as err:
            invalid.append(err.problems[0].file if err.problems else f"playbooks/{playbook_id}.yaml")
            continue
        rows.append(
            {
                "id": pb.playbook,
                "title": pb.title,
                "kind": pb.kind,
                "version": pb.version,
                "last_drill": last.get(pb.playbook),
                "next_drill": upcoming.get(pb.playbook),
            }
        )
    if invalid:
        tell(f"drill: {len(invalid)} playbook(s) left out, not valid: {', '.join(invalid)} (see `drill validate`)")
    return rows, invalid


def init_workspace(folder: Path) -> int:
    """Copy the samples into a new (or empty) folder; returns the number of files created."""
    try:
        return _copy_samples(folder)
    except OSError as exc:
        raise UsageError(f"{folder}: {exc.strerror}; drill init needs a new or empty folder you may write") from None


def _copy_samples(folder: Path) -> int:
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty; drill init needs a new or empty folder")
    count = 0
    for sub in ("playbooks", "scenarios"):
        target = folder / sub
        target.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        for source in sorted((SAMPLES / sub).glob("*.yaml")):
            shutil.copyfile(source, target / source.name)
            os.chmod(target / source.name, FILE_MODE)
            count += 1
    count += _write_schemas(folder / "schemas")  # the samples' `$schema` lines point at them
    (folder / "logs").mkdir(mode=DIR_MODE, exist_ok=True)
    for path in (folder, folder / "playbooks", folder / "scenarios", folder / "schemas", folder / "logs"):
        os.chmod(path, DIR_MODE)
    return count


def _write_schemas(target: Path) -> int:
    from drillkit.plans.schemas import write_schemas

    written = write_schemas(target)
    for path in written:
        os.chmod(path, FILE_MODE)
    return len(written)
