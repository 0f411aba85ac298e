"""The reviewed-export flow, cases, holds and the purge as users run them: real processes, a real file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.floor import ENV, seed_floor

POSTS = [
    ("31", "flood water over the weir at Castle Mill"),
    ("32", "flood sirens tested at noon in the old town"),
    ("33", "a quiet morning at the market"),
]


def wf(db: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """Run the CLI on ``db`` (users of tests/cli/floor.py and basis 1) as ana unless --as says otherwise."""
    if not db.exists():
        seed_floor(str(db))
    done = subprocess.run(
        [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **ENV},
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, done.stdout + done.stderr
    return done


@pytest.fixture
def db(tmp_path: Path) -> Path:
    db = tmp_path / "floor.db"
    posts = tmp_path / "posts.csv"
    rows = [f'"{n}","user{n}","2026-11-01T10:00:00Z","{t}"' for n, t in POSTS]
    posts.write_text("id,author,created_at,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    wf(db, "import", str(posts), "--format", "csv", "--platform", "twitter")
    return db


def test_export_flow_end_to_end(db: Path, tmp_path: Path) -> None:
    old = wf(db, "export", "flood", "--format", "csv", "-o", "out.csv", code=2)
    assert "watchfloor exports request flood" in old.stderr and "-o out.csv" in old.stderr
    assert "--recipient" in wf(db, "exports", "request", "--help").stdout

    requested = wf(
        db, "exports", "request", "flood", "--recipient", "County cell", "--title", "Weir", "--format", "csv"
    )
    match = re.search(r"Export (\d+) requested: 2 posts, SHA-256 ([0-9a-f]{64})", requested.stdout)
    assert match, requested.stdout
    export_id, sha = match.groups()
    assert f"watchfloor exports approve {export_id} --sha256 {sha}" in requested.stdout

    own = wf(db, "exports", "approve", export_id, "--sha256", sha, code=1)
    assert "a second person must do it" in own.stderr
    early = wf(db, "exports", "release", export_id, "-o", str(tmp_path / "early.csv"), code=1)
    assert "pending" in early.stderr and not (tmp_path / "early.csv").exists()

    review = tmp_path / "review.csv"
    shown = wf(db, "--as", "rita", "exports", "review", export_id, "-o", str(review))
    assert f"--sha256 {sha}" in shown.stderr and review.read_text(encoding="utf-8").count("flood") == 2
    wrong = wf(db, "--as", "rita", "exports", "approve", export_id, "--sha256", "0" * 64, code=1)
    assert "content changed since you reviewed it" in wrong.stderr
    wf(db, "--as", "rita", "exports", "approve", export_id, "--sha256", sha)
    assert "approved" in wf(db, "exports", "list", "--status", "approved").stdout

    out = tmp_path / "weir.csv"
    released = wf(db, "exports", "release", export_id, "-o", str(out))
    assert "unsigned" in released.stdout and out.read_bytes() == review.read_bytes()
    shown_after = wf(db, "exports", "show", export_id).stdout
    assert "(released)" in shown_after and "approved by rita" in shown_after

    ok = wf(db, "verify-export", str(out))
    assert ok.stdout.rstrip().endswith("verified") and "approved by rita" in ok.stdout
    content = bytearray(out.read_bytes())
    content[-3] ^= 0x20
    out.write_bytes(bytes(content))
    bad = wf(db, "verify-export", str(out), code=1)
    assert "FAILED: item 2 (post" in bad.stdout and "NOT VERIFIED" in bad.stdout
    missing = wf(db, "verify-export", str(tmp_path / "nope.csv"), code=2)
    assert "cannot read" in missing.stderr


def test_cases_holds_and_purge(db: Path, tmp_path: Path) -> None:
    opened = wf(db, "cases", "open", "Castle Mill weir")
    assert "case 1: Castle Mill weir (open; owner ana; basis 1" in opened.stdout
    assert "legal basis 99 does not exist" in wf(db, "cases", "open", "x", "--basis", "99", code=2).stderr
    assert "Castle Mill weir" in wf(db, "--as", "bo", "cases", "list").stdout
    wf(db, "--as", "sam", "holds", "place", "case", "1", "--reason", "Coroner request 118")
    assert "Coroner request 118" in wf(db, "cases", "show", "1").stdout
    assert "case 1" in wf(db, "--as", "root", "holds", "list").stdout
    assert "(closed;" in wf(db, "cases", "close", "1", "--summary", "resolved").stdout

    notices = tmp_path / "deleted.jsonl"
    notices.write_text('{"delete":{"status":{"id_str":"33"}}}\n', encoding="utf-8")
    wf(db, "import", str(notices), "--format", "twitter-v1")
    denied = wf(db, "purge", code=1)
    assert "may not run the retention purge" in denied.stderr
    preview = wf(db, "--as", "root", "purge", "--dry-run")
    assert "Would remove 0 closed cases, 0 alerts and 1 posts" in preview.stdout
    done = wf(db, "--as", "root", "purge")
    assert "Removed 0 closed cases, 0 alerts and 1 posts" in done.stdout
    assert "(0 unmatched, 0 of expired alerts, 1 deleted by their platform)" in done.stdout
    assert "and 0 posts" in wf(db, "--as", "root", "purge").stdout
    log = wf(db, "--as", "audrey", "audit", "log", "--action", "retention.purge").stdout
    assert log.count("retention.purge") >= 2
    wf(db, "--as", "audrey", "audit", "verify")
