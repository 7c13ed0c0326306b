"""The files of an evidence bundle (SPEC §9): what a regulator needs to check one run offline."""

from __future__ import annotations

import json
from importlib import resources

from drillkit.config.workspace import Workspace
from drillkit.model.errors import UsageError
from drillkit.store import merkle
from drillkit.store.notes import NoteError
from drillkit.store.port import RecordStore
from drillkit.store.sealport import SealStore
from drillkit.store.seals import parse_checkpoint, parse_ledger_line, public_key

SEALS_NAME = "{run}.seals"  # the bundle's name of the run's seals, one note after another


def bundle_files(ws: Workspace, records: RecordStore, seals: SealStore, run_id: str) -> dict[str, bytes]:
    """The record, its seals, the public key, the latest checkpoint, the ledger it signs, the
    inclusion proof of the run's latest seal, and the standalone verifier."""
    record = records.lines(run_id)
    key = public_key(ws)
    if key is None:
        raise UsageError("a bundle carries the run's seals: this workspace has no seal key (`drill keys init`)")
    files = {
        f"{run_id}.jsonl": record,
        "public_key.txt": (key.text + "\n").encode(),
        "verify_bundle.py": resources.files("drillkit.store").joinpath("bundle_verifier.py").read_bytes(),
    }
    notes = seals.notes(run_id)
    if notes:
        files[SEALS_NAME.format(run=run_id)] = b"".join(notes)
    return files | _ledger_files(seals, run_id)


def _ledger_files(seals: SealStore, run_id: str) -> dict[str, bytes]:
    note = seals.checkpoint()
    if note is None:
        return {}
    try:
        size = parse_checkpoint(note).size
    except NoteError:
        return {"checkpoint": note}  # the verifier says what is wrong with it
    lines = seals.ledger()[:size]
    files = {"checkpoint": note, "ledger": b"".join(line + b"\n" for line in lines)}
    mine = [i for i, line in enumerate(lines) if _run_of(line) == run_id]
    if mine:
        leaves = [merkle.leaf_hash(line) for line in lines]
        proof = merkle.inclusion_proof(leaves, mine[-1])
        document = {"leaf_index": mine[-1], "tree_size": len(leaves), "inclusion_proof": [p.hex() for p in proof]}
        files["proof.json"] = json.dumps(document, indent=1).encode() + b"\n"
    return files


def _run_of(line: bytes) -> str | None:
    try:
        return parse_ledger_line(line).run
    except NoteError:
        return None
