"""`drill validate` on the malformed-file corpus: one problem each, at the right place, safely."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drillkit.cli.main import app
from drillkit.config.workspace import Workspace
from drillkit.plans.library import Plans
from drillkit.plans.loader import MAX_BYTES
from tests.conftest import Drill

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
PROBLEM_LINE = re.compile(r"^[^:]+:\d+:\d+: .+$")

# (file stem, line, column, a fragment of the message); the corpus workspace's own
# playbooks/base.yaml and scenarios/base-drill.yaml are valid, and each file below is one of
# them with one thing broken.
EXPECTED = [
    # the strict YAML rules
    ("yaml-empty", 1, 1, "file is empty"),
    ("yaml-comment-only", 1, 1, "file is empty"),
    ("yaml-top-level-list", 1, 1, "expected a mapping at the top level"),
    ("yaml-not-utf8", 2, 15, "not valid UTF-8"),
    ("yaml-alias-bomb", 2, 4, "anchors (&name) are not allowed"),
    ("yaml-anchor", 22, 14, "anchors (&name) are not allowed"),
    ("yaml-python-tag", 2, 8, "tags (tag:yaml.org,2002:python/object/apply:os.system) are not allowed"),
    ("yaml-local-tag", 2, 8, "tags (!secret) are not allowed"),
    ("yaml-str-tag", 2, 8, "tags (tag:yaml.org,2002:str) are not allowed"),
    ("yaml-deep-nesting", 2, 39, "nesting is deeper than 32 levels"),
    ("yaml-two-documents", 30, 1, "only one YAML document"),
    ("yaml-duplicate-key", 4, 1, "duplicate key 'title'"),
    ("yaml-tab-indent", 19, 1, "tab character"),
    ("yaml-tab-first-indent", 18, 1, "found a tab character where YAML allows only spaces: indent with spaces"),
    ("yaml-syntax-error", 23, 11, "YAML syntax"),
    ("yaml-complex-key", 7, 5, "keys must be plain strings"),
    ("yaml-on-key", 22, 28, "unknown key 'on'"),
    ("yaml-bare-number-duration", 15, 5, "duration '5' has no unit"),
    ("yaml-colon-duration", 15, 5, "duration '1:30' is not valid"),
    # playbook schema
    ("pb-unknown-key", 5, 1, "unknown key 'descripton'"),
    ("pb-missing-title", 1, 1, "missing key 'title'"),
    ("pb-bad-kind", 3, 1, "kind: Input should be 'outage' or 'security'"),
    ("pb-bad-version", 4, 1, "version: must be a whole number written in digits, like 3"),
    ("pb-version-underscore", 4, 1, "version: must be a whole number written in digits, like 3"),
    ("pb-initial-on", 13, 5, "must be true or false"),  # YAML 1.1 would read `on` as true
    ("pb-fullwidth-duration", 15, 5, "duration '１h' is not valid"),
    ("pb-bad-state-id", 22, 3, "'_escalated' is not a valid id"),
    ("pb-empty-label", 6, 7, "severities.I.label"),
    ("pb-duration-bad-unit", 15, 5, "duration '5min' is not valid"),
    ("pb-requires-duplicate", 27, 65, "each entry may appear only once"),
    ("pb-file-id-mismatch", 1, 1, "must equal the file name 'pb-file-id-mismatch'"),
    ("pb-version-too-large", 4, 1, "version: must be at most 9007199254740991 (2^53 - 1)"),
    ("pb-deadline-too-long", 15, 5, "duration '99999999999999999999999d' is too long: at most 3650d"),
    ("pb-exercise-every-too-long", 5, 1, "duration '99999999d' is too long: at most 3650d"),
    # a length of time that has to pass is never zero (an inject's `at: 0m`, the start, is fine)
    ("pb-deadline-zero", 15, 5, "states.detected.deadline: duration '0s' is zero: give one longer than 0s"),
    ("pb-deadline-zero-severity", 19, 5, "states.triage.deadline: I: duration '0m' is zero: give one longer than 0s"),
    ("pb-target-zero", 29, 53, "target: duration '0h0m0s' is zero: give one longer than 0s"),
    ("pb-exercise-every-zero", 5, 1, "exercise_every: duration '0d' is zero: give one longer than 0s"),
    # playbook checks
    ("pb-no-initial", 11, 1, "exactly one state must be 'initial: true'; found 0"),
    ("pb-two-initial", 11, 1, "exactly one state must be 'initial: true'; found 2"),
    ("pb-no-final", 11, 1, "at least one state must be 'final: true'"),
    ("pb-unreachable-state", 24, 3, "state 'orphan' cannot be reached from the initial state"),
    ("pb-dead-end-state", 24, 3, "no final state can be reached from state 'parked'"),
    ("pb-on-deadline-not-leaving", 16, 5, "on_deadline trigger 'resolve' does not leave state 'detected'"),
    ("pb-on-deadline-without-deadline", 15, 5, "'on_deadline' needs a 'deadline'"),
    ("pb-requires-unknown-item", 27, 65, "unknown checklist item 'brige'"),
    ("pb-duplicate-item", 22, 40, "checklist item 'bridge' is already listed in state 'triage'"),
    ("pb-metric-unknown-state", 29, 25, "unknown state 'detecting'"),
    ("pb-metric-unknown-item", 29, 38, "unknown checklist item in 'check:brige'"),
    ("pb-deadline-unknown-severity", 19, 24, "unknown severity 'V'"),
    ("pb-target-unknown-severity", 29, 62, "unknown severity 'III'"),
    ("pb-undefined-owner", 14, 5, "unknown role 'duty'"),
    ("pb-undefined-transition-role", 25, 56, "unknown role 'sre'"),
    ("pb-undefined-metric-owner", 29, 65, "unknown role 'ops'"),
    ("pb-transition-unknown-state", 27, 5, "unknown state 'closed'"),
    ("pb-overlapping-from", 27, 5, "'from' must not overlap"),
    ("pb-leaves-final", 27, 5, "transition 'reopen' leaves final state 'resolved'"),
    # scenario schema and checks
    ("sc-unknown-key", 8, 1, "unknown key 'duration'"),
    ("sc-bad-form", 5, 1, "form: Input should be 'tabletop', 'functional' or 'full-scale'"),
    ("sc-name-with-newline", 6, 16, "name 'al\\nice': a name may not hold control characters"),
    ("sc-bare-number-time-limit", 7, 1, "duration '60' has no unit"),
    ("sc-file-id-mismatch", 1, 1, "must equal the file name 'sc-file-id-mismatch'"),
    ("sc-time-limit-too-long", 7, 1, "duration '99999999999999999999…' is too long: at most 3650d"),
    ("sc-within-too-long", 12, 36, "duration '99999999999999999999d' is too long: at most 3650d"),
    ("sc-time-limit-zero", 7, 1, "time_limit: duration '0.000s' is zero: give one longer than 0s"),
    ("sc-within-zero", 12, 36, "within: duration '0s' is zero: give one longer than 0s"),
    ("sc-expect-trigger-and-check", 12, 5, "exactly one of 'trigger' or 'check'"),
    ("sc-step-without-action", 15, 5, "needs a 'trigger', a 'check' or a 'note'"),
    ("sc-unknown-playbook", 3, 1, "no playbook 'nowhere'; available: "),
    ("sc-unknown-severity", 4, 1, "unknown severity 'III'; allowed: I, II"),
    ("sc-unknown-participant-role", 6, 39, "unknown role 'sre'"),
    ("sc-unknown-expect-trigger", 12, 14, "unknown trigger 'ack'"),
    ("sc-unknown-expect-item", 12, 14, "unknown checklist item 'brige'"),
    ("sc-unknown-expect-role", 12, 48, "unknown role 'sre'"),
    ("sc-allow-breach-unknown-state", 17, 34, "unknown state 'traige'; allowed: detected, escalated"),
    ("sc-allow-breach-unknown-metric", 17, 18, "unknown metric 'time_to_ack'; allowed: time_to_acknowledge"),
    ("sc-objective-unknown-evidence", 18, 44, "evidence 'pager' names no inject or metric; allowed: alarm"),
    ("sc-objective-bad-weight", 12, 5, "weight: must be a whole number"),
    ("sc-allow-breach-bad-form", 17, 18, "must be 'state:<state id>' or 'metric:<metric name>'"),
    ("sc-unknown-script-trigger", 16, 26, "unknown trigger 'close'"),
    ("sc-unknown-script-item", 15, 25, "unknown checklist item 'brige'"),
    ("sc-script-role-not-held", 14, 23, "'bob' does not hold role 'lead'"),
    ("sc-script-several-roles", 15, 14, "'alice' holds several roles (lead, noc)"),
    ("sc-script-unknown-person", 14, 14, "'bobby' is not a participant"),
    ("sc-script-unknown-severity", 14, 25, "unknown severity 'III'; allowed: I, II"),
    ("sc-script-same-severity", 14, 25, "severity is already I here; allowed: II"),
    ("sc-script-assign-unknown-role", 14, 25, "unknown role 'comms'; allowed: lead, noc"),
    ("sc-script-before-assigned", 14, 14, "'dave' is not a participant; participants: alice, bob"),
    ("sc-script-severity-without-reason", 14, 5, "'severity' and 'reason' go together"),
    ("sc-script-bad-millis", 14, 6, "only seconds take decimals, at most three"),
    ("sc-inject-after-time-limit", 10, 5, "lies after the time_limit (1h)"),
    ("sc-step-after-time-limit", 16, 6, "lies after the time_limit (1h)"),
    ("sc-injects-out-of-order", 14, 5, "injects must be in time order"),
    ("sc-steps-out-of-order", 15, 6, "script must be in time order"),
    ("sc-duplicate-inject-id", 13, 5, "inject id 'alarm' is used twice"),
]


def _validate(*paths: Path) -> tuple[int, list[str], str]:
    result = CliRunner().invoke(app, ["--workspace", str(CORPUS), "validate", *map(str, paths)])
    return result.exit_code, result.stdout.splitlines(), result.stderr


def test_corpus_is_large_and_every_file_has_an_expectation() -> None:
    on_disk = sorted(p.stem for p in CORPUS.glob("*.yaml"))
    assert len(on_disk) >= 30
    assert on_disk == sorted(stem for stem, *_ in EXPECTED)


def test_corpus_workspace_itself_is_valid() -> None:
    code, lines, stderr = _validate()
    assert (code, lines) == (0, [])
    assert "all plans are valid" in stderr


@pytest.mark.parametrize(("stem", "line", "column", "fragment"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_malformed_file_fails_once_at_its_place(stem: str, line: int, column: int, fragment: str) -> None:
    code, lines, stderr = _validate(CORPUS / f"{stem}.yaml")
    assert code == 1
    assert len(lines) == 1, lines
    assert PROBLEM_LINE.match(lines[0]), lines[0]
    place, message = lines[0].split(": ", 1)
    assert place == f"{stem}.yaml:{line}:{column}"
    assert fragment in message
    assert "Traceback" not in stderr


def test_all_problems_of_all_files_are_reported_in_one_run() -> None:
    code, lines, _ = _validate(*sorted(CORPUS.glob("*.yaml")))
    assert code == 1
    assert len(lines) == len(EXPECTED)
    assert all(PROBLEM_LINE.match(line) for line in lines)


def test_a_real_process_prints_no_traceback() -> None:
    drill = Path(sys.executable).parent / "drill"
    files = [str(p) for p in sorted(CORPUS.glob("*.yaml"))]
    result = subprocess.run(
        [str(drill), "--workspace", str(CORPUS), "validate", *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert all(PROBLEM_LINE.match(line) for line in result.stdout.splitlines())
    assert "Traceback" not in result.stderr
    assert f"{len(EXPECTED)} problem(s) found" in result.stderr


def test_file_over_one_mebibyte_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("playbook: big\ntitle: " + "x" * (2 * MAX_BYTES) + "\n", encoding="utf-8")
    code, lines, _ = _validate(big)
    assert code == 1
    assert lines == [f"{big}:1:1: file is {big.stat().st_size} bytes; at most {MAX_BYTES} (1 MiB) are allowed"]


def test_a_folder_named_is_validated_file_by_file_without_its_subfolders() -> None:
    """SPEC §5: `drill validate [PATH…]`; a folder is its `*.yaml` files, as the workspace's own are read."""
    code, lines, stderr = _validate(CORPUS)  # the corpus: every malformed file, and valid plans in subfolders
    assert code == 1
    assert [line.split(":", 1)[0] for line in lines] == sorted(f"{stem}.yaml" for stem, *_ in EXPECTED)
    assert stderr == f"{len(EXPECTED)} problem(s) found\n"
    assert _validate(CORPUS / "playbooks", CORPUS / "scenarios" / "base-drill.yaml")[:2] == (0, [])


def test_a_folder_named_with_no_plan_file_in_it_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "plan.yml").write_text("not read: plans end in .yaml\n", encoding="utf-8")
    code, lines, _ = _validate(tmp_path)
    assert code == 1
    assert lines == [
        f"{tmp_path}/:1:1: no plan files (*.yaml) directly in this folder; name a folder of playbooks or"
        " scenarios, or files, or run `drill validate` alone for the whole workspace"
    ]


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    code, lines, _ = _validate(tmp_path / "absent.yaml")
    assert code == 1
    assert lines == [f"{tmp_path / 'absent.yaml'}:1:1: cannot read: no such file or directory"]


def test_python_tag_does_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, _ = _validate(CORPUS / "yaml-python-tag.yaml")
    assert code == 1
    assert not (tmp_path / "pwned.txt").exists()


def _hostile_inputs(tmp_path: Path) -> list[Path]:
    generated = {
        "big.yaml": "a: " + "x" * (2 * MAX_BYTES),
        "deep-block.yaml": "".join(" " * depth + f"k{depth}:\n" for depth in range(2000)) + " " * 2000 + "v\n",
        "deep-flow.yaml": "a: " + "[" * 100_000 + "]" * 100_000,
        "many-keys.yaml": "playbook: many-keys\n" + "".join(f"k{n}: v\n" for n in range(60_000)),
    }
    for name, text in generated.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return [*sorted(CORPUS.glob("*.yaml")), *(tmp_path / name for name in generated)]


@pytest.mark.slow  # a timing bound: kept in the default command, left out of the fast part
def test_every_hostile_input_is_handled_within_a_second(tmp_path: Path) -> None:
    plans = Plans(Workspace(CORPUS))
    for path in _hostile_inputs(tmp_path):
        started = time.perf_counter()
        problems = plans.validate([path])
        assert time.perf_counter() - started < 1.0, path.name
        assert problems, path.name


def test_problems_come_in_the_same_order_whatever_the_hash_seed(tmp_path: Path) -> None:
    """Several dead-end states are reported in the file's order, run after run."""
    text = (CORPUS / "pb-dead-end-state.yaml").read_text(encoding="utf-8")
    parked = [f"parked{n}" for n in range(6)]
    text = text.replace("  parked: {owner: lead}\n", "".join(f"  {name}: {{owner: lead}}\n" for name in parked))
    text = text.replace(
        "  - {trigger: park, from: triage, to: parked}\n",
        "".join(f"  - {{trigger: park{n}, from: triage, to: parked{n}}}\n" for n in range(6)),
    )
    (tmp_path / "playbooks").mkdir()
    plan = tmp_path / "playbooks" / "pb-dead-end-state.yaml"
    plan.write_text(text, encoding="utf-8")
    drill = Path(sys.executable).parent / "drill"
    outputs = set()
    for seed in ("1", "2", "3", "4"):
        result = subprocess.run(
            [str(drill), "--workspace", str(tmp_path), "validate", str(plan)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert result.returncode == 1
        outputs.add(result.stdout)
    (output,) = outputs
    assert [line.rsplit("'", 2)[1] for line in output.splitlines()] == parked


def test_a_plan_that_is_not_a_readable_file_is_named_with_the_reason(drill: Drill) -> None:
    playbooks = drill.root / "playbooks"
    (playbooks / "ghost.yaml").symlink_to("nowhere.yaml")
    (playbooks / "folder.yaml").mkdir()
    named = drill("validate", "/dev/zero")
    assert (named.returncode, named.stdout) == (1, "/dev/zero:1:1: cannot read: not a regular file\n")  # never read
    whole = drill("validate")
    assert whole.returncode == 1
    assert whole.stdout.splitlines()[:2] == [
        "playbooks/folder.yaml:1:1: cannot read: a folder, not a file",
        "playbooks/ghost.yaml:1:1: cannot read: no such file or directory",
    ]
    shown = drill("show", "ghost")
    assert shown.returncode == 2
    assert shown.stderr.splitlines() == ["playbooks/ghost.yaml:1:1: cannot read: no such file or directory"]


def test_a_drill_of_an_invalid_playbook_is_refused_naming_what_is_wrong_with_it(drill: Drill) -> None:
    """`drill start` shows what to fix in the playbook, not only that it is unknown or invalid."""
    playbook = drill.root / "playbooks" / "core-network-outage.yaml"
    text = playbook.read_text(encoding="utf-8")
    playbook.write_text(text.replace("kind: outage\n", "kind: outage\nkind: security\n"), encoding="utf-8")
    started = drill("start", "core-outage-q4", "--by", "alice", "--detach")
    assert started.returncode == 2
    assert started.stderr.splitlines() == [
        "scenarios/core-outage-q4.yaml:4:1: playbook 'core-network-outage' is not valid:"
        " playbooks/core-network-outage.yaml:5:1: duplicate key 'kind'"
    ]
    assert not (drill.root / "logs" / "runs").exists() or not any((drill.root / "logs" / "runs").iterdir())


def test_a_scenario_naming_no_playbook_lists_the_playbooks_there(drill: Drill) -> None:
    scenario = drill.root / "scenarios" / "core-outage-q4.yaml"
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace("playbook: core-network-outage", "playbook: core"), encoding="utf-8")
    done = drill("validate", str(scenario))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "scenarios/core-outage-q4.yaml:4:1: no playbook 'core'; available: billing-crm-outage, core-network-outage,"
        " customer-data-leak, idc-ddos, mobile-data-dns-outage"
    ]
