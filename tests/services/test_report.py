"""`drill report` over 1,000 generated runs: medians and p90s equal a direct computation,
drills and simulations excluded unless asked, the last answer read back until anything changes
(the per-run summaries and their cache: `test_report_summaries.py`).

Records are generated in-process through the record's own line writer (real hash chains,
events a conductor could have written), without an fsync per run.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.redact import Redactor
from drillkit.plans.library import Plans
from drillkit.services.runs import started_draft
from drillkit.store.files import GENESIS, Chain, render_lines
from drillkit.store.port import Event
from tests.engine.test_metrics import invoke, review_ws

__all__ = ["review_ws"]  # the fixture, used by name

RUNS = 1000
PEOPLE = {"lead": "alice", "noc": "bob", "comms": "carol"}
START = datetime(2026, 1, 1, tzinfo=UTC)


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


def write_run(ws: Workspace, number: int, mode: str, times: dict[str, float]) -> None:
    """One resolved core-network-outage run with the given drill times (seconds)."""
    pb = Plans(ws).playbook("core-network-outage")
    first = started_draft(ws, pb=pb, mode=mode, severity="II", by="gen", participants=PEOPLE)
    begin = START + timedelta(hours=number)
    run_id = f"{begin.strftime('%Y%m%dT%H%M%SZ')}-core-network-outage-{number % 65536:04x}"
    notify_state = "triage" if times["notify"] < times["mitigate"] else "mitigated"
    steps: list[tuple[float, Event]] = [
        (times["ack"], move("bob", "noc", "acknowledge", "detected", "triage")),
        (times["ack"] + 5, check("alice", "lead", "bridge", "triage")),
        (times["notify"], check("carol", "comms", "notify_customers", notify_state)),
        (times["mitigate"], move("bob", "noc", "mitigate", "triage", "mitigated")),
        (times["end"], move("alice", "lead", "resolve", "mitigated", "resolved")),
        (times["end"], {"event": "run.ended", "actor": "system", "outcome": "resolved", "reason": "final state"}),
    ]
    drafts = [{**draft, "_now": begin + timedelta(seconds=at)} for at, draft in sorted(steps, key=lambda s: s[0])]
    chain = Chain(run_id, 0, GENESIS, None, 1.0, None)
    lines = render_lines(chain, Redactor(()), [first, *drafts], begin)[0]
    ws.ensure_dir(ws.runs)
    (ws.runs / f"{run_id}.jsonl").write_bytes(b"".join(lines))


def move(actor: str, role: str, trigger: str, source: str, target: str) -> Event:
    fields = {"trigger": trigger, "from": source, "to": target, "note": None}
    return {"event": "transition", "actor": actor, "role": role, **fields}


def check(actor: str, role: str, item: str, state: str) -> Event:
    return {"event": "check.done", "actor": actor, "role": role, "item": item, "state": state, "note": None}


def generate(ws: Workspace) -> dict[str, dict[str, list[float]]]:
    """RUNS runs, every fifth a drill with far longer times; the values each metric must show."""
    rng = random.Random(20261129)
    values: dict[str, dict[str, list[float]]] = {"incident": {}, "all": {}}
    for number in range(RUNS):
        mode = "drill" if number % 5 == 0 else "incident"
        slow = 20_000 if mode == "drill" else 0
        ack = float(rng.randint(10, 299))
        times = {
            "ack": ack,
            "notify": ack + rng.randint(10, 3000) + slow,
            "mitigate": ack + rng.randint(60, 9000) + slow,
        }
        times["end"] = max(times["notify"], times["mitigate"]) + 60
        write_run(ws, number, mode, times)
        measured = {
            "time_to_acknowledge": ack,
            "time_to_mitigate": times["mitigate"],
            "time_to_notify": times["notify"],
        }
        for name, value in measured.items():
            for scope in ("all", "incident") if mode == "incident" else ("all",):
                values[scope].setdefault(name, []).append(value)
    return values


@pytest.fixture
def corpus(review_ws: Path) -> tuple[Path, dict[str, dict[str, list[float]]]]:
    return review_ws, generate(Workspace(review_ws))


def figures(root: Path, *args: str) -> dict[str, Any]:
    done = invoke(root, "report", "--format", "json", *args)
    assert done.exit_code == 0, done.output
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def by_name(block: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {m["name"]: (m["measured"], m["median"], m["p90"]) for m in block["metrics"]}


def expected(values: dict[str, list[float]]) -> dict[str, tuple[Any, ...]]:
    return {name: (len(found), statistics.median(found), nearest_rank(found, 0.9)) for name, found in values.items()}


def test_medians_and_p90s_equal_a_direct_computation(corpus: tuple[Path, dict[str, dict[str, list[float]]]]) -> None:
    root, values = corpus
    incidents = figures(root)
    assert incidents["overall"]["runs"] == 800
    assert incidents["overall"]["by_mode"] == {"incident": 800}
    assert by_name(incidents["overall"]) == expected(values["incident"])
    assert by_name(incidents["playbooks"]["core-network-outage"]) == expected(values["incident"])
    notify = next(m for m in incidents["overall"]["metrics"] if m["name"] == "time_to_notify")
    met = sum(1 for value in values["incident"]["time_to_notify"] if value <= 1800)
    assert (notify["met"], notify["missed"]) == (met, 800 - met)

    everything = figures(root, "--include-drills")
    assert everything["overall"]["by_mode"] == {"drill": 200, "incident": 800}
    assert by_name(everything["overall"]) == expected(values["all"])
    assert figures(root) == incidents  # a repeated report gives the same figures


def test_since_until_and_playbook_select_runs(corpus: tuple[Path, dict[str, dict[str, list[float]]]]) -> None:
    root, _values = corpus
    # run n starts n hours after 2026-01-01; 2026-01-02 holds runs 24..47, of which 25 are drills (n % 5 == 0)
    day = figures(root, "--since", "2026-01-02", "--until", "2026-01-02", "--include-drills")
    assert day["overall"]["runs"] == 24
    assert figures(root, "--since", "2026-01-02", "--until", "2026-01-02")["overall"]["runs"] == 24 - 5
    assert figures(root, "--since", "20260102", "--until", "20260102")["overall"]["runs"] == 24 - 5  # basic format
    assert figures(root, "--playbook", "customer-data-leak")["overall"]["runs"] == 0


def test_an_open_run_is_judged_as_of_now_not_as_last_written(review_ws: Path) -> None:
    people = ("--as", "lead=alice", "--as", "noc=bob", "--as", "comms=carol")
    run = invoke(review_ws, "open", "core-network-outage", "--severity", "II", *people, "--by", "alice").stdout.strip()
    assert figures(review_ws)["overall"]["breaches_by_owner"] == {}  # at 08:00 nothing is due
    done = invoke(review_ws, "report", "--format", "json", now="2026-11-29T09:00:00Z")  # nobody acted for an hour
    overall = json.loads(done.stdout)["overall"]
    metrics = {m["name"]: (m["met"], m["missed"]) for m in overall["metrics"]}
    assert metrics["time_to_acknowledge"] == (0, 1)  # 5m target passed at 08:05
    assert metrics["time_to_notify"] == (0, 1)  # 30m target passed at 08:30
    assert overall["breaches_by_owner"] == {"comms": 1, "noc": 2}
    written = [
        json.loads(line)["event"] for line in (review_ws / "logs" / "runs" / f"{run}.jsonl").read_text().splitlines()
    ]
    assert written.count("deadline.breached") == 3  # recorded, as any command that touches a run does


def test_the_same_report_asked_again_is_read_back_until_anything_changes(review_ws: Path) -> None:
    people = ("--as", "lead=alice", "--as", "noc=bob", "--as", "comms=carol")
    run = invoke(review_ws, "open", "core-network-outage", "--severity", "II", *people, "--by", "alice").stdout.strip()
    invoke(review_ws, "act", run, "acknowledge", "--by", "bob", now="2026-11-29T08:02:00Z")
    assert figures(review_ws)["overall"]["runs"] == 1
    last = review_ws / "logs" / "report-last.cache"
    assert last.stat().st_mode & 0o777 == 0o640
    question = last.read_text(encoding="utf-8").partition("\n")[0]
    planted = _planted(question, '{"overall": {"runs": 99}}\n')  # what only a read-back answer can show

    last.write_text(planted, encoding="utf-8")
    assert figures(review_ws)["overall"]["runs"] == 99
    assert figures(review_ws, "--include-drills")["overall"]["runs"] == 1  # another question
    assert invoke(review_ws, "report", "--format", "md").stdout.startswith("#")  # another form
    last.write_text(planted, encoding="utf-8")
    assert invoke(review_ws, "note", run, "BJ-3 ring back", "--by", "bob").exit_code == 0
    assert figures(review_ws)["overall"]["runs"] == 1  # a record changed
    last.write_text(planted, encoding="utf-8")
    invoke(review_ws, "open", "core-network-outage", "--severity", "III", *people, "--by", "alice")
    assert figures(review_ws)["overall"]["runs"] == 2  # a record was added
    question = last.read_text(encoding="utf-8").partition("\n")[0]  # the question as it is now
    last.write_text(_planted(question, '{"overall": {"runs": 99}}\n'), encoding="utf-8")
    assert figures(review_ws)["overall"]["runs"] == 99
    last.write_bytes(_planted(question, "x").encode()[:-1] + b"\xff")  # its size, not UTF-8
    assert figures(review_ws)["overall"]["runs"] == 2  # a damaged answer is made anew
    last.write_text(_planted(question, '{"overall": {"runs": 99}}\n', cut=40), encoding="utf-8")
    assert figures(review_ws)["overall"]["runs"] == 2  # so is one cut short (a full disk, a crash)


def test_an_answer_kept_is_not_read_back_once_a_record_is_replaced_or_removed(review_ws: Path) -> None:
    people = ("--as", "lead=alice", "--as", "noc=bob", "--as", "comms=carol")
    run = invoke(review_ws, "open", "core-network-outage", "--severity", "II", *people, "--by", "alice").stdout.strip()
    invoke(review_ws, "open", "core-network-outage", "--severity", "III", *people, "--by", "alice")
    assert figures(review_ws)["overall"]["runs"] == 2
    last = review_ws / "logs" / "report-last.cache"

    def plant() -> None:
        """An answer only a read back can give, kept for the records as they are now."""
        question = last.read_text(encoding="utf-8").partition("\n")[0]
        last.write_text(_planted(question, '{"overall": {"runs": 99}}\n'), encoding="utf-8")

    plant()
    assert figures(review_ws)["overall"]["runs"] == 99
    record = review_ws / "logs" / "runs" / f"{run}.jsonl"
    stat, replacement = record.stat(), record.with_suffix(".new")
    replacement.write_bytes(record.read_bytes())  # the same bytes, in another file written 1 ns later
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    replacement.replace(record)
    assert figures(review_ws)["overall"]["runs"] == 2  # a record replaced
    plant()
    record.unlink()
    assert figures(review_ws)["overall"]["runs"] == 1  # a record removed


def _planted(question: str, body: str, cut: int = 0) -> str:
    """A kept answer: the question's header line (its `size` made that of `body`, or `cut`
    bytes more, as if the rest were lost), then `body`."""
    header = json.loads(question) | {"size": len(body.encode()) + cut}
    return f"{json.dumps(header)}\n{body}"


def test_an_answer_kept_by_another_version_of_drill_is_made_anew(
    review_ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import drillkit

    invoke(review_ws, "open", "core-network-outage", "--severity", "II", "--as", "lead=alice", "--by", "alice")
    assert figures(review_ws)["overall"]["runs"] == 1
    last = review_ws / "logs" / "report-last.cache"
    question = last.read_text(encoding="utf-8").partition("\n")[0]
    last.write_text(_planted(question, '{"overall": {"runs": 99}}\n'), encoding="utf-8")
    assert figures(review_ws)["overall"]["runs"] == 99
    monkeypatch.setattr(drillkit, "__version__", "99.0.0")
    assert figures(review_ws)["overall"]["runs"] == 1


@pytest.mark.parametrize("args", [("--format", "json"), ("--format", "md", "--lang", "zh"), ("--format", "html")])
def test_a_report_read_back_is_the_report_made_anew(
    corpus: tuple[Path, dict[str, dict[str, list[float]]]], args: tuple[str, ...]
) -> None:
    root, _values = corpus
    made = invoke(root, "report", "--include-drills", *args).stdout
    again = invoke(root, "report", "--include-drills", *args).stdout
    for cache in ("report-last.cache", "report-cache.json"):
        (root / "logs" / cache).unlink()
    assert made == again == invoke(root, "report", "--include-drills", *args).stdout
    assert "core-network-outage" in made


def test_markdown_and_html_show_the_figures(corpus: tuple[Path, dict[str, dict[str, list[float]]]]) -> None:
    root, _values = corpus
    markdown = invoke(root, "report").stdout
    assert "## core-network-outage" in markdown
    assert "(incidents only)" in markdown
    page = invoke(root, "report", "--format", "html").stdout
    assert page.count('class="metric-chart"') == 3
    assert "src=" not in page


def test_dates_without_a_zone_are_days_in_the_display_zone(review_ws: Path) -> None:
    (review_ws / "drill.toml").write_text('timezone = "Asia/Shanghai"\n', encoding="utf-8")
    people = ("--as", "lead=alice", "--as", "noc=bob", "--as", "comms=carol")
    late_evening = "2026-11-29T17:00:00Z"  # 30 Nov, 01:00 in Shanghai
    run = invoke(
        review_ws, "open", "core-network-outage", "--severity", "II", *people, "--by", "alice", now=late_evening
    ).stdout.strip()
    day = ("--since", "2026-11-30", "--until", "2026-11-30")
    assert figures(review_ws, *day)["overall"]["runs"] == 1
    in_utc = invoke(review_ws, "--tz", "UTC", "report", "--format", "json", *day)
    assert json.loads(in_utc.stdout)["overall"]["runs"] == 0  # the 29th in UTC
    listed = invoke(review_ws, "runs", "--since", "2026-11-30", "--json", now=late_evening)
    assert [r["id"] for r in json.loads(listed.stdout)] == [run]
    period = invoke(review_ws, "report", *day, now=late_evening).stdout
    assert "2026-11-30 00:00:00 CST – 2026-12-01 00:00:00 CST" in period
