"""Shared fixtures: a fresh workspace, the real `drill` in a subprocess, a record's events, and
`require_tool` for the tests that drive a system tool.

Every workspace made by the `workspace` fixture is checked at teardown: each record under its
`logs/runs/` is verified by `drill verify --json` and by the independent verifier of SPEC §4
(`tests/independent_verifier.py`), and the two must agree (verdict and first bad line).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.independent_verifier import Result, verify_bytes, verify_sealed

DRILL = Path(sys.executable).with_name("drill")
PLAYBOOK = "core-network-outage"
FAKE_NOW = "2026-11-29T08:00:00Z"
REQUIRE_SERVICES = "DRILL_REQUIRE_SERVICES"
pytest_plugins = ["tests.teamdb"]  # `team_db`: a fresh PostgreSQL database for the team store


def require_tool(*names: str, why: str) -> str:
    """The path of the first of `names` found on PATH. Without any, the test is skipped with a
    one-line reason, or fails when `DRILL_REQUIRE_SERVICES=1`: CI installs the tools and sets it,
    so CI can never pass by skipping."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    reason = f"{' or '.join(names)} is not installed ({why})"
    if os.environ.get(REQUIRE_SERVICES) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_SERVICES}=1 requires it", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A skip by `require_tool` is reported at the test that needs the tool, not at the helper."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and report.longrepr[0] == __file__:
        line = item.reportinfo()[1]
        report.longrepr = (str(item.path), (line or 0) + 1, report.longrepr[2])
    return report


def read_events(path: Path) -> list[dict[str, Any]]:
    """The complete lines of a record as events (a torn tail is left out)."""
    data = path.read_bytes()
    return [json.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]


def rechained(events: list[dict[str, Any]]) -> bytes:
    """The events as record lines with every `prev` and `hash` recomputed (SHA-256, SPEC §4): what
    someone who edits a plainly chained record without a key writes, and `verify` cannot tell."""
    out, prev = [], "0" * 64
    for event in events:
        event.pop("hash", None)
        event["prev"] = prev
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()[:-1]
        prev = hashlib.sha256(body).hexdigest()
        out.append(body + b',"hash":"' + prev.encode() + b'"}\n')
    return b"".join(out)


def add_notes(root: Path, run_id: str, count: int, batch: int = 500) -> None:
    """`count` notes appended to a run in batches, in this process (a long record in a moment)."""
    from drillkit.config.workspace import Workspace
    from drillkit.model.clock import SystemClock
    from drillkit.store.files import FileRecordStore

    store, clock = FileRecordStore(Workspace(root)), SystemClock()
    for start in range(0, count, batch):
        drafts: list[dict[str, Any]] = [
            {"event": "note", "actor": "bob", "role": None, "text": f"history {n}"}
            for n in range(start, min(start + batch, count))
        ]
        store.append(run_id, lambda _events, _now: drafts, clock)  # noqa: B023  # called at once, in this loop


def edit_schedule_row(root: Path, schedule_id: str, column: str, value: str) -> None:
    """Change one stored schedule in `logs/schedule.db` behind drillkit's back, as a hand edit does."""
    with sqlite3.connect(root / "logs" / "schedule.db") as db:
        db.execute(f"UPDATE schedules SET {column} = ? WHERE id = ?", (value, schedule_id))  # a column the test names
    db.close()


def workspace_key(root: Path) -> bytes | None:
    """The HMAC key named by `[integrity] key_file`, trailing newline dropped (as `echo` leaves one)."""
    toml = root / "drill.toml"
    if not toml.is_file():
        return None
    key_file = tomllib.loads(toml.read_text(encoding="utf-8")).get("integrity", {}).get("key_file")
    return (root / key_file).read_bytes().strip() if key_file else None


@dataclass
class Drill:
    """Runs the installed `drill` against one workspace, in a subprocess (on the wall clock
    unless `pinned`)."""

    root: Path
    now: str | None = None
    umask: int = -1  # the commands' umask (-1: this process's)

    def pinned(self, now: str = FAKE_NOW) -> Drill:
        """The same workspace with the clock pinned: for figures that depend on today's date."""
        return replace(self, now=now)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_")}
        env |= {"DRILL_WORKSPACE": str(self.root), "NO_COLOR": "1"}  # who acts is named with --by
        env |= {"DRILL_FAKE_NOW": self.now} if self.now else {}
        return env | extra

    def __call__(self, *args: str, ok: bool | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        """`drill ARGS…`; `ok=True` asserts exit 0, `ok=False` a non-zero exit."""
        done = self._run([str(DRILL), *args], self.env(**env))
        if ok is not None:
            assert (done.returncode == 0) is ok, f"drill {' '.join(args)} -> {done.returncode}\n{done.stderr}"
        return done

    def on_a_full_disk(self, limit: int, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`drill ARGS…` allowed to write files up to `limit` bytes only (RLIMIT_FSIZE): a write
        past it comes up short, as on a full disk."""

        def limited() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return self._run([str(DRILL), *args], self.env(**env), preexec_fn=limited)

    def refused_by_file_modes(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`drill ARGS…` without the power to read what file modes refuse: root has it (the tests
        run as root in CI), so root's override is dropped with `setpriv`."""
        prefix: list[str] = []
        if os.geteuid() == 0:
            setpriv = require_tool("setpriv", why="to run drill without root's power to read any file")
            prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]
        return self._run([*prefix, str(DRILL), *args], self.env())

    def _run(
        self, argv: list[str], env: dict[str, str], preexec_fn: Callable[[], object] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
            umask=self.umask,
            preexec_fn=preexec_fn,
        )

    def open(self, *args: str, playbook: str = PLAYBOOK, severity: str = "II", **env: str) -> str:
        """Open an incident (lead=alice, noc=bob, comms=carol unless `--as` is given) by the first
        person named, unless `--by` is given; its run id."""
        people = [] if "--as" in args else ["--as", "lead=alice", "--as", "noc=bob", "--as", "comms=carol"]
        named = [*people, *args]
        by = [] if "--by" in args else ["--by", named[named.index("--as") + 1].partition("=")[2]]
        done = self("open", playbook, "--severity", severity, *people, *by, *args, ok=True, **env)
        return done.stdout.strip()

    def record(self, run_id: str) -> Path:
        return self.root / "logs" / "runs" / f"{run_id}.jsonl"

    def events(self, run_id: str) -> list[dict[str, Any]]:
        return read_events(self.record(run_id))


RECEIVER = """\
import json, os, sys, time
message = json.load(sys.stdin)
with open(sys.argv[1], "a", encoding="utf-8") as log:
    log.write(message["idempotency_key"] + "\\n")
    log.flush()
    os.fsync(log.fileno())
time.sleep(float(sys.argv[2]))
"""


def imported_by(drill: Drill, *args: str) -> set[str]:
    """The modules a process has imported once `drill ARGS` has run in it (the command must succeed)."""
    probe = (
        "import json, sys\nfrom drillkit.cli.main import run\n"
        f"sys.argv = ['drill', *{list(args)!r}]\n"
        "try:\n    run()\nexcept SystemExit as done:\n    assert done.code == 0, done.code\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=drill.env(), check=False)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def command_notifier(root: Path, folder: Path, events: list[str], *, delay: float = 0.0, extra: str = "") -> Path:
    """A `command` notifier named `pager` in the workspace's drill.toml that logs each idempotency
    key it receives (after `delay` seconds of work); the log's path."""
    receiver, log = folder / "receiver.py", folder / "received.log"
    receiver.write_text(RECEIVER, encoding="utf-8")
    command = json.dumps([sys.executable, str(receiver), str(log), str(delay)])
    (root / "drill.toml").write_text(
        f'[[notify]]\nname = "pager"\nkind = "command"\ncommand = {command}\nevents = {json.dumps(events)}\n{extra}',
        encoding="utf-8",
    )
    return log


def check_verifiers_agree(root: Path) -> int:
    """`drill verify --all --json` and the independent verifier agree on every record; the count."""
    runs = root / "logs" / "runs"
    records = sorted(runs.glob("*.jsonl")) if runs.is_dir() else []
    if not records:
        return 0
    done = Drill(root)("verify", "--all", "--json")
    assert done.returncode in (0, 1), done.stderr
    theirs = {v["run"]: v for v in json.loads(done.stdout)}
    key = workspace_key(root)
    for path in records:
        ours = _independent_verdict(root, path, key)
        got = theirs.get(path.stem)
        assert got is not None, f"drill verify skipped {path.name}"
        agree = (got["verdict"], got["line"]) == (ours.verdict, ours.line)
        assert agree, f"{path.name}: drill verify says {got}, the independent verifier {ours}"
    return len(records)


def _independent_verdict(root: Path, path: Path, key: bytes | None) -> Result:
    """The independent verifier's verdict on a record, with its seals where the workspace has a seal key."""
    toml = root / "drill.toml"
    config = tomllib.loads(toml.read_text(encoding="utf-8")) if toml.is_file() else {}
    public = config.get("integrity", {}).get("seal_public_key")
    if public is None:
        return verify_bytes(path.read_bytes(), key)
    seals = root / "logs" / "seals"
    return verify_sealed(path.read_bytes(), _bytes(seals / f"{path.stem}.seals"), _bytes(seals / "ledger"), public, key)


def _bytes(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    """A fresh workspace from `drill init`; its records are double-verified at teardown."""
    root = tmp_path / "ws"
    subprocess.run([str(DRILL), "init", str(root)], capture_output=True, check=True, timeout=60)
    yield root
    check_verifiers_agree(root)


@pytest.fixture
def drill(workspace: Path) -> Drill:
    """`drill(…)` runs the real CLI in the fresh workspace."""
    return Drill(workspace)
