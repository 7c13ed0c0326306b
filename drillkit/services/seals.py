"""`drill keys`: the workspace's seal key, sealing what is unsealed, and checkpoints to keep (SPEC §9)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock
from drillkit.model.errors import NotFound, UsageError
from drillkit.store.seals import PublicKey, SealKey

if TYPE_CHECKING:
    from drillkit.store.sealport import SealStore

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, kw_only=True)
class KeyInfo:
    public: PublicKey
    key_file: str
    private_here: bool
    ledger_size: int
    private_problem: str | None = None  # why the private key here cannot seal
    private_warning: str | None = None  # how the private key file is open to others than its owner

    def document(self) -> dict[str, Any]:
        return {
            "origin": self.public.name,
            "public_key": self.public.text,
            "fingerprint": self.public.fingerprint,
            "key_file": self.key_file,
            "private_key_here": self.private_here,
            "private_key_problem": self.private_problem,
            "private_key_warning": self.private_warning,
            "ledger_size": self.ledger_size,
        }


def default_origin(ws: Workspace) -> str:
    """The workspace's name, as a key name allows it (no spaces, no '+')."""
    return _NAME_UNSAFE.sub("-", ws.root.name).strip("-") or "drill"


def init_key(ws: Workspace, origin: str | None) -> KeyInfo:
    """A new Ed25519 key: the private half to `seal_key` (0600), the public half into drill.toml.
    The seal store is asked for its ledger first: a team store that cannot answer refuses the
    command before any key is written."""
    from drillkit.config.edit import add_setting
    from drillkit.store.notes import NoteError
    from drillkit.store.seals import new_key, read_key, write_key
    from drillkit.store.stores import open_seals

    if ws.config().seal_public_key is not None:
        raise UsageError("drill.toml already has [integrity] seal_public_key; `drill keys show` prints it")
    seals = open_seals(ws)
    ledger_size = len(seals.ledger())
    path = ws.seal_key()
    content = None
    if path.exists():  # an init stopped between the key and drill.toml: finish it with that key
        key = read_key(path)
    else:
        try:
            content, key = new_key(origin or default_origin(ws))
        except NoteError as exc:
            raise UsageError(f"--origin: {exc}") from None
    _refuse_a_ledger_of_another_key(seals, key, ledger_size)
    if content is not None:
        write_key(ws, path, content)
    add_setting(ws.root / "drill.toml", "integrity", "seal_public_key", key.public.text)
    return KeyInfo(public=key.public, key_file=ws.display(path), private_here=True, ledger_size=ledger_size)


def _refuse_a_ledger_of_another_key(seals: SealStore, key: SealKey, ledger_size: int) -> None:
    """A ledger whose checkpoint this key did not sign holds seals of another key: with this one
    in drill.toml, every run sealed before would read as tampered."""
    checkpoint = seals.checkpoint()
    if ledger_size and (checkpoint is None or key.public.opened(checkpoint) is None):
        raise UsageError(
            f"the seal ledger holds {ledger_size} seal(s) signed with another key, which a new key would leave"
            " unverifiable: put that key's public half back in drill.toml as [integrity] seal_public_key,"
            " or make a new key in a fresh workspace (docs/integrity.md)"
        )


def show_key(ws: Workspace) -> KeyInfo:
    from drillkit.store.seals import key_exposure, public_key, read_key
    from drillkit.store.stores import open_seals

    public, path = public_key(ws), ws.seal_key()
    if public is None and path.exists():
        read_key(path)  # says why the key there cannot be used
    if public is None:
        raise NotFound("this workspace has no seal key; `drill keys init` makes one")
    problem = _private_key_problem(ws)
    return KeyInfo(
        public=public,
        key_file=ws.display(path),
        private_here=path.exists() and problem is None,
        ledger_size=len(open_seals(ws).ledger()),
        private_problem=problem,
        private_warning=key_exposure(ws),
    )


def _private_key_problem(ws: Workspace) -> str | None:
    """Why the private key file here cannot seal (unreadable, garbled, another workspace's);
    None when it can, or when there is none."""
    from drillkit.store.seals import workspace_signing_key

    if not ws.seal_key().exists():
        return None
    try:
        workspace_signing_key(ws)
    except UsageError as exc:
        return str(exc)
    return None


def holder_key(ws: Workspace) -> SealKey:
    """The private key, or one line saying sealing needs it (or why the one here cannot seal); one
    open to others seals, with a `DrillWarning` saying so."""
    from drillkit.store.seals import warn_if_exposed, workspace_signing_key

    path = ws.seal_key()
    if not path.exists():
        raise UsageError(
            f"drill keys seal needs the private seal key ({ws.display(path)}), which is not here;"
            " run it where the key is"
        )
    key = workspace_signing_key(ws)
    warn_if_exposed(ws)
    return key


def seal_runs(ws: Workspace, clock: Clock, runs: list[str]) -> list[tuple[str, str | None]]:
    """Seal the named runs, or every run: (run, the new seal's fingerprint or None when the run
    was sealed already or does not verify)."""
    from drillkit.store.files import check_run_id
    from drillkit.store.stores import open_seals, open_store

    key = holder_key(ws)
    records, seals = open_store(ws), open_seals(ws)
    recorded = records.runs()
    ids = [check_run_id(run) for run in runs] or recorded
    missing = [run for run in ids if run not in set(recorded)]
    if missing:
        raise NotFound(f"no run {missing[0]!r} (see `drill runs`)")
    sealed = []
    for run in ids:
        seal = seals.seal(key, run, records.lines(run), clock)
        sealed.append((run, seal.fingerprint if seal is not None else None))
    return sealed


def checkpoint(ws: Workspace) -> bytes:
    """The ledger's latest signed checkpoint, for a reviewer to keep off the machine."""
    from drillkit.store.stores import open_seals

    note = open_seals(ws).checkpoint()
    if note is None:
        raise NotFound("the workspace has no sealed run yet, so no checkpoint; `drill keys seal` seals its runs")
    return note
