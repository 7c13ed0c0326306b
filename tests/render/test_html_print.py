"""The HTML report printed on A4 by headless Chromium, with no text clipped or pushed off the page.

Chromium is driven over the DevTools protocol (the client of `test_html_chromium`). The page is
laid out as it prints: print media, scrollbars hidden, a viewport as wide as A4's printable width
(210 mm less the report's 14 mm margins). A script then checks every piece of text: each line box
must lie inside the printable width and inside every ancestor that clips (an inline SVG clips to
its viewBox, so a chart's axis or lane label that runs past it is caught). Text wider than the
page is a failure too: Chromium then shrinks the whole report to fit, or clips it past its limit.
The PDF Chromium prints is kept with the test's output (`$DRILL_TEST_OUTPUT`, else tmp_path) and
checked to be A4. A deliberately clipped chart and an over-wide table prove the check finds them.

Without `chromium`, or for the zh report without a Chinese font (fontconfig's `fc-list :lang=zh`),
the test is skipped, unless `DRILL_REQUIRE_SERVICES=1`: then it fails.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES, require_tool
from tests.engine.test_metrics import invoke, review_ws
from tests.render.test_export import fixed
from tests.render.test_html_chromium import DevTools, artefacts, chromium

__all__ = ["artefacts", "fixed", "review_ws"]  # fixtures, used by name

GOLDEN = Path(__file__).parents[1] / "golden"
A4_PRINTABLE_PX = (210 - 2 * 14) / 25.4 * 96  # CSS pixels across A4 inside the report's @page margins
A4_POINTS = (595.0, 842.0)
SLACK = 0.5  # px: sub-pixel rounding of line boxes

# Every text node's line boxes against the page's printable width and each clipping ancestor.
# Whitespace and never-rendered text (an SVG <title> is a tooltip) have no boxes and are skipped.
CLIPPED_TEXT = """
(() => {
  const width = window.innerWidth, slack = SLACK_PX, found = [];
  const clips = (el) => {
    const style = getComputedStyle(el);
    return style.overflowX !== 'visible' || style.overflowY !== 'visible';
  };
  const outside = (r, b) =>
    r.left < b.left - slack || r.right > b.right + slack || r.top < b.top - slack || r.bottom > b.bottom + slack;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, text = node.data.trim();
    if (!text) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width === 0) continue;
      if (r.left < -slack || r.right > width + slack)
        found.push(`${JSON.stringify(text)} spans x ${r.left.toFixed(1)}..${r.right.toFixed(1)}, `
                   + `past the printable width ${width}`);
      for (let el = node.parentElement; el && el !== document.body; el = el.parentElement) {
        const box = el.getBoundingClientRect();
        if (clips(el) && outside(r, box))
          found.push(`${JSON.stringify(text)} is cut by <${el.tagName}${el.id ? ' id=' + el.id : ''}> `
                     + `(text x ${r.left.toFixed(1)}..${r.right.toFixed(1)}, `
                     + `box ${box.left.toFixed(1)}..${box.right.toFixed(1)})`);
      }
    }
  }
  return [...new Set(found)];
})()
""".replace("SLACK_PX", str(SLACK))


@dataclass
class Printed:
    clipped: list[str]
    pdf: bytes


def print_a4(page: Path, profile: Path) -> Printed:
    """Lay `page` out as it prints on A4, list the text that is clipped, and print it to PDF."""
    tools = DevTools(chromium(), profile)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
        tools.send("Page.enable", session=session)
        tools.send("Emulation.setScrollbarsHidden", {"hidden": True}, session=session)
        tools.send("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
        metrics = {"width": int(A4_PRINTABLE_PX), "height": 1000, "deviceScaleFactor": 1, "mobile": False}
        tools.send("Emulation.setDeviceMetricsOverride", metrics, session=session)
        tools.send("Page.navigate", {"url": page.as_uri()}, session=session)
        tools.wait_event("Page.loadEventFired")
        found = tools.send("Runtime.evaluate", {"expression": CLIPPED_TEXT, "returnByValue": True}, session=session)
        pdf = tools.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True}, session=session)
        return Printed(list(found["result"]["result"]["value"]), base64.b64decode(pdf["result"]["data"]))
    finally:
        tools.close()


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's MediaBox width and height in points (Chromium writes page objects uncompressed)."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(width), float(height)) for width, height in boxes]


def assert_a4(pdf: bytes) -> None:
    sizes = page_sizes(pdf)
    assert sizes, "the PDF names no page size"
    for width, height in sizes:
        assert abs(width - A4_POINTS[0]) < 1, sizes
        assert abs(height - A4_POINTS[1]) < 1, sizes


def require_chinese_font() -> None:
    """A font with Chinese glyphs, so the zh report is laid out with real glyph widths."""
    fc_list = require_tool("fc-list", why="fontconfig, installed with chromium")
    families = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=True).stdout
    if families.strip():
        return
    reason = "no Chinese font is installed (Debian package fonts-wqy-microhei)"
    if os.environ.get(REQUIRE_SERVICES) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_SERVICES}=1 requires one", pytrace=False)
    pytest.skip(reason)


def kept(printed: Printed, artefacts: Path, name: str) -> None:
    path = artefacts / name
    path.write_bytes(printed.pdf)
    print(f"printed: {path}")


@pytest.mark.parametrize("name", ["evaluated.en", "evaluated.zh", "late-comms", "missed-report.zh"])
def test_the_golden_reports_print_on_a4_without_clipped_text(name: str, tmp_path: Path, artefacts: Path) -> None:
    """The reviewed golden reports: a rated drill's (objectives, score, improvement plan) in en and
    zh, and two plain after-action reports, each with its state chart."""
    if name.endswith(".zh"):
        require_chinese_font()
    report = tmp_path / f"{name}.html"
    shutil.copyfile(GOLDEN / f"{name}.html", report)
    printed = print_a4(report, tmp_path / "profile")
    kept(printed, artefacts, f"{name}.pdf")
    assert printed.clipped == []
    assert_a4(printed.pdf)


LONG_STATES = {  # longer than the chart's widest label column; wide capitals; as long as it, in Chinese
    "en": "escalated_to_the_national_network_operations_centre",
    "zh": "升级至集团网络运营中心并启动跨省应急协调机制",
    "caps": "MME_DOWN_MOBILE_WAR_ROOM_MW",
}


@pytest.mark.parametrize(("lang", "state"), [("en", "en"), ("zh", "zh"), ("en", "caps")])
def test_a_chart_with_a_long_state_name_prints_every_lane_label_whole(
    lang: str, state: str, review_ws: Path, tmp_path: Path, artefacts: Path
) -> None:
    """A state's id may be long: its lane label must still fit inside the chart."""
    if lang == "zh":
        require_chinese_font()
    long_state = LONG_STATES[state]
    playbook = review_ws / "playbooks" / "core-network-outage.yaml"
    playbook.write_text(playbook.read_text(encoding="utf-8").replace("escalated", long_state), encoding="utf-8")
    done = invoke(review_ws, "simulate", "hand-late-comms", "--json")
    assert done.exit_code == 1, done.output  # the scenario misses a target on purpose
    run = json.loads(done.stdout)["run"]["id"]
    report = tmp_path / f"long-state.{state}.html"
    done = invoke(review_ws, "export", run, "--format", "html", "--lang", lang, "-o", str(report))
    assert done.exit_code == 0, done.output
    assert long_state in report.read_text(encoding="utf-8")
    printed = print_a4(report, tmp_path / "profile")
    kept(printed, artefacts, f"long-state.{state}.pdf")
    assert printed.clipped == []


def test_the_check_finds_a_clipped_axis_label_and_an_over_wide_table(tmp_path: Path) -> None:
    """Guards the tests above: a chart whose last axis label runs past its viewBox (as the state
    chart's did before it kept room for it) and a table wider than A4 must both be reported."""
    page = tmp_path / "clipped.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>@page { size: A4; margin: 14mm; }'
        "body { margin: 0; } td { white-space: nowrap; }</style></head><body>"
        '<svg id="chart" viewBox="0 0 960 40" width="100%">'
        '<text x="150" y="20" text-anchor="middle" font-size="10">T+00:00:00</text>'
        '<text x="950" y="20" text-anchor="middle" font-size="10">T+00:50:00</text></svg>'
        f"<table><tr><td>{'wide cell ' * 30}</td></tr></table></body></html>",
        encoding="utf-8",
    )
    printed = print_a4(page, tmp_path / "profile")
    assert any(found.startswith('"T+00:50:00" is cut by <svg id=chart>') for found in printed.clipped)
    assert any(re.match(r'"(wide cell ?)+" spans .* past the printable width', found) for found in printed.clipped)
    assert not any("T+00:00:00" in found for found in printed.clipped), printed.clipped
    assert_a4(printed.pdf)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_report_across_runs_prints_on_a4_without_clipped_text(
    lang: str, fixed: Path, tmp_path: Path, artefacts: Path
) -> None:
    """`drill report --format html`: its tables, corrective actions and each metric's chart."""
    if lang == "zh":
        require_chinese_font()
    report = tmp_path / f"figures.{lang}.html"
    done = invoke(fixed, "report", "--format", "html", "--include-drills", "--lang", lang, "-o", str(report))
    assert done.exit_code == 0, done.output
    assert "<svg" in report.read_text(encoding="utf-8")
    printed = print_a4(report, tmp_path / "profile")
    kept(printed, artefacts, f"figures.{lang}.pdf")
    assert printed.clipped == []


def test_a_metric_chart_of_a_day_long_value_prints_its_axis_labels_whole(fixed: Path, tmp_path: Path) -> None:
    """The y axis's top label of `drill report`'s metric chart is the longest value, `1d2h30m23s` here."""
    from drillkit.render.figures import render_html
    from drillkit.render.labels import Labels

    done = invoke(fixed, "report", "--format", "json", "--include-drills")
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    document["series"][0]["points"][0]["value"] = 95423.4
    report = tmp_path / "figures.html"
    report.write_text(render_html(document, Labels("en"), "UTC"), encoding="utf-8")
    assert ">1d2h30m23s</text>" in report.read_text(encoding="utf-8")
    assert print_a4(report, tmp_path / "profile").clipped == []
