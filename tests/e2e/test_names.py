"""Who acts is checked (SPEC §5), through the CLI: a typo is refused with a close match and
writes nothing, a `[people]` roster in drill.toml widens who may act and bounds whom `--as` and
`assign` may name, no system account ever acts by default, and every event a command writes
says who typed it and where (`origin`) and which command wrote it (`req`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import DRILL, FAKE_NOW, Drill

ROSTER = '[people]\nnames = ["alice", "bob", "carol", "dave", "王伟"]\n'


def _refused(drill: Drill, *args: str, **env: str) -> str:
    """The one line of a command refused with exit 2 (and no traceback)."""
    command, environment = [str(DRILL), *args], drill.env(**env)
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60, check=False)
    assert done.returncode == 2, (args, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def _actors(drill: Drill, run: str) -> list[str]:
    return [event["actor"] for event in drill.events(run)]


def test_a_typo_in_by_is_refused_with_a_close_match_and_writes_nothing(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    before = drill.record(run).read_bytes()
    line = _refused(drill, "act", run, "acknowledge", "--by", "bbo", DRILL_FAKE_NOW=FAKE_NOW)
    assert "'bbo'" in line
    assert "who may act: alice, bob, carol" in line
    assert "did you mean 'bob'?" in line
    assert "did you mean 'alice'?" in _refused(drill, "note", run, "hello", "--by", "ALICE", DRILL_FAKE_NOW=FAKE_NOW)
    assert drill.record(run).read_bytes() == before
    drill("act", run, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    assert _actors(drill, run)[-1] == "bob"


def test_someone_assigned_since_may_act_and_the_one_replaced_still_may(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    assert "'erin'" in _refused(drill, "note", run, "on my way", "--by", "erin", DRILL_FAKE_NOW=FAKE_NOW)
    drill("assign", run, "noc", "erin", "--by", "alice", ok=True, DRILL_FAKE_NOW=FAKE_NOW)  # no roster: anyone
    drill("note", run, "on my way", "--by", "erin", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    drill("note", run, "handed over to erin", "--by", "bob", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    assert _actors(drill, run)[-3:] == ["alice", "erin", "bob"]


def test_open_and_start_take_by_only_from_the_people_they_name(drill: Drill) -> None:
    line = _refused(drill, "open", "core-network-outage", "--severity", "II", "--as", "lead=alice", "--by", "alcie")
    assert "who may act: alice" in line
    assert "did you mean 'alice'?" in line
    assert "'zed'" in _refused(drill, "start", "core-outage-q4", "--detach", "--by", "zed")
    run = drill("start", "core-outage-q4", "--detach", "--by", "carol", ok=True).stdout.strip()  # in the scenario
    assert _actors(drill, run) == ["carol"]
    assert not [path for path in (drill.root / "logs" / "runs").glob("*.jsonl") if path.stem != run]


def test_no_system_account_ever_acts(drill: Drill) -> None:
    run = drill.open(DRILL_FAKE_NOW=FAKE_NOW)
    login_root = {"LOGNAME": "root", "USER": "root", "DRILL_FAKE_NOW": FAKE_NOW}
    line = _refused(drill, "note", run, "hello", **login_root)
    assert "pass --by NAME" in line
    assert "the login name 'root' is a system account" in line
    assert "who may act: alice, bob, carol" in line
    line = _refused(drill, "note", run, "hello", DRILL_USER="root", **login_root)
    assert "$DRILL_USER 'root' is a system account" in line
    assert "system account" in _refused(drill, "note", run, "hello", "--by", "root", **login_root)
    assert "system account" in _refused(drill, "assign", run, "noc", "root", "--by", "alice", **login_root)
    assert "system account" in _refused(drill, "open", "core-network-outage", "--severity", "II", "--as", "lead=root")
    assert "system account" in _refused(drill, "start", "core-outage-q4", "--detach", **login_root)
    assert "'tester' may not act" in _refused(drill, "note", run, "hello", DRILL_USER="tester", **login_root)
    drill("note", run, "hello", ok=True, DRILL_USER="bob", **login_root)  # $DRILL_USER, when it may act
    drill("note", run, "hi", ok=True, **{**login_root, "LOGNAME": "carol", "USER": "carol"})  # then the login name
    assert _actors(drill, run) == ["alice", "bob", "carol"]
    assert '"actor":"root"' not in drill.record(run).read_text(encoding="utf-8")
    action = ("action", "add", "--from", run, "--title", "Fix", "--owner", "lead=alice", "--due", "2027-01-15")
    line = _refused(drill, *action, **login_root)  # no run's people to name: only --by can
    assert line == "drill: who acts? pass --by NAME (the login name 'root' is a system account)"


def test_a_roster_in_drill_toml_is_honoured(drill: Drill) -> None:
    (drill.root / "drill.toml").write_text(ROSTER, encoding="utf-8")
    line = _refused(drill, "open", "core-network-outage", "--severity", "II", "--as", "noc=bbo", "--by", "dave")
    assert "--as noc 'bbo' is not on drill.toml's [people] roster" in line
    assert "did you mean 'bob'?" in line
    run = drill.open("--as", "lead=alice", "--by", "dave", DRILL_FAKE_NOW=FAKE_NOW)  # on the roster, named nowhere
    drill("note", run, "王伟 joins the bridge", "--by", "王伟", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    line = _refused(drill, "note", run, "hello", "--by", "dvae", DRILL_FAKE_NOW=FAKE_NOW)
    assert "did you mean 'dave'?" in line
    line = _refused(drill, "assign", run, "noc", "erin", "--by", "alice", DRILL_FAKE_NOW=FAKE_NOW)
    assert "person 'erin' is not on drill.toml's [people] roster" in line
    assert "alice, bob, carol, dave, 王伟" in line
    drill("assign", run, "noc", "bob", "--by", "alice", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    assert _actors(drill, run) == ["dave", "王伟", "alice"]


def test_a_bad_roster_is_found_by_validate_and_stops_commands(drill: Drill) -> None:
    (drill.root / "drill.toml").write_text('timezone = "UTC"\n\n[people]\nnames = ["bob", "bob"]\n', encoding="utf-8")
    done = drill("validate")
    assert done.returncode == 1
    assert done.stdout == "drill.toml:4:1: [people] names: bob given more than once; name each person once\n"
    line = _refused(drill, "open", "core-network-outage", "--severity", "II", "--as", "lead=bob", "--by", "bob")
    assert line.startswith("drill: drill.toml: [people] names")
    (drill.root / "drill.toml").write_text('[people]\nnames = ["root"]\n', encoding="utf-8")
    assert "system account" in drill("validate").stdout
    assert not (drill.root / "logs" / "runs").is_dir() or not list((drill.root / "logs" / "runs").iterdir())


def test_every_event_a_command_writes_carries_origin_and_one_req(drill: Drill) -> None:
    env = {"LOGNAME": "ops7", "USER": "ops7"}
    run = drill.open(**env, DRILL_FAKE_NOW=FAKE_NOW)
    drill("act", run, "acknowledge", "--by", "bob", ok=True, **env, DRILL_FAKE_NOW=FAKE_NOW)
    # an hour later: the triage deadline is caught up in the same write as the note
    drill("note", run, "still here", "--by", "bob", ok=True, **env, DRILL_FAKE_NOW="2026-11-29T09:00:00Z")
    events = drill.events(run)
    assert len(events) >= 4
    for event in events:
        assert event["origin"]["user"] == "ops7"
        assert event["origin"]["host"]
        assert len(event["req"]) == 16
        assert int(event["req"], 16) >= 0
    by_req: dict[str, list[str]] = {}
    for event in events:
        by_req.setdefault(event["req"], []).append(event["event"])
    opened, acknowledged, noted = by_req.values()
    assert opened == ["run.started"]
    assert acknowledged == ["transition"]
    assert noted[-1] == "note"
    assert "deadline.breached" in noted


def test_a_simulation_carries_a_req_and_no_origin(drill: Drill, workspace: Path) -> None:
    done = drill("simulate", "core-outage-q4", "--json")
    run = json.loads(done.stdout)["run"]["id"]
    events = drill.events(run)
    assert {event["req"] for event in events} == {events[0]["req"]}
    assert not [event for event in events if "origin" in event]
