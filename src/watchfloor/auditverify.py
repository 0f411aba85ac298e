"""The independent audit-log verifier: recompute everything from the stored rows and trust nothing else.

It imports nothing from watchfloor — only the standard library, and ``cryptography`` for Ed25519 — and
shares no code with the writer (``watchfloor.accountability``), so a bug in one is not silently
repeated in the other. An auditor can read this one file, copy it, and run it on a copy of a SQLite
database (``watchfloor audit verify`` feeds it the rows of either database)::

    python auditverify.py watchfloor.db --checkpoint kept.txt --key 'floor.example.org/audit+1a2b3c4d+AU...'

It checks that every leaf hashes to its stored hash, that sequence numbers run 0, 1, 2, ... without
gaps, that every leaf is canonical and names its own position, that the listing columns repeat the
leaf, and that the RFC 9162 tree of the recomputed hashes has, at each checkpoint's size, that
checkpoint's root, signed by a trusted key. docs/auditor-guide.md says which tampering each check
catches. It also verifies inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs for witnesses.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
Row = tuple[int, int, str, str, bytes, bytes]  # seq, at_us, actor, action, leaf, leaf_hash
_LEAF_KEYS = {
    "v", "seq", "at", "actor", "action", "objects", "basis_id", "purpose", "outcome", "details", "request_id",
}  # fmt: skip
_ROOT_LINE = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")  # canonical base64 of 32 bytes
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # noqa: UP017  (kept runnable on older Pythons)
_MAX_PROBLEMS = 100


def hash_leaf(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class RunningRoot:
    """The tree hash of a growing list of leaf hashes, kept as a stack of (height, subtree hash)."""

    def __init__(self) -> None:
        self.count = 0
        self._stack: list[tuple[int, bytes]] = []

    def push(self, leaf_hash: bytes) -> None:
        height, node = 0, leaf_hash
        while self._stack and self._stack[-1][0] == height:
            node = hash_children(self._stack.pop()[1], node)
            height += 1
        self._stack.append((height, node))
        self.count += 1

    def root(self) -> bytes:
        node = self._stack[-1][1] if self._stack else EMPTY_ROOT
        for _height, left in reversed(self._stack[:-1]):
            node = hash_children(left, node)
        return node


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """The RFC 9162 Merkle tree hash of the given leaf hashes."""
    running = RunningRoot()
    for leaf_hash in leaf_hashes:
        running.push(leaf_hash)
    return running.root()


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show the leaf at ``index`` in the tree of ``size`` with ``root``?"""
    if not 0 <= index < size or any(len(h) != HASH_SIZE for h in (leaf_hash, root, *proof)):
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hash_children(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (size1, root1) a prefix of the tree (size2, root2)?"""
    if not 0 <= size1 <= size2 or any(len(h) != HASH_SIZE for h in (root1, root2, *proof)):
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof and root1 == EMPTY_ROOT
    if not proof:
        return False
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = hash_children(c, fr), hash_children(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = hash_children(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root1 and sr == root2


@dataclass(frozen=True)
class VerifierKey:
    """A trusted Ed25519 note key: ``<name>+<key id hex>+base64(0x01 || public key)``."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse a verifier key string; ValueError says what is wrong with it."""
    parts = text.strip().split("+", 2)  # base64 may itself contain "+"
    if len(parts) != 3 or not parts[0] or len(parts[1]) != 8:
        raise ValueError("a verifier key looks like <name>+<8 hex digits>+<base64>")
    name, hex_id, encoded = parts
    try:
        blob = base64.b64decode(encoded, validate=True)
        want_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise ValueError("the verifier key's id or key is not valid hex/base64") from None
    if len(blob) != 33 or blob[0] != 1:
        raise ValueError("the verifier key is not an Ed25519 note key (type 0x01, 32 bytes)")
    if hashlib.sha256(name.encode("utf-8") + b"\n" + blob).digest()[:4] != want_id:
        raise ValueError("the verifier key's id does not match its name and key")
    return VerifierKey(name, want_id, Ed25519PublicKey.from_public_bytes(blob[1:]))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint (C2SP tlog-checkpoint) whose log signature verified with a trusted key."""

    origin: str
    size: int
    root: bytes


def open_checkpoint(note: str, keys: Sequence[VerifierKey]) -> SignedCheckpoint:
    """Verify and parse a checkpoint note; ValueError says why it cannot be trusted."""
    if any(ch < " " and ch != "\n" for ch in note):
        raise ValueError("the note contains control characters")
    text, sep, block = note.rpartition("\n\n")
    if not sep or not block.endswith("\n"):
        raise ValueError("not a signed note (no blank line before the signature lines)")
    text += "\n"
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise ValueError("a checkpoint needs origin, size and root lines")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit() or not size_text.isascii() or str(int(size_text)) != size_text:
        raise ValueError(f"tree size {size_text!r} is not a decimal number without leading zeros")
    if not _ROOT_LINE.fullmatch(root_text):
        raise ValueError("the root hash line is not the base64 of 32 bytes")
    root = base64.b64decode(root_text)
    signed = False
    for line in block[:-1].split("\n"):
        match = re.fullmatch(r"\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})", line)
        if match is None:
            raise ValueError(f"malformed signature line {line[:60]!r}")
        blob = base64.b64decode(match.group(2))
        for key in keys:
            if key.name != match.group(1) or key.key_id != blob[:4]:
                continue  # ignore signatures by keys we do not know (witnesses, rotated keys)
            try:
                key.public_key.verify(blob[4:], text.encode("utf-8"))
            except InvalidSignature:
                raise ValueError(
                    f"the signature by {key.name} does not verify: the note was altered"
                ) from None
            signed = signed or key.name == origin
    if not signed:
        raise ValueError(f"no valid signature by a trusted key for the log {origin!r}")
    return SignedCheckpoint(origin, int(size_text), root)


def check_leaf(seq: int, at_us: int, actor: str, action: str, leaf: bytes) -> str | None:
    """What is wrong with a stored leaf and its listing columns, or None."""
    try:
        text = leaf.decode("ascii")
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return f"event {seq:,}: its leaf is not ASCII JSON"
    if not isinstance(document, dict) or set(document) != _LEAF_KEYS or document["v"] != 1:
        return f"event {seq:,}: its leaf is not a version-1 audit leaf"
    if json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True) != text:
        return f"event {seq:,}: its leaf is not in canonical form"
    if document["seq"] != seq or isinstance(document["seq"], bool):
        return f"event {seq:,}: its leaf says it is event {document['seq']!r} (moved or renumbered)"
    at = document["at"]
    if not isinstance(at, str) or not _AT.fullmatch(at):
        return f"event {seq:,}: its leaf's time {at!r} is not in the canonical format"
    when = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)  # noqa: UP017
    if (when - _EPOCH) // timedelta(microseconds=1) != at_us:
        return f"event {seq:,}: its at_us column disagrees with its leaf"
    if document["actor"] != actor:
        return f"event {seq:,}: its actor column says {actor!r} but its leaf says {document['actor']!r}"
    if document["action"] != action:
        return f"event {seq:,}: its action column says {action!r} but its leaf says {document['action']!r}"
    return None


@dataclass
class Report:
    """The verdict: the recomputed tree, every problem found, and what was checked and held."""

    size: int = 0
    root: bytes = EMPTY_ROOT
    problems: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    more_problems: int = 0
    stored_ok: int = 0  # stored checkpoints that matched (counted: there may be one a minute)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.more_problems += 1


def verify_log(
    rows: Iterable[Row],
    *,
    stored: Iterable[tuple[int, bytes, str]] = (),
    kept: Iterable[tuple[str, str]] = (),
    keys: Sequence[VerifierKey] = (),
) -> Report:
    """Verify the log ``rows`` (in seq order) against its ``stored`` checkpoints (size, root, note) and
    the checkpoints an auditor ``kept`` ((label, note) pairs), trusting only ``keys``."""
    report = Report()
    targets: dict[int, list[tuple[str, bytes, bool]]] = {}
    for label, note in kept:
        try:
            checkpoint = open_checkpoint(note, keys)
        except ValueError as exc:
            report.problem(f"checkpoint {label} cannot be trusted: {exc}")
            continue
        targets.setdefault(checkpoint.size, []).append((f"checkpoint {label}", checkpoint.root, True))
    unsigned = 0
    for size, root, note in stored:
        label = f"the stored checkpoint of size {size:,}"
        if keys:
            try:
                checkpoint = open_checkpoint(note, keys)
            except ValueError as exc:
                report.problem(f"{label} cannot be trusted: {exc}")
                continue
            if (checkpoint.size, checkpoint.root) != (size, _blob(root)):
                report.problem(f"{label}: its size or root column disagrees with its signed note")
        else:
            unsigned += 1
        targets.setdefault(size, []).append((label, _blob(root) or b"", False))
    if unsigned:
        report.passed.append(f"signatures of {unsigned:,} stored checkpoints not checked: no key given")

    running, expected = RunningRoot(), 0
    _check_targets(report, targets, running)
    for row in rows:
        running.push(_check_row(report, row, expected))
        expected = max(expected, row[0] + 1)
        _check_targets(report, targets, running)
    report.size, report.root = running.count, running.root()
    if report.stored_ok:
        report.passed.append(f"{report.stored_ok:,} stored checkpoints match the recomputed tree")
    for size in sorted(s for s in targets if s > running.count):
        for label, _root, is_kept in targets[size]:
            if is_kept:
                report.problem(
                    f"tree of size {running.count:,} is not consistent with {label} of size {size:,}: "
                    "rolled back (restored from an older backup?) or truncated"
                )
            else:
                report.problem(
                    f"{label} covers more events than the log holds ({running.count:,}): truncated?"
                )
    return report


def _events(count: int) -> str:
    return "1 event" if count == 1 else f"{count:,} events"


def _blob(value: object) -> bytes | None:
    """A BLOB column's bytes; text (a column rewritten as a string) by its UTF-8 bytes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else None


def _check_row(report: Report, row: Row, expected: int) -> bytes:
    """Check one row against its position and its own leaf; return the recomputed leaf hash."""
    seq, at_us, actor, action, leaf_value, stored_hash = row
    if seq > expected:
        gap = f"event {expected:,} is" if seq == expected + 1 else f"events {expected:,}-{seq - 1:,} are"
        report.problem(f"{gap} missing (deleted?)")
    elif seq < 0:
        report.problem(f"a row has the impossible sequence number {seq:,} (inserted?)")
    elif seq < expected:
        report.problem(f"event {seq:,} appears again after event {expected - 1:,}")
    leaf = _blob(leaf_value)
    if leaf is None:
        report.problem(f"event {seq:,} has no leaf")
        leaf = b""
    computed = hash_leaf(leaf)
    if computed != _blob(stored_hash):
        report.problem(f"leaf {seq:,} does not match its stored hash")
    trouble = check_leaf(seq, at_us, actor, action, leaf)
    if trouble:
        report.problem(trouble)
    return computed


def _check_targets(
    report: Report, targets: dict[int, list[tuple[str, bytes, bool]]], running: RunningRoot
) -> None:
    wanted = targets.get(running.count)
    if not wanted:
        return
    root = running.root()
    for label, want, is_kept in wanted:
        if root == want and not is_kept:
            report.stored_ok += 1
        elif root == want:
            report.passed.append(f"the tree of the first {_events(running.count)} has the root of {label}")
        else:
            report.problem(
                f"the tree of the first {_events(running.count)} does not have the root of {label}: "
                "history was edited, reordered, inserted into or rewritten"
            )


def read_sqlite(path: str) -> tuple[Iterator[Row], list[tuple[int, bytes, str]]]:
    """The audit rows and stored checkpoints of a watchfloor SQLite database, opened read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    stored = conn.execute("SELECT size, root, note FROM audit_checkpoints ORDER BY size").fetchall()
    rows = conn.execute("SELECT seq, at_us, actor, action, leaf, leaf_hash FROM audit_events ORDER BY seq")
    return iter(rows), stored


def main(argv: Sequence[str] | None = None) -> int:
    """Verify a SQLite database from the command line; exit 0 if it verifies, 1 if not, 2 on bad input."""
    parser = argparse.ArgumentParser(description="Verify a watchfloor audit log, trusting nothing in it.")
    parser.add_argument("database", help="a copy of the watchfloor SQLite database")
    parser.add_argument("--checkpoint", action="append", default=[], help="a checkpoint you kept")
    parser.add_argument("--key", action="append", default=[], help="a trusted verifier key")
    args = parser.parse_args(argv)
    try:
        keys = [parse_verifier_key(k) for k in args.key]
        kept = [(path, Path(path).read_text(encoding="utf-8")) for path in args.checkpoint]
        rows, stored = read_sqlite(args.database)
        report = verify_log(rows, stored=stored, kept=kept, keys=keys)
    except (OSError, ValueError, sqlite3.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("".join(f"ok: {line}\n" for line in report.passed), end="")
    print("".join(f"FAILED: {line}\n" for line in report.problems), end="")
    if report.more_problems:
        print(f"FAILED: ... and {report.more_problems:,} more problems")
    root = base64.b64encode(report.root).decode("ascii")
    print(f"{'verified' if report.ok else 'NOT VERIFIED'}: {_events(report.size)}, root {root}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
