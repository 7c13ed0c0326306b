"""Which files under `logs/runs` are run records, and the stamp of a file: its size and
modification time in ns. Records and the actions' ledger only grow, so any append changes both.

A report asked again of unchanged records stamps every record and reads nothing else, so this
module imports no more than `os` and `re` (the file store's module costs some 5 ms to import).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from drillkit.model.errors import RecordError

RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z-[a-z0-9-]+-[0-9a-f]{4}")  # matched with fullmatch
LEDGER = "actions.jsonl"  # the corrective actions' ledger, in logs/ (store/ledger.py)
Stamp = list[int]  # [size, modification time in ns]
Stamps = dict[str, tuple[str, Stamp]]  # run id → (record file, stamp)


def record_stamps(runs: Path) -> Stamps:
    """Each record's file name and stamp, by run id, in run id order. Plain names, not `Path`s:
    a repeated report over many records spends its time here."""
    try:
        with os.scandir(runs) as entries:
            records = sorted(
                (e.name[:-6], e) for e in entries if e.name.endswith(".jsonl") and RUN_ID.fullmatch(e.name[:-6])
            )
    except FileNotFoundError:  # no run yet
        return {}
    except OSError as exc:  # never a report of no runs over records it could not see
        raise RecordError(f"cannot list logs/runs: {exc.strerror}") from None
    found: Stamps = {}
    for run_id, entry in records:
        try:
            stat = entry.stat()
        except OSError:
            continue
        found[run_id] = (entry.path, [stat.st_size, stat.st_mtime_ns])
    return found


def file_stamp(path: Path) -> Stamp | None:
    """A file's stamp; None when there is no file to stamp."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]
