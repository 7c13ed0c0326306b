"""The plan commands as a user meets them: samples, `init`, help text, `show` in every format."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner, Result

from drillkit.cli.main import app
from tests.conftest import require_tool
from tests.e2e.test_readonly_workspace import as_reader

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "playbooks").glob("*.yaml")) + sorted((ROOT / "scenarios").glob("*.yaml"))
DRILL = Path(sys.executable).parent / "drill"


def _drill(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args])


def _commands(group: TyperGroup, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """Every command and sub-command of the app, with its help text, found by walking the groups."""
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append((path, command.help or ""))
        if isinstance(command, TyperGroup):
            found += _commands(command, path)
    return found


ROOT_GROUP = get_command(app)
assert isinstance(ROOT_GROUP, TyperGroup)
COMMANDS = _commands(ROOT_GROUP)


def test_repository_samples_validate() -> None:
    result = _drill("--workspace", ROOT, "validate")
    assert result.exit_code == 0, result.stdout
    assert result.stdout == ""


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_each_sample_validates_on_its_own(path: Path) -> None:
    result = _drill("--workspace", ROOT, "validate", path)
    assert result.exit_code == 0, result.stdout
    assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=../schemas/")


def test_samples_cover_both_kinds_and_have_scripted_scenarios() -> None:
    kinds: set[str] = set()
    listed = {p.stem for p in (ROOT / "playbooks").glob("*.yaml")}
    for stem in listed:
        shown = json.loads(_drill("--workspace", ROOT, "show", stem, "--format", "json").stdout)
        kinds.add(shown["kind"])
    assert kinds == {"outage", "security"}
    late = sorted((ROOT / "scenarios").glob("*-late-ack.yaml"))
    assert late, "an acceptance scenario for a late acknowledgement is expected"
    for path in late:
        assert path.read_text(encoding="utf-8").split("\n")[1].startswith("# Expected result")


def test_init_makes_a_workspace_that_validates(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    created = _drill("init", folder)
    assert created.exit_code == 0, created.stderr
    assert sorted(p.name for p in (folder / "playbooks").iterdir()) == sorted(
        p.name for p in (ROOT / "playbooks").glob("*.yaml")
    )
    assert (folder / "scenarios" / "data-leak-late-ack.yaml").is_file()
    assert (folder / "logs").is_dir()
    for schema in ("playbook.schema.json", "scenario.schema.json"):  # what each sample's $schema line names
        assert (folder / "schemas" / schema).read_bytes() == (ROOT / "schemas" / schema).read_bytes()
    assert "$schema=../schemas/playbook.schema.json" in (folder / "playbooks" / "core-network-outage.yaml").read_text()
    validated = _drill("--workspace", folder, "validate")
    assert validated.exit_code == 0, validated.stdout


def test_playbooks_lists_the_new_workspace(tmp_path: Path) -> None:
    assert _drill("init", tmp_path / "ws").exit_code == 0
    listed = _drill("--workspace", tmp_path / "ws", "playbooks", "--json")
    assert listed.exit_code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {row["id"] for row in rows} == {p.stem for p in (ROOT / "playbooks").glob("*.yaml")}
    leak = next(row for row in rows if row["id"] == "customer-data-leak")
    assert leak["kind"] == "security"
    assert leak["last_drill"] is None
    text = _drill("--workspace", tmp_path / "ws", "playbooks")
    assert "客户个人信息泄露" in text.stdout


def test_playbooks_lists_the_valid_ones_and_names_a_broken_one_in_one_line(tmp_path: Path) -> None:
    assert _drill("init", tmp_path / "ws").exit_code == 0
    (tmp_path / "ws" / "playbooks" / "half-written.yaml").write_text("playbook: half-written\ntitle: [\n")
    listed: dict[bool, str] = {}
    for form in (["--json"], []):
        done = subprocess.run(
            [DRILL, "--workspace", tmp_path / "ws", "playbooks", *form], capture_output=True, text=True, check=False
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.splitlines() == [
            "drill: 1 playbook(s) left out, not valid: playbooks/half-written.yaml (see `drill validate`)"
        ]
        listed[bool(form)] = done.stdout
    assert {row["id"] for row in json.loads(listed[True])} == {p.stem for p in (ROOT / "playbooks").glob("*.yaml")}
    assert "客户个人信息泄露" in listed[False]


def test_init_refuses_a_folder_that_is_not_empty_and_show_an_unknown_playbook(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    refused = subprocess.run([DRILL, "init", tmp_path], capture_output=True, text=True, check=False)
    assert refused.returncode == 2
    assert "not empty" in refused.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    unknown = subprocess.run([DRILL, "--workspace", ROOT, "show", "nope"], capture_output=True, text=True, check=False)
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1
    assert "available: " in unknown.stderr
    assert "customer-data-leak" in unknown.stderr


def test_init_into_a_file_or_a_folder_it_may_not_write_is_refused_in_one_line(tmp_path: Path) -> None:
    mine = tmp_path / "notes.txt"
    mine.write_text("mine", encoding="utf-8")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    reasons = {mine: "Not a directory", mine / "ws": "Not a directory", locked / "ws": "Permission denied"}
    for folder, reason in reasons.items():
        refused = subprocess.run(
            as_reader([str(DRILL), "init", str(folder)]), capture_output=True, text=True, check=False
        )
        assert (refused.returncode, refused.stdout) == (2, ""), refused.stderr
        assert refused.stderr.splitlines() == [
            f"drill: {folder}: {reason}; drill init needs a new or empty folder you may write"
        ]
    assert mine.read_text(encoding="utf-8") == "mine"
    assert not any(locked.iterdir())


def test_every_command_is_found_by_the_walk() -> None:
    names = {path[0] for path, _ in COMMANDS}
    assert {"validate", "playbooks", "show", "init"} <= names


@pytest.mark.parametrize(("path", "description"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_text(path: tuple[str, ...], description: str) -> None:
    assert description.strip(), f"drill {' '.join(path)} has no description"
    result = _drill(*path, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    assert description.split(maxsplit=1)[0] in result.stdout


@pytest.mark.parametrize("path", [(), *(p for p, _ in COMMANDS)], ids=["drill", *(" ".join(p) for p, _ in COMMANDS)])
def test_help_speaks_of_the_product_not_of_its_contract(path: tuple[str, ...]) -> None:
    """Users do not have the product's contract: help says the thing itself, never "SPEC §6"."""
    result = _drill(*path, "--help")
    assert result.exit_code == 0
    assert "SPEC" not in result.stdout
    assert "§" not in result.stdout


def test_validate_on_an_empty_workspace_says_where_it_looked_and_fails(tmp_path: Path) -> None:
    result = _drill("--workspace", tmp_path, "validate")
    assert (result.exit_code, result.stdout) == (1, "")
    assert "no playbooks or scenarios found" in result.stderr
    assert str(tmp_path / "playbooks" / "*.yaml") in result.stderr
    assert "all plans are valid" not in result.stderr


def test_top_level_help_and_version() -> None:
    assert "应急预案与演练" in _drill("--help").stdout
    assert _drill("--version").stdout.startswith("drill ")


def _show(fmt: str, playbook: str = "customer-data-leak") -> str:
    result = _drill("--workspace", ROOT, "show", playbook, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_show_text_names_chinese_states_roles_and_triggers() -> None:
    text = _show("text")
    assert text.startswith("customer-data-leak v2")
    for name in ("发现 [initial]", "结案 [final]", "值班长", "确认: 发现 -> 研判", "[ ] 上报监管"):
        assert name in text


def test_show_mermaid_is_a_state_diagram_with_chinese_labels() -> None:
    lines = _show("mermaid").splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert '    state "发现 (安全分析员)" as s0' in lines
    assert "    [*] --> s0" in lines
    assert "    s0 --> s1 : 确认" in lines
    assert "    s5 --> [*]" in lines


def test_show_json_keeps_unicode_ids() -> None:
    shown = json.loads(_show("json"))
    assert list(shown["states"]) == ["发现", "研判", "升级响应", "处置", "恢复", "结案"]
    assert shown["states"]["发现"]["deadline"] == {"default": 900}
    assert shown["transitions"][0]["from"] == ["发现"]


@pytest.mark.parametrize("playbook", sorted(p.stem for p in (ROOT / "playbooks").glob("*.yaml")))
def test_show_dot_renders_with_graphviz(playbook: str) -> None:
    dot = require_tool("dot", why="Graphviz: Debian package graphviz")
    source = _show("dot", playbook)
    rendered = subprocess.run([dot, "-Tsvg"], input=source, capture_output=True, text=True, check=False)
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stderr == ""
    shown = json.loads(_show("json", playbook))
    for state in shown["states"]:
        assert f">{state}</text>" in rendered.stdout


def _fenced(language: str) -> list[str]:
    text = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def test_format_reference_examples_validate(tmp_path: Path) -> None:
    written = 0
    for block in _fenced("yaml"):
        head = re.match(r"(?:#.*\n)*(playbook|scenario): (\S+)\n", block)
        if head:
            folder = tmp_path / f"{head[1]}s"
            folder.mkdir(exist_ok=True)
            (folder / f"{head[2]}.yaml").write_text(block, encoding="utf-8")
            written += 1
    assert written == 2
    result = _drill("--workspace", tmp_path, "validate")
    assert result.exit_code == 0, result.stdout


def test_format_reference_drill_toml_is_accepted(tmp_path: Path) -> None:
    from drillkit.config.notifiers import parse_notifiers
    from drillkit.config.workspace import Workspace
    from drillkit.model.blackouts import parse_blackouts

    (example,) = _fenced("toml")
    (tmp_path / "drill.toml").write_text(example, encoding="utf-8")
    config = Workspace(tmp_path).config()
    assert config.timezone == "Asia/Shanghai"
    assert [n.name for n in parse_notifiers(config.notify)] == ["noc-pager", "noc-group"]
    assert len(parse_blackouts(config.blackout, config.timezone)) == 2
    assert config.redact == ("工单号\\d{8}",)


def _promised_exit(scenario: Path) -> int | None:
    """The exit code of `drill simulate` that a sample's header comment promises, if any."""
    header = scenario.read_text(encoding="utf-8").split("\nscenario:")[0]
    promise = re.search(r"`drill simulate [\w-]+`(?::| exits) (?:exit )?([01])", header)
    return int(promise[1]) if promise else None


PROMISES = [(p, code) for p in sorted((ROOT / "scenarios").glob("*.yaml")) if (code := _promised_exit(p)) is not None]


def test_late_acknowledgement_samples_promise_a_failure() -> None:
    promised = {path.stem: code for path, code in PROMISES}
    late = [p.stem for p in (ROOT / "scenarios").glob("*-late-ack.yaml")]
    assert late
    assert all(promised.get(stem) == 1 for stem in late)
    assert 0 in promised.values()


@pytest.mark.parametrize(("scenario", "code"), PROMISES, ids=[p.stem for p, _ in PROMISES])
def test_sample_scenario_simulates_as_its_comment_promises(scenario: Path, code: int, tmp_path: Path) -> None:
    assert _drill("init", tmp_path / "ws").exit_code == 0
    result = _drill("--workspace", tmp_path / "ws", "simulate", scenario.stem)
    assert result.exit_code == code, result.stdout + result.stderr


def test_simulate_fails_on_a_breach_the_scenario_does_not_allow(tmp_path: Path) -> None:
    """core-outage-q4 meets every target but stays in triage past its deadline: allowed, it exits 0
    and says so; without `allow_breaches` the same breach fails the simulation."""
    assert _drill("init", tmp_path / "ws").exit_code == 0
    allowed = _drill("--workspace", tmp_path / "ws", "simulate", "core-outage-q4")
    assert allowed.exit_code == 0, allowed.stderr
    assert "breach state:triage due T+00:17:00: owner lead (alice): allowed by the scenario" in allowed.stdout
    scenario = tmp_path / "ws" / "scenarios" / "core-outage-q4.yaml"
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace('allow_breaches: ["state:triage"]\n', ""), encoding="utf-8")
    breached = _drill("--workspace", tmp_path / "ws", "simulate", "core-outage-q4")
    assert breached.exit_code == 1
    assert "breach state:triage due T+00:17:00: owner lead (alice)\n" in breached.stdout
    assert ": missed" not in breached.stdout  # every target met: the breach alone fails it
    assert "rejected" not in breached.stderr


def test_a_long_lived_process_sees_a_plan_edited_after_it_was_loaded(workspace: Path) -> None:
    """Parsed plans are kept per process (the conductor and scheduler ask often) but never outlive an edit."""
    from drillkit.config.workspace import Workspace
    from drillkit.model.errors import InvalidFile
    from drillkit.plans.library import Plans

    plans, path = Plans(Workspace(workspace)), workspace / "playbooks" / "core-network-outage.yaml"
    original = path.read_text(encoding="utf-8")
    first = plans.playbook("core-network-outage").title
    path.write_text(original.replace(f"title: {first}", "title: Edited while loaded", 1), encoding="utf-8")
    assert plans.playbook("core-network-outage").title == "Edited while loaded"
    path.write_text(original.replace("states:", "statez:", 1), encoding="utf-8")
    with pytest.raises(InvalidFile):
        plans.playbook("core-network-outage")
    path.write_text(original, encoding="utf-8")
    assert plans.playbook("core-network-outage").title == first
