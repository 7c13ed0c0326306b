"""Notifications from a conducted drill: lateness with a dead notifier, redelivery after kill -9."""

from __future__ import annotations

import http.server
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DRILL, Drill, command_notifier
from tests.services.test_drills import wall_lateness, write_fast_drill


class _Silent(http.server.BaseHTTPRequestHandler):
    """Reads the request, then never answers."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(30)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def silent_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/robot/send?access_token=s3cret-token"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_a_notifier_that_never_answers_does_not_delay_injects(drill: Drill, silent_server: str) -> None:
    (drill.root / "drill.toml").write_text(
        f'[[notify]]\nname = "group"\nkind = "webhook"\nformat = "dingtalk"\nurl = "{silent_server}"\n'
        'events = ["inject.delivered", "run.started"]\ntimeout = "2s"\nattempts = 2\n',
        encoding="utf-8",
    )
    write_fast_drill(drill.root, limit="10m", every=20, count=30)
    drill("start", "fast-drill", "--by", "alice", "--speed", "60")
    run_id = next((drill.root / "logs" / "runs").glob("*.jsonl")).stem
    events = drill.events(run_id)
    injects = [e for e in events if e["event"] == "inject.delivered"]
    assert len(injects) == 30
    assert max(wall_lateness(events, e) for e in injects) < 1.0
    failed = [e for e in events if e["event"] == "notify.failed"]
    assert failed, "no timed-out delivery was recorded"
    assert all("timed out" in e["error"] for e in failed)
    assert "s3cret-token" not in drill.record(run_id).read_text(encoding="utf-8")


@pytest.mark.slow
def test_kill_9_between_delivery_and_recording_redelivers_with_the_same_key(drill: Drill, tmp_path: Path) -> None:
    log = command_notifier(
        drill.root, tmp_path, ["inject.delivered"], delay=0.4, extra='modes = ["drill"]\ntimeout = "10s"\n'
    )
    write_fast_drill(drill.root, limit="25m", every=15, count=99)
    run_id = drill("start", "fast-drill", "--by", "alice", "--detach", "--speed", "60", ok=True).stdout.strip()
    rng = random.Random(11)
    for _cycle in range(20):
        conductor = subprocess.Popen(
            [str(DRILL), "resume", run_id], stderr=subprocess.DEVNULL, env=drill.env(), stdout=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.4, 0.9))
        conductor.kill()
        conductor.wait()
    drill("resume", run_id)  # to the end; what is still under way then is left owed in the record
    drill("resume", run_id, ok=True)  # and a resume of the ended run delivers what it owes
    events = drill.events(run_id)
    received = Counter(log.read_text(encoding="utf-8").split())
    injects = [e for e in events if e["event"] == "inject.delivered"]
    assert len(injects) == 99
    for event in injects:
        assert received[f"{run_id}:{event['seq']}"] >= 1, f"inject #{event['seq']} was never delivered"
    sent = [(e["notifier"], e["of"]) for e in events if e["event"] == "notify.sent"]
    assert sorted(set(sent)) == sorted(sent), "one delivery recorded twice"
    assert {of for _, of in sent} == {e["seq"] for e in injects}
    assert any(count > 1 for count in received.values()), "no delivery was interrupted before it was recorded"
    assert set(received) <= {f"{run_id}:{e['seq']}" for e in injects}
