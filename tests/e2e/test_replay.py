"""`drill replay` (SPEC §11) through the CLI: a real incident made into a scenario that validates,
names no one, keeps personal data masked, and whose simulation gives the incident's own metric
verdicts and breaches; the drill's report shows the real times beside its own."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import Drill, read_events, rechained

START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
PEOPLE = ("alice", "bob", "carol", "dave", "erin")


def at(seconds: float) -> str:
    """The wall time `seconds` after START, to the millisecond."""
    return (START + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def judged(document: dict[str, Any]) -> dict[str, Any]:
    """What a replay must reproduce: each metric's value and verdict, each breach's what, owner and due."""
    return {
        "metrics": {m["name"]: (m["value"], m["verdict"]) for m in document["metrics"]},
        "breaches": [(b["what"], b["owner"], b["due"]) for b in document["breaches"]],
    }


def replayed(drill: Drill, run_id: str, scenario: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Replay the incident, validate the file, simulate it: the YAML, the incident's and the simulation's documents."""
    path = drill.root / "scenarios" / f"{scenario}.yaml"
    done = drill("replay", run_id, "-o", str(path), ok=True)
    assert f"wrote {path}" in done.stderr
    drill("validate", str(path), ok=True)
    text = path.read_text(encoding="utf-8")
    original = json.loads(drill("export", run_id, "--format", "json", ok=True).stdout)
    simulated = json.loads(drill("simulate", scenario, "--json").stdout)
    assert not [line for line in drill("simulate", scenario).stderr.splitlines() if "rejected" in line]
    return text, original, simulated


def changes(document: dict[str, Any], names: dict[str, str]) -> list[tuple[Any, ...]]:
    """The severity changes and hand-overs a record holds, its people named as in the replay."""
    keys = ("event", "t", "actor", "role", "from", "to", "reason", "person")
    kinds = ("severity.changed", "assigned")
    return [tuple(names.get(e.get(key), e.get(key)) for key in keys) for e in document["events"] if e["event"] in kinds]


def names_no_one(text: str, people: tuple[str, ...]) -> None:
    for person in people:
        assert not re.search(rf"(?<![A-Za-z]){re.escape(person)}(?![A-Za-z])", text), f"{person} named in:\n{text}"


def test_a_severity_change_and_a_hand_over_replay_to_the_millisecond(drill: Drill) -> None:
    (drill.root / "drill.toml").write_text(f"[people]\nnames = {json.dumps(list(PEOPLE))}\n", encoding="utf-8")
    run_id = drill.open("--title", "BJ-3 core outage, bob on call", DRILL_FAKE_NOW=at(0))
    drill(
        "act",
        run_id,
        "acknowledge",
        "--by",
        "bob",
        "--note",
        "paged alice on 13812345678",
        ok=True,
        DRILL_FAKE_NOW=at(299.75),
    )
    outsider = "Customer ops: complaints to ops-desk@example.com and 13987654321"
    drill("note", run_id, outsider, "--by", "erin", ok=True, DRILL_FAKE_NOW=at(330.5))
    drill("severity", run_id, "I", "--by", "alice", "--reason", "three provinces", ok=True, DRILL_FAKE_NOW=at(360))
    drill("assign", run_id, "noc", "dave", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(400.125))
    drill("check", run_id, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(420))
    drill("act", run_id, "mitigate", "--by", "dave", ok=True, DRILL_FAKE_NOW=at(900.2))  # triage due at 899.75
    drill("check", run_id, "notify_customers", "--by", "carol", ok=True, DRILL_FAKE_NOW=at(1900))
    drill("act", run_id, "resolve", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(2400))

    text, original, simulated = replayed(drill, run_id, "bj3-replay")

    assert judged(simulated) == judged(original)
    assert judged(original)["breaches"] == [
        ("state:triage", "lead", 899.75),
        ("metric:time_to_notify", "comms", 1800.0),
    ]
    assert [b["assignee"] for b in simulated["breaches"]] == ["lead-1", "comms-1"]
    placeholders = {"alice": "lead-1", "bob": "noc-1", "carol": "comms-1", "dave": "noc-2"}
    assert changes(simulated, {}) == changes(original, placeholders)  # as `drill severity` and `assign` wrote them
    assert len(changes(simulated, {})) == 2
    names_no_one(text, PEOPLE)
    assert "13812345678" not in text
    assert "13987654321" not in text
    assert "ops-desk@" not in text
    assert "138****5678" in text
    assert "o***@example.com" in text
    head = drill.events(run_id)[-1]["hash"]
    assert f"source: {{run: {run_id}, head: {head}}}" in text
    assert "- {at: 4m59.75s, by: noc-1, trigger: acknowledge, note: paged lead-1 on 138****5678}" in text
    assert "- {at: 6m, by: lead-1, severity: I, reason: three provinces}" in text
    assert "- {at: 6m40.125s, by: lead-1, assign: noc, person: noc-2}" in text
    assert "- {at: 15m0.2s, by: noc-2, trigger: mitigate}" in text
    assert "erin" not in text
    assert "Customer ops: complaints" in text
    assert "participants: {lead: lead-1, noc: noc-1, comms: comms-1}" in text


def test_the_report_of_a_replayed_drill_shows_the_real_times_beside_its_own(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(120))
    drill("check", run_id, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(180))
    drill("act", run_id, "mitigate", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(840))
    drill("act", run_id, "resolve", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(1200))
    drill("replay", run_id, "-o", str(drill.root / "scenarios" / "q-replay.yaml"), ok=True)
    drill_id = drill("start", "q-replay", "--detach", "--by", "lead-1", ok=True, DRILL_FAKE_NOW=at(3600)).stdout.strip()
    drill("act", drill_id, "acknowledge", "--by", "noc-1", ok=True, DRILL_FAKE_NOW=at(3600 + 60))
    drill("check", drill_id, "bridge", "--by", "lead-1", ok=True, DRILL_FAKE_NOW=at(3600 + 90))
    drill("act", drill_id, "mitigate", "--by", "noc-1", ok=True, DRILL_FAKE_NOW=at(3600 + 540))

    report = drill("export", drill_id, "--format", "md", ok=True, DRILL_FAKE_NOW=at(3600 + 600)).stdout
    assert f"## The real incident beside the drill ({run_id})" in report
    assert "| time_to_mitigate | 2h | real: 14m / drill: 9m | real: met / drill: met |" in report
    assert "| state:detected | — | real: 2m / drill: 1m | — |" in report
    chinese = drill("export", drill_id, "--format", "md", "--lang", "zh", ok=True, DRILL_FAKE_NOW=at(4200)).stdout
    assert "## 真实事件与本次演练对比" in chinese
    assert "真实: 14m / 演练: 9m" in chinese
    html = drill("export", drill_id, "--format", "html", ok=True, DRILL_FAKE_NOW=at(4200)).stdout
    assert "real: 14m / drill: 9m" in html
    source = json.loads(drill("export", drill_id, "--format", "json", ok=True, DRILL_FAKE_NOW=at(4200)).stdout)[
        "source"
    ]
    mitigate = next(m for m in source["metrics"] if m["name"] == "time_to_mitigate")
    assert (source["run"], source["found"], mitigate["real"], mitigate["drill"]) == (run_id, True, 840.0, 540.0)

    drill.record(run_id).rename(drill.root / "elsewhere.jsonl")  # the incident's record is not here any more
    report = drill("export", drill_id, "--format", "md", ok=True, DRILL_FAKE_NOW=at(4200)).stdout
    assert f"- **Source incident**: {run_id} is not in this workspace: no real times to compare" in report
    assert "real: 14m" not in report


def test_an_escalation_by_deadline_replays_with_the_same_breaches(drill: Drill) -> None:
    people = ("王伟", "李娜", "张敏", "刘洋")
    cast = [
        f"--as={role}={name}"
        for role, name in zip(("值班长", "安全分析员", "合规专员", "客服主管"), people, strict=True)
    ]
    run_id = drill(
        "open", "customer-data-leak", "--severity", "II", *cast, "--by", "王伟", ok=True, DRILL_FAKE_NOW=at(0)
    ).stdout.strip()
    steps = [
        (16 * 60, "check", "启动应急小组", "王伟"),  # the system escalated at 15m, recorded late by this command
        (20 * 60, "check", "确认泄露范围", "王伟"),
        (25 * 60, "act", "启动处置", "王伟"),
        (50 * 60, "check", "上报监管", "张敏"),
        (60 * 60, "check", "封堵泄露源", "李娜"),
        (70 * 60, "act", "完成封堵", "李娜"),
        (120 * 60, "check", "通知用户", "刘洋"),
        (180 * 60, "check", "业务恢复确认", "王伟"),
        (190 * 60, "act", "结案", "王伟"),
    ]
    for seconds, verb, what, by in steps:
        drill(verb, run_id, what, "--by", by, ok=True, DRILL_FAKE_NOW=at(seconds))

    text, original, simulated = replayed(drill, run_id, "leak-replay")

    assert judged(simulated) == judged(original)
    assert judged(original)["breaches"] == [
        ("state:发现", "安全分析员", 900.0),
        ("metric:确认时长", "安全分析员", 900.0),
    ]
    assert original["metrics"][0]["verdict"] == "missed"
    escalated = [e for e in simulated["events"] if e["event"] == "transition" and e["actor"] == "system"]
    assert [(e["trigger"], e["t"]) for e in escalated] == [("升级", 900.0)]
    names_no_one(text, people)
    assert "值班长-1" in text
    assert "安全分析员-1" in text


def test_a_late_acknowledgement_and_an_abort_replay_with_the_same_verdicts(drill: Drill) -> None:
    plan = (drill.root / "playbooks" / "core-network-outage.yaml").read_text(encoding="utf-8")
    late = plan.replace("playbook: core-network-outage", "playbook: no-escalation").replace(
        "    on_deadline: escalate\n", ""
    )
    (drill.root / "playbooks" / "no-escalation.yaml").write_text(late, encoding="utf-8")
    run_id = drill.open(playbook="no-escalation", DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(480))
    drill("check", run_id, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(600))
    drill("abort", run_id, "--by", "alice", "--reason", "handed to the vendor", ok=True, DRILL_FAKE_NOW=at(1200.5))

    text, original, simulated = replayed(drill, run_id, "late-ack-replay")

    assert judged(simulated) == judged(original)
    assert judged(original) == {
        "metrics": {
            "time_to_acknowledge": (480.0, "missed"),
            "time_to_mitigate": (None, "void"),
            "time_to_notify": (None, "void"),
        },
        "breaches": [("state:detected", "noc", 300.0), ("metric:time_to_acknowledge", "noc", 300.0)],
    }
    assert "time_limit: 20m0.5s" in text  # the drill ends where the incident was aborted


def test_only_an_ended_incident_replays_and_bad_input_is_one_line(drill: Drill) -> None:
    open_run = drill.open(DRILL_FAKE_NOW=at(0))
    simulation = json.loads(drill("simulate", "core-outage-q4", "--json").stdout)["run"]["id"]
    drill("abort", open_run, "--by", "alice", "--reason", "false alarm", ok=True, DRILL_FAKE_NOW=at(60))
    still_open = drill.open(DRILL_FAKE_NOW=at(120))
    (drill.root / "scenarios" / "taken.yaml").write_text("kept\n", encoding="utf-8")
    scenarios = drill.root / "scenarios"
    refused = {
        "a simulation": ([simulation], "drill replay makes drills of incidents only (mode incident)"),
        "an open incident": ([still_open], "has not ended; replay it once it has"),
        "an unknown run": (["20261129T080000Z-core-network-outage-ffff"], "no run"),
        "a bad --id": ([open_run, "--id", "Bad_Id"], "--id 'Bad_Id' is not a scenario id"),
        "an --id unlike the file": (
            [open_run, "--id", "one", "-o", str(scenarios / "two.yaml")],
            "must equal the file name",
        ),
        "an existing file": ([open_run, "-o", str(scenarios / "taken.yaml")], "the file exists; add --force"),
        "a file in logs/": ([open_run, "-o", str(drill.root / "logs" / "x.yaml")], "inside the workspace's logs/"),
    }
    before = sorted(p.name for p in (drill.root / "scenarios").iterdir())
    for case, (args, said) in refused.items():
        done = drill("replay", *args)
        assert done.returncode == 2, case
        assert (done.stdout, done.stderr.count("\n")) == ("", 1), (case, done.stderr)
        assert said in done.stderr, (case, done.stderr)
    assert sorted(p.name for p in (drill.root / "scenarios").iterdir()) == before
    assert (drill.root / "scenarios" / "taken.yaml").read_text(encoding="utf-8") == "kept\n"
    drill("replay", open_run, "-o", str(scenarios / "taken.yaml"), "--force", ok=True)
    assert (
        Path(drill.root / "scenarios" / "taken.yaml").read_text(encoding="utf-8").startswith("# yaml-language-server")
    )


def test_what_a_replay_cannot_script_or_judge_alike_is_said(drill: Drill) -> None:
    (drill.root / "drill.toml").write_text(f"[people]\nnames = {json.dumps(list(PEOPLE))}\n", encoding="utf-8")
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("note", run_id, "erin from the duty desk joined the bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(30))
    drill("severity", run_id, "I", "--by", "erin", "--reason", "erin: regulator asked", ok=True, DRILL_FAKE_NOW=at(60))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(90))
    drill("abort", run_id, "--by", "alice", "--reason", "drill of the duty desk", ok=True, DRILL_FAKE_NOW=at(120))
    plan = drill.root / "playbooks" / "core-network-outage.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("version: 3", "version: 4"), encoding="utf-8")

    path = drill.root / "scenarios" / "desk-replay.yaml"
    done = drill("replay", run_id, "-o", str(path), ok=True)

    assert (
        "drill: warning: left out of the script: T+00:01:00 severity.changed by someone who held no role" in done.stderr
    )
    assert (
        "drill: warning: playbook core-network-outage has changed since the incident (version 3 then, 4 now)"
        in done.stderr
    )
    text = path.read_text(encoding="utf-8")
    names_no_one(text, PEOPLE)
    assert "person-1 from the duty desk joined the bridge" in text  # a name in a note, as a placeholder too
    assert "message: 'Severity II → I (特别重大 / Extraordinary): person-1: regulator asked'" in text  # an inject
    assert "severity: I," not in text


def test_a_person_holding_several_roles_replays_their_notes_in_one_of_them(drill: Drill) -> None:
    run_id = drill.open("--as", "lead=alice", "--as", "noc=alice", "--as", "comms=carol", DRILL_FAKE_NOW=at(0))
    drill("note", run_id, "both hats on", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(30))  # recorded with no role
    drill("act", run_id, "acknowledge", "--by", "alice", "--role", "noc", ok=True, DRILL_FAKE_NOW=at(60))
    drill("check", run_id, "bridge", "--by", "alice", ok=True, DRILL_FAKE_NOW=at(120))
    drill("act", run_id, "mitigate", "--by", "alice", "--role", "noc", ok=True, DRILL_FAKE_NOW=at(300))
    drill("act", run_id, "resolve", "--by", "alice", "--role", "lead", ok=True, DRILL_FAKE_NOW=at(400))

    text, original, simulated = replayed(drill, run_id, "two-hats-replay")

    assert judged(simulated) == judged(original)
    assert "- {at: 30s, by: lead-1, role: lead, note: both hats on}" in text


def test_a_record_edited_by_hand_is_not_replayed(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(60))
    drill("abort", run_id, "--by", "alice", "--reason", "false alarm", ok=True, DRILL_FAKE_NOW=at(120))
    record = drill.record(run_id)
    kept = record.read_bytes()
    moved_earlier = read_events(record)
    moved_earlier[1]["t"] = -5  # chained again: only the head `run.ended` names gives it away
    typo = kept.replace(b'"trigger":"acknowledge"', b'"trigger":"acknowledged"')
    path = drill.root / "scenarios" / "edited.yaml"
    for edited in (rechained(moved_earlier), typo):
        record.write_bytes(edited)
        done = drill("replay", run_id, "-o", str(path))
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr == (
            f"drill: the record of {run_id} fails verification (see `drill verify {run_id}`):"
            " a drill is made only of a record that verifies\n"
        )
        assert not path.exists()
    record.write_bytes(kept)
    drill("replay", run_id, "-o", str(path), ok=True)


def test_an_abort_in_the_second_before_a_deadline_replays_without_its_breach(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW=at(60))
    drill("abort", run_id, "--by", "alice", "--reason", "vendor took it", ok=True, DRILL_FAKE_NOW=at(1799.5))

    text, original, simulated = replayed(drill, run_id, "abort-replay")

    assert judged(simulated) == judged(original)  # time_to_notify (due at 30m) stays void in both
    assert [m["verdict"] for m in simulated["metrics"]] == ["met", "void", "void"]
    assert "time_limit: 29m59.5s" in text


def test_names_in_any_case_and_a_typed_title_stay_masked(drill: Drill) -> None:
    run_id = drill.open("--title", "Bob paged ALICE", DRILL_FAKE_NOW=at(0))
    drill("act", run_id, "acknowledge", "--by", "bob", "--note", "Alice on the bridge", ok=True, DRILL_FAKE_NOW=at(60))
    drill("abort", run_id, "--by", "alice", "--reason", "false alarm", ok=True, DRILL_FAKE_NOW=at(120))
    path = drill.root / "scenarios" / "cased-replay.yaml"

    drill("replay", run_id, "-o", str(path), "--title", "Carol: call 13812345678", ok=True)

    text = path.read_text(encoding="utf-8")
    assert not re.search(r"alice|bob|carol|13812345678", text, re.IGNORECASE), text
    assert "title: 'comms-1: call 138****5678'" in text
    assert "message: 'noc-1 paged lead-1: severity II" in text
    assert "note: lead-1 on the bridge}" in text


def test_a_scenario_written_where_simulate_does_not_read_it_says_where_it_must_go(drill: Drill) -> None:
    run_id = drill.open(DRILL_FAKE_NOW=at(0))
    drill("abort", run_id, "--by", "alice", "--reason", "false alarm", ok=True, DRILL_FAKE_NOW=at(60))
    (drill.root / "drafts").mkdir()
    for path in (drill.root / "scenarios" / "short.yml", drill.root / "drafts" / "elsewhere.yaml"):
        done = drill("replay", run_id, "-o", str(path), ok=True)
        wanted = drill.root / "scenarios" / f"{path.stem}.yaml"
        assert (
            done.stderr.splitlines()[-1] == f"drill simulate {path.stem} reads {wanted}: move the file there to try it"
        )
        assert drill("simulate", path.stem).returncode == 2
        path.rename(wanted)
        drill("simulate", path.stem, ok=True)
    done = drill("replay", run_id, "-o", str(drill.root / "scenarios" / "right.yaml"), ok=True)
    assert done.stderr.splitlines()[-1] == "try it with: drill simulate right"
