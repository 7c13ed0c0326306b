"""The RFC 9162 Merkle tree against published vectors.

Vectors (in data/merkle_vectors.json, with their source named there) come from
github.com/transparency-dev/merkle, the Go implementation behind Trillian and the
certificate-transparency logs: the leaf inputs and tree roots of `testonly/constants.go`, the
proofs of `cmd/proofgen/main.go`, and every inclusion and consistency probe of its `testdata/`
(valid ones must verify, corrupted ones must not)."""

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from drillkit.store import merkle

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "merkle_vectors.json").read_text())
LEAVES = [merkle.leaf_hash(bytes.fromhex(h)) for h in VECTORS["leaves_hex"]]


def _b64(values: list[str] | None) -> list[bytes]:
    return [base64.b64decode(v) for v in values or []]


def test_hashes_match_the_rfc_examples() -> None:
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert merkle.leaf_hash(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    node = merkle.node_hash(b"N123", b"N456")
    assert node.hex() == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"


@pytest.mark.parametrize("size", range(9))
def test_tree_head_of_every_size(size: int) -> None:
    assert merkle.root(LEAVES[:size]).hex() == VECTORS["roots_hex"][size]


def test_a_tree_grown_one_leaf_at_a_time_from_its_edge_has_the_published_heads() -> None:
    """What a seal does: the next head from the right edge alone, never from every leaf."""
    edge: list[bytes] = []
    for size, leaf in enumerate(LEAVES):
        assert merkle.frontier_root(edge).hex() == VECTORS["roots_hex"][size]
        edge = merkle.extend_frontier(edge, size, leaf)
    assert merkle.frontier_root(edge).hex() == VECTORS["roots_hex"][len(LEAVES)]
    many = [merkle.leaf_hash(n.to_bytes(4, "big")) for n in range(300)]
    edge = []
    for size, leaf in enumerate(many):
        edge = merkle.extend_frontier(edge, size, leaf)
        assert merkle.frontier_root(edge) == merkle.root(many[: size + 1])
        assert len(edge) == (size + 1).bit_count()


@pytest.mark.parametrize("case", VECTORS["inclusion_proofs"], ids=lambda c: f"leaf{c['leaf']}-of-{c['size']}")
def test_inclusion_proofs_are_the_published_ones(case: dict[str, Any]) -> None:
    leaves = LEAVES[: case["size"]]
    proof = merkle.inclusion_proof(leaves, case["leaf"] - 1)
    assert [p.hex() for p in proof] == case["proof"]
    assert merkle.verify_inclusion(case["leaf"] - 1, case["size"], leaves[case["leaf"] - 1], proof, merkle.root(leaves))


@pytest.mark.parametrize("case", VECTORS["consistency_proofs"], ids=lambda c: f"{c['size1']}-to-{c['size2']}")
def test_consistency_proofs_are_the_published_ones(case: dict[str, Any]) -> None:
    old, new = LEAVES[: case["size1"]], LEAVES[: case["size2"]]
    proof = merkle.consistency_proof(new, case["size1"])
    assert [p.hex() for p in proof] == case["proof"]
    assert merkle.verify_consistency(len(old), len(new), merkle.root(old), merkle.root(new), proof)


@pytest.mark.parametrize("probe", VECTORS["inclusion_probes"], ids=lambda p: p["desc"])
def test_inclusion_probes(probe: dict[str, Any]) -> None:
    verified = merkle.verify_inclusion(
        probe["leafIdx"],
        probe["treeSize"],
        base64.b64decode(probe["leafHash"] or ""),
        _b64(probe["proof"]),
        base64.b64decode(probe["root"] or ""),
    )
    assert verified is not probe["wantErr"]


@pytest.mark.parametrize("probe", VECTORS["consistency_probes"], ids=lambda p: p["desc"])
def test_consistency_probes(probe: dict[str, Any]) -> None:
    verified = merkle.verify_consistency(
        probe["size1"],
        probe["size2"],
        base64.b64decode(probe["root1"] or ""),
        base64.b64decode(probe["root2"] or ""),
        _b64(probe["proof"]),
    )
    assert verified is not probe["wantErr"]


def test_every_proof_of_every_small_tree_verifies() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(40)]
    for size in range(1, 41):
        head = merkle.root(leaves[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(leaves[:size], index)
            assert merkle.verify_inclusion(index, size, leaves[index], proof, head)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(leaves[:size], old)
            assert merkle.verify_consistency(old, size, merkle.root(leaves[:old]), head, proof)
            if 0 < old < size:  # a different old tree is not extended
                assert not merkle.verify_consistency(old, size, merkle.leaf_hash(b"x"), head, proof)
