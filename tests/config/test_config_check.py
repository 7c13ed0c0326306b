"""`drill.toml` is checked up front: `drill validate` reports its problems, `drill start` refuses a bad one."""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FAKE_NOW, Drill

ROOT = Path(__file__).resolve().parents[2]

BAD = """\
timezone = "Mars/Base"
colour = "red"

[redact]
patterns = ['ok\\d+', '(unclosed']
extra = 1

[schedule]
blackout = [{from = "25:00", to = "26:00"}]
cadence = "weekly"

[integrity]
key_file = "secrets/none.key"

[[notify]]
name = "pager"
kind = "command"
command = ["true"]

[[notify]]
name = "sim"
kind = "command"
command = ["true"]
modes = ["simulation"]

[[notify]]
name = "pager"
kind = "command"
command = ["true"]
"""

SIMULATION_NOTIFIER = '[[notify]]\nname = "sim"\nkind = "command"\ncommand = ["true"]\nmodes = ["simulation"]\n'


def test_start_with_a_bad_notifier_writes_nothing(drill: Drill, workspace: Path) -> None:
    (workspace / "drill.toml").write_text(SIMULATION_NOTIFIER, encoding="utf-8")
    for detach in ((), ("--detach",)):
        done = drill("start", "core-outage-q4", "--speed", "600", *detach, DRILL_FAKE_NOW=FAKE_NOW)
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [
            "drill: drill.toml: notifier 'sim': mode 'simulation' is not allowed (simulations never notify);"
            " allowed: incident, drill"
        ]
        assert done.stdout == ""
        runs = workspace / "logs" / "runs"
        assert not runs.exists() or not any(runs.iterdir())


def test_validate_reports_every_drill_toml_problem_at_its_line(drill: Drill, workspace: Path) -> None:
    (workspace / "drill.toml").write_text(BAD, encoding="utf-8")
    done = drill("validate")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "drill.toml:1:1: unknown time zone 'Mars/Base'; use an IANA name such as Asia/Shanghai or UTC",
        "drill.toml:2:1: unknown key 'colour'; allowed: timezone, redact, notify, schedule, integrity, store, paths,"
        " people",
        "drill.toml:5:1: [redact] patterns: '(unclosed' is not a valid regular expression:"
        " missing ), unterminated subpattern at position 0",
        "drill.toml:6:1: [redact] unknown key 'extra'; allowed: patterns",
        "drill.toml:9:1: [schedule] blackout window 1: '25:00' is not a time of day HH:MM",
        "drill.toml:10:1: [schedule] unknown key 'cadence'; allowed: blackout",
        "drill.toml:13:1: [integrity] key_file 'secrets/none.key': no such file (relative to the workspace)",
        "drill.toml:20:1: notifier 'sim': mode 'simulation' is not allowed (simulations never notify);"
        " allowed: incident, drill",
        "drill.toml:26:1: notifier 'pager': the name is used twice; give each [[notify]] its own name",
    ]
    assert done.stderr == "9 problem(s) found\n"


def test_validate_places_syntax_and_type_errors(drill: Drill, workspace: Path) -> None:
    cases = {
        "timezone = \n": ["drill.toml:1:12: not valid TOML: Invalid value"],
        "timezone = 'UTC'\n[redact]\npatterns = ['x',\n": [
            "drill.toml:3:17: not valid TOML: Invalid value (at end of document)"  # an unclosed list: at the end
        ],
        "redact = 1\nnotify = {a = 1}\n": [
            "drill.toml:1:1: redact must be a table: [redact]",
            "drill.toml:2:1: notify must be an array of tables: one [[notify]] per notifier",
        ],
        "schedule.blackout = 3\ntimezone = 5\n": [
            "drill.toml:1:10: [schedule] blackout must be a list of windows,"
            " e.g. blackout = [{from = '00:00', to = '06:00'}]",
            "drill.toml:2:1: timezone must be an IANA zone name such as 'Asia/Shanghai'",
        ],
    }
    for text, expected in cases.items():
        (workspace / "drill.toml").write_text(text, encoding="utf-8")
        done = drill("validate")
        assert (done.returncode, done.stdout.splitlines()) == (1, expected), text
    (workspace / "drill.toml").write_bytes(b"\xff = 1\n")
    assert drill("validate").stdout == "drill.toml:1:1: not UTF-8 text\n"


def test_a_drill_toml_saved_with_a_byte_order_mark_is_read_as_plan_files_are(drill: Drill, workspace: Path) -> None:
    """Windows editors save UTF-8 with a byte-order mark, which TOML itself does not allow."""
    toml = workspace / "drill.toml"
    toml.write_bytes(codecs.BOM_UTF8 + b'timezone = "Asia/Shanghai"\n')
    assert (drill("validate", ok=True).stdout, toml.read_bytes()[:3]) == ("", codecs.BOM_UTF8)
    drill("schedule", "add", "core-outage-q4", "--at", "2030-01-07T09:00", ok=True)  # in the zone it names
    [added] = json.loads(drill("schedule", "list", "--json", ok=True).stdout)
    assert added["next_fire"] == "2030-01-07T01:00:00.000Z"
    toml.write_bytes(codecs.BOM_UTF8 + b'timezone = "UTC"\ncolour = "red"\n')  # problems keep their places
    assert drill("validate").stdout.startswith("drill.toml:2:1: unknown key 'colour'")


def test_validate_of_named_files_leaves_drill_toml_alone(drill: Drill, workspace: Path) -> None:
    (workspace / "drill.toml").write_text(BAD, encoding="utf-8")
    drill("validate", str(workspace / "playbooks" / "core-network-outage.yaml"), ok=True)


def test_the_format_reference_drill_toml_validates(drill: Drill, workspace: Path) -> None:
    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"^```toml\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    (workspace / "drill.toml").write_text(example, encoding="utf-8")
    assert (
        drill("validate").stdout
        == "drill.toml:8:1: [integrity] key_file 'secrets/drill.key': no such file (relative to the workspace)\n"
    )
    (workspace / "secrets").mkdir()
    (workspace / "secrets" / "drill.key").write_text("k\n", encoding="utf-8")
    done = drill("validate", ok=True)
    assert done.stdout == ""


WRONG_TYPES = ["redact = 1\n", "notify = 3\n", "[schedule]\nblackout = 'x'\n", "[integrity]\nkey_file = 1\n"]


@pytest.mark.parametrize("toml", WRONG_TYPES)
def test_a_wrong_typed_section_stops_commands_in_one_line(drill: Drill, toml: str) -> None:
    (drill.root / "drill.toml").write_text(toml, encoding="utf-8")
    done = drill("open", "core-network-outage", "--severity", "II")
    assert done.returncode == 2
    assert done.stderr.startswith("drill: drill.toml:")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not list((drill.root / "logs").rglob("*.jsonl"))


MISSPELT = {
    "[integrty]\nkey_file = 'k.key'\n": (
        "drill.toml:1:2: unknown key 'integrty'; allowed: timezone, redact, notify, schedule, integrity, store, paths,"
        " people"
    ),
    "[redact]\npatern = ['SECRET[0-9]+']\n": "drill.toml:2:1: [redact] unknown key 'patern'; allowed: patterns",
}


@pytest.mark.parametrize("toml", list(MISSPELT))
def test_a_misspelt_key_stops_every_command_not_only_validate(drill: Drill, toml: str) -> None:
    """Else a typo leaves records unkeyed or personal data unmasked without a word."""
    (drill.root / "drill.toml").write_text(toml, encoding="utf-8")
    (drill.root / "k.key").write_text("secret\n", encoding="utf-8")
    done = drill("open", "core-network-outage", "--severity", "II")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"drill: {MISSPELT[toml]}; `drill validate` lists every problem of drill.toml"]
    assert not list((drill.root / "logs").rglob("*.jsonl"))


def test_an_empty_key_file_is_refused_not_taken_as_no_key(drill: Drill) -> None:
    (drill.root / "drill.toml").write_text("[integrity]\nkey_file = 'k.key'\n", encoding="utf-8")
    (drill.root / "k.key").write_bytes(b"\n")
    done = drill("open", "core-network-outage", "--severity", "II", "--as", "lead=alice", "--by", "alice")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "drill: drill.toml: [integrity] key_file k.key is empty; put the HMAC key in it"
    ]
    assert not list((drill.root / "logs").rglob("*.jsonl"))
    assert drill("validate").stdout.splitlines() == [
        "drill.toml:2:1: [integrity] key_file 'k.key' is empty: records would not be keyed"
    ]


def test_an_unknown_time_zone_in_drill_toml_is_named_as_its(drill: Drill) -> None:
    run = drill.open()
    toml = drill.root / "drill.toml"
    kept = toml.read_bytes() if toml.exists() else None
    toml.write_text('timezone = "Mars/Olympus"\n', encoding="utf-8")
    done = drill("status", run)
    assert done.returncode == 2
    assert done.stderr.startswith("drill: drill.toml: timezone: unknown time zone 'Mars/Olympus'")
    before = sorted((drill.root / "logs" / "runs").iterdir())
    for writing in (("note", run, "hello", "--by", "alice"), ("open", "core-network-outage", "--severity", "II")):
        done = drill(*writing, "--as", "lead=alice") if writing[0] == "open" else drill(*writing)
        assert (done.returncode, done.stderr.count("\n")) == (2, 1), writing  # refused as the zone is read
        assert "timezone: unknown time zone 'Mars/Olympus'" in done.stderr
    assert sorted((drill.root / "logs" / "runs").iterdir()) == before
    assert drill.events(run)[-1]["event"] == "run.started"
    if kept is None:
        toml.unlink()
    else:
        toml.write_bytes(kept)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (Path.mkdir, "cannot read it: Is a directory; drill.toml must be a readable file, or absent"),
        (os.mkfifo, "not a regular file; drill.toml must be a readable file, or absent"),  # a read would wait forever
    ],
    ids=["folder", "pipe"],
)
def test_a_drill_toml_that_is_no_file_is_reported_not_skipped_nor_waited_on(
    drill: Drill, make: Callable[[Path], None], reason: str
) -> None:
    make(drill.root / "drill.toml")
    done = drill("validate")
    assert (done.returncode, done.stdout) == (1, f"drill.toml:1:1: {reason}\n")
    done = drill("open", "core-network-outage", "--severity", "II")
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"drill: drill.toml: {reason}\n")
    assert not list((drill.root / "logs").rglob("*.jsonl"))


def test_a_misspelt_key_is_not_blamed_on_the_timezone(drill: Drill) -> None:
    (drill.root / "drill.toml").write_text("[redact]\npatern = ['x']\n", encoding="utf-8")
    done = drill("runs")
    assert done.returncode == 2
    assert done.stderr.startswith("drill: drill.toml:2:1: [redact] unknown key 'patern'")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [("a{99999999999}", "the repetition number is too large"), ("(" * 1000 + ")" * 1000, "groups nested too deeply")],
    ids=["repetition", "nesting"],
)
def test_a_pattern_re_cannot_compile_is_a_problem_not_an_internal_error(
    drill: Drill, pattern: str, reason: str
) -> None:
    """`re` refuses these with OverflowError and RecursionError, not `re.error`."""
    (drill.root / "drill.toml").write_text(f"[redact]\npatterns = ['{pattern}']\n", encoding="utf-8")
    said = f"[redact] patterns: {pattern!r} is not a valid regular expression: {reason}"
    done = drill("validate")
    assert (done.returncode, done.stdout) == (1, f"drill.toml:2:1: {said}\n")
    done = drill("open", "core-network-outage", "--severity", "II", "--as", "lead=alice", "--by", "alice")
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"drill: drill.toml: {said}\n")
    assert not list((drill.root / "logs").rglob("*.jsonl"))
