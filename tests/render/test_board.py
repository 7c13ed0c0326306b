"""The live board on a real terminal (a pseudo-terminal of a set width): in colour, lines cut to
the width instead of wrapped, what each inject expects with its countdown; plain lines with
NO_COLOR; and the same expectations in `drill status --json`."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable

from tests.conftest import DRILL, FAKE_NOW, Drill

WIDTH = 60
DRAWS = 3
PATIENCE = 60.0
SGR = re.compile(r"\x1b\[[0-9;]*m")
CURSOR = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _drawn(shown: bytes) -> bool:
    return shown.count(b"\x1b[H") >= DRAWS


def _on_terminal(drill: Drill, *args: str, enough: Callable[[bytes], bool] = _drawn, **env: str) -> str:
    """What `drill ARGS` writes to a WIDTH-column terminal until it is `enough` (by default: the
    board drawn three times; at most `PATIENCE` seconds, for a busy machine); then it is asked to
    stop (Ctrl-C leaves the run running)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, WIDTH, 0, 0))
    base = {k: v for k, v in drill.env().items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    child = subprocess.Popen(
        [str(DRILL), *args], stdin=slave, stdout=slave, stderr=subprocess.DEVNULL, env=base | {"TERM": "xterm"} | env
    )
    os.close(slave)
    shown = b""
    end = time.monotonic() + PATIENCE
    while time.monotonic() < end and not enough(shown):
        if select.select([master], [], [], 0.2)[0]:
            shown += os.read(master, 65536)
    child.terminate()
    child.wait(timeout=30)
    os.close(master)
    return shown.decode("utf-8", errors="replace")


def _last_board(shown: str) -> list[str]:
    """The board's lines as last drawn whole, without colour or cursor codes."""
    last = shown.split("\x1b[H")[-2]
    return [CURSOR.sub("", line) for line in SGR.sub("", last).split("\r\n") if CURSOR.sub("", line)]


COUNTDOWN = r"(?:(?:\d+m)?\d+s|\d+m)"  # 4m12s, 12s, or 4m when the board is drawn on a whole minute


def _cells(line: str) -> int:
    return sum(2 if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in line)


def test_the_board_is_coloured_cut_to_the_width_and_counts_down_each_expectation(drill: Drill) -> None:
    shown = _on_terminal(drill, "start", "core-outage-q4", "--speed", "100", "--by", "alice")
    assert re.search(r"\x1b\[[0-9;]*3[1-6]m", shown), "no colour on a colour terminal"
    board = _last_board(shown)
    assert all(_cells(line) <= WIDTH for line in board), [line for line in board if _cells(line) > WIDTH]
    assert any(line.endswith("…") for line in board), "long lines are cut with an ellipsis"
    said = "\n".join(board)
    assert "state: detected" in said
    assert re.search(rf"\[alarm\] trigger:acknowledge due T\+00:05:00: in {COUNTDOWN}", said), said
    assert "[complaints] check:notify_customers (comms) due T+00:25" in said
    assert re.search(rf"next inject: complaints at T\+00:10:00 \(in {COUNTDOWN}\)", said), said


def test_no_color_on_a_terminal_gives_plain_lines(drill: Drill) -> None:
    """SPEC §5: NO_COLOR gives plain text: no colour and no cursor control, one line per event."""
    args = ["start", "core-outage-q4", "--speed", "100", "--by", "alice"]
    shown = _on_terminal(drill, *args, enough=lambda shown: b"inject.delivered" in shown, NO_COLOR="1")
    assert "\x1b" not in shown
    assert "[DRILL / 演练]" in shown
    assert "inject.delivered" in shown


def test_status_json_shows_each_expectation_with_its_due_time_and_state(drill: Drill) -> None:
    run = drill("start", "core-outage-q4", "--detach", "--by", "alice", ok=True, DRILL_FAKE_NOW=FAKE_NOW).stdout.strip()
    status = drill.pinned("2026-11-29T08:02:00Z")("status", run, "--json", ok=True)
    alarm, complaints = json.loads(status.stdout)["expectations"]
    assert (alarm["inject"], alarm["expect"], alarm["due"], alarm["verdict"]) == (
        "alarm",
        "trigger:acknowledge",
        300,
        "pending",
    )
    assert (alarm["delivered"], alarm["left"]) == (True, 180)
    assert (complaints["delivered"], complaints["inject_at"], complaints["due"]) == (False, 600, 1500)
    drill("act", run, "acknowledge", "--by", "bob", ok=True, DRILL_FAKE_NOW="2026-11-29T08:03:00Z")
    status = drill.pinned("2026-11-29T08:04:00Z")("status", run, "--json", ok=True)
    alarm = json.loads(status.stdout)["expectations"][0]
    assert (alarm["verdict"], alarm["at"], alarm["by"], alarm["left"]) == ("met", 180, "bob", None)
    text = drill.pinned("2026-11-29T08:04:00Z")("status", run, ok=True).stdout
    assert "expect [alarm] trigger:acknowledge due T+00:05:00: met at T+00:03:00 by bob" in text
    assert "expect [complaints] check:notify_customers (comms) due T+00:25:00: inject at T+00:10:00" in text
