"""Figures of the team store (SPEC §8), each in a fresh PostgreSQL database of its own (dropped
after), against floors measured on the same server in the same run: appends against a raw
psycopg `INSERT; COMMIT` loop, `drill note`/`act` against the same command on files, how soon a
`drill status --watch` on another connection shows an event, and how soon a standby scheduler
takes over. The server is `DRILL_BENCH_PG`, else `DRILL_TEST_PG`, else postgres on 127.0.0.1;
where none answers, the figures are reported n/a with the reason."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.core import Budget, Figure, alternate, child_env, drill_argv, percentile, run_timed
from benchmarks.runs import _const, make_run, note
from benchmarks.workspaces import bench_workspace

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
NAMES = (
    "team store appends (runs.apply, note)",
    "drill note, team store",
    "drill act, team store",
    "board latency across connections p99",
    "scheduler takeover after SIGKILL",
    "scheduler takeover of a stopped scheduler",
)


def server() -> str:
    return os.environ.get("DRILL_BENCH_PG") or os.environ.get("DRILL_TEST_PG") or DEFAULT_SERVER


def unreachable(url: str) -> str | None:
    """Why no figure can be had from `url`, or None when it answers."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL server answers at {url} ({str(exc).strip().splitlines()[0]})"
    return None


def team_figures(reps: int, block: int, samples: int, lease: float) -> list[Figure]:
    """Every team store figure; n/a ones, with the reason, where no server answers."""
    url = server()
    reason = unreachable(url)
    if reason is not None:
        print(f"skipped: {reason}", file=sys.stderr, flush=True)
        return [Figure(name, "s", None, None, "n/a", None, note=f"n/a, skipped: {reason}") for name in NAMES]
    return [
        append_figure(url, block, reps),
        *command_figures(url, reps),
        latency_figure(url, samples),
        *takeover_figures(url, max(1, reps // 5), lease),
    ]


def database_url(url: str, name: str) -> str:
    scheme, rest = url.split("://", 1)
    host, _, tail = rest.partition("/")
    query = tail.partition("?")[2]
    return f"{scheme}://{host}/{name}" + (f"?{query}" if query else "")


@contextmanager
def fresh_database(url: str, tag: str) -> Iterator[str]:
    """A new database with drillkit's schema (`drill store init`), dropped afterwards; its URL."""
    import psycopg

    from drillkit.store.postgres.admin import init

    name = f"drill_bench_{tag}_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}".encode())
    try:
        db = database_url(url, name)
        init(db)
        yield db
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


def _team_workspace(prefix: str, db: str) -> Path:
    root = bench_workspace(prefix)
    (root / "drill.toml").write_text(f'[store]\nurl = "{db}"\n', encoding="utf-8")
    return root


def append_figure(url: str, block: int, reps: int) -> Figure:
    """Appends per second through `runs.apply` (catch-up, decide, record: one statement that
    locks the run's head and writes if it has not moved) against a raw `INSERT; COMMIT` of the
    same line bytes on another connection, taken in pairs so that both meet the server in the
    same state."""
    import psycopg

    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import SystemClock
    from drillkit.services.runs import Runs

    with fresh_database(url, "append") as db:
        root = _team_workspace("team-append", db)
        ws, clock = Workspace(root), SystemClock()
        runs = Runs(ws)
        raw = psycopg.connect(db)
        try:
            raw.execute("CREATE TABLE raw_line (run text, seq integer, line bytea, PRIMARY KEY (run, seq))")
            raw.commit()
            pairs = [_append_block(root, runs, clock, raw, block) for _ in range(reps + 1)][1:]
        finally:
            raw.close()
            shutil.rmtree(root, ignore_errors=True)
    rate, floor = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    return Figure(
        NAMES[0],
        "/s",
        rate,
        floor,
        "raw psycopg INSERT; COMMIT, same lines",
        Budget(">=", 0.5),
        reps,
        f"blocks of {block} paired appends, one connection each; {1e6 / rate - 1e6 / floor:.0f} µs per append"
        " above the raw loop's (deciding and chaining the event, then one statement that locks the run's head,"
        " checks it unmoved and the req new, writes the line, the req row and the head, to the raw loop's BEGIN,"
        " INSERT and COMMIT)",
    )


def _append_block(root: Path, runs: Any, clock: Any, raw: Any, block: int) -> tuple[float, float]:
    from benchmarks.inproc import _note_command

    run_id = make_run(root, 10)
    ours = floor = 0.0
    tick = time.perf_counter
    for n in range(block):
        start = tick()
        runs.apply(clock, run_id, _note_command(n))
        middle = tick()
        line = raw.execute("SELECT line FROM drill.line WHERE run = %s ORDER BY seq DESC LIMIT 1", (run_id,))
        data = line.fetchone()[0]
        raw.commit()
        mark = tick()
        raw.execute("INSERT INTO raw_line VALUES (%s, %s, %s)", (run_id, n, data))
        raw.commit()
        ours += middle - start
        floor += tick() - mark
    return block / ours, block / floor


def command_figures(url: str, reps: int) -> list[Figure]:
    """`drill note` and `drill act` as processes, on the team store against the same on files."""
    with fresh_database(url, "command") as db:
        files, team = bench_workspace("files-cmd"), _team_workspace("team-cmd", db)
        try:
            file_run, team_run = make_run(files, 10), make_run(team, 10)
            where = _where_the_time_goes(db)
            figures = []
            for name, tail in ((NAMES[1], ["note", "{run}", "status"]), (NAMES[2], ["act", "{run}", "ping"])):
                argv = [*drill_argv(), "--workspace", "{root}", *tail, "--by", "bob"]

                def one(root: Path, run: str, argv: list[str] = argv) -> float:
                    return run_timed([a.format(root=root, run=run) for a in argv])

                paired = alternate(lambda: one(team, team_run), lambda: one(files, file_run), reps)
                command = tail[0]
                figures.append(
                    Figure(name, "s", paired.a, paired.b, f"drill {command} on files", Budget("<=", 2.0), reps, where)
                )
        finally:
            shutil.rmtree(files, ignore_errors=True)
            shutil.rmtree(team, ignore_errors=True)
    return figures


def _where_the_time_goes(db: str) -> str:
    """What a team store command pays that a file one does not: importing psycopg, connecting."""
    probe = (
        "import time; t = time.perf_counter(); import psycopg; i = time.perf_counter();"
        f" psycopg.connect({db!r}).close(); c = time.perf_counter(); print(i - t, c - i)"
    )
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True) for _ in range(3)]
    imports, connects = zip(*(map(float, r.stdout.split()) for r in runs), strict=True)
    return (
        f"importing psycopg {statistics.median(imports) * 1000:.0f} ms, connecting"
        f" {statistics.median(connects) * 1000:.0f} ms; then a few round trips to the server"
    )


def latency_figure(url: str, samples: int) -> Figure:
    """From a note's commit on one connection to `drill status RUN --watch --json`, another
    process on its own LISTEN connection, printing the run with it; p99 against a bare NOTIFY
    on one psycopg connection reaching a LISTEN on another."""
    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import SystemClock
    from drillkit.store.stores import open_store

    with fresh_database(url, "board") as db:
        root = _team_workspace("team-board", db)
        try:
            run_id = make_run(root, 10)
            store, clock = open_store(Workspace(root)), SystemClock()
            watch = [*drill_argv(), "--workspace", str(root), "status", run_id, "--watch", "--json"]
            watcher = subprocess.Popen(watch, env=child_env(), stdout=subprocess.PIPE, text=True)
            try:
                assert watcher.stdout is not None
                seen = json.loads(watcher.stdout.readline())["events"]
                latencies = []
                for n in range(samples):
                    store.append(run_id, _const([note(n)]), clock)
                    written = time.perf_counter()
                    while json.loads(watcher.stdout.readline())["events"] <= seen:
                        pass
                    latencies.append(time.perf_counter() - written)
                    seen += 1
                    time.sleep(0.05)
            finally:
                watcher.terminate()
                watcher.communicate(timeout=30)
            floor = _notify_floor(db, samples)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return Figure(
        NAMES[3],
        "s",
        percentile(latencies, 0.99),
        percentile(floor, 0.99),
        "bare NOTIFY to LISTEN p99",
        Budget("<=", 0.25, "absolute", "s"),
        samples,
        f"median {statistics.median(latencies) * 1000:.1f} ms over {samples} notes",
    )


def _notify_floor(db: str, samples: int) -> list[float]:
    import psycopg

    with psycopg.connect(db, autocommit=True) as listening, psycopg.connect(db, autocommit=True) as talking:
        listening.execute("LISTEN bench")
        found = []
        for n in range(samples):
            start = time.perf_counter()
            talking.execute("SELECT pg_notify('bench', %s)", (str(n),))
            next(iter(listening.notifies(timeout=5, stop_after=1)))
            found.append(time.perf_counter() - start)
    return found


def takeover_figures(url: str, reps: int, lease: float) -> list[Figure]:
    """Two `drill scheduler`s on one database: from SIGKILL of the active one, and from SIGSTOP
    of it (the lease must run out first: `[store] lease`), to the standby's epoch in the lease
    row; against a bare advisory-lock waiter polling as often as a standby does."""
    killed = [_takeover(url, signal.SIGKILL, lease) for _ in range(reps)]
    stopped = [_takeover(url, signal.SIGSTOP, lease) for _ in range(reps)]
    floor = [_lock_floor(url) for _ in range(reps)]
    budget = Budget("<=", 15.0, "absolute", "s")
    return [
        Figure(NAMES[4], "s", statistics.median(killed), statistics.median(floor), "bare advisory-lock waiter",
               budget, reps, "its session ends with it and the lock is free at once; a standby looks every second"),
        Figure(NAMES[5], "s", statistics.median(stopped), statistics.median(floor), "bare advisory-lock waiter",
               budget, reps, f"SIGSTOP: taken over once the lease ({lease:g} s) was not renewed"),
    ]  # fmt: skip


def _takeover(url: str, blow: signal.Signals, lease: float) -> float:
    import psycopg

    with fresh_database(url, "takeover") as db:
        root = _team_workspace("team-sched", db)
        (root / "drill.toml").write_text(f'[store]\nurl = "{db}"\nlease = {lease:g}\n', encoding="utf-8")
        argv, env = [*drill_argv(), "--workspace", str(root), "scheduler"], child_env()
        daemons = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)]
        try:
            with psycopg.connect(db, autocommit=True) as conn:
                _wait_epoch(conn, 0, 60)
                daemons.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
                _standing_by(daemons[1])
                start = time.perf_counter()
                daemons[0].send_signal(blow)
                _wait_epoch(conn, 1, 60)
                return time.perf_counter() - start
        finally:
            for daemon in daemons:
                daemon.send_signal(signal.SIGKILL)
                daemon.communicate(timeout=30)
            shutil.rmtree(root, ignore_errors=True)


def _standing_by(daemon: subprocess.Popen[bytes]) -> None:
    assert daemon.stderr is not None
    line = daemon.stderr.readline()
    assert line.startswith(b"standing by"), line


def _wait_epoch(conn: Any, past: int, seconds: float) -> None:
    start = time.perf_counter()
    while (row := conn.execute("SELECT epoch FROM drill.lease").fetchone()) is None or row[0] <= past:
        if time.perf_counter() - start > seconds:
            raise RuntimeError(f"no scheduler took the lease past epoch {past} within {seconds:g} s")
        time.sleep(0.02)


LOCK_HOLDER = "import psycopg, sys, time; c = psycopg.connect(sys.argv[1], autocommit=True);" \
    " c.execute('SELECT pg_advisory_lock(42)'); print('held', flush=True); time.sleep(600)"  # fmt: skip


def _lock_floor(url: str) -> float:
    """A process holding an advisory lock is killed; a bare waiter trying at once, then every
    second, gets the lock: seconds from the kill (the least a takeover can take)."""
    import psycopg

    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        holder.stdout.readline()
        with psycopg.connect(url, autocommit=True) as conn:
            start = time.perf_counter()
            holder.send_signal(signal.SIGKILL)
            while not _locked(conn):
                time.sleep(1.0)
            conn.execute("SELECT pg_advisory_unlock(42)")
            return time.perf_counter() - start
    finally:
        holder.kill()
        holder.communicate(timeout=30)


def _locked(conn: Any) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(42)").fetchone()
    return bool(row and row[0])
