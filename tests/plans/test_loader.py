"""The strict loader: scalars stay what they look like, marks point at the right place, Unicode ids."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from drillkit.config.workspace import Workspace
from drillkit.model import planfiles
from drillkit.model.errors import InvalidFile
from drillkit.model.planfiles import Scenario
from drillkit.model.plans import Playbook
from drillkit.plans.library import Plans
from drillkit.plans.loader import read_document, to_model

ROOT = Path(__file__).resolve().parents[2]
CORPUS_BASE = ROOT / "tests" / "corpus" / "playbooks" / "base.yaml"


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_scalars_are_read_as_strings(tmp_path: Path) -> None:
    path = _write(tmp_path, "plain.yaml", "a: no\nb: on\nc: 1.10\nd: 1:30\ne: ~\nf: 0x1F\ng: [yes, 010]\n")
    assert read_document(path).data == {
        "a": "no",
        "b": "on",
        "c": "1.10",
        "d": "1:30",
        "e": "~",
        "f": "0x1F",
        "g": ["yes", "010"],
    }


def test_marks_are_one_based_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "marks.yaml", "top:\n  inner: {x: 1}\nlist:\n  - first\n  -   second\n")
    doc = read_document(path)
    assert doc.where(("top", "inner")) == (2, 3)
    assert doc.where(("top", "inner", "x")) == (2, 11)
    assert doc.where(("list", 1)) == (5, 7)
    assert doc.where(("top", "inner", "x", "missing")) == (2, 11)


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "windows.yaml", b"\xef\xbb\xbftitle: 1.10\r\nkind: outage\r\n")
    doc = read_document(path)
    assert doc.data == {"title": "1.10", "kind": "outage"}
    assert doc.where(("kind",)) == (2, 1)


def test_yes_no_on_off_ids_stay_ids(tmp_path: Path) -> None:
    text = CORPUS_BASE.read_text(encoding="utf-8").replace(
        "  noc: NOC engineer\n", "  noc: NOC engineer\n  on: On call\n  no: Night operator\n"
    )
    path = _write(tmp_path, "base.yaml", text.replace("title: Corpus base playbook", "title: 1.10"))
    playbook, problems = to_model(read_document(path), planfiles.Playbook)
    assert problems == []
    assert playbook is not None
    assert playbook.title == "1.10"
    assert list(playbook.roles) == ["lead", "noc", "on", "no"]


def test_errors_name_the_file_as_given(tmp_path: Path) -> None:
    path = _write(tmp_path, "dup.yaml", "a: 1\na: 2\n")
    with pytest.raises(InvalidFile) as caught:
        read_document(path, display="shown/dup.yaml")
    assert [str(p) for p in caught.value.problems] == ["shown/dup.yaml:2:1: duplicate key 'a'"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("playbook: x\n\x00\n", "x.yaml:2:1: YAML syntax: character #x0000: control characters are not allowed"),
        ('a: 1\ntitle: "值\x01"\n', "x.yaml:2:10: YAML syntax: character #x0001: control characters are not allowed"),
    ],
    ids=["nul", "after-chinese"],
)
def test_a_control_character_is_one_problem_on_one_line_at_its_place(tmp_path: Path, text: str, problem: str) -> None:
    """PyYAML's reader says it in two lines (`in "<unicode string>", position 12`), without a mark."""
    with pytest.raises(InvalidFile) as refused:
        read_document(_write(tmp_path, "x.yaml", text), display="x.yaml")
    assert [str(p) for p in refused.value.problems] == [problem]


def test_chinese_ids_load() -> None:
    playbook = Plans(Workspace(ROOT)).playbook("customer-data-leak")
    assert playbook.initial_state == "发现"
    assert {"研判", "处置", "恢复", "结案"} <= set(playbook.states)
    assert "值班长" in playbook.roles
    assert {t.trigger for t in playbook.transitions} >= {"确认", "升级", "结案"}
    assert playbook.checklist_owner()["上报监管"] == "研判"
    assert playbook.target("监管报告时长", "III") == 3600
    assert playbook.target("监管报告时长", "IV") == 4 * 3600


def test_per_severity_values_and_their_default() -> None:
    playbook = Plans(Workspace(ROOT)).playbook("mobile-data-dns-outage")
    assert playbook.deadline("detected", "I") == 300
    assert playbook.deadline("diagnosing", "I") == 15 * 60
    assert playbook.deadline("diagnosing", "IV") == 30 * 60
    assert playbook.deadline("escalated", "I") is None


def test_scenario_with_chinese_people_and_ids_loads() -> None:
    scenario, playbook = Plans(Workspace(ROOT)).scenario("data-leak-tabletop")
    assert isinstance(scenario, Scenario)
    assert scenario.participants["值班长"] == "王伟"
    assert scenario.injects[0].expect is not None
    assert scenario.injects[0].expect.trigger == "确认"
    assert scenario.time_limit == 3 * 3600
    assert playbook.playbook == "customer-data-leak"


def test_a_record_copy_of_a_playbook_loads_again() -> None:
    """A run's record holds the playbook as JSON data (durations in seconds); it must load again,
    and through the file's own validation too."""
    playbook = Plans(Workspace(ROOT)).playbook("customer-data-leak")
    copy = orjson.loads(orjson.dumps(playbook.data()))
    assert Playbook.from_data(copy) == playbook
    assert planfiles.Playbook.model_validate(copy).to_plan() == playbook


def test_loaded_plans_are_kept_until_a_file_changes(tmp_path: Path) -> None:
    """A conductor or scheduler asks for the same plans again and again: they are validated once,
    and an edit to the scenario or to its playbook is seen at the next ask."""
    for folder in ("playbooks", "scenarios"):
        (tmp_path / folder).mkdir()
    playbook_file = tmp_path / "playbooks" / "core-network-outage.yaml"
    scenario_file = tmp_path / "scenarios" / "core-outage-q4.yaml"
    playbook_file.write_bytes((ROOT / "playbooks" / "core-network-outage.yaml").read_bytes())
    scenario_file.write_bytes((ROOT / "scenarios" / "core-outage-q4.yaml").read_bytes())
    ws = Workspace(tmp_path)  # what the process holds: the plans it made are kept with it
    plans = Plans(ws)
    scenario, playbook = plans.scenario("core-outage-q4")
    assert Plans(ws).scenario("core-outage-q4") == (scenario, playbook)
    assert Plans(ws).scenario("core-outage-q4")[0] is scenario  # kept, not validated again

    original = playbook_file.read_text(encoding="utf-8")
    playbook_file.write_text(original.replace("title:", "title: Edited —", 1), encoding="utf-8")
    edited = plans.scenario("core-outage-q4")[1]
    assert edited.title.startswith("Edited —")

    playbook_file.unlink()
    with pytest.raises(InvalidFile) as gone:
        plans.scenario("core-outage-q4")
    assert "core-network-outage" in str(gone.value)

    playbook_file.write_text(original, encoding="utf-8")
    scenario_file.write_text(scenario_file.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    again, restored = plans.scenario("core-outage-q4")
    assert again is not scenario
    assert (again, restored) == (scenario, playbook)
