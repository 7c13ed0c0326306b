"""The after-action report of an evaluated sample drill (SPEC §10), in en and zh: golden files
reviewed by reading them, and the sections a reader of HSEEP's AAR/IP or GB/T 38645 looks for,
each there and filled.

Regenerate after a reviewed change with `DRILL_UPDATE_GOLDEN=1 pytest tests/render/test_evaluated_report.py`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.engine.test_metrics import invoke
from tests.render.test_export import check_golden

RUN = "20261129T080000Z-core-network-outage-e7a1"
START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
STEPS = [  # (minute, command…): the sample core-outage-q4 by hand, rated and debriefed
    (2, "act", RUN, "acknowledge", "--by", "bob"),
    (4, "check", RUN, "bridge", "--by", "alice"),
    (12, "check", RUN, "notify_customers", "--by", "carol"),
    (15, "observe", RUN, "detect", "--rating", "P", "--strength", "alarm acknowledged in 2 minutes", "--by", "erin"),
    (21, "act", RUN, "mitigate", "--by", "bob", "--note", "rerouted to pool BJ-4"),
    (30, "check", RUN, "report_regulator", "--by", "bob"),
    (50, "act", RUN, "resolve", "--by", "alice"),
    (55, "observe", RUN, "detect", "--rating", "S", "--by", "frank"),
    (
        55,
        "observe",
        RUN,
        "mitigate",
        "--rating",
        "M",
        "--improve",
        "bridge opened late: the phone list was stale",
        "--by",
        "erin",
    ),
    (56, "observe", RUN, "mitigate", "--rating", "M", "--improve", "triage overran its deadline", "--by", "frank"),
    (58, "feedback", RUN, "the bridge number in the wiki was wrong", "--by", "carol"),
    (
        60,
        "action",
        "add",
        "--from",
        f"{RUN}:mitigate",
        "--title",
        "Refresh the on-call phone list",
        "--owner",
        "lead=alice",
        "--due",
        "2027-01-15",
        "--capability",
        "Operational coordination",
        "--by",
        "risk",
    ),
]
EN_SECTIONS = [
    "Executive summary",
    "Overview",
    "Analysis of objectives and capabilities",
    "Score and grade, and how they were made",
    "Strengths",
    "Areas for improvement",
    "Participant feedback",
    "Improvement plan",
]
ZH_SECTIONS = [
    "基本概要",
    "演练目标评估",
    "评分与等级及其计算",
    "发现的问题",
    "经验教训：做得好的方面",
    "参演人员反馈",
    "工作建议与整改计划",
]


def at(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def rated(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("drillkit.services.runs.new_run_id", lambda playbook, clock: RUN)
    # the head hash in the footer covers each event's `req` and `origin`: fixed, like the run id
    numbers = iter(range(1, 1000))
    monkeypatch.setattr("drillkit.model.provenance.new_req", lambda: f"{next(numbers):016x}")
    monkeypatch.setattr("drillkit.model.provenance.local_origin", lambda: {"user": "tester", "host": "drill-host"})
    done = invoke(workspace, "start", "core-outage-q4", "--detach", "--by", "alice", now=at(0))
    assert done.exit_code == 0, done.output
    for minute, *args in STEPS:
        done = invoke(workspace, *map(str, args), now=at(int(minute)))
        assert done.exit_code == 0, done.output
    return workspace


@pytest.mark.parametrize(("lang", "headings"), [("en", EN_SECTIONS), ("zh", ZH_SECTIONS)])
def test_the_report_of_a_rated_drill_has_every_section_filled(rated: Path, lang: str, headings: list[str]) -> None:
    done = invoke(rated, "export", RUN, "--format", "md", "--lang", lang, "--tz", "Asia/Shanghai", now=at(90))
    assert done.exit_code == 0, done.output
    check_golden(f"evaluated.{lang}.md", done.stdout)
    sections = dict(_sections(done.stdout))
    assert list(sections)[: len(headings)] == headings
    empty = [title for title in headings if "(none)" in sections[title] or "（无）" in sections[title]]
    assert empty == []
    html = invoke(rated, "export", RUN, "--format", "html", "--lang", lang, now=at(90))
    assert html.exit_code == 0, html.output
    check_golden(f"evaluated.{lang}.html", html.stdout)


def _sections(report: str) -> list[tuple[str, str]]:
    parts = report.split("\n## ")[1:]
    return [(part.split("\n", 1)[0], part.split("\n", 1)[1]) for part in parts]
