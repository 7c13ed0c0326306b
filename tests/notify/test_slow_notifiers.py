"""A slow webhook never holds a finished drill on the screen, nor `drill notify test` for long
(issue 20): what is still owed when a run ends is left to the scheduler, and said."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from tests.conftest import Drill
from tests.services.test_drills import only_run, utc, write_fast_drill


@dataclass
class SlowHook:
    url: str
    delay: float = 10.0  # seconds each answer takes
    got: list[str] = field(default_factory=list)  # the idempotency keys received


@pytest.fixture
def slow_hook() -> Iterator[SlowHook]:
    hook = SlowHook("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.got.append(self.headers.get("Idempotency-Key", ""))
            time.sleep(hook.delay)
            with contextlib.suppress(OSError):  # the client may have given up by now
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield hook
    server.shutdown()
    server.server_close()


def _configure(drill: Drill, url: str, events: str) -> None:
    (drill.root / "drill.toml").write_text(
        f'[[notify]]\nname = "group"\nkind = "webhook"\nurl = "{url}"\nevents = {events}\ntimeout = "8s"\n',
        encoding="utf-8",
    )


@pytest.mark.slow
def test_a_finished_drill_exits_within_2s_while_a_webhook_is_slow(drill: Drill, slow_hook: SlowHook) -> None:
    _configure(drill, slow_hook.url, '["run.started", "run.ended"]')
    write_fast_drill(drill.root, limit="2m", every=30, count=3)
    done = drill("start", "fast-drill", "--by", "alice", "--speed", "60")  # two wall seconds, then timed out
    exited = datetime.now(UTC)
    run = only_run(drill.root)
    events = drill.events(run)
    ended = next(e for e in events if e["event"] == "run.ended")
    assert (exited - utc(ended["ts"])).total_seconds() < 2.0, done.stderr
    assert "notification(s) pending: left owed in the record for `drill scheduler`" in done.stderr
    pending = int(done.stderr.split(" notification(s) pending")[0].rsplit("\n", 1)[-1])
    recorded = [e for e in events if e["event"] in ("notify.sent", "notify.failed")]
    assert pending == 2 - len(recorded) >= 1
    slow_hook.delay = 0.0
    drill("scheduler", "--once", ok=True)  # the scheduler delivers what was left owed
    sent = [e["of"] for e in drill.events(run) if e["event"] == "notify.sent"]
    assert sorted(sent) == [events[0]["seq"], ended["seq"]]
    assert f"{run}:{ended['seq']}" in slow_hook.got


def test_notify_test_makes_one_short_attempt_unless_asked_for_more(drill: Drill, slow_hook: SlowHook) -> None:
    _configure(drill, slow_hook.url, '["run.started"]')
    began = time.monotonic()
    done = drill("notify", "test", "group")
    took = time.monotonic() - began
    assert done.returncode == 1
    assert "failed after 1 attempt: timed out" in done.stderr
    assert took < 6.0  # one attempt of at most 3 s, not five of 8 s with backoff
    assert len(slow_hook.got) == 1
    slow_hook.got.clear()
    done = drill("notify", "test", "group", "--retries", "1", "--timeout", "0.5")
    assert "failed after 2 attempts: timed out" in done.stderr
    assert len(slow_hook.got) == 2
