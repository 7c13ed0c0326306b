"""`--lang zh` through the CLI: every word drillkit itself writes in a report, an export, a
timeline and a status is Chinese. Ids, names and what people wrote stay as written, so the test
runs on the Chinese sample playbook and takes out the few texts a user wrote in English (the
bilingual titles and severity labels) before it looks for English words of drillkit's own."""

from __future__ import annotations

import re

import pytest

from tests.conftest import FAKE_NOW, Drill

LATER = "2026-11-29T08:20:00Z"  # past the 15-minute 发现 deadline: breaches and an escalation
PEOPLE = ["--as", "值班长=王伟", "--as", "安全分析员=李娜", "--as", "合规专员=张敏", "--as", "客服主管=陈晨"]
# Words of drillkit's own English texts (labels, event names and details, status lines, verdicts).
ENGLISH = frozenset(
    """severity state owner unassigned started clock speed ended allowed checklist deadline overdue expect
due breach met missed late pending resolved aborted timed incident drill simulation done notified
failed took effect final limit transition note assigned verified events head hash none never target
void inject metric trigger check start system record run mode playbook version title people outcome
actor role detail time what person item duration count median period runs measured reached open
unknown""".split()  # noqa: SIM905  # a word list reads best as words
)
WRITTEN_IN_ENGLISH = re.compile(
    r"/ Customer [^|<\n]*?(?=[|<\n）)]|$)|/ (Extraordinary|Major|Serious|General)|DRILL / 演练"
    r"|[0-9]{8}T[0-9]{6}Z-[a-z0-9-]+|customer-data-leak|data-leak-[a-z-]+|<style>.*?</style>|<[^>]*>|&[a-z]+;|\b[0-9a-f]{64}\b",
    re.DOTALL,
)


def _english_words(text: str) -> list[str]:
    rest = WRITTEN_IN_ENGLISH.sub(" ", text)
    return [word for word in re.findall(r"[A-Za-z_]+(?:\.[a-z_]+)?", rest) if word.lower() in ENGLISH or "." in word]


@pytest.fixture
def runs(drill: Drill) -> dict[str, str]:
    """A simulated drill that ended, an open incident with actions of every kind, an open drill."""
    drill("simulate", "data-leak-late-ack", ok=False)
    ended = drill("runs", "--json", ok=True).stdout.split('"id": "')[1].split('"')[0]
    incident = drill.open(
        *PEOPLE, "--by", "王伟", playbook="customer-data-leak", severity="较大", DRILL_FAKE_NOW=FAKE_NOW
    )
    for action in (
        ["act", incident, "确认", "--by", "李娜"],
        ["check", incident, "保全证据", "--by", "王伟", "--note", "日志已封存"],
        ["note", incident, "供应商已到场", "--by", "王伟"],
        ["assign", incident, "客服主管", "赵磊", "--by", "王伟"],
        ["severity", incident, "重大", "--reason", "影响扩大", "--by", "王伟"],
    ):
        drill(*action, ok=True, DRILL_FAKE_NOW="2026-11-29T08:05:00Z")
    started = drill("start", "data-leak-tabletop", "--detach", "--by", "王伟", ok=True, DRILL_FAKE_NOW=FAKE_NOW)
    return {"ended": ended, "incident": incident, "drill": started.stdout.strip()}


def test_zh_report_exports_timelines_and_status_have_no_english_of_drillkits_own(
    drill: Drill, runs: dict[str, str]
) -> None:
    later = drill.pinned(LATER)
    outputs = {
        f"{command[0]} {name} {' '.join(command[1:])}": later(command[0], runs[name], *command[1:], "--lang", "zh")
        for name in ("ended", "incident")
        for command in (["export", "-f", "md"], ["export", "-f", "html"], ["export", "-f", "csv"], ["timeline"])
    }
    outputs |= {f"status {name}": later("status", runs[name], "--lang", "zh") for name in ("incident", "drill")}
    outputs |= {
        f"report {fmt}": later("report", "--include-drills", "-f", fmt, "--lang", "zh") for fmt in ("md", "html")
    }
    for what, done in outputs.items():
        assert done.returncode == 0, (what, done.stderr)
        assert _english_words(done.stdout) == [], what
    status = outputs["status drill"].stdout
    assert "预期处置 [告警] 动作:确认 截止 T+00:15:00：未达标" not in status  # still open: not judged yet
    assert "预期处置 [告警] 动作:确认 截止 T+00:15:00：已超时 5m" in status
    assert "超时 状态:发现 截止 T+00:15:00，责任角色 安全分析员（李娜）" in status


def test_an_incident_export_speaks_of_the_incident_clock_never_the_drill_clock(
    drill: Drill, runs: dict[str, str]
) -> None:
    for fmt in ("md", "html", "csv"):
        incident = drill("export", runs["incident"], "-f", fmt, "--lang", "zh", ok=True).stdout
        assert "演练时钟" not in incident, fmt
        assert "事件时钟" in incident, fmt
        assert "演练时钟" in drill("export", runs["ended"], "-f", fmt, "--lang", "zh", ok=True).stdout, fmt
    assert "Drill clock" not in drill("export", runs["incident"], "-f", "md", ok=True).stdout
    assert "演练时钟" not in drill("status", runs["incident"], "--lang", "zh", ok=True).stdout


def test_the_scan_finds_english_where_there_is_some() -> None:
    assert _english_words("| 2026 | run.started | system | state triage due T+00:18:00 |") == [
        "run.started",
        "system",
        "state",
        "due",
    ]
    assert (
        _english_words("[DRILL / 演练] 客户信息泄露演练（确认超时）/ Customer data leak drill, late acknowledgement")
        == []
    )
