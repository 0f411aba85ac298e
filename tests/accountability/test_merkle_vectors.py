"""The Merkle tree against RFC 9162: published vectors, the RFC's own recursion, and broken proofs.

Positive cases: every root, inclusion proof and consistency proof the writer produces for trees of up
to 40 leaves equals the RFC's recursive definition and verifies with the independent verifier.
Negative cases mirror the transparency-dev/merkle families (bit flips in every proof hash, wrong leaf
index, tree size doubled or halved, wrong root, truncated, extended or empty proofs): each rejected.
"""

from __future__ import annotations

import random

import pytest

from tests.accountability import reference
from watchfloor import auditverify
from watchfloor.accountability.merkle import EMPTY_ROOT, Frontier, MerkleTree

# RFC 6962 test vectors as published in transparency-dev/merkle testonly (data only).
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}  # fmt: skip
CONSISTENCY = {
    (2, 8): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}  # fmt: skip

N = 40
HASHES = [reference.leaf(f"event {i}".encode()) for i in range(N)]
TREE = MerkleTree(HASHES)
ROOT = [reference.mth(HASHES[:n]) for n in range(N + 1)]


def _flip(h: bytes, bit: int) -> bytes:
    return bytes([*h[: bit // 8], h[bit // 8] ^ (1 << bit % 8), *h[bit // 8 + 1 :]])


def test_published_vectors() -> None:
    hashes = [reference.leaf(x) for x in LEAVES]
    tree = MerkleTree(hashes)
    assert EMPTY_ROOT.hex() == ROOTS[0] == auditverify.EMPTY_ROOT.hex()
    for n in range(len(LEAVES) + 1):
        assert tree.root(n).hex() == ROOTS[n]
        assert auditverify.root_of(hashes[:n]).hex() == ROOTS[n]
    for (index, size), want in INCLUSION.items():
        assert [h.hex() for h in tree.inclusion_proof(index, size)] == want
        assert auditverify.verify_inclusion(hashes[index], index, size, tree.inclusion_proof(index, size),
                                            bytes.fromhex(ROOTS[size]))  # fmt: skip
    for (first, second), want in CONSISTENCY.items():
        proof = tree.consistency_proof(first, second)
        assert [h.hex() for h in proof] == want
        assert auditverify.verify_consistency(
            first, second, bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second]), proof
        )


def test_roots_and_frontiers_match_the_rfc_recursion_at_every_size() -> None:
    frontier = Frontier()
    assert frontier.root() == ROOT[0]
    for n in range(1, N + 1):
        frontier.append(HASHES[n - 1])
        assert TREE.root(n) == frontier.root() == auditverify.root_of(HASHES[:n]) == ROOT[n]
        assert TREE.frontier(n).hashes == frontier.hashes
        restored = Frontier(n, frontier.hashes)  # as stored with a checkpoint, then extended
        restored.append(b"\x07" * 32)
        assert restored.root() == reference.mth([*HASHES[:n], b"\x07" * 32])


def test_every_inclusion_proof_is_the_rfcs_and_verifies() -> None:
    for n in range(1, N + 1):
        for i in range(n):
            proof = TREE.inclusion_proof(i, n)
            assert proof == reference.path(i, HASHES[:n])
            assert auditverify.verify_inclusion(HASHES[i], i, n, proof, ROOT[n])


def test_every_consistency_proof_is_the_rfcs_and_verifies() -> None:
    for n in range(1, N + 1):
        for m in range(1, n + 1):
            proof = TREE.consistency_proof(m, n)
            assert proof == (reference.proof(m, HASHES[:n]) if m < n else [])
            assert auditverify.verify_consistency(m, n, ROOT[m], ROOT[n], proof)
    assert auditverify.verify_consistency(0, 5, EMPTY_ROOT, ROOT[5], [])


def test_broken_inclusion_proofs_are_all_rejected() -> None:
    rng = random.Random(9162)
    verify = auditverify.verify_inclusion
    checked = 0
    for n in range(1, N + 1):
        for i in range(n):
            proof, leaf, root = TREE.inclusion_proof(i, n), HASHES[i], ROOT[n]
            bad: list[tuple[bytes, int, int, list[bytes], bytes]] = []
            for k in range(len(proof)):  # one flipped bit in each proof hash
                bad.append(
                    (leaf, i, n, [*proof[:k], _flip(proof[k], rng.randrange(256)), *proof[k + 1 :]], root)
                )
            bad += [(leaf, j, n, proof, root) for j in (i - 1, i + 1, i ^ 2) if j != i]  # wrong index
            bad += [(leaf, i, n * 2, proof, root), (leaf, i, n // 2, proof, root)]  # wrong size
            bad += [(leaf, i, n, proof, _flip(root, rng.randrange(256))), (leaf, i, n, proof, ROOT[n - 1])]
            bad += [(_flip(leaf, 0), i, n, proof, root)]
            bad += [(leaf, i, n, [*proof, rng.randbytes(32)], root), (leaf, i, n, [b"\0" * 32, *proof], root)]
            if proof:
                bad += [(leaf, i, n, proof[:-1], root), (leaf, i, n, [], root), (leaf, i, n, proof[1:], root)]
            for case in bad:
                assert not verify(*case), (i, n, case[1:3])
                checked += 1
    assert checked > 8_000


def test_broken_consistency_proofs_are_all_rejected() -> None:
    rng = random.Random(6962)
    verify = auditverify.verify_consistency
    for n in range(2, N + 1):
        for m in range(1, n):
            proof, r1, r2 = TREE.consistency_proof(m, n), ROOT[m], ROOT[n]
            bad = [(m, n, r1, r2, [*proof[:k], _flip(proof[k], rng.randrange(256)), *proof[k + 1 :]])
                   for k in range(len(proof))]  # fmt: skip
            bad += [(m, n * 2, r1, r2, proof), (m, max(m, n // 2), r1, r2, proof)]
            bad += [(m * 2, n, r1, r2, proof)] if m * 2 <= n else []
            bad += [(m // 2, n, r1, r2, proof)] if m > 1 else []
            bad += [(m, n, _flip(r1, 3), r2, proof), (m, n, r1, _flip(r2, 200), proof), (m, n, r2, r1, proof)]
            bad += [
                (m, n, r1, r2, proof[:-1]),
                (m, n, r1, r2, [*proof, rng.randbytes(32)]),
                (m, n, r1, r2, []),
            ]
            bad += [(n, m, r2, r1, proof)]  # sizes swapped
            for case in bad:
                assert not verify(*case), (m, n, case[:2])


@pytest.mark.parametrize(("index", "size"), [(0, 0), (-1, 0), (0, N + 1), (N, N), (-1, 5), (5, 5)])
def test_impossible_inclusion_requests_get_no_proof(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="no inclusion proof"):
        TREE.inclusion_proof(index, size)
    assert not auditverify.verify_inclusion(HASHES[0], index, size, [], ROOT[1])


@pytest.mark.parametrize(("first", "second"), [(0, 0), (-1, 0), (0, 5), (6, 5), (1, N + 1), (N + 1, N + 1)])
def test_impossible_consistency_requests_get_no_proof(first: int, second: int) -> None:
    with pytest.raises(ValueError, match="no consistency proof"):
        TREE.consistency_proof(first, second)


def test_roots_beyond_the_tree_and_malformed_frontiers_are_refused() -> None:
    with pytest.raises(ValueError, match="no tree of size"):
        TREE.root(N + 1)
    with pytest.raises(ValueError, match="32-byte hashes"):
        Frontier(3, [b"\0" * 32])  # size 3 needs two subtree hashes
    assert not auditverify.verify_inclusion(HASHES[0], 0, 2, [b"short"], ROOT[2])
