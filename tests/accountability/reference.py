"""RFC 9162 §2.1 written out literally, as slow recursive functions over lists: the yardstick.

Nothing here is clever; each function is the RFC's definition transcribed, so the writer
(``watchfloor.accountability.merkle``) and the verifier (``watchfloor.auditverify``) are both checked
against the text of the standard rather than against each other.
"""

from __future__ import annotations

import hashlib


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaf_hashes: list[bytes]) -> bytes:
    n = len(leaf_hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hashes[0]
    k = split(n)
    return node(mth(leaf_hashes[:k]), mth(leaf_hashes[k:]))


def path(m: int, hashes: list[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = split(n)
    if m < k:
        return [*path(m, hashes[:k]), mth(hashes[k:])]
    return [*path(m - k, hashes[k:]), mth(hashes[:k])]


def subproof(m: int, hashes: list[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [mth(hashes)]
    k = split(n)
    if m <= k:
        return [*subproof(m, hashes[:k], complete), mth(hashes[k:])]
    return [*subproof(m - k, hashes[k:], False), mth(hashes[:k])]


def proof(m: int, hashes: list[bytes]) -> list[bytes]:
    return subproof(m, hashes, True)
