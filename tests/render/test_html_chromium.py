"""The HTML export in headless Chromium (Debian's `chromium`): no console errors, the chart
present, and a screenshot kept with the test's output (`$DRILL_TEST_OUTPUT`, else tmp_path).

Chromium is driven over the DevTools protocol on `--remote-debugging-pipe` (NUL-separated JSON
on fds 3 and 4): console calls, uncaught exceptions and log entries of level error (a blocked
request shows up there) all count as errors. A page that does load something from outside is
checked too, so the detector itself is known to work. Without `chromium` the test is skipped,
unless `DRILL_REQUIRE_SERVICES=1`: then it fails.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import Drill, require_tool
from tests.e2e.test_forecast import write_incidents
from tests.engine.test_metrics import invoke
from tests.render.test_export import LATE_COMMS, fixed, review_ws

__all__ = ["fixed", "review_ws"]  # fixtures, used by name

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
]


def chromium() -> str:
    return require_tool("chromium", "chromium-browser", why="Debian package chromium")


@dataclass
class Page:
    errors: list[str] = field(default_factory=list)
    chart_bars: int = 0
    screenshot: bytes = b""
    text: str = ""  # the rendered text of the element `load` was asked for, as a reader sees it


class DevTools:
    """A minimal DevTools client over the pipe: send a command, wait for its answer, keep events."""

    def __init__(self, binary: str, profile: Path) -> None:
        self._to_browser_r, self._to_browser_w = _high_pipe()
        self._from_browser_r, self._from_browser_w = _high_pipe()
        # Chromium reads commands on fd 3 and answers on fd 4: a small shim puts the pipe ends there.
        shim = (
            "import os, sys; "
            "os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        ends = (self._to_browser_r, self._from_browser_w)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                shim,
                *map(str, ends),
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=ends,
        )
        os.close(self._to_browser_r)
        os.close(self._from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser_w, orjson.dumps(message) + b"\0")
        return self._until(lambda m: m.get("id") == self._next_id)

    def wait_event(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        return self._until(lambda m: m.get("method") == method)

    def _until(self, wanted: Any, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = orjson.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if wanted(message):
                    assert "error" not in message, message
                    return dict(message)
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser_r], [], [], max(left, 0))
            assert ready, "chromium did not answer in time"
            chunk = os.read(self._from_browser_r, 1 << 20)
            assert chunk, "chromium closed the DevTools pipe"
            self._buffer += chunk

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._to_browser_w, orjson.dumps({"id": 0, "method": "Browser.close"}) + b"\0")
        os.close(self._to_browser_w)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._from_browser_r)


def _high_pipe() -> tuple[int, int]:
    """A pipe on fds above 10, so putting its ends on 3 and 4 in the child clobbers neither."""
    low = os.pipe()
    high = fcntl.fcntl(low[0], fcntl.F_DUPFD_CLOEXEC, 10), fcntl.fcntl(low[1], fcntl.F_DUPFD_CLOEXEC, 10)
    for fd in low:
        os.close(fd)
    return high


def load(page: Path, profile: Path, bars: str = "#state-chart rect.stay", text: str = "body") -> Page:
    """Open a file in headless Chromium; its console errors, chart bars (`bars`: a CSS selector),
    a screenshot, and the rendered text of the element `text` selects (its lines as laid out)."""
    tools = DevTools(chromium(), profile)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            tools.send(domain, session=session)
        tools.send("Page.navigate", {"url": page.as_uri()}, session=session)
        tools.wait_event("Page.loadEventFired")
        found = tools.send(
            "Runtime.evaluate",
            {"expression": f"document.querySelectorAll({bars!r}).length", "returnByValue": True},
            session=session,
        )["result"]["result"]["value"]
        shown = tools.send(
            "Runtime.evaluate",
            {"expression": f"document.querySelector({text!r}).innerText", "returnByValue": True},
            session=session,
        )["result"]["result"]["value"]
        shot = tools.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
        return Page(_errors(tools.events), int(found), base64.b64decode(shot["result"]["data"]), str(shown))
    finally:
        tools.close()


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        params, method = event.get("params", {}), event.get("method")
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(str(params.get("args")))
        elif method == "Runtime.exceptionThrown":
            found.append(str(params.get("exceptionDetails")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            found.append(str(params["entry"].get("text")))
    return found


@pytest.fixture
def artefacts(tmp_path: Path) -> Path:
    chosen = Path(os.environ.get("DRILL_TEST_OUTPUT") or tmp_path)
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen


def test_html_export_opens_without_console_errors(fixed: Path, tmp_path: Path, artefacts: Path) -> None:
    report = tmp_path / "late-comms.html"
    done = invoke(fixed, "export", LATE_COMMS, "--format", "html", "--lang", "zh", "-o", str(report))
    assert done.exit_code == 0, done.output
    page = load(report, tmp_path / "profile")
    assert page.errors == []
    assert page.chart_bars == 4  # detected, triage, mitigated, resolved
    shot = artefacts / "late-comms.png"
    shot.write_bytes(page.screenshot)
    assert page.screenshot.startswith(b"\x89PNG")
    print(f"screenshot: {shot}")


def test_the_detector_sees_a_page_that_breaks_out(tmp_path: Path) -> None:
    """Guards the test above: a page reaching outside its CSP must produce errors."""
    bad = tmp_path / "bad.html"
    csp = "default-src 'none'; style-src 'unsafe-inline'"
    bad.write_text(
        f'<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<img src="https://example.invalid/x.png"><p>bad</p>',
        encoding="utf-8",
    )
    assert load(bad, tmp_path / "profile").errors


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_report_of_a_rated_drill_opens_without_console_errors(lang: str, tmp_path: Path, artefacts: Path) -> None:
    """The reviewed golden report of an evaluated drill (objectives, ratings, score, grade,
    improvement plan), as a reader's browser opens it."""
    report = tmp_path / f"evaluated.{lang}.html"
    report.write_bytes((Path(__file__).parents[1] / "golden" / f"evaluated.{lang}.html").read_bytes())
    page = load(report, tmp_path / "profile")
    assert page.errors == []
    assert page.chart_bars > 0
    (artefacts / f"evaluated.{lang}.png").write_bytes(page.screenshot)
    assert page.screenshot.startswith(b"\x89PNG")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_forecast_page_opens_without_console_errors(lang: str, drill: Drill, artefacts: Path) -> None:
    """`drill forecast --format html` with a what-if, as a reader's browser opens it: a chart per
    metric, each with bars."""
    write_incidents(drill.root, 20, seed=5)
    page = drill.root / f"forecast.{lang}.html"
    drill(
        "forecast", "core-network-outage", "--severity", "II", "--runs", "5000", "--format", "html",
        "--what-if", "target.time_to_acknowledge=10m", "--lang", lang, "-o", str(page), ok=True,
    )  # fmt: skip
    opened = load(page, drill.root / "profile", bars="figure.spread svg")
    assert opened.errors == []
    assert opened.chart_bars == 3  # one chart per metric of core-network-outage
    (artefacts / f"forecast.{lang}.png").write_bytes(opened.screenshot)
    assert opened.screenshot.startswith(b"\x89PNG")


def test_a_note_written_on_several_lines_keeps_its_lines_in_the_html_export(drill: Drill, tmp_path: Path) -> None:
    run = drill.open()
    drill("note", run, "bridge opened\nBJ-4 pool rerouted\nwaiting on vendor", "--by", "alice", ok=True)
    report = tmp_path / "note.html"
    drill("export", run, "--format", "html", "-o", str(report), ok=True)
    page = load(report, tmp_path / "profile", text="#timeline")
    assert "bridge opened\nBJ-4 pool rerouted\nwaiting on vendor" in page.text
