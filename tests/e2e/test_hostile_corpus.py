"""Hostile strings through every export format (issue 20): markup, spreadsheet formulas, terminal
escapes, bidi overrides, a 100,000-character string and NUL, put in a record the ways a user can
(inject messages of a scenario, a title, notes, a reason), then read back as md, html, json, csv
(stdout and `-o` files, en and zh), the terminal timeline, `--json` views, the report across runs,
the ICS calendar and every notifier payload. Each output must show them, never obey them."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from icalendar import Calendar

from drillkit.notify.payloads import RunInfo, describe, render
from tests.conftest import DRILL, FAKE_NOW, Drill, check_verifiers_agree

LONG = "x" * 100_000
CORPUS = {
    "html": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "formula": "=cmd|' /C calc'!A0",
    "plus": "+SUM(1+1)*cmd|' /C calc'!A0",
    "at": "@SUM(A1:A9)",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "osc title": "\x1b]0;pwned\x07",
    "clear screen": "\x1b[2J\x1b[H",
    "c1 csi": "\x9b31mred",
    "bidi override": "invoice\u202egpj.exe\u202c",
    "bidi isolate": "\u2066admin\u2069 \u200f\u200e\u061c",
    "carriage return": "all clear\rbreach",
    "backspace and bell": "ok\x08\x08\x07",
    "long": LONG,
}
NUL = "before\x00after"  # no command line can carry it: it comes in through a scenario's YAML
INJECTED = [*(text for text in CORPUS.values() if text != LONG), NUL]  # a message holds at most 10,000 characters
BIDI = {"\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}
SCENARIO = "hostile"


def obeyed(text: str) -> set[str]:
    """The characters a terminal or a viewer would act on: C0 but tab and newline, DEL, C1, bidi."""
    return {c for c in text if (ord(c) < 0x20 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F or c in BIDI}


@dataclass
class Hostile:
    drill: Drill
    simulated: str  # a simulation whose injects and title carry the corpus and NUL
    incident: str  # an aborted incident whose notes carry the corpus
    payloads: Path  # what a command notifier received, one file per delivery


def _scenario(root: Path) -> None:
    """A copy of a sample scenario whose injects carry the corpus (JSON strings are YAML strings)."""
    injects = "".join(f"  - {{id: h{n}, at: {n}m, message: {json.dumps(s)}}}\n" for n, s in enumerate(INJECTED))
    text = (root / "scenarios" / "core-outage-q4.yaml").read_text(encoding="utf-8")
    head, rest = text.split("\ninjects:\n", 1)
    tail = rest[rest.index("\nscript:") : rest.index("\nobjectives:")]  # objectives name the injects replaced
    head = head.replace("scenario: core-outage-q4", f"scenario: {SCENARIO}")
    title = json.dumps("Q4 " + CORPUS["osc title"] + CORPUS["bidi override"] + CORPUS["html"])
    head = "\n".join(f"title: {title}" if line.startswith("title:") else line for line in head.splitlines())
    (root / "scenarios" / f"{SCENARIO}.yaml").write_text(f"{head}\ninjects:\n{injects}{tail}", encoding="utf-8")


RECEIVER = "import sys, uuid, pathlib; pathlib.Path(sys.argv[1], uuid.uuid4().hex).write_bytes(sys.stdin.buffer.read())"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    folder = tmp_path_factory.mktemp("hostile")
    root, payloads = folder / "ws", folder / "payloads"
    payloads.mkdir()
    subprocess.run([str(DRILL), "init", str(root)], capture_output=True, check=True, timeout=60)
    command = json.dumps([sys.executable, "-c", RECEIVER, str(payloads)])
    (root / "drill.toml").write_text(
        f'[[notify]]\nname = "pager"\nkind = "command"\ncommand = {command}\nevents = ["note", "run.ended"]\n',
        encoding="utf-8",
    )
    _scenario(root)
    drill = Drill(root).pinned()
    simulated = json.loads(drill("simulate", SCENARIO, "--json").stdout)["run"]["id"]
    incident = drill.open("--title", CORPUS["bidi override"] + CORPUS["osc title"])
    for text in CORPUS.values():
        drill("note", incident, "--by", "bob", "--", text, ok=True)
    drill("abort", incident, "--by", "alice", "--reason", CORPUS["clear screen"] + CORPUS["formula"], ok=True)
    drill("scheduler", "--once", ok=True)  # delivers the notes the ended incident still owes
    drill("schedule", "add", SCENARIO, "--at", "2027-03-01T10:00", "--tz", "Asia/Shanghai", ok=True)
    yield Hostile(drill, simulated, incident, payloads)
    check_verifiers_agree(root)


def _output(hostile: Hostile, name: str, *args: str) -> str:
    """What `drill ARGS` printed, byte for byte (no newline translation hides a carriage return)."""
    done = subprocess.run([str(DRILL), *args], capture_output=True, env=hostile.drill.env(), timeout=60, check=False)
    assert done.returncode in (0, 1), f"{name}: {done.stderr!r}"  # 1: a simulation that missed a target
    assert not obeyed(done.stderr.decode("utf-8")), name
    return done.stdout.decode("utf-8")


def assert_shown_not_obeyed(name: str, text: str, *, line_end: str = "\n") -> None:
    found = obeyed(text.replace(line_end, "\n"))
    assert not found, f"{name} lets through {sorted(hex(ord(c)) for c in found)}"


FORMATS = ["md", "html", "json", "csv"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_export_shows_the_corpus_and_obeys_none_of_it(hostile: Hostile, fmt: str, lang: str) -> None:
    for run in (hostile.simulated, hostile.incident):
        text = _output(hostile, f"{fmt}-{run}", "export", run, "--format", fmt, "--lang", lang)
        assert_shown_not_obeyed(f"export {fmt} {lang}", text, line_end="\r\n" if fmt == "csv" else "\n")
        assert run == hostile.simulated or LONG in text  # shown whole, not cut nor choked on
        if fmt == "html":
            assert "<script" not in text
            assert "<img" not in text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in text
        if fmt == "md":  # every `<` of record text is escaped: no raw HTML in the Markdown
            assert re.search(r"(?<!\\)<(script|img)", text) is None
        if fmt != "json":  # JSON writes it `\u001b]0;pwned\u0007`, and decodes to what was said
            assert "\\x1b]0;pwned\\x07" in text.replace("\\\\", "\\").replace("\\]", "]")  # shown as an escape


def test_a_file_written_with_o_is_the_same_inert_text(hostile: Hostile, tmp_path: Path) -> None:
    for fmt in FORMATS:
        target = tmp_path / f"aar.{fmt}"
        hostile.drill("export", hostile.incident, "--format", fmt, "-o", str(target), ok=True)
        assert target.read_bytes().decode("utf-8") == _output(hostile, fmt, "export", hostile.incident, "--format", fmt)
        assert_shown_not_obeyed(f"-o {fmt}", target.read_bytes().decode(), line_end="\r\n" if fmt == "csv" else "\n")


def test_json_keeps_every_string_as_said_in_inert_bytes(hostile: Hostile) -> None:
    for run, said in ((hostile.incident, list(CORPUS.values())), (hostile.simulated, INJECTED)):
        document = json.loads(_output(hostile, "json", "export", run, "--format", "json"))
        kept = [
            e.get("text") or e.get("message") for e in document["events"] if e["event"] in ("note", "inject.delivered")
        ]
        assert kept == said


def test_csv_makes_every_formula_text(hostile: Hostile) -> None:
    text = _output(hostile, "csv", "export", hostile.incident, "--format", "csv")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    details = [row[-1] for row in rows if row[4] == "note"]
    assert len(details) == len(CORPUS)
    for said, cell in zip(CORPUS.values(), details, strict=True):
        if said.startswith(("=", "+", "-", "@")):
            assert cell == "'" + said, cell
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize(
    "args",
    [
        ("timeline", "{incident}"),
        ("timeline", "{simulated}", "--lang", "zh"),
        ("timeline", "{incident}", "--json"),
        ("status", "{incident}", "--json"),
        ("runs", "--json"),
        ("runs",),
        ("report", "--include-drills", "--format", "md"),
        ("report", "--include-drills", "--format", "html"),
        ("report", "--include-drills", "--format", "json"),
        ("schedule", "list"),
        ("schedule", "list", "--json"),
    ],
    ids=lambda args: " ".join(a for a in args if not a.startswith("{")),
)
def test_every_view_and_report_obeys_none_of_it(hostile: Hostile, args: tuple[str, ...]) -> None:
    argv = [a.format(incident=hostile.incident, simulated=hostile.simulated) for a in args]
    text = _output(hostile, " ".join(argv), *argv)
    assert_shown_not_obeyed(" ".join(args), text)
    if "html" in args:
        assert "<script" not in text


def test_the_calendar_obeys_none_of_it(hostile: Hostile) -> None:
    text = _output(hostile, "ics", "schedule", "export", "--format", "ics")
    assert_shown_not_obeyed("ics", text, line_end="\r\n")
    [event] = Calendar.from_ical(text).walk("VEVENT")
    assert str(event["SUMMARY"]).startswith("[DRILL / 演练] Q4 \\x1b]0;pwned\\x07invoice\\u202egpj.exe\\u202c<script>")


def test_what_a_notifier_receives_obeys_none_of_it(hostile: Hostile) -> None:
    received = [json.loads(path.read_bytes()) for path in hostile.payloads.iterdir()]
    notes = [body for body in received if body["event"]["event"] == "note"]
    assert len(notes) == len(CORPUS)
    for body in received:
        assert_shown_not_obeyed("command payload", json.dumps(body, ensure_ascii=False))


@pytest.mark.parametrize("fmt", ["json", "slack", "dingtalk", "wecom", "feishu"])
@pytest.mark.parametrize("name", sorted([*CORPUS, "nul"]))
def test_every_payload_format_obeys_none_of_it(fmt: str, name: str) -> None:
    said = CORPUS.get(name, NUL)
    event = {"run": "r", "seq": 7, "event": "note", "text": said, "actor": "bob", "role": None, "ts": FAKE_NOW}
    info = RunInfo(run="r", mode="drill", title=said)
    body = render(fmt, describe(event, info))
    assert_shown_not_obeyed(f"{fmt} payload", json.dumps(body, ensure_ascii=False))
    if fmt == "slack":
        assert "<script" not in json.dumps(body)
