"""The command line as a user runs it: a real process, a real SQLite file, real sample files."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from tests.cli.floor import ENV, seed_floor
from watchfloor.cli.main import typer_app
from watchfloor.store.engine import open_store

FIXTURES = Path(__file__).parent.parent / "fixtures"
JETSTREAM = FIXTURES / "bluesky" / "jetstream_v1.jsonl"
PHEME = FIXTURES / "twitter" / "pheme_v1.jsonl"
TWARC_BAD = FIXTURES / "twitter" / "twarc2_streaming_output_with_error.jsonl"
CRISISLEX = FIXTURES / "generic_csv" / "crisislex_t6_sandy_head.csv"


def wf(
    db: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI on ``db`` (seeded with users and basis 1 on first use) as ana under basis 1."""
    if not db.exists():
        seed_floor(str(db))
    done = subprocess.run(
        [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **ENV, **(env or {})},
    )
    assert "Traceback" not in done.stderr, done.stderr
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "posts.db"


def test_import_detects_formats_reports_and_is_idempotent(db: Path) -> None:
    first = wf(db, "import", str(JETSTREAM), str(PHEME))
    assert "(bluesky-jetstream)" in first.stdout and "(twitter-v1)" in first.stdout
    assert "skipped" in first.stdout  # likes and follows are counted, not dropped
    stats = json.loads(wf(db, "stats", "--format", "json").stdout)
    again = wf(db, "import", str(JETSTREAM), str(PHEME))
    assert " 0 new posts" in again.stdout
    assert json.loads(wf(db, "stats", "--format", "json").stdout)["posts"] == stats["posts"] > 0


def _import_batches(db: Path) -> list[int]:
    """Records per ``posts.import_batch`` audit event, oldest first."""
    store = open_store(str(db))
    try:
        with store.snapshot() as view:
            events = view.audit_events(limit=1000)
    finally:
        store.close()
    return [int(e.details["records"]) for e in reversed(events) if e.action == "posts.import_batch"]


def test_bulk_import_stores_large_fixed_batches(db: Path, tmp_path: Path) -> None:
    small = {"WATCHFLOOR_BATCH_SIZE": "20", "WATCHFLOOR_IMPORT_WRITE_MS": "1"}
    paced = wf(db, "import", str(JETSTREAM), env=small)
    batches = _import_batches(db)
    assert len(batches) > 1  # paced: several small transactions
    bulk_db = tmp_path / "bulk.db"
    bulk = wf(bulk_db, "import", "--bulk", str(JETSTREAM), env=small)
    assert _import_batches(bulk_db) == [sum(batches)]  # the whole file in one transaction
    assert bulk.stdout.split(":", 1)[1] == paced.stdout.split(":", 1)[1]  # and the same result
    assert "--bulk" in wf(db, "import", "--help").stdout


def test_generic_csv_with_column_map_then_search_and_export(db: Path, tmp_path: Path) -> None:
    wf(
        db,
        "import",
        str(CRISISLEX),
        "--format",
        "csv",
        "--platform",
        "twitter",
        "--map",
        "native_id=tweet id",
        "--map",
        "text=tweet",
        "--map",
        "created_at=snowflake:tweet id",
    )
    found = wf(db, "search", "sandy", "--format", "ndjson", "--limit", "5").stdout.splitlines()
    assert 0 < len(found) <= 5
    posts = [json.loads(line) for line in found]
    assert all("sandy" in p["text"].casefold() for p in posts)
    assert [p["created_at"] for p in posts] == sorted((p["created_at"] for p in posts), reverse=True)

    direct = wf(db, "export", "sandy", "--format", "csv", "-o", str(tmp_path / "x.csv"), check=False)
    assert direct.returncode == 2 and "exports request" in direct.stderr  # nothing leaves unreviewed
    assert not (tmp_path / "x.csv").exists()
    requested = wf(
        db, "exports", "request", "sandy", "--recipient", "press", "--title", "Sandy", "--format", "csv"
    )
    match = re.search(r"Export (\d+) requested: \d+ posts, SHA-256 ([0-9a-f]{64})", requested.stdout)
    assert match, requested.stdout
    export_id, sha = match.groups()
    wf(db, "--as", "rita", "exports", "approve", export_id, "--sha256", sha)
    out = tmp_path / "out.csv"
    wf(db, "exports", "release", export_id, "-o", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) >= len(found)
    assert wf(db, "verify-export", str(out)).returncode == 0
    assert all(r["platform"] == "twitter" and r["created_at"].startswith("2012-") for r in rows)


def test_malformed_records_are_quarantined_with_their_line_and_the_rest_imported(db: Path) -> None:
    result = wf(db, "import", str(TWARC_BAD))
    assert "quarantined" in result.stderr
    listed = wf(db, "quarantine", "list", "--format", "ndjson").stdout.splitlines()
    entries = [json.loads(line) for line in listed]
    assert entries and all(
        e["line"] and e["reason"] and e["source"].endswith(TWARC_BAD.name) for e in entries
    )
    assert json.loads(wf(db, "stats", "--format", "json").stdout)["posts"] > 0
    strict = wf(db, "import", "--strict", str(TWARC_BAD), check=False)
    assert strict.returncode == 1


def test_unknown_format_and_missing_file_exit_2_with_a_message(db: Path, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("just some words\nnothing structured\n")
    result = wf(db, "import", str(junk), check=False)
    assert result.returncode == 2
    assert "could not recognise the file format" in result.stderr and "--format" in result.stderr
    missing = wf(db, "import", str(tmp_path / "nope.jsonl"), check=False)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_a_query_error_points_at_the_column(db: Path) -> None:
    result = wf(db, "search", 'flood "water rising', check=False)
    assert result.returncode == 2
    assert "Query error" in result.stderr and "^" in result.stderr


def test_every_command_has_help_with_examples(db: Path) -> None:
    for command in ("import", "search", "export", "stats", "demo"):
        text = wf(db, command, "--help").stdout
        assert "Example" in text, command


def test_every_command_in_the_tree_documents_an_example() -> None:
    missing: list[str] = []

    def walk(command: object, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, [*path, name])
        elif "Example" not in (getattr(command, "help", None) or ""):
            missing.append(" ".join(path))

    walk(typer.main.get_command(typer_app), [])
    assert missing == []


def test_demo_loads_bundled_data_and_prints_working_queries(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "watchfloor.cli.main", "demo", "--folder", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "Traceback" not in done.stderr
    counts = [
        int(line.split("]")[0].strip(" [").replace(",", ""))
        for line in done.stdout.splitlines()
        if line.strip().startswith("[")
    ]
    assert counts and all(c > 0 for c in counts)


def test_a_usage_error_is_a_message_not_a_bug_report(db: Path) -> None:
    for args in (("search", "--bogus", "x"), ("nosuch",), ("rules", "add", "Name")):
        done = wf(db, *args, check=False)
        assert done.returncode == 2, (args, done.stderr)
        assert "Error:" in done.stderr and "Unexpected error" not in done.stderr
