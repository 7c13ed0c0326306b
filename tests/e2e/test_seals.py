"""Seals end to end (SPEC §9): the key, sealing by the processes that hold it, and the tamper suite.

A sealed sample workspace is built once: an incident with a seal part-way (`drill keys seal`)
and a final one (its end seals it), and a sealed simulation. Each attack of the issue's
acceptance is made on a fresh copy, and `drill verify` must call every one `tampered`, and the
untouched copy `ok`: no attack passes and no honest workspace fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DRILL, Drill, check_verifiers_agree, rechained


def _rechained(lines: list[bytes], change: Callable[[int, dict[str, Any]], None]) -> bytes:
    """The record with `change` applied to each event and every hash recomputed: what an attacker
    without the key (but knowing SPEC §4) writes."""
    events = [json.loads(line) for line in lines]
    for number, event in enumerate(events, start=1):
        change(number, event)
    return rechained(events)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


@dataclass(frozen=True, kw_only=True)
class Sealed:
    """The pristine sealed workspace and what was saved while it was built."""

    root: Path
    run: str  # the incident: sealed part-way and at its end
    simulated: str
    earlier: Path  # a copy of the incident's record from before its last seal
    snapshot: Path  # `logs/` as it was then
    kept: Path  # the checkpoint a reviewer kept at the end


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Sealed:
    base = tmp_path_factory.mktemp("sealed")
    root = base / "ws"
    Drill(base)("init", str(root), ok=True)
    drill = Drill(root)
    drill("keys", "init", ok=True)
    run = drill.open()
    for n in range(3):
        drill("note", run, f"early note {n}", "--by", "alice", ok=True)
    drill("keys", "seal", "--all", ok=True)
    earlier = base / "earlier.jsonl"
    shutil.copy(drill.record(run), earlier)
    snapshot = base / "snapshot-logs"
    shutil.copytree(root / "logs", snapshot)
    for n in range(10):
        drill("note", run, f"late note {n}", "--by", "bob", ok=True)
    drill("abort", run, "--by", "alice", "--reason", "drill over", ok=True)
    simulated = json.loads(drill("simulate", "dns-outage-drill", "--json").stdout)["run"]["id"]
    kept = base / "kept.checkpoint"
    drill("keys", "checkpoint", "-o", str(kept), ok=True)
    return Sealed(root=root, run=run, simulated=simulated, earlier=earlier, snapshot=snapshot, kept=kept)


@pytest.fixture
def copy(sealed: Sealed, tmp_path: Path) -> Drill:
    root = tmp_path / "ws"
    shutil.copytree(sealed.root, root)
    return Drill(root)


def _verify(drill: Drill, *args: str) -> tuple[int, list[dict[str, Any]]]:
    done = drill("verify", "--all", "--json", *args)
    assert not done.stderr.strip() or done.returncode != 0, done.stderr
    return done.returncode, json.loads(done.stdout)


def _verdicts(document: list[dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
    return {entry["run"]: entry for entry in document}


def test_the_untouched_sealed_workspace_is_ok_even_strictly(sealed: Sealed, copy: Drill) -> None:
    code, document = _verify(copy, "--strict", "--checkpoint", str(sealed.kept))
    verdicts = _verdicts(document)
    assert code == 0
    assert verdicts[sealed.run]["verdict"] == "ok"
    assert verdicts[sealed.run]["seal"]["unsealed"] == 0
    assert verdicts[sealed.simulated]["verdict"] == "ok"
    assert verdicts[None]["verdict"] == "ok"
    assert verdicts[None]["ledger"]["size"] == 3  # the part-way seal, the final one, the simulation's
    text = copy("verify", "--all").stdout
    assert f"{sealed.run}: ok — " in text
    assert "ledger: ok — 3 seals" in text
    assert check_verifiers_agree(copy.root) == 2


def _flip_middle_byte(s: Sealed, root: Path) -> None:
    path = root / "logs/runs" / f"{s.run}.jsonl"
    data = bytearray(path.read_bytes())
    middle = data.index(b"late note 3")
    data[middle] ^= 0x01
    path.write_bytes(bytes(data))


def _delete_middle_line(s: Sealed, root: Path) -> None:
    path = root / "logs/runs" / f"{s.run}.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:8] + lines[9:]))


def _delete_last_lines(count: int) -> Callable[[Sealed, Path], None]:
    def attack(s: Sealed, root: Path) -> None:
        path = root / "logs/runs" / f"{s.run}.jsonl"
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:-count]))

    return attack


def _earlier_copy(s: Sealed, root: Path) -> None:
    shutil.copy(s.earlier, root / "logs/runs" / f"{s.run}.jsonl")


def _delete_run(s: Sealed, root: Path) -> None:
    (root / "logs/runs" / f"{s.run}.jsonl").unlink()


def _truncate_seals_mid_note(s: Sealed, root: Path) -> None:
    path = root / "logs/seals" / f"{s.run}.seals"
    os.truncate(path, path.stat().st_size - 40)


def _drop_last_seal(s: Sealed, root: Path) -> None:
    path = root / "logs/seals" / f"{s.run}.seals"
    data = path.read_bytes()
    first_signature = data.index(b"\n\xe2\x80\x94 ") + 1
    path.write_bytes(data[: data.index(b"\n", first_signature) + 1])


def _roll_back_everything(s: Sealed, root: Path) -> None:
    """Record, seals, ledger and checkpoint all put back as they were before the last seals:
    consistent with each other; only the checkpoint the reviewer kept shows it."""
    shutil.rmtree(root / "logs")
    shutil.copytree(s.snapshot, root / "logs")


def _roll_back_ledger(s: Sealed, root: Path) -> None:
    for name in ("ledger", "checkpoint"):
        shutil.copy(s.snapshot / "seals" / name, root / "logs/seals" / name)


def _flip_signature_byte(s: Sealed, root: Path) -> None:
    path = root / "logs/seals" / f"{s.run}.seals"
    data = path.read_bytes()
    at = data.rindex(b"\xe2\x80\x94 ") + 40  # inside the last signature's base64
    swapped = b"B" if data[at : at + 1] != b"B" else b"C"
    path.write_bytes(data[:at] + swapped + data[at + 1 :])


def _rewrite_sealed_line(s: Sealed, root: Path) -> None:
    path = root / "logs/runs" / f"{s.run}.jsonl"

    def change(number: int, event: dict[str, Any]) -> None:
        if number == 3:
            event["text"] = "nothing happened"

    path.write_bytes(_rechained(_lines(path), change))


ATTACKS: dict[str, Callable[[Sealed, Path], None]] = {
    "byte flip in a middle line": _flip_middle_byte,
    "line deleted in the middle": _delete_middle_line,
    "last line deleted": _delete_last_lines(1),
    "last 10 lines deleted": _delete_last_lines(10),
    "record replaced by an earlier copy": _earlier_copy,
    "whole run file deleted": _delete_run,
    "seals file truncated mid-seal": _truncate_seals_mid_note,
    "seals file cut to its first seal": _drop_last_seal,
    "signature byte flipped": _flip_signature_byte,
    "sealed line rewritten with a recomputed chain": _rewrite_sealed_line,
    "ledger rolled back": _roll_back_ledger,
    "everything rolled back together": _roll_back_everything,
}


@pytest.mark.parametrize("attack", ATTACKS, ids=list(ATTACKS))
def test_every_attack_is_tampered(sealed: Sealed, copy: Drill, attack: str) -> None:
    ATTACKS[attack](sealed, copy.root)
    code, document = _verify(copy, "--checkpoint", str(sealed.kept))
    verdicts = _verdicts(document)
    assert code == 1
    caught = [v for v in document if v["verdict"] == "tampered"]
    assert caught, document
    assert all(v["problem"] for v in caught)  # each names what it found
    assert verdicts.get(sealed.simulated, {"verdict": "ok"})["verdict"] == "ok"  # the other run is not blamed
    text = copy("verify", "--all", "--checkpoint", str(sealed.kept))
    assert text.returncode == 1
    assert "tampered" in text.stdout
    check_verifiers_agree(copy.root)  # the independent verifier says the same of every record


def test_the_views_of_an_unsealed_run_pass_as_drill_verify_passes_it(copy: Drill) -> None:
    """An open run no key holder has sealed yet is not a record that fails verification."""
    run = copy.open()
    assert copy("verify", run).returncode == 0
    for view in (("timeline", run), ("export", run, "--format", "md")):
        done = copy(*view)
        assert (done.returncode, done.stderr) == (0, ""), view
        assert "NOT sealed" in done.stdout
        assert "past the seal" not in done.stdout  # there is no seal for events to be past


def test_a_line_appended_past_the_seal_is_an_unsealed_tail(sealed: Sealed, copy: Drill) -> None:
    path = copy.record(sealed.run)
    lines = _lines(path)
    last = json.loads(lines[-1])
    forged = {k: v for k, v in last.items() if k not in ("hash",)}
    forged |= {"seq": last["seq"] + 1, "event": "notify.sent", "notifier": "pager", "of": 1, "attempts": 1}
    forged |= {"error": None}
    for key in ("outcome", "reason", "events", "head"):
        forged.pop(key)
    path.write_bytes(_rechained([*lines, json.dumps(forged).encode()], lambda number, event: None))
    code, document = _verify(copy)
    verdict = _verdicts(document)[sealed.run]
    assert code == 0
    assert (verdict["verdict"], verdict["seal"]["unsealed"]) == ("ok", 1)
    assert f"{sealed.run}: ok, 1 events unsealed" in copy("verify", sealed.run).stdout
    assert _verify(copy, "--strict")[0] == 1
    check_verifiers_agree(copy.root)


def test_keys_init_writes_a_private_key_and_the_public_key(copy: Drill) -> None:
    key = copy.root / "logs/keys/seal.key"
    assert key.stat().st_mode & 0o777 == 0o600
    shown = json.loads(copy("keys", "show", "--json", ok=True).stdout)
    assert shown["public_key"] in (copy.root / "drill.toml").read_text(encoding="utf-8")
    assert shown["fingerprint"].startswith("SHA256:")
    assert shown["private_key_here"] is True
    again = copy("keys", "init")
    assert again.returncode == 2
    assert len(again.stderr.strip().splitlines()) == 1


def test_without_the_private_key_keys_show_and_keys_seal_say_it_is_not_here(copy: Drill) -> None:
    """What a command does without the key is the seal store contract's (tests/store/test_seal_contract.py)."""
    (copy.root / "logs/keys/seal.key").unlink()
    shown = json.loads(copy("keys", "show", "--json", ok=True).stdout)
    assert (shown["private_key_here"], shown["private_key_problem"]) == (False, None)
    refused = copy("keys", "seal", "--all")
    assert (refused.returncode, refused.stdout, refused.stderr.count("\n")) == (2, "", 1)
    assert "needs the private seal key" in refused.stderr


def test_keys_show_and_keys_seal_say_another_workspaces_private_key_is_not_this_ones(
    copy: Drill, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    Drill(tmp_path)("init", str(other), ok=True)
    Drill(other)("keys", "init", ok=True)
    shutil.copy(other / "logs/keys/seal.key", copy.root / "logs/keys/seal.key")
    refused = copy("keys", "seal", "--all")
    assert (refused.returncode, refused.stdout, refused.stderr.count("\n")) == (2, "", 1)
    assert "is not this workspace's" in refused.stderr
    shown = json.loads(copy("keys", "show", "--json", ok=True).stdout)
    assert shown["private_key_here"] is False
    assert "is not this workspace's" in shown["private_key_problem"]


def _garbled(key: Path, tmp_path: Path) -> None:
    key.write_text("garbage\n", encoding="utf-8")


def _another_workspaces(key: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    Drill(tmp_path)("init", str(other), ok=True)
    Drill(other)("keys", "init", ok=True)
    shutil.copy(other / "logs/keys/seal.key", key)


def _unreadable(key: Path, tmp_path: Path) -> None:
    key.chmod(0)


UNUSABLE: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "garbled": (_garbled, "private key: does not start with PRIVATE+KEY+"),
    "another workspace's": (_another_workspaces, "is not this workspace's"),
    "unreadable": (_unreadable, "seal.key: Permission denied"),
}


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("drill: warning:")]


@pytest.mark.parametrize("unusable", list(UNUSABLE))
def test_a_command_whose_seal_key_cannot_seal_writes_and_says_so_in_one_line(
    copy: Drill, tmp_path: Path, unusable: str
) -> None:
    """Not a word used to be said, and every run stayed unsealed until someone ran `drill keys show`."""
    spoil, why = UNUSABLE[unusable]
    run = copy.open()
    spoil(copy.root / "logs/keys/seal.key", tmp_path)
    done = copy.refused_by_file_modes("abort", run, "--by", "alice", "--reason", "drill over")
    assert done.returncode == 0, done.stderr
    said = warnings_in(done.stderr)
    assert len(said) == 1, done.stderr
    assert said[0].startswith("drill: warning: not sealed: seal key ")
    assert why in said[0]
    assert said[0].endswith("(see `drill keys show`)")
    assert copy.events(run)[-1]["event"] == "run.ended"
    assert _verdicts(_verify(copy)[1])[run]["verdict"] == "unsealed"


OPEN_TO = {0o640: "its group", 0o604: "others", 0o644: "its group and others"}


def _exposed(key: Path, mode: int) -> str:
    """The key made `mode`; the warning a command that seals with it then gives."""
    key.chmod(mode)
    return (
        f"drill: warning: seal key logs/keys/seal.key is open to {OPEN_TO[mode]} (mode {mode:04o}, not 0600):"
        f" a seal key must be its owner's alone; run chmod 600 {key}"
    )


@pytest.mark.parametrize("mode", list(OPEN_TO), ids=[f"{mode:04o}" for mode in OPEN_TO])
def test_a_seal_key_open_to_others_seals_and_each_command_that_seals_warns(copy: Drill, mode: int) -> None:
    """ssh's rule for a private key, as a warning and never a refusal: a run ended mid-incident on
    a shared machine is sealed all the same; `drill keys show` says it plainly."""
    warning = _exposed(copy.root / "logs/keys/seal.key", mode)
    run, another = copy.open(), copy.open()
    assert warnings_in(copy("abort", run, "--by", "alice", "--reason", "drill over", ok=True).stderr) == [warning]
    assert warnings_in(copy("keys", "seal", another, ok=True).stderr) == [warning]
    verdicts = _verdicts(_verify(copy, "--strict")[1])
    assert (verdicts[run]["verdict"], verdicts[another]["verdict"]) == ("ok", "open")
    shown = json.loads(copy("keys", "show", "--json", ok=True).stdout)
    assert (shown["private_key_here"], shown["private_key_problem"]) == (True, None)
    assert shown["private_key_warning"].startswith(f"open to {OPEN_TO[mode]} (mode {mode:04o}, not 0600)")
    shown_text = copy("keys", "show", ok=True)
    assert f"private key: logs/keys/seal.key: here, but open to {OPEN_TO[mode]}" in shown_text.stdout
    assert shown_text.stderr == ""


def _fast_drills(tmp_path: Path) -> Drill:
    """A workspace with a seal key open to group and others, and a drill of one minute."""
    from tests.services.test_drills import write_fast_drill

    root = tmp_path / "ws"
    Drill(tmp_path)("init", str(root), ok=True)
    drill = Drill(root)
    drill("keys", "init", ok=True)
    write_fast_drill(root, limit="1m", every=20, count=3)
    return drill


def test_a_conductor_that_seals_again_and_again_warns_once(tmp_path: Path) -> None:
    drill = _fast_drills(tmp_path)
    warning = _exposed(drill.root / "logs/keys/seal.key", 0o644)
    done = drill("start", "fast-drill", "--by", "alice", "--speed", "60")
    run = next((drill.root / "logs" / "runs").glob("*.jsonl")).stem
    seals = _seals(drill, run)
    assert (len(seals) >= 2, seals[-1]["events"]) == (True, len(drill.events(run))), done.stderr
    assert warnings_in(done.stderr) == [warning]


def test_a_command_that_seals_several_runs_warns_once(tmp_path: Path) -> None:
    """`drill status` catches up every open run, each through a store of its own: two drills past
    their time limit end, and are sealed, in one command, with one warning."""
    drill = _fast_drills(tmp_path)
    runs = [
        drill("start", "fast-drill", "--by", "alice", "--speed", "60", "--detach", ok=True).stdout.strip()
        for _ in range(2)
    ]
    warning = _exposed(drill.root / "logs/keys/seal.key", 0o644)
    time.sleep(1.5)  # a minute of each drill
    done = drill("status", ok=True)
    assert [drill.events(run)[-1]["event"] for run in runs] == ["run.ended"] * 2
    assert all(_seals(drill, run) for run in runs)
    assert warnings_in(done.stderr) == [warning]


def test_keys_show_says_why_a_garbled_private_key_cannot_seal(copy: Drill) -> None:
    (copy.root / "logs/keys/seal.key").write_text("garbage\n", encoding="utf-8")
    shown = copy("keys", "show", ok=True).stdout
    assert "not here" not in shown
    assert "cannot seal" in shown


def test_a_bad_checkpoint_file_is_one_line_and_exit_2(copy: Drill, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus"
    bogus.write_text("not a checkpoint\n", encoding="utf-8")
    done = copy("verify", "--all", "--checkpoint", str(bogus))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("umask", [0o000, 0o077])
def test_what_sealing_writes_is_0640_in_0750_folders_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """SPEC §4 for the seals, their ledger and its edge cache, the actions' ledger and the folders
    made for them on first use (`logs/runs`, `logs/seals`); the seal key keeps its own 0600 in 0700."""
    root = tmp_path / "ws"
    Drill(tmp_path)("init", str(root), ok=True)
    drill = Drill(root, umask=umask)
    drill("keys", "init", ok=True)
    run = drill.open("--as", "lead=alice")
    add = ("action", "add", "--from", run, "--title", "Fix it", "--owner", "lead=alice", "--due", "2027-01-15")
    drill(*add, "--by", "alice", ok=True)
    drill("abort", run, "--by", "alice", "--reason", "drill over", ok=True)  # sealed at once
    logs = root / "logs"
    made = {path for path in logs.rglob("*") if logs / "keys" not in (path, *path.parents)}
    seals = logs / "seals"
    assert {logs / "actions.jsonl", logs / "runs" / f"{run}.jsonl", seals / f"{run}.seals"} <= made
    assert {seals / "ledger", seals / "ledger.edge", seals / "checkpoint"} <= made
    for path in made:
        want = 0o750 if path.is_dir() else 0o640
        assert stat.S_IMODE(path.stat().st_mode) == want, f"{path.relative_to(root)} with umask {umask:03o}"


def test_keys_init_refuses_a_bad_origin(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Drill(tmp_path)("init", str(root), ok=True)
    done = Drill(root)("keys", "init", "--origin", "two words")
    assert done.returncode == 2
    assert not (root / "logs/keys/seal.key").exists()


PAYLOAD_LOG = """\
import sys
import time
with open(sys.argv[1], "a", encoding="utf-8") as log:
    log.write(sys.stdin.read().replace("\\n", " ") + "\\n")
"""


def test_the_final_seal_reaches_the_report_and_the_run_ended_notification(tmp_path: Path) -> None:
    from tests.services.test_drills import write_fast_drill

    root = tmp_path / "ws"
    Drill(tmp_path)("init", str(root), ok=True)
    drill = Drill(root)
    (tmp_path / "log.py").write_text(PAYLOAD_LOG, encoding="utf-8")
    command = json.dumps([sys.executable, str(tmp_path / "log.py"), str(tmp_path / "payloads")])
    (root / "drill.toml").write_text(
        f'[[notify]]\nname = "pager"\nkind = "command"\ncommand = {command}\nevents = ["run.ended"]\n',
        encoding="utf-8",
    )
    drill("keys", "init", ok=True)
    write_fast_drill(root, limit="1m", every=1, count=2)
    drill("start", "fast-drill", "--by", "alice", "--speed", "60")  # exit 1: the fast drill misses its targets
    run = next((root / "logs" / "runs").glob("*.jsonl")).stem
    ended = next(e for e in drill.events(run) if e["event"] == "run.ended")
    payload = json.loads((tmp_path / "payloads").read_text(encoding="utf-8").splitlines()[0])
    seals = {s["fingerprint"]: s for s in _seals(drill, run)}
    assert payload["seal"] in seals
    assert seals[payload["seal"]]["events"] >= ended["seq"]
    assert f"Seal: {payload['seal']}" in payload["text"]
    final = _seals(drill, run)[-1]["fingerprint"]
    for fmt in ("md", "html", "json"):
        assert final in drill("export", run, "--format", fmt, ok=True).stdout
    document = json.loads(drill("export", run, "--format", "json", ok=True).stdout)
    assert document["integrity"]["seal"] == final
    assert document["integrity"]["unsealed"] == 0


def _seals(drill: Drill, run: str) -> list[dict[str, Any]]:
    """The run's seals as written, each with its fingerprint (the first 16 hex of the note's SHA-256)."""
    data = (drill.root / "logs" / "seals" / f"{run}.seals").read_bytes()
    found, note = [], b""
    for line in data.splitlines(keepends=True):
        if note and not line.startswith("— ".encode()) and note.endswith(b"\n") and b"\n\n" in note:
            found.append(note)
            note = b""
        note += line
    found.append(note)
    return [
        {"fingerprint": hashlib.sha256(n).hexdigest()[:16], "events": int(n.split(b"\nevents ")[1].split(b"\n")[0])}
        for n in found
    ]


# --- the evidence bundle -----------------------------------------------------------------------


def _bundle(drill: Drill, run: str, folder: Path) -> Path:
    """The run's bundle, unpacked into `folder`; the folder holding its files."""
    import zipfile

    archive = folder / "bundle.zip"
    drill("export", run, "--format", "bundle", "-o", str(archive), ok=True)
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(folder / "unpacked")
    return next((folder / "unpacked").iterdir())


def _verify_bundle(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The bundle's own verifier, run by a bare Python with nothing of drillkit importable."""
    return subprocess.run(
        [sys.executable, "-I", str(where / "verify_bundle.py"), str(where), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=where,
    )


def test_a_bundle_that_cannot_be_checked_exits_2_naming_what_is_missing(copy: Drill, tmp_path: Path) -> None:
    """Exit 1 is `tampered`: a bundle checked without what it needs is not found tampered."""
    (copy.root / "drill.key").write_bytes(b"s3cret-key-material")
    toml = copy.root / "drill.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + 'key_file = "drill.key"\n', encoding="utf-8")
    run = copy.open()
    copy("abort", run, "--by", "alice", "--reason", "drill over", ok=True)
    where = _bundle(copy, run, tmp_path)
    unkeyed = _verify_bundle(where)
    assert (unkeyed.returncode, unkeyed.stdout) == (2, "")
    assert "--hmac-key" in unkeyed.stderr
    assert _verify_bundle(where, "--hmac-key", str(copy.root / "drill.key"), "--strict").returncode == 0
    (where / f"{run}.jsonl").unlink()
    missing = _verify_bundle(where)
    assert (missing.returncode, missing.stderr.strip()) == (
        2,
        "verify_bundle: cannot check the bundle: the bundle has no record (RUN.jsonl)",
    )


def test_the_bundle_verifies_offline_with_the_same_verdict(sealed: Sealed, copy: Drill, tmp_path: Path) -> None:
    where = _bundle(copy, sealed.run, tmp_path)
    shared = ["VERIFY.md", "checkpoint", "ledger", "proof.json", "public_key.txt", "verify_bundle.py"]
    assert sorted(p.name for p in where.iterdir()) == sorted([f"{sealed.run}.jsonl", f"{sealed.run}.seals", *shared])
    done = _verify_bundle(where, "--strict")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == copy("verify", sealed.run).stdout.splitlines()[0]
    readme = (where / "VERIFY.md").read_text(encoding="utf-8")
    assert "## English" in readme
    assert "## 中文" in readme
    assert "python3 verify_bundle.py" in readme


def _bundle_attacks(run: str) -> dict[str, Callable[[Path], None]]:
    def record(change: Callable[[list[bytes]], list[bytes]]) -> Callable[[Path], None]:
        def attack(where: Path) -> None:
            path = where / f"{run}.jsonl"
            path.write_bytes(b"".join(change(path.read_bytes().splitlines(keepends=True))))

        return attack

    def flip(name: str, needle: bytes, offset: int = 0) -> Callable[[Path], None]:
        def attack(where: Path) -> None:
            data = bytearray((where / name).read_bytes())
            at = data.rindex(needle) + offset
            data[at] = ord("A") if data[at] != ord("A") else ord("B")
            (where / name).write_bytes(bytes(data))

        return attack

    def rewritten(where: Path) -> None:
        path = where / f"{run}.jsonl"
        path.write_bytes(_rechained(_lines(path), lambda n, e: e.update(text="nothing") if n == 3 else None))

    def cut_seals(where: Path) -> None:
        data = (where / f"{run}.seals").read_bytes()
        (where / f"{run}.seals").write_bytes(data[: data.index(b"\n", data.index("— ".encode())) + 1])

    def earlier_proof(where: Path) -> None:
        proof = json.loads((where / "proof.json").read_text(encoding="utf-8"))
        proof["leaf_index"] -= 1
        (where / "proof.json").write_text(json.dumps(proof), encoding="utf-8")

    def upper_case_proof(where: Path) -> None:
        proof = json.loads((where / "proof.json").read_text(encoding="utf-8"))
        proof["inclusion_proof"] = [h.upper() for h in proof["inclusion_proof"]] or ["AB" * 32]
        (where / "proof.json").write_text(json.dumps(proof), encoding="utf-8")

    return {
        "byte flip in a middle line": flip(f"{run}.jsonl", b"late note 3"),
        "line deleted in the middle": record(lambda lines: lines[:8] + lines[9:]),
        "last line deleted": record(lambda lines: lines[:-1]),
        "last 10 lines deleted": record(lambda lines: lines[:-10]),
        "sealed line rewritten with a recomputed chain": rewritten,
        "seals file cut to its first seal": cut_seals,
        "seals file removed": lambda where: (where / f"{run}.seals").unlink(),
        "signature byte flipped": flip(f"{run}.seals", "— ".encode(), 30),
        "checkpoint signature flipped": flip("checkpoint", "— ".encode(), 30),
        "ledger entry changed": flip("ledger", run.encode(), len(run) + 1),
        "inclusion proof hash changed": flip("proof.json", b'"', -3),
        "inclusion proof for another leaf": earlier_proof,
        "inclusion proof hashes in upper case": upper_case_proof,
    }


def test_every_attack_on_the_bundle_is_tampered(sealed: Sealed, copy: Drill, tmp_path: Path) -> None:
    pristine = _bundle(copy, sealed.run, tmp_path)
    for name, attack in _bundle_attacks(sealed.run).items():
        where = tmp_path / name.replace(" ", "-")
        shutil.copytree(pristine, where)
        attack(where)
        done = _verify_bundle(where)
        assert done.returncode == 1, f"{name}: {done.stdout}{done.stderr}"
        assert f"{sealed.run}: tampered" in done.stdout, name


# --- crashes -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_in_a_loop_never_leaves_a_seal_past_the_record(tmp_path: Path) -> None:
    """Conductors and sealing sweeps killed at random moments: every seal left behind covers
    lines the record holds, with their hashes, and the workspace verifies."""
    import random

    from tests.services.test_drills import write_fast_drill

    root = tmp_path / "ws"
    Drill(tmp_path)("init", str(root), ok=True)
    drill = Drill(root)
    drill("keys", "init", ok=True)
    write_fast_drill(root, limit="3h", every=5, count=400)
    run = drill("start", "fast-drill", "--by", "alice", "--detach", "--speed", "60", ok=True).stdout.strip()
    rng = random.Random(9)
    for cycle in range(12):
        if cycle % 4 == 1:
            drill("keys", "seal", run, ok=True)  # a sweep that finishes: later kills meet a sealed run
        processes = [
            subprocess.Popen([str(DRILL), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=drill.env())
            for args in (["resume", run], ["keys", "seal", "--all"])
        ]
        drill("note", run, f"cycle {cycle}", "--by", "alice", ok=True)  # writes what came due, too
        time.sleep(rng.uniform(0.0, 1.5))
        for process in processes:
            process.kill()
            process.wait()
        _assert_seals_within(drill, run)
    drill("abort", run, "--by", "alice", "--reason", "enough", ok=True)
    _assert_seals_within(drill, run)
    code, document = _verify(drill, "--strict")
    assert code == 0, document
    assert len(_seals(drill, run)) >= 4  # three sweeps and the end, at least
    check_verifiers_agree(root)


def _assert_seals_within(drill: Drill, run: str) -> None:
    hashes = [json.loads(line)["hash"] for line in _complete_lines(drill.record(run))]
    path = drill.root / "logs" / "seals" / f"{run}.seals"
    data = path.read_bytes() if path.exists() else b""
    for note in data[: data.rfind(b"\n") + 1].split(b"\n\n"):
        fields = dict(line.split(" ", 1) for line in note.decode().splitlines() if line.startswith(("events", "head")))
        if fields:
            events = int(fields["events"])
            assert events <= len(hashes), f"a seal claims {events} events, the record holds {len(hashes)}"
            assert hashes[events - 1] == fields["head"]


def _complete_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return data[: data.rfind(b"\n") + 1].splitlines()


def test_validate_names_a_malformed_seal_public_key(copy: Drill) -> None:
    toml = copy.root / "drill.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('seal_public_key = "', 'seal_public_key = "x'), encoding="utf-8")
    assert copy("validate").returncode == 0  # still NAME+KEYID+KEY in form; its key id no longer matches
    refused = copy("verify", "--all")
    assert refused.returncode == 2
    assert "seal_public_key" in refused.stderr
    toml.write_text('[integrity]\nseal_public_key = "not a key"\n', encoding="utf-8")
    done = copy("validate")
    assert done.returncode == 1
    assert "drill.toml:2:1: [integrity] seal_public_key must be" in done.stdout


def test_a_deleted_run_named_on_its_own_is_tampered_not_unknown(sealed: Sealed, copy: Drill) -> None:
    copy.record(sealed.run).unlink()
    done = copy("verify", sealed.run)
    assert done.returncode == 1
    assert f"{sealed.run}: tampered: seal check failed: the record is gone" in done.stdout


def test_a_seal_the_disk_cannot_hold_fails_in_one_line_and_leaves_no_false_tampering(copy: Drill) -> None:
    """A seal note cut short by a full disk is not reported as sealed, and the runs verify as
    they did (no signature left half-written to fail for good); sealed again later, they are ok."""
    run = copy.open()
    copy("note", run, "before the disk filled", "--by", "alice", ok=True)
    done = copy.on_a_full_disk(180, "keys", "seal", "--all")
    assert done.returncode != 0, done.stdout
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert _verdicts(_verify(copy)[1])[run]["verdict"] == "unsealed"
    copy("keys", "seal", "--all", ok=True)
    assert _verify(copy, "--strict")[0] == 0
    check_verifiers_agree(copy.root)


def test_keys_init_stopped_before_drill_toml_is_finished_by_the_next_init(tmp_path: Path) -> None:
    """A crash between writing the key and adding its public half to drill.toml: the next
    `keys init` adds the public half of the key that is there, rather than refusing for good."""
    root = tmp_path / "ws"
    Drill(tmp_path)("init", str(root), ok=True)
    drill = Drill(root)
    toml = root / "drill.toml"
    assert not toml.exists()
    drill("keys", "init", ok=True)
    toml.unlink()  # as if the key had been written and drill.toml not yet
    drill("keys", "init", ok=True)
    shown = json.loads(drill("keys", "show", "--json", ok=True).stdout)
    assert shown["private_key_here"] is True
    assert shown["public_key"] in toml.read_text(encoding="utf-8")
    assert not list((root / "logs" / "keys").glob(".*"))  # no temporary file left beside the key


def test_a_seal_note_a_crash_left_unsigned_is_no_seal_and_no_tampering(
    sealed: Sealed, copy: Drill, tmp_path: Path
) -> None:
    """The text of a seal and its blank line written, its signature not (a crash): `verify`, the
    bundle's own verifier and the next seal all read past it."""
    seals = copy.root / "logs" / "seals" / f"{sealed.run}.seals"
    whole = seals.read_bytes()
    seals.write_bytes(whole + whole[: whole.index(b"\n\n") + 2])  # a note's text, no signature
    assert _verdicts(_verify(copy, "--strict")[1])[sealed.run]["verdict"] == "ok"
    assert _verify_bundle(_bundle(copy, sealed.run, tmp_path), "--strict").returncode == 0
    copy("annotate", sealed.run, "2", "after the crash", "--by", "alice", ok=True)  # sealed at once
    assert seals.read_bytes().count(b"\n\n") == whole.count(b"\n\n") + 1  # the unsigned note cut first
    assert _verify(copy, "--strict")[0] == 0
    check_verifiers_agree(copy.root)
