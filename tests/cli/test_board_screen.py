"""The live board of `drill start` on a terminal: redrawn in place, within the terminal's size."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time

from tests.conftest import DRILL, Drill

ROWS, COLUMNS = 12, 60
REDRAWS = 3  # boards drawn before the test looks at them


def _board_on_a_terminal(drill: Drill, seconds: float) -> tuple[bytes, int]:
    """What `drill start` writes to a ROWS x COLUMNS terminal until it has redrawn its board a few
    times (at most `seconds`: a busy machine may take a while to start it), then its exit code
    after Ctrl-C."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    # LINES and COLUMNS would override the terminal's size (pytest-xdist's workers set 24 x 80)
    env = {k: v for k, v in drill.env().items() if k not in ("NO_COLOR", "LINES", "COLUMNS")} | {"TERM": "xterm"}
    argv = [str(DRILL), "start", "core-outage-q4", "--by", "alice", "--speed", "100"]
    process = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    shown = b""
    until = time.monotonic() + seconds
    while time.monotonic() < until and shown.count(b"more line(s)") < REDRAWS:
        if select.select([leader], [], [], 0.1)[0]:
            shown += os.read(leader, 65536)
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=30)
    os.close(leader)
    return shown, code


def test_a_board_taller_than_the_terminal_is_cut_to_it_not_scrolled(drill: Drill) -> None:
    shown, code = _board_on_a_terminal(drill, 30.0)
    assert code == 0
    frames = [frame.split(b"\x1b[J")[0] for frame in shown.split(b"\x1b[H")[1:]]
    assert frames
    for frame in frames:
        assert frame.count(b"\n") <= ROWS - 1  # a row more would scroll the board off its place
    drawn = [frame for frame in frames if b"more line(s): a taller terminal shows them" in frame]
    assert len(drawn) >= REDRAWS  # each a whole board, cut to the terminal
