"""The audit log's Merkle tree (RFC 9162 §2.1): tree hashes, inclusion proofs and consistency proofs.

Leaves hash as SHA-256(0x00 || leaf) and nodes as SHA-256(0x01 || left || right); a tree of n > 1
leaves splits at k, the largest power of two smaller than n. Two structures serve two needs:

- :class:`Frontier` is the compact "right edge" of a tree: one hash per set bit of its size. The
  checkpoint signer keeps it with every checkpoint, so signing the next one hashes only the leaves
  added since (O(new leaves) time, O(log n) memory), never the whole log again.
- :class:`MerkleTree` keeps every complete subtree hash, level by level, in flat byte arrays (64 bytes
  per leaf in all), so roots at any size and proofs cost O(log n) hash lookups once it is built.

This is the writer's code. :mod:`watchfloor.auditverify` verifies what it produces with code of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from watchfloor.domain.audit import leaf_hash

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) per RFC 9162 §2.1.1

__all__ = ["EMPTY_ROOT", "HASH_SIZE", "Frontier", "MerkleTree", "leaf_hash", "node_hash"]


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The roots of the perfect subtrees making up a tree of ``size`` leaves, largest (leftmost) first."""

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count() or any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"a frontier of size {size} needs {max(size, 0).bit_count()} 32-byte hashes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, hashed_leaf: bytes) -> None:
        """Add one leaf hash; equal-sized subtrees on the right merge, like carries in binary addition."""
        self.hashes.append(hashed_leaf)
        self.size += 1
        carries = (self.size & -self.size).bit_length() - 1  # trailing zero bits of the new size
        for _ in range(carries):
            right = self.hashes.pop()
            self.hashes[-1] = node_hash(self.hashes[-1], right)

    def root(self) -> bytes:
        """MTH of the tree: fold the subtree roots from the right."""
        if not self.hashes:
            return EMPTY_ROOT
        acc = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            acc = node_hash(left, acc)
        return acc

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)


class MerkleTree:
    """An append-only tree of leaf hashes that answers roots and proofs for any size up to its own."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        # _levels[h] holds the hashes of the complete subtrees of 2**h leaves, left to right.
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        for hashed in leaf_hashes:
            self.append(hashed)

    @property
    def size(self) -> int:
        return self._size

    def append(self, hashed_leaf: bytes) -> None:
        """Add a leaf hash; completes O(1) subtrees on average (O(log n) at worst)."""
        if len(hashed_leaf) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        self._levels[0] += hashed_leaf
        self._size += 1
        level = 0
        while (self._size >> level) & 1 == 0:  # this level just gained its second child of a pair
            if level + 1 == len(self._levels):
                self._levels.append(bytearray())
            row = self._levels[level]
            self._levels[level + 1] += node_hash(
                bytes(row[-2 * HASH_SIZE : -HASH_SIZE]), bytes(row[-HASH_SIZE:])
            )
            level += 1

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def _hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range the RFC recursion produces (``start`` aligned to its left split)."""
        n = end - start
        if n & (n - 1) == 0:  # a perfect subtree, aligned: stored
            level = n.bit_length() - 1
            return self._node(level, start >> level)
        k = _split(n)
        return node_hash(self._hash(start, start + k), self._hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """The tree hash of the first ``size`` leaves (default: all of them)."""
        size = self._size if size is None else size
        if not 0 <= size <= self._size:
            raise ValueError(f"no tree of size {size}: the tree has {self._size} leaves")
        return EMPTY_ROOT if size == 0 else self._hash(0, size)

    def leaf(self, index: int) -> bytes:
        """The hash of leaf ``index``."""
        if not 0 <= index < self._size:
            raise ValueError(f"no leaf {index}: the tree has {self._size} leaves")
        return self._node(0, index)

    def frontier(self, size: int | None = None) -> Frontier:
        """The compact right edge of the tree of ``size`` leaves (what a checkpoint keeps)."""
        size = self._size if size is None else size
        if not 0 <= size <= self._size:
            raise ValueError(f"no tree of size {size}: the tree has {self._size} leaves")
        hashes, offset = [], 0
        for level in reversed(range(size.bit_length())):
            if size >> level & 1:
                hashes.append(self._node(level, offset >> level))
                offset += 1 << level
        return Frontier(size, hashes)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf to root; ``ValueError`` if there is none."""
        if not 0 <= index < size <= self._size:
            raise ValueError(f"no inclusion proof for leaf {index} in a tree of size {size}")
        return self._path(index, 0, size)

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*self._path(m, start, start + k), self._hash(start + k, end)]
        return [*self._path(m - k, start + k, end), self._hash(start, start + k)]

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1; empty when the sizes are equal.

        ``ValueError`` unless 0 < first <= second <= size: there is nothing to prove about an empty tree,
        and no proof can reach beyond the leaves the tree has.
        """
        if not 0 < first <= second <= self._size:
            raise ValueError(f"no consistency proof from size {first} to size {second}")
        if first == second:
            return []
        return self._subproof(first, 0, second, complete=True)

    def _subproof(self, m: int, start: int, end: int, *, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self._hash(start, end)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete=complete), self._hash(start + k, end)]
        return [*self._subproof(m - k, start + k, end, complete=False), self._hash(start, start + k)]
