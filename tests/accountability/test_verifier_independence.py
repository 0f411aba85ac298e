"""The verifier is independent of the writer, and the two agree on every log they are given."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from watchfloor import auditverify
from watchfloor.accountability.merkle import Frontier, MerkleTree
from watchfloor.domain.audit import AuditEvent, encode_leaf, leaf_hash

VERIFIER = Path(auditverify.__file__)
ALLOWED = {
    "__future__",
    "argparse",
    "base64",
    "binascii",
    "collections",
    "dataclasses",
    "datetime",
    "hashlib",
}
ALLOWED |= {"json", "pathlib", "re", "sqlite3", "sys", "cryptography"}


def test_the_verifier_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(VERIFIER.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add((node.module or "").split(".")[0])
    assert imported <= ALLOWED, imported - ALLOWED


def test_the_verifier_runs_as_a_lone_copied_file(tmp_path: Path) -> None:
    """What an auditor does: copy the one file elsewhere and run it with a plain Python."""
    copy = tmp_path / "auditverify.py"
    copy.write_bytes(VERIFIER.read_bytes())
    done = subprocess.run(
        [sys.executable, "-I", str(copy), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Verify a watchfloor audit log" in done.stdout


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=48), max_size=200))
def test_writer_and_verifier_compute_the_same_roots(leaves: list[bytes]) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    assert hashes == [auditverify.hash_leaf(leaf) for leaf in leaves]
    tree, frontier, running = MerkleTree(hashes), Frontier(), auditverify.RunningRoot()
    for n, hashed in enumerate(hashes, start=1):
        frontier.append(hashed)
        running.push(hashed)
        assert tree.root(n) == frontier.root() == running.root()
    assert tree.root() == auditverify.root_of(hashes)


EVENTS = st.builds(
    dict,
    actor=st.text(min_size=1, max_size=20).filter(lambda s: s.isprintable()),
    action=st.sampled_from(["posts.search", "posts.view", "alerts.claim", "exports.create", "audit.read"]),
    object_ids=st.lists(st.from_regex(r"(post|alert|rule|case):[0-9]{1,12}", fullmatch=True), max_size=4),
    purpose=st.none() | st.text(max_size=40),
    details=st.dictionaries(
        st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True).filter(
            lambda k: k not in {"text", "body", "content"}
        ),
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20),
        max_size=4,
    ),
    seconds=st.integers(0, 10**6),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(EVENTS, max_size=40))
def test_the_verifier_accepts_every_log_the_writer_produces(events: list[dict[str, object]]) -> None:
    """Leaf encodings from the writer pass the verifier's canonical checks, and both see one root."""
    base = datetime(2026, 11, 30, tzinfo=UTC)
    rows, frontier = [], Frontier()
    for seq, values in enumerate(events):
        at = base + timedelta(seconds=values["seconds"])  # type: ignore[arg-type]
        event = AuditEvent(
            seq=seq,
            at=at,
            actor=values["actor"],  # type: ignore[arg-type]
            action=values["action"],  # type: ignore[arg-type]
            object_ids=tuple(values["object_ids"]),  # type: ignore[call-overload]
            purpose=values["purpose"],  # type: ignore[arg-type]
            details=values["details"],  # type: ignore[arg-type]
        )
        leaf = encode_leaf(event)
        at_us = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        rows.append((seq, at_us, event.actor, event.action, leaf, leaf_hash(leaf)))
        frontier.append(leaf_hash(leaf))
    report = auditverify.verify_log(rows)
    assert report.ok, report.problems
    assert (report.size, report.root) == (len(events), frontier.root())
