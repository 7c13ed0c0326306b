"""Three schedulers on one team store under chaos (SPEC §8): a schedule fires every 10 seconds a
drill that ends within 5; the active scheduler is killed with SIGKILL ten times and once cut off
from the database by a proxy while it keeps running. A standby takes over within 15 seconds each
time; no fire starts two drills and none is silently lost; the cut-off scheduler's late write is
refused by epoch."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import DRILL, Drill
from tests.e2e.tcpproxy import TcpProxy
from tests.teamdb import TeamDb, with_url_user

LEASE = 5  # seconds: `[store] lease`, short so that a stopped renewal shows soon, long enough for a loaded machine
EVERY = 10  # seconds between fires
TAKEOVER_LIMIT = 15.0  # seconds
# When, after a fire's nominal time, each blow lands: some while the fire is being claimed and
# its drill started, some while the drill runs. The sixth is the cut, the others SIGKILL.
OFFSETS = (0.0, 0.02, 0.05, 0.1, 0.2, 1.5, 0.4, 0.8, 3.0, 0.01, 6.0)
CUT = 5

QUICK = """\
scenario: quick
title: A drill that times out after three seconds
playbook: mobile-data-dns-outage
severity: III
form: functional
participants: {lead: alice, noc: bob, dns: dave, comms: carol}
time_limit: 3s
injects:
  - {id: servfail, at: 0m, message: "Resolver cluster GZ-2: SERVFAIL rate 38%"}
"""


@dataclass
class Host:
    """One machine: its own workspace, its own network path to the database (a proxy) and the
    `drill scheduler` running there, restarted after each blow as a supervisor would."""

    name: str
    drill: Drill
    proxy: TcpProxy
    out_dir: Path  # where each start of the scheduler writes its output
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    outputs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        self.starts += 1
        out = self.out_dir / f"{self.name}-{self.starts}.out"
        self.outputs.append(out)
        with out.open("wb") as sink:
            self.process = subprocess.Popen(
                [str(DRILL), "scheduler"], env=self.drill.env(), stdout=sink, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.outputs[-1].read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


def _host(name: str, tmp_path: Path, team_db: TeamDb) -> Host:
    root = tmp_path / name
    subprocess.run([str(DRILL), "init", str(root)], capture_output=True, check=True, timeout=60)
    (root / "scenarios" / "quick.yaml").write_text(QUICK, encoding="utf-8")
    info = psycopg.conninfo.conninfo_to_dict(team_db.owner)
    proxy = TcpProxy((str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432)))
    url = with_url_user(f"postgresql://x@127.0.0.1:{proxy.port}/postgres", f"scheduler_{team_db.suffix}", team_db.name)
    (root / "drill.toml").write_text(f'[store]\nurl = "{url}"\nlease = {LEASE}\n', encoding="utf-8")
    return Host(name, Drill(root), proxy, tmp_path)


class Lease:
    """The lease row, read by the test over its own connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def now(self) -> tuple[int, int | None]:
        row = self.conn.execute("SELECT epoch, pid FROM drill.lease").fetchone()
        assert row is not None  # the one row is made by the migration
        return int(row[0]), row[1]

    def wait_past(self, epoch: int, seconds: float) -> tuple[float, int, int | None]:
        """Seconds until an epoch newer than `epoch` holds the lease, and that epoch and pid."""
        start = time.monotonic()
        while (now := self.now())[0] <= epoch:
            assert time.monotonic() - start < seconds, f"no takeover from epoch {epoch} within {seconds}s"
            time.sleep(0.05)
        return time.monotonic() - start, *now


def _next_fire(anchor: datetime, after: datetime) -> datetime:
    done = (after - anchor) // timedelta(seconds=EVERY) + 1
    return anchor + done * timedelta(seconds=EVERY)


def _sleep_until(when: datetime) -> None:
    time.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()))


def _wait_for(text: str, host: Host, seconds: float) -> None:
    start = time.monotonic()
    while text not in host.output():
        assert time.monotonic() - start < seconds, f"{host.name}: no {text!r} in {host.output()!r}"
        time.sleep(0.1)


@pytest.mark.slow
def test_schedulers_under_kills_and_a_cut_start_each_fire_once_and_lose_none(team_db: TeamDb, tmp_path: Path) -> None:
    hosts = [_host(name, tmp_path, team_db) for name in ("east", "west", "north")]
    hosts[0].drill("schedule", "add", "quick", "--every", f"{EVERY}s", ok=True, DRILL_STORE=team_db.scheduler)
    with team_db.connect() as conn:
        lease = Lease(conn)
        anchor = conn.execute("SELECT anchor FROM drill.schedule").fetchone()[0].astimezone(UTC)
        try:
            takeovers, last_blow = _blows(hosts, lease, anchor)
        finally:
            for host in hosts:
                host.stop()
                host.proxy.close()
        print("takeovers (s):", " ".join(f"{t:.2f}" for t in takeovers))
        print("scheduler log events:", _logged(hosts))
        assert max(takeovers) < TAKEOVER_LIMIT, takeovers
        _every_fire_started_one_drill_or_says_why_not(hosts[0].drill, team_db, lease, anchor, last_blow)


def _blows(hosts: list[Host], lease: Lease, anchor: datetime) -> tuple[list[float], datetime]:
    """Start the schedulers, deal the blows; each takeover's time, and when the last blow fell
    (the schedulers run on until the fire after it is decided)."""
    for host in hosts:
        host.start()
    lease.wait_past(0, 60)
    _, first = lease.now()
    for host in hosts:
        assert host.process is not None
        said = "scheduler active (lease epoch 1)" if host.process.pid == first else "standing by: the scheduler on"
        _wait_for(said, host, 60)
    takeovers = []
    for blow, offset in enumerate(OFFSETS):
        epoch, pid = lease.now()
        victim = next(h for h in hosts if h.process is not None and h.process.pid == pid)
        assert victim.process is not None
        _sleep_until(_next_fire(anchor, datetime.now(UTC)) + timedelta(seconds=offset))
        assert lease.now() == (epoch, pid), "a takeover nobody caused"
        if blow == CUT:
            victim.proxy.cut()
        else:
            victim.process.send_signal(signal.SIGKILL)
        took, new_epoch, new_pid = lease.wait_past(epoch, 30)
        takeovers.append(took)
        assert new_pid != pid
        if blow == CUT:
            victim.proxy.heal()
            _late_writes_are_refused(victim, epoch, new_epoch)
        victim.process.wait(timeout=30)
        victim.start()
    last_blow = datetime.now(UTC)
    _sleep_until(_next_fire(anchor, last_blow) + timedelta(seconds=EVERY - 2))
    return takeovers, last_blow


def _logged(hosts: list[Host]) -> dict[str, int]:
    """How often each kind of event was logged by the schedulers of all hosts."""
    found: Counter[str] = Counter()
    for host in hosts:
        lines = (host.drill.root / "logs" / "scheduler.jsonl").read_text(encoding="utf-8").splitlines()
        found.update(json.loads(line)["event"] for line in lines)
    return dict(sorted(found.items()))


def _late_writes_are_refused(victim: Host, epoch: int, new_epoch: int) -> None:
    """The cut-off scheduler keeps running; once it reaches the database again its renewal of
    the lease, a write carrying its epoch, is refused, and it stops (exit 1, for its supervisor)."""
    assert victim.process is not None
    code = victim.process.wait(timeout=30)
    said = victim.output()
    assert code == 1, said
    assert f"scheduler lease (epoch {epoch}) lost, its renewal was refused: epoch {new_epoch} on" in said, said


def _every_fire_started_one_drill_or_says_why_not(
    drill: Drill, team_db: TeamDb, lease: Lease, anchor: datetime, until: datetime
) -> None:
    """Every fire due before `until` has its row in the ledger, or is counted in a `missed` row;
    a started fire names one drill, no two fires the same drill, and every drill a scheduler
    started belongs to a fire."""
    rows = lease.conn.execute(
        "SELECT nominal, status, run, missed_from, missed_count, detail FROM drill.fire ORDER BY nominal"
    ).fetchall()
    covered: dict[datetime, str] = {}
    for nominal, status, run, missed_from, missed_count, detail in rows:
        assert status in ("started", "missed", "skipped"), (nominal, status, detail)
        assert status == "started" or detail, (nominal, status)
        assert (status == "started") == (run is not None)
        first = missed_from if status == "missed" else nominal
        span = [first + k * timedelta(seconds=EVERY) for k in range(missed_count or 1)]
        assert span[-1] == nominal, (nominal, missed_from, missed_count)
        for due in span:
            assert due.astimezone(UTC) not in covered, f"fire {due} decided twice"
            covered[due.astimezone(UTC)] = status
    due = [anchor + k * timedelta(seconds=EVERY) for k in range(1, (until - anchor) // timedelta(seconds=EVERY) + 1)]
    assert [d for d in due if d not in covered] == [], f"fires silently lost; ledger: {rows}"

    started = [run for _n, status, run, *_ in rows if status == "started"]
    assert len(started) == len(set(started)), "one drill linked to two fires"
    listed = drill("runs", "--json", ok=True, DRILL_STORE=team_db.url)
    drills = {r["id"] for r in json.loads(listed.stdout) if r["mode"] == "drill" and r["scenario"] == "quick"}
    assert drills == set(started), f"drills no fire accounts for: {drills - set(started)}"
    assert len(started) >= len(due) // 2, f"too few fires started: {rows}"
    print(
        f"fires due: {len(due)}; started {len(started)}; "
        + str({s: list(covered.values()).count(s) for s in ("missed", "skipped")})
    )
