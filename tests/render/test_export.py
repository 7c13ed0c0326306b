"""`drill export` and `drill timeline` on fixed simulated records: golden files for every
format, Chinese headings, the JSON shape, CSV read back, file output, escaping, integrity.

Regenerate the golden files after a reviewed change with `DRILL_UPDATE_GOLDEN=1 pytest tests/test_export.py`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import pytest

from drillkit.model.errors import UsageError
from tests.conftest import Drill
from tests.engine.test_metrics import invoke, review_ws, simulated

__all__ = ["review_ws"]  # the fixture, used by name

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
LATE_COMMS = "20261129T080000Z-core-network-outage-0c0a"
MISSED_REPORT = "20261129T080000Z-customer-data-leak-0d0b"
CSV_COLUMNS = ["seq", "ts (UTC)", "t", "clock", "event", "actor", "role", "state_from", "state_to", "trigger", "item"]
CSV_COLUMNS += ["detail"]
SPEC_KEYS = {
    "run": {"id", "mode", "playbook", "version", "scenario", "title", "severity", "participants"}
    | {"started", "ended", "outcome", "state"},
    "metrics": {"name", "from", "to", "owner", "target", "value", "verdict", "why"},
    "expectations": {"inject", "expect", "within", "role", "due", "at", "by", "verdict", "why"},
    "breaches": {"what", "owner", "assignee", "due", "late_by", "why"},
    "checklist": {"item", "state", "done_at", "by"},
    "integrity": {"verdict", "events", "head"},
}


@pytest.fixture
def fixed(review_ws: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The review workspace with two simulated records under fixed run ids and `req`s (FAKE_NOW clock)."""
    for scenario, run_id in (("hand-late-comms", LATE_COMMS), ("hand-missed-report", MISSED_REPORT)):
        monkeypatch.setattr("drillkit.services.runs.new_run_id", lambda playbook, clock, chosen=run_id: chosen)
        monkeypatch.setattr("drillkit.model.provenance.new_req", lambda chosen=run_id[-4:]: f"{chosen:0>16}")
        done = invoke(review_ws, "simulate", scenario)
        assert done.exit_code == 1, done.output  # both scenarios miss targets on purpose
    return review_ws


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("DRILL_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the reviewed golden file"


@pytest.mark.parametrize(
    ("golden", "run", "args"),
    [
        ("late-comms.md", LATE_COMMS, ("export", "--format", "md", "--tz", "Asia/Shanghai")),
        ("late-comms.zh.md", LATE_COMMS, ("export", "--format", "md", "--lang", "zh", "--tz", "Asia/Shanghai")),
        ("late-comms.html", LATE_COMMS, ("export", "--format", "html", "--tz", "Asia/Shanghai")),
        ("late-comms.json", LATE_COMMS, ("export", "--format", "json")),
        ("late-comms.csv", LATE_COMMS, ("export", "--format", "csv")),
        ("late-comms.timeline.txt", LATE_COMMS, ("timeline",)),
        ("missed-report.zh.md", MISSED_REPORT, ("export", "--format", "md", "--lang", "zh")),
        ("missed-report.zh.html", MISSED_REPORT, ("export", "--format", "html", "--lang", "zh")),
    ],
)
def test_output_equals_the_reviewed_golden_file(fixed: Path, golden: str, run: str, args: tuple[str, ...]) -> None:
    command, *options = args
    done = invoke(fixed, command, run, *options)
    assert done.exit_code == 0, done.output
    check_golden(golden, done.stdout)


def test_chinese_headings_with_lang_zh(fixed: Path) -> None:
    english = invoke(fixed, "export", LATE_COMMS, "--format", "md").stdout
    chinese = invoke(fixed, "export", LATE_COMMS, "--format", "md", "--lang", "zh").stdout
    headings = [
        "## 基本概要",
        "## 响应时长指标",
        "## 情景注入与预期处置",
        "## 时间线",
        "## 责任认定（追责）",
        "## 检查清单",
    ]
    for heading in headings:
        assert heading in chinese
        assert heading not in english
    assert "# [DRILL / 演练] 演练总结报告" in chinese
    assert "## Accountability" in english
    assert "记录完整性已校验" in chinese


def test_every_format_marks_the_drill(fixed: Path) -> None:
    for fmt in ("md", "html", "csv"):
        assert "DRILL / 演练" in invoke(fixed, "export", LATE_COMMS, "--format", fmt).stdout, fmt
    assert "DRILL / 演练" in invoke(fixed, "timeline", LATE_COMMS).stdout


def test_json_is_the_simulate_document_in_the_spec_shape(review_ws: Path) -> None:
    simulated = json.loads(invoke(review_ws, "simulate", "hand-late-comms", "--json").stdout)
    document = json.loads(invoke(review_ws, "export", simulated["run"]["id"], "--format", "json").stdout)
    assert document == simulated
    assert set(document) == {*SPEC_KEYS, "events"}
    assert set(document["run"]) == SPEC_KEYS["run"]
    for part in ("metrics", "expectations", "breaches", "checklist"):
        assert document[part], part
        assert all(set(row) == SPEC_KEYS[part] for row in document[part]), part
    assert set(document["integrity"]) == SPEC_KEYS["integrity"]
    assert [e["seq"] for e in document["events"]] == list(range(1, document["integrity"]["events"] + 1))


def test_csv_reads_back_one_row_per_event_with_chinese_intact(fixed: Path) -> None:
    done = invoke(fixed, "export", MISSED_REPORT, "--format", "csv")
    assert done.stdout.startswith("\ufeff")  # the byte-order mark Excel and WPS need to read UTF-8
    rows = list(csv.DictReader(io.StringIO(done.stdout.removeprefix("\ufeff"), newline="")))
    events = json.loads(invoke(fixed, "export", MISSED_REPORT, "--format", "json").stdout)["events"]
    assert len(rows) == len(events)
    assert list(rows[0]) == CSV_COLUMNS
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in events]
    escalation = next(r for r in rows if r["trigger"] == "升级")
    assert (escalation["state_from"], escalation["state_to"]) == ("发现", "升级响应")
    inject = next(r for r in rows if r["event"] == "inject.delivered")
    assert "数据防泄漏系统告警：CRM 导出接口被异常批量调用" in inject["detail"]
    assert any(r["item"] == "启动应急小组" and r["actor"] == "王伟" for r in rows)


def test_csv_follows_lang_tz_and_no_bom_and_shows_the_drill_clock(fixed: Path) -> None:
    done = invoke(fixed, "export", MISSED_REPORT, "--format", "csv", "--lang", "zh", "--tz", "Asia/Shanghai")
    header, first, *rest = csv.reader(io.StringIO(done.stdout.removeprefix("\ufeff"), newline=""))
    assert header[:4] == ["序号", "时间 (Asia/Shanghai)", "演练秒数", "演练时钟"]
    assert header[-1] == "详情"
    assert first[1:4] == ["2026-11-29 16:00:00.000", "0.0", "T+00:00:00"]  # FAKE_NOW is 08:00 UTC
    later = next(row for row in rest if float(row[2]) >= 3600)
    assert later[3] == f"T+{int(float(later[2])) // 3600:02d}:{int(float(later[2])) % 3600 // 60:02d}:" + later[3][-2:]
    plain = invoke(fixed, "export", MISSED_REPORT, "--format", "csv", "--no-bom").stdout
    assert plain.startswith("seq,ts (UTC),t,clock,event,")


def test_csv_cells_a_spreadsheet_would_run_start_with_an_apostrophe(drill: Drill) -> None:
    run = drill.open()
    said = ["=HYPERLINK(1)", "+1", "-1", "@SUM(A1)", "\tx"]
    for text in said:
        drill("note", "--by", "bob", run, "--", text, ok=True)
    rows = list(csv.reader(io.StringIO(drill("export", run, "--format", "csv", ok=True).stdout, newline="")))
    assert [row[-1] for row in rows if row[4] == "note"] == [f"'{text}" for text in said]


def test_output_file_is_0640_and_stdout_stays_empty(fixed: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    old = os.umask(0o002)
    try:
        done = invoke(fixed, "export", LATE_COMMS, "--format", "html", "-o", str(target))
    finally:
        os.umask(old)
    assert done.exit_code == 0, done.output
    assert done.stdout == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_text(encoding="utf-8") == invoke(fixed, "export", LATE_COMMS, "--format", "html").stdout


def test_html_escapes_record_text_and_loads_nothing(fixed: Path) -> None:
    page = invoke(fixed, "export", LATE_COMMS, "--format", "html").stdout
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; | a&amp;b" in page
    for outside in ("src=", "href=", "@import", "url(", "<link", "<img"):
        assert outside not in page
    assert '<svg id="state-chart"' in page
    assert "Noto Sans CJK SC" in page
    assert "@media print" in page
    markdown = invoke(fixed, "export", LATE_COMMS, "--format", "md").stdout
    assert "\\<script>alert(1)\\</script> \\| a&b" in markdown
    assert "\\[ticket\\](http://x)" in markdown


def test_times_in_the_display_zone_with_its_name(fixed: Path) -> None:
    shanghai = invoke(fixed, "--tz", "Asia/Shanghai", "timeline", LATE_COMMS).stdout
    assert "2026-11-29 16:03:00 CST  T+00:03:00" in shanghai
    option = invoke(fixed, "export", LATE_COMMS, "--format", "md", "--tz", "Europe/Berlin").stdout
    assert "| Time (Europe/Berlin) |" in option
    assert "2026-11-29 09:00:00 CET" in option
    bad = invoke(fixed, "export", LATE_COMMS, "--tz", "Mars/Olympus")
    assert isinstance(bad.exception, UsageError)
    assert bad.exception.exit_code == 2


def test_a_tampered_record_exports_with_a_failing_footer(fixed: Path) -> None:
    path = fixed / "logs" / "runs" / f"{MISSED_REPORT}.jsonl"
    data = path.read_bytes()
    path.write_bytes(data.replace("李娜".encode(), "李四".encode(), 1))
    done = invoke(fixed, "export", MISSED_REPORT, "--format", "md")
    assert done.exit_code == 1
    assert "Record NOT verified: tampered" in done.stdout
    path.write_bytes(data)


def test_an_open_incident_exports_pending_verdicts(review_ws: Path) -> None:
    people = ("--as", "lead=alice", "--as", "noc=bob", "--as", "comms=carol")
    run = invoke(review_ws, "open", "core-network-outage", "--severity", "I", *people, "--by", "alice").stdout.strip()
    invoke(review_ws, "act", run, "acknowledge", "--by", "bob", now="2026-11-29T08:01:00Z")
    document = json.loads(invoke(review_ws, "export", run, "--format", "json").stdout)
    assert [(m["name"], m["verdict"]) for m in document["metrics"]] == [
        ("time_to_acknowledge", "met"),
        ("time_to_mitigate", "pending"),
        ("time_to_notify", "pending"),
    ]
    assert document["expectations"] == []
    assert document["integrity"]["verdict"] == "open"
    markdown = invoke(review_ws, "export", run, "--format", "md").stdout
    assert markdown.startswith("# Post-incident report: ")
    assert "DRILL" not in markdown


def test_an_open_incident_is_exported_as_of_now(review_ws: Path) -> None:
    """Export touches the run: a target passed while nobody watched is recorded as a late breach
    first, so the report says missed, names the owner, and a second export writes nothing."""
    people = ("--as", "lead=alice", "--as", "noc=bob", "--as", "comms=carol")
    run = invoke(review_ws, "open", "core-network-outage", "--severity", "I", *people, "--by", "alice").stdout.strip()
    invoke(review_ws, "act", run, "acknowledge", "--by", "bob", now="2026-11-29T08:01:00Z")
    record = review_ws / "logs" / "runs" / f"{run}.jsonl"
    done = invoke(review_ws, "export", run, "--format", "json", now="2026-11-29T08:40:00Z")
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert [(m["name"], m["verdict"]) for m in document["metrics"]] == [
        ("time_to_acknowledge", "met"),
        ("time_to_mitigate", "pending"),
        ("time_to_notify", "missed"),
    ]
    assert {"what": "metric:time_to_notify", "owner": "comms", "assignee": "carol", "due": 1800.0} in [
        {key: breach[key] for key in ("what", "owner", "assignee", "due")} for breach in document["breaches"]
    ]
    recorded = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    late = [e for e in recorded if e["event"] == "deadline.breached" and e.get("metric") == "time_to_notify"]
    assert [e["late_by"] for e in late] == [600]  # recorded by the export, ten minutes after it came due
    assert document["integrity"] == {"verdict": "open", "events": len(recorded), "head": recorded[-1]["hash"]}
    again = invoke(review_ws, "timeline", run, now="2026-11-29T08:40:00Z")
    assert again.exit_code == 0, again.output
    assert "time_to_notify" in again.stdout
    assert len(record.read_text(encoding="utf-8").splitlines()) == len(recorded)


def test_timeline_json_is_one_marked_document(review_ws: Path) -> None:
    run = simulated(review_ws, "hand-late-comms")
    done = invoke(review_ws, "--tz", "Asia/Shanghai", "timeline", run, "--json")
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert (document["run"], document["mode"], document["mark"], document["zone"]) == (
        run,
        "simulation",
        "DRILL / 演练",
        "Asia/Shanghai",
    )
    assert [row["seq"] for row in document["rows"]] == list(range(1, len(document["rows"]) + 1))
    assert document["rows"][0]["local"].endswith("CST")
    assert document["rows"][1]["clock"].startswith("T+")
