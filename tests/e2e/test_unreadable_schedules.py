"""A schedule whose zone this machine no longer has (a tzdata update dropped it) is named and left
aside, and the other schedules are listed and fired as usual. The zone is taken away for real:
the commands read their zones from copies of the machine's zone files without it."""

from __future__ import annotations

import importlib.util
import json
import shutil
import zoneinfo
from pathlib import Path
from typing import TypedDict

import pytest

from drillkit.config.workspace import Workspace
from drillkit.schedule.store import open_store
from tests.conftest import Drill

SCENARIO = "core-outage-q4"
GONE = "Asia/Kolkata"
LINE = (
    f"drill: schedule 'kolkata' cannot be read: unknown time zone '{GONE}'; use an IANA name such as"
    " Asia/Shanghai or UTC; it is left aside (`drill schedule remove kolkata` deletes it)\n"
)


class ZoneFiles(TypedDict):
    """Where a command reads its zones from."""

    PYTHONTZPATH: str
    PYTHONPATH: str


def _copy_without_zone(source: Path, copy: Path) -> None:
    region, city = GONE.split("/")
    shutil.copytree(source, copy, symlinks=True, ignore=lambda folder, _: [city] if Path(folder).name == region else [])


@pytest.fixture
def without_the_zone(tmp_path: Path) -> ZoneFiles:
    """The environment of a machine without `GONE`: Python reads zones from the system's zone files,
    then from the `tzdata` package, so both are copies of this machine's without it, found first."""
    system = next((Path(folder) for folder in zoneinfo.TZPATH if (Path(folder) / GONE).is_file()), None)
    if system is None:
        pytest.skip(f"this machine has no zone files with {GONE} to copy")
    _copy_without_zone(system, tmp_path / "zoneinfo")
    package = importlib.util.find_spec("tzdata")
    if package is not None and package.origin is not None:
        _copy_without_zone(Path(package.origin).parent, tmp_path / "packages" / "tzdata")
    return ZoneFiles(PYTHONTZPATH=str(tmp_path / "zoneinfo"), PYTHONPATH=str(tmp_path / "packages"))


def test_a_zone_gone_from_the_machine_sets_its_schedule_aside_and_the_others_still_fire(
    drill: Drill, without_the_zone: ZoneFiles
) -> None:
    at_eight = drill.pinned()
    for schedule_id, zone in (("kolkata", GONE), ("shanghai", "Asia/Shanghai")):
        at_eight("schedule", "add", SCENARIO, "--every", "1h", "--tz", zone, "--id", schedule_id, ok=True)
    listed = at_eight("schedule", "list", "--json", **without_the_zone)
    assert (listed.returncode, listed.stderr) == (1, LINE)
    assert [row["id"] for row in json.loads(listed.stdout)] == ["shanghai"]

    once = drill.pinned("2026-11-29T09:00:30Z")("scheduler", "--once", **without_the_zone)
    assert once.returncode == 1, once.stderr
    with open_store(Workspace(drill.root)) as store:
        [fire] = store.fires()
    assert (fire.schedule, fire.status) == ("shanghai", "started")
    assert (drill.root / "logs" / "runs" / f"{fire.run}.jsonl").is_file()
    log = [json.loads(line) for line in (drill.root / "logs" / "scheduler.jsonl").read_text().splitlines()]
    assert [e["schedule"] for e in log if e["event"] == "schedule.unreadable"] == ["kolkata"]

    back = at_eight("schedule", "list", "--json")  # the zone back: the schedule reads again
    assert (back.returncode, [row["id"] for row in json.loads(back.stdout)]) == (0, ["kolkata", "shanghai"])
    assert at_eight("schedule", "remove", "kolkata", **without_the_zone).returncode == 0
    assert at_eight("schedule", "list", **without_the_zone).returncode == 0
