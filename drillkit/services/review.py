"""What the review commands answer: one run's view and records' verdicts (the report across
runs is `services/report.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock
from drillkit.model.errors import RecordError, UsageError

VERIFIED = ("ok", "open")  # the only verdicts that read as verified (SPEC §4)
PASSING = (*VERIFIED, "unsealed")  # what `drill verify` passes without --strict

if TYPE_CHECKING:
    from drillkit.render.runview import RunView
    from drillkit.services.views import Tell
    from drillkit.store.sealcheck import SealCheck
    from drillkit.store.verify import Verdict


def run_view(ws: Workspace, clock: Clock, run: str, *, zone: str, lang: str, tell: Tell) -> RunView:
    """The run as the exports see it, read again when an open run had something due."""
    from drillkit.render.runview import load_view
    from drillkit.services.views import record_due

    view = load_view(ws, run, zone=zone, lang=lang, now=clock.now())
    intact = view.document["integrity"]["verdict"] != "tampered"
    still_open = intact and view.document["run"]["ended"] is None
    if still_open and record_due(ws, clock, view.run["id"], view.events, tell):
        view = load_view(ws, run, zone=zone, lang=lang, now=clock.now())
    return view


def tampered_exit(view: RunView, tell: Tell) -> int:
    """1, saying so, when the record does not verify (tampered, or chained without the workspace's
    key): an export of it is no evidence. An unsealed record passes, as `drill verify` passes it
    without --strict; the footer says it is not sealed."""
    verdict, run = view.document["integrity"]["verdict"], view.run["id"]
    if verdict in PASSING:
        return 0
    why = "is not chained with the workspace key" if verdict == "unkeyed" else "fails verification"
    tell(f"drill: the record of {run} {why} (see `drill verify {run}`)")
    return 1


@dataclass(frozen=True)
class Verification:
    verdicts: list[Verdict]
    unreadable: list[str]  # why each record that could not be read got no verdict
    keyed: bool  # the workspace has a key
    seals: SealCheck | None = None  # the seals' findings, in a workspace with a seal key
    strict: bool = False  # an unsealed run or tail fails too
    actions: Verdict | None = None  # the corrective actions' ledger, when asked for and recorded

    def document(self) -> list[dict[str, Any]]:
        """Each run, then the actions' ledger and the seals' ledger, each with `"run": null`."""
        runs = [self._run_json(verdict) for verdict in self.verdicts]
        actions = [_actions_json(self.actions)] if self.actions is not None else []
        ledger = [self.seals.ledger.as_json()] if self.seals is not None and self.seals.ledger else []
        return runs + actions + ledger

    def _run_json(self, verdict: Verdict) -> dict[str, Any]:
        if self.seals is None:
            return verdict.as_json()
        finding = self.seals.findings.get(verdict.run)
        return verdict.as_json() | {"seal": finding.as_json() if finding else None}

    @property
    def exit_code(self) -> int:
        """1 when a record is tampered or unkeyed, or a ledger is (with --strict, also when a run
        or its tail is unsealed), else 2 when one could not be read."""
        if self._ledger_tampered() or any(verdict.verdict not in PASSING for verdict in self.verdicts):
            return 1
        if self.actions is not None and self.actions.verdict != "ok":
            return 1
        if self.strict and self._unsealed():
            return 1
        return 2 if self.unreadable else 0

    def _ledger_tampered(self) -> bool:
        return self.seals is not None and self.seals.ledger is not None and self.seals.ledger.problem is not None

    def _unsealed(self) -> bool:
        if self.seals is None:
            return False
        return any(v.verdict == "unsealed" for v in self.verdicts) or any(
            f.unsealed for f in self.seals.findings.values()
        )


def verify_runs(
    ws: Workspace,
    runs: list[str],
    accept_unkeyed: Sequence[str] = (),
    *,
    checkpoint: bytes | None = None,
    strict: bool = False,
) -> Verification:
    """`drill verify`: the named runs' records, or every record when none is named; their seals
    and the ledger too where the workspace has a seal key (against a kept checkpoint if given).
    A plain SHA-256 chain in `accept_unkeyed` is taken as older than the workspace's key (the
    name `actions` there is the actions' ledger's, not a run's)."""
    from drillkit.store.files import check_run_id, workspace_key
    from drillkit.store.sealcheck import check_seals, ledger_runs
    from drillkit.store.seals import public_key
    from drillkit.store.stores import open_seals, open_store
    from drillkit.store.verify import ACTIONS

    ids = [check_run_id(run) for run in runs]
    accepted = frozenset(check_run_id(run) for run in accept_unkeyed if run != ACTIONS)
    key = workspace_key(ws)
    store, seals = open_store(ws), open_seals(ws)
    in_ledger = ledger_runs(seals) if public_key(ws) is not None else set()
    recorded = set(store.runs()) if in_ledger else set()
    gone = [run for run in (ids or sorted(in_ledger)) if run in in_ledger and run not in recorded]
    present = [run for run in ids if run not in gone]
    verdicts, unreadable = store.verify(present, key, accepted) if present or not ids else ([], [])
    sealed = check_seals(ws, verdicts, gone, checkpoint, seals=seals, records=store)
    if sealed is None:
        return Verification(verdicts, unreadable, key is not None)
    return Verification(sealed.verdicts, unreadable, key is not None, sealed, strict)


def verify_records(
    ws: Workspace,
    names: list[str],
    accept_unkeyed: Sequence[str] = (),
    *,
    checkpoint: bytes | None = None,
    strict: bool = False,
) -> Verification:
    """`drill verify NAME…`: the named runs, and the corrective actions' ledger (SPEC §10) where
    `actions` is named (no run name can be `actions`); with no name, every run and the ledger.
    A ledger never recorded gets no verdict: there is nothing to verify. `actions` in
    `accept_unkeyed` accepts the ledger's plain chain as a run's is accepted."""
    from drillkit.store.files import workspace_key
    from drillkit.store.verify import ACTIONS

    runs = [name for name in names if name != ACTIONS]
    if names and not runs and checkpoint is not None:
        raise UsageError("--checkpoint checks the seals' ledger with the runs: name runs too, or use --all")
    if runs or not names:
        checked = verify_runs(ws, runs, accept_unkeyed, checkpoint=checkpoint, strict=strict)
    else:
        checked = Verification([], [], workspace_key(ws) is not None)
    if names and ACTIONS not in names:
        return checked
    return _with_actions(ws, checked, accepted=ACTIONS in accept_unkeyed)


def _with_actions(ws: Workspace, checked: Verification, *, accepted: bool) -> Verification:
    """The verification with the actions' ledger checked through its port (files or the team
    store); `accepted`: its plain chain is taken as older than the workspace's key."""
    from drillkit.store.files import workspace_key
    from drillkit.store.stores import open_ledger

    try:
        verdict = open_ledger(ws).verify(workspace_key(ws), accepted)
    except RecordError as err:  # no verdict, as for a run that cannot be read: no evidence of tampering
        return replace(checked, unreadable=[*checked.unreadable, str(err)])
    return replace(checked, actions=verdict)


def _actions_json(verdict: Verdict) -> dict[str, Any]:
    """The ledger's entry in `drill verify --json`: no run, its chain under `actions`."""
    chain = {"events": verdict.events, "head": verdict.head, "torn_bytes": verdict.torn_bytes, "chain": verdict.chain}
    return {"run": None, "actions": chain, "verdict": verdict.verdict, "line": verdict.line, "problem": verdict.problem}


def evidence_bundle(ws: Workspace, run: str) -> tuple[bytes, Verdict]:
    """`drill export RUN --format bundle`: the zip (SPEC §9), and `drill verify`'s verdict on the run."""
    import io
    import zipfile

    from drillkit.render.bundle_readme import verify_md
    from drillkit.store.bundle import bundle_files
    from drillkit.store.files import check_run_id
    from drillkit.store.stores import open_seals, open_store

    checked = verify_runs(ws, [check_run_id(run)])
    verdict = checked.verdicts[0]
    finding = checked.seals.findings.get(run) if checked.seals else None
    files = bundle_files(ws, open_store(ws), open_seals(ws), run)
    public = files["public_key.txt"].decode().strip()
    files["VERIFY.md"] = verify_md(run, public, finding.fingerprint if finding else None).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name in sorted(files):
            entry = zipfile.ZipInfo(f"{run}-evidence/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(entry, files[name])
    return buffer.getvalue(), verdict
