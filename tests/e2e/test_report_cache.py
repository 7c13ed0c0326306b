"""`drill report`'s caches (`logs/report-cache.json`, `logs/report-last.cache`): a report that
fails writes neither, and neither is written through a link planted at its temporary name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DRILL, Drill
from tests.engine.test_metrics import invoke

CACHES = ("report-cache.json", "report-last.cache")
LEDGER_LINE_NOT_JSON = "drill: line 1 of actions.jsonl is not a JSON object (run `drill verify`)\n"


def cache_files(root: Path) -> dict[str, bytes]:
    """The report caches present in the workspace, by name."""
    logs = root / "logs"
    return {name: (logs / name).read_bytes() for name in CACHES if (logs / name).exists()}


def test_a_report_that_fails_writes_no_cache(drill: Drill) -> None:
    drill.open()
    (drill.root / "logs" / "actions.jsonl").write_text("not json\n", encoding="utf-8")
    done = drill("report")
    assert (done.returncode, done.stdout, done.stderr) == (1, "", LEDGER_LINE_NOT_JSON)
    assert cache_files(drill.root) == {}


def test_a_report_that_fails_leaves_the_caches_as_they_were(drill: Drill) -> None:
    run = drill.open()
    drill("report", ok=True)
    kept = cache_files(drill.root)
    assert set(kept) == set(CACHES)
    drill("act", run, "acknowledge", "--by", "bob", ok=True)  # the next report would cache anew
    ledger = drill.root / "logs" / "actions.jsonl"
    ledger.mkdir()
    try:
        done = drill("report")
    finally:
        ledger.rmdir()  # `drill verify --all` checks the workspace at teardown
    assert (done.returncode, done.stderr) == (1, "drill: cannot read actions.jsonl: Is a directory\n")
    assert cache_files(drill.root) == kept


def test_a_folder_of_records_that_cannot_be_listed_writes_no_cache(drill: Drill) -> None:
    drill.open()
    runs = drill.root / "logs" / "runs"
    runs.chmod(0o000)
    try:
        done = drill.refused_by_file_modes("report")
    finally:
        runs.chmod(0o750)
    assert (done.returncode, done.stderr) == (1, "drill: cannot list logs/runs: Permission denied\n")
    assert cache_files(drill.root) == {}


@pytest.mark.parametrize("cache", CACHES)
def test_a_cache_is_never_written_through_a_link_at_its_temporary_name(
    drill: Drill, tmp_path: Path, cache: str
) -> None:
    """The report runs in this process, so the temporary name (it carries the pid) is known."""
    drill.pinned().open()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("not drill's\n", encoding="utf-8")
    planted = drill.root / "logs" / f".{cache}.{os.getpid()}.tmp"
    planted.symlink_to(elsewhere)
    done = invoke(drill.root, "report")
    assert done.exit_code == 0, done.output
    assert elsewhere.read_text(encoding="utf-8") == "not drill's\n"
    kept = drill.root / "logs" / cache
    assert not kept.is_symlink()
    assert kept.stat().st_mode & 0o777 == 0o640
    assert not os.path.lexists(planted)
    assert invoke(drill.root, "report").stdout == done.stdout  # the cache kept is read back


def test_a_report_read_back_imports_neither_the_file_store_nor_hashlib_nor_zoneinfo(drill: Drill) -> None:
    """Asked again of unchanged records, the report stamps them and reads its answer back: the
    modules that only making a report needs (some 10 ms of start-up together) stay unimported."""
    pinned = drill.pinned()
    run = pinned.open()
    pinned("abort", run, "--by", "alice", "--reason", "over", ok=True)  # an open run would be caught up first
    made = pinned("report", "--format", "json", ok=True).stdout
    argv = [sys.executable, "-X", "importtime", str(DRILL), "report", "--format", "json"]
    again = subprocess.run(argv, capture_output=True, text=True, env=pinned.env(), timeout=60, check=True)
    imported = {line.rpartition("|")[2].strip() for line in again.stderr.splitlines()}
    assert again.stdout == made
    assert "drillkit.services.report" in imported
    assert not imported & {"drillkit.store.files", "hashlib", "zoneinfo"}
