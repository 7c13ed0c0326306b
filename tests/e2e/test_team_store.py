"""The team store through the CLI (SPEC §8): set-up, push and pull, a server that cannot be
reached, a read-only reviewer, and two "hosts" acting on one run at once."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from drillkit.config.workspace import Workspace
from drillkit.model.clock import SystemClock
from drillkit.plans.library import Plans
from drillkit.services.runs import started_draft
from drillkit.store.files import FileRecordStore
from tests.conftest import DRILL, PLAYBOOK, Drill, require_tool
from tests.independent_verifier import verify_bytes
from tests.teamdb import TeamDb

SCENARIOS = ("core-outage-q4", "dns-outage-drill", "data-leak-tabletop")
STORM = 200  # commands per process


def test_store_init_is_idempotent_and_status_shows_the_schema(drill: Drill, team_db: TeamDb) -> None:
    again = drill("store", "init", ok=True, DRILL_STORE=team_db.owner)
    assert "is up to date (schema version" in again.stdout  # human text to stdout, SPEC §5
    assert again.stderr == ""
    status = json.loads(drill("store", "status", "--json", ok=True, DRILL_STORE=team_db.url).stdout)
    assert status["schema_version"] == status["latest_version"] >= 1
    assert (status["runs"], status["lines"], status["action_lines"], status["writable"]) == (0, 0, 0, True)
    assert status["server"] == team_db.owner.split("@", 1)[1].split("/", 1)[0]


def test_push_then_pull_gives_the_same_bytes(drill: Drill, team_db: TeamDb, tmp_path: Path) -> None:
    for scenario in SCENARIOS:
        assert drill("simulate", scenario).returncode in (0, 1)
    run = drill.open()
    drill("note", run, "still open", "--by", "alice", ok=True)
    originals = {p.name: p.read_bytes() for p in (drill.root / "logs" / "runs").glob("*.jsonl")}
    assert len(originals) == len(SCENARIOS) + 1

    first = drill("store", "push", "--all", ok=True, DRILL_STORE=team_db.url)
    assert (first.stdout.count("lines pushed"), first.stderr) == (len(originals), "")  # human text to stdout
    again = drill("store", "push", "--all", ok=True, DRILL_STORE=team_db.url)
    assert (again.stdout.count("already in the team store"), again.stderr) == (len(originals), "")

    out = tmp_path / "pulled"
    pulled = drill("store", "pull", "--all", "-o", str(out), ok=True, DRILL_STORE=team_db.url)
    assert {p.name: p.read_bytes() for p in out.glob("*.jsonl")} == originals
    assert (sorted(pulled.stdout.splitlines()), pulled.stderr) == (
        sorted(f"wrote {out / name}" for name in originals),
        "",
    )
    assert drill("verify", "--all", ok=True, DRILL_STORE=team_db.url).returncode == 0


def test_runs_and_report_read_the_team_store_as_they_read_the_same_records_in_files(
    drill: Drill, team_db: TeamDb
) -> None:
    """The team store sends a listing or a report no note to summarise; what they show is what
    the same records show in files, to the byte (notes quoting an action's keys among them)."""
    for scenario in SCENARIOS:
        assert drill.pinned()("simulate", scenario).returncode in (0, 1)
    run = drill.pinned("2026-11-29T08:00:00Z").open()
    quoting = 'first look: "event":"transition","to":"resolved",'
    drill.pinned("2026-11-29T08:01:00Z")("note", run, quoting, "--by", "bob", ok=True)
    drill.pinned("2026-11-29T08:02:00Z")("act", run, "acknowledge", "--by", "bob", ok=True)
    drill.pinned("2026-11-29T08:03:00Z")("note", run, "bridge open", "--by", "alice", ok=True)
    pinned = drill.pinned("2026-11-29T08:04:00Z")
    pinned("store", "push", "--all", ok=True, DRILL_STORE=team_db.url)
    shown = {}
    for command in ("runs", "runs --json", "report --format json --include-drills", "report --include-drills"):
        in_files, in_team = (
            pinned(*command.split(), ok=True),
            pinned(*command.split(), ok=True, DRILL_STORE=team_db.url),
        )
        assert (in_team.stdout, in_team.stderr) == (in_files.stdout, in_files.stderr), command
        shown[command] = in_team.stdout
    listed = json.loads(shown["runs --json"])
    assert [r["verdict"] for r in listed if r["id"] == run] == ["pending"]
    assert all(r["verdict"] is not None for r in listed)
    assert json.loads(shown["report --format json --include-drills"])["overall"]["runs"] == len(SCENARIOS) + 1


def test_push_and_pull_take_a_run_by_any_of_its_names(drill: Drill, team_db: TeamDb, tmp_path: Path) -> None:
    """SPEC §5's names: push looks among the local records, pull among the team store's."""
    drill("simulate", "core-outage-q4")
    (ended,) = [p.stem for p in (drill.root / "logs" / "runs").glob("*.jsonl")]
    run = drill.open()
    pushed = drill("store", "push", ended[-4:], "last", ok=True, DRILL_STORE=team_db.url)
    assert [line.split(":")[0] for line in pushed.stdout.splitlines()] == [ended, run]
    unknown = drill("store", "push", "ffff", DRILL_STORE=team_db.url)
    assert unknown.returncode == 2
    (line,) = unknown.stderr.splitlines()
    assert line.startswith("drill: 'ffff' is not a run id")
    for record in (drill.root / "logs" / "runs").glob("*.jsonl"):
        record.unlink()  # pull names only what the team store holds
    out = tmp_path / "pulled"
    drill("store", "pull", ended[:-1], "last", "-o", str(out), ok=True, DRILL_STORE=team_db.url)
    assert sorted(p.stem for p in out.glob("*.jsonl")) == sorted([ended, run])


def test_pull_writes_by_the_rules_of_every_output(drill: Drill, team_db: TeamDb, tmp_path: Path) -> None:
    """Never into logs/, an existing file only with --force, and a refusal writes nothing."""
    run = drill.open()
    drill("store", "push", run, ok=True, DRILL_STORE=team_db.url)
    record = drill.root / "logs" / "runs" / f"{run}.jsonl"
    before = record.read_bytes()

    into_logs = drill("store", "pull", run, "-o", str(record.parent), DRILL_STORE=team_db.url)
    assert into_logs.returncode == 2
    assert "inside the workspace's logs/" in into_logs.stderr
    assert len(into_logs.stderr.strip().splitlines()) == 1
    assert record.read_bytes() == before

    out = tmp_path / "pulled"
    out.mkdir()
    (out / f"{run}.jsonl").write_bytes(b"kept\n")
    kept = drill("store", "pull", run, "-o", str(out), DRILL_STORE=team_db.url)
    assert (kept.returncode, (out / f"{run}.jsonl").read_bytes()) == (2, b"kept\n")
    assert "add --force to replace it" in kept.stderr
    drill("store", "pull", run, "-o", str(out), "--force", ok=True, DRILL_STORE=team_db.url)
    assert (out / f"{run}.jsonl").read_bytes() == before


def test_push_refuses_a_different_record_under_the_same_id(drill: Drill, team_db: TeamDb) -> None:
    run = drill.open()
    drill("store", "push", run, ok=True, DRILL_STORE=team_db.url)
    record = drill.record(run)
    original = record.read_bytes()
    record.unlink()  # another intact record under the same id, as another workspace could hold
    ws = Workspace(drill.root)
    first = started_draft(ws, pb=Plans(ws).playbook(PLAYBOOK), mode="incident", severity="I", by="alice")
    FileRecordStore(ws).create(run, first, SystemClock())
    assert record.read_bytes() != original
    done = drill("store", "push", run, DRILL_STORE=team_db.url)
    assert done.returncode == 1
    assert "holds a different record under this id" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_push_refused_for_one_record_pushes_none_of_the_others(drill: Drill, team_db: TeamDb) -> None:
    """`nothing was pushed` holds for the whole command: a record that grew since the last push
    is not copied when another one in the same push is refused (the one pushed first, by id)."""
    grown = drill.open(DRILL_FAKE_NOW="2026-11-29T08:00:00Z")
    other = drill.open(DRILL_FAKE_NOW="2026-11-29T08:00:01Z")
    drill("store", "push", "--all", ok=True, DRILL_STORE=team_db.url)
    later = {"DRILL_FAKE_NOW": "2026-11-29T08:01:00Z"}
    drill("note", grown, "added since the push", "--by", "alice", ok=True, **later)
    drill("note", other, "in the team store", "--by", "alice", ok=True, DRILL_STORE=team_db.url, **later)
    drill("note", other, "in this workspace", "--by", "alice", ok=True, **later)
    done = drill("store", "push", "--all", DRILL_STORE=team_db.url)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"drill: {other}: the team store at ")
    assert line.endswith("holds a different record under this id; nothing was pushed")
    in_team = json.loads(drill("export", grown, "--format", "json", ok=True, DRILL_STORE=team_db.url, **later).stdout)
    assert [e["event"] for e in in_team["events"]] == ["run.started"]


def test_a_tampered_record_is_not_pushed(drill: Drill, team_db: TeamDb) -> None:
    run = drill.open()
    record = drill.record(run)
    record.write_bytes(record.read_bytes().replace(b"alice", b"mallory", 1))
    done = drill("store", "push", run, DRILL_STORE=team_db.url)
    assert done.returncode == 1
    assert f"{run}: tampered at line 1" in done.stderr
    status = json.loads(drill("store", "status", "--json", ok=True, DRILL_STORE=team_db.url).stdout)
    assert status["runs"] == 0
    record.unlink()  # the workspace fixture verifies what is left


@pytest.mark.parametrize(
    "args",
    [
        ("open", "core-network-outage", "--severity", "II", "--as", "lead=tester", "--by", "tester"),
        ("note", "20261129T080000Z-core-network-outage-1a2b", "hello", "--by", "alice"),
        ("runs",),
        ("verify", "--all"),
    ],
)
def test_an_unreachable_server_is_one_line_naming_it_and_nothing_is_written(
    drill: Drill, args: tuple[str, ...]
) -> None:
    done = drill(*args, DRILL_STORE="postgresql://drill@127.0.0.1:9/drill")
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "cannot reach the team store at 127.0.0.1:9" in lines[0]
    assert done.stdout == ""
    assert not (drill.root / "logs" / "runs").exists()


def test_a_server_that_refuses_the_login_is_not_said_to_be_down(drill: Drill, team_db: TeamDb) -> None:
    """The server answered: "start the server" would send the reader the wrong way."""
    server = team_db.owner.split("@", 1)[1].split("/", 1)[0]
    for url, why in (
        (team_db.as_user("nobody_here"), 'role "nobody_here" does not exist'),
        (team_db.owner.rsplit("/", 1)[0] + "/no_such_database", 'database "no_such_database" does not exist'),
    ):
        done = drill("note", "20261129T080000Z-core-network-outage-1a2b", "hello", "--by", "alice", DRILL_STORE=url)
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr.strip().splitlines() == [
            f"drill: the team store at {server} refused the connection: {why}; fix [store] url / DRILL_STORE"
            " or ask the database's administrator (nothing was written)"
        ]


def test_a_store_url_libpq_cannot_read_is_a_usage_error(drill: Drill) -> None:
    done = drill("runs", DRILL_STORE="postgresql://drill@127.0.0.1/drill?nonsense=1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        'drill: the team store URL ([store] url or DRILL_STORE): invalid URI query parameter: "nonsense"'
    ]


@pytest.mark.parametrize("url", ["  ", "host=127.0.0.1 dbname=drill", "mysql://drill@127.0.0.1/drill"])
def test_a_store_that_is_not_a_postgresql_url_is_refused_not_taken_for_libpq_defaults(drill: Drill, url: str) -> None:
    """A blank or keyword string would reach libpq's defaults (the local server, a database named
    after the login) and `drill store init` would set that one up."""
    done = drill("store", "status", DRILL_STORE=url)  # (not init: without the check, it would set one up)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip().splitlines() == [
        "drill: DRILL_STORE must be a postgresql:// URL, e.g. 'postgresql://drill@db.noc.example/drill'"
        " (see docs/team.md)"
    ]
    (drill.root / "drill.toml").write_text(f"[store]\nurl = {json.dumps(url)}\n", encoding="utf-8")
    listed = drill("runs")
    assert listed.returncode == 2
    assert listed.stderr.startswith("drill: drill.toml: [store] url must be a postgresql:// URL")


def test_a_store_url_error_never_shows_its_password(drill: Drill) -> None:
    for url in ("postgresql://drill:s3cret@[::1/drill", "postgresql://drill:s3%zzcret@127.0.0.1/drill"):
        done = drill("runs", DRILL_STORE=url)
        assert done.returncode == 2
        assert "s3" not in done.stderr
        assert done.stderr.startswith("drill: the team store URL ([store] url or DRILL_STORE): ")


def test_a_reviewer_reads_but_the_database_refuses_their_note(drill: Drill, team_db: TeamDb) -> None:
    run = drill.open(DRILL_STORE=team_db.url)
    drill("note", run, "by a responder", "--by", "alice", ok=True, DRILL_STORE=team_db.url)
    reviewer = team_db.reviewer
    listed = json.loads(drill("runs", "--json", ok=True, DRILL_STORE=reviewer).stdout)
    assert [r["id"] for r in listed] == [run]
    assert "open" in drill("verify", run, ok=True, DRILL_STORE=reviewer).stdout
    exported = json.loads(drill("export", run, "--format", "json", ok=True, DRILL_STORE=reviewer).stdout)
    assert exported["integrity"]["verdict"] == "open"
    reported = json.loads(drill("report", "--format", "json", ok=True, DRILL_STORE=reviewer).stdout)
    assert (reported["overall"]["runs"], reported["left_out"]) == (1, [])

    refused = drill("note", run, "by a reviewer", "--by", "alice", DRILL_STORE=reviewer)
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "refused it: permission denied" in refused.stderr
    after = drill("export", run, "--format", "json", ok=True, DRILL_STORE=reviewer)
    assert [e["event"] for e in json.loads(after.stdout)["events"]] == ["run.started", "note"]
    assert not (drill.root / "logs" / "runs").exists()


# One "host": its own process and connections, running `drill act`/`check`/`note` again and again.
HOST = r"""
import subprocess, sys
drill, run, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
triggers = ["acknowledge", "escalate", "mitigate"]  # not resolve: notes after the end are refused
items = ["bridge", "notify_customers", "report_regulator"]
codes = []
for i in range(count):
    kind = i % 4
    if kind == 0:
        args = ["act", run, triggers[(i // 4) % 3], "--by", "alice", "--role", "lead"]
    elif kind == 1:
        args = ["check", run, items[(i // 4) % 3], "--by", "bob"]
    else:
        args = ["note", run, f"{tag}-{i}", "--by", "carol"]
    codes.append(subprocess.run([drill, *args], capture_output=True).returncode)
print(" ".join(map(str, codes)))
"""


@pytest.mark.slow
def test_two_hosts_acting_on_one_run_never_repeat_or_skip_a_seq(drill: Drill, team_db: TeamDb, tmp_path: Path) -> None:
    env = drill.env(DRILL_STORE=team_db.url)
    run = drill.open(DRILL_STORE=team_db.url)
    hosts = [
        subprocess.Popen(
            ["python3", "-c", HOST, str(DRILL), run, tag, str(STORM)], env=env, stdout=subprocess.PIPE, text=True
        )
        for tag in ("east", "west")
    ]
    codes = [int(code) for host in hosts for code in host.communicate(timeout=900)[0].split()]
    assert len(codes) == 2 * STORM
    assert set(codes) <= {0, 2}  # done, or rejected by the playbook (a wrong state); never a failure
    notes = sum(1 for i in range(STORM) if i % 4 >= 2) * 2

    out = tmp_path / "pulled"
    drill("store", "pull", run, "-o", str(out), ok=True, DRILL_STORE=team_db.url)
    data = (out / f"{run}.jsonl").read_bytes()
    events = [json.loads(line) for line in data.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert sum(1 for e in events if e["event"] == "note") == notes
    _transitions_follow_each_other(events)
    assert drill("verify", run, ok=True, DRILL_STORE=team_db.url).returncode == 0
    assert verify_bytes(data, None).verdict in ("ok", "open")
    assert codes.count(0) >= notes


def _transitions_follow_each_other(events: list[dict[str, object]]) -> None:
    """Every accepted transition left the state the one before it entered."""
    state = events[0]["state"]
    for event in events:
        if event["event"] == "transition":
            assert event["from"] == state, event
            state = event["to"]


def test_the_team_store_command_leaves_psycopg_out_of_a_file_command() -> None:
    """`drill act` on files does not import psycopg (it costs over 100 ms)."""
    probe = (
        "import sys, drillkit.cli.main, drillkit.services.runs, drillkit.store.stores; print('psycopg' in sys.modules)"
    )
    done = subprocess.run(
        [str(DRILL.with_name("python")), "-c", probe], capture_output=True, text=True, check=True, env=dict(os.environ)
    )
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("store", ["files", "postgres"])
def test_status_watch_shows_an_event_written_by_another_process(
    drill: Drill, store: str, request: pytest.FixtureRequest
) -> None:
    env = {"DRILL_STORE": request.getfixturevalue("team_db").url} if store == "postgres" else {}
    run = drill.open(**env)
    watcher = subprocess.Popen(
        [str(DRILL), "status", run, "--watch", "--json"], env=drill.env(**env), stdout=subprocess.PIPE, text=True
    )
    try:
        assert watcher.stdout is not None
        first = json.loads(watcher.stdout.readline())
        drill("act", run, "acknowledge", "--by", "bob", ok=True, **env)
        acted = time.monotonic()
        while (doc := json.loads(watcher.stdout.readline()))["state"] != "triage":
            assert time.monotonic() - acted < 10, doc
        assert (first["state"], doc["events"] > first["events"]) == ("detected", True)
        assert time.monotonic() - acted < 3.0
    finally:
        watcher.terminate()
        watcher.communicate(timeout=30)


@pytest.mark.slow
def test_a_board_on_one_connection_shows_an_action_through_another_within_a_second(
    drill: Drill, team_db: TeamDb, tmp_path: Path
) -> None:
    tmux = require_tool("tmux", why="the live board on a real terminal")
    run = drill.open(DRILL_STORE=team_db.url)
    env = {k: v for k, v in drill.env(DRILL_STORE=team_db.url).items() if k != "NO_COLOR"}
    socket, session = str(tmp_path / "tmux.sock"), f"team-board-{os.getpid()}"
    start = [tmux, "-S", socket, "new-session", "-d", "-s", session, "-x", "160", "-y", "50"]
    subprocess.run([*start, f"{DRILL} resume {run}"], env=env, check=True)

    def screen() -> str:
        capture = [tmux, "-S", socket, "capture-pane", "-p", "-t", session]
        return subprocess.run(capture, capture_output=True, text=True, check=True).stdout

    try:
        deadline = time.monotonic() + 60
        while "state: " not in screen():
            assert time.monotonic() < deadline, screen()
            time.sleep(0.1)
        drill("note", run, "from-the-other-host", "--by", "carol", ok=True, DRILL_STORE=team_db.url)
        noted = time.monotonic()
        while "from-the-other-host" not in (shown := screen()):
            assert time.monotonic() - noted < 10, shown
            time.sleep(0.05)
        assert time.monotonic() - noted < 1.0
    finally:
        subprocess.run([tmux, "-S", socket, "kill-server"], check=False)
