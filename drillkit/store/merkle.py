"""RFC 9162 Merkle trees (§2.1): tree heads, inclusion and consistency proofs, and their checks.

Pure code over SHA-256 hashes: a leaf is hashed as SHA-256(0x00 || data), an inner node as
SHA-256(0x01 || left || right), and a tree of n leaves splits at the largest power of two below
n. The checks follow the RFC's verification algorithms step by step, so a proof made elsewhere
(any certificate-transparency library) verifies here, and one made here verifies there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes: pairs are folded level by level, a last odd node carried up."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1) for the leaf at `index`."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)} leaves")
    return _path(leaves, index)


def _path(leaves: Sequence[bytes], m: int) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(leaves[:k], m), root(leaves[k:])]
    return [*_path(leaves[k:], m - k), root(leaves[:k])]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1): the tree of `old_size` leaves is a prefix of this one."""
    if not 0 <= old_size <= len(leaves):
        raise ValueError(f"a tree of {len(leaves)} leaves cannot extend one of {old_size}")
    if old_size in (0, len(leaves)):
        return []
    return _subproof(leaves, old_size, complete=True)


def _subproof(leaves: Sequence[bytes], m: int, *, complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves[:k], m, complete=complete), root(leaves[k:])]
    return [*_subproof(leaves[k:], m - k, complete=False), root(leaves[:k])]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], tree_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: whether `proof` shows `leaf` at `index` in the tree of `size` with `tree_root`."""
    if not 0 <= index < size or any(len(h) != HASH_SIZE for h in (leaf, tree_root, *proof)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == tree_root


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: whether `proof` shows the tree (size1, root1) is a prefix of (size2, root2).

    The RFC's algorithm is for 0 < size1 < size2; an equal size needs equal roots and no proof.
    The empty tree proves nothing (as the reference implementation has it): callers decide what
    extending it means."""
    if not 0 < size1 <= size2 or any(len(p) != HASH_SIZE for p in proof):
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # an exact power of two: the old root is a node of the new tree
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == root1 and sr == root2 and sn == 0


def extend_frontier(frontier: Sequence[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The roots of the perfect subtrees of a tree of `size` + 1 leaves (largest first), from
    those of `size` leaves and the new leaf hash: what appending to a ledger needs, instead of
    every leaf (each 1 bit of `size` below its lowest 0 merges two subtrees of equal size)."""
    grown = [*frontier, leaf]
    while size & 1:
        right, left = grown.pop(), grown.pop()
        grown.append(node_hash(left, right))
        size >>= 1
    return grown


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """MTH of the tree whose perfect subtrees' roots are `frontier` (folded from the right, as
    RFC 9162 splits a tree at the largest power of two below its size)."""
    if not frontier:
        return EMPTY_ROOT
    head = frontier[-1]
    for node in reversed(frontier[:-1]):
        head = node_hash(node, head)
    return head
