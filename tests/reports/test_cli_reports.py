"""`watchfloor report ...` and the rule linter commands as a user runs them: a real process and file."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watchfloor.config import Settings
from watchfloor.wiring import build_context


def wf(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "floor.db"
    wf(path, "init", "--admin", "root")
    wf(path, "--as", "root", "users", "add", "ana", "--roles", "analyst")
    wf(path, "--as", "root", "users", "add", "sam", "--roles", "supervisor")
    wf(path, "--as", "root", "users", "add", "sue", "--roles", "supervisor,auditor")
    context = build_context(Settings(database_url=str(path)))
    with context.store.transaction() as tx:
        tx.create_basis(
            title="Flood response",
            authority="Civil Contingencies Act",
            purpose="Find people needing rescue",
            necessity="Public posts only",
            owner="sam",
            review_at=None,
            expires_at=None,
            created_by="sam",
            at=datetime.now(UTC),
        )
    context.store.close()
    return path


def test_sensitive_rule_flow_on_the_command_line(db: Path) -> None:
    lint = wf(db, "rules", "lint", '#BlackLivesMatter OR "إن شاء الله" OR flood')
    assert "#blacklivesmatter" in lint.stdout and "إن شاء الله" in lint.stdout and "religion" in lint.stdout
    assert "--justification" in lint.stderr
    assert "No sensitive terms" in wf(db, "rules", "lint", "flood NOT protest").stdout

    refused = wf(
        db, "--as", "ana", "--basis", "1", "rules", "add", "Rally", "-q", "protest AND gun", check=False
    )
    assert refused.returncode == 2 and "--justification" in refused.stderr and "protest" in refused.stderr

    added = wf(db, "--as", "ana", "--basis", "1", "rules", "add", "Rally", "-q", "protest AND gun",
               "--justification", "armed groups announced for the rally")  # fmt: skip
    assert "status pending" in added.stdout and "rules approve 1" in added.stderr
    self_approval = wf(db, "--as", "ana", "rules", "approve", "1", check=False)
    assert self_approval.returncode == 1 and "second person" in self_approval.stderr
    approved = wf(db, "--as", "sam", "rules", "approve", "1")
    assert "status active" in approved.stdout and "approved by sam" in approved.stdout


def test_transparency_report_json_and_html(db: Path, tmp_path: Path) -> None:
    wf(db, "--as", "ana", "--basis", "1", "rules", "add", "Flood", "-q", "flood")
    document = json.loads(
        wf(db, "--as", "sue", "report", "transparency", "--period", "2026", "--format", "json").stdout
    )
    assert document["format"] == "watchfloor-transparency-report/1" and document["period"]["label"] == "2026"
    values = {m["key"]: m["value"] for s in document["sections"] for m in s["metrics"]}
    now = datetime.now(UTC)
    this_year = wf(db, "--as", "sue", "report", "transparency", "--period", str(now.year)).stdout
    assert {m["key"]: m["value"] for s in json.loads(this_year)["sections"] for m in s["metrics"]}[
        "rules_added"
    ] == "<5"
    assert set(values) >= {"searches", "watches_requested", "posts_purged", "alerts_raised", "audit_events"}

    page = tmp_path / "report.html"
    done = wf(db, "--as", "sue", "report", "transparency", "--since", "2026-01-01", "--until", "2026-12-31",
              "--format", "html", "-o", str(page))  # fmt: skip
    assert "written to" in done.stderr
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "Transparency report" in html and "<script" not in html
    assert "ana" not in html.split() and "Flood response" not in html

    refused = wf(db, "--as", "ana", "report", "transparency", check=False)
    assert refused.returncode == 1 and "may not produce the transparency report" in refused.stderr
    bad = wf(db, "--as", "sue", "report", "transparency", "--period", "last-year", check=False)
    assert bad.returncode == 2 and "2026-Q4" in bad.stderr


def test_accuracy_card_on_the_command_line(db: Path) -> None:
    wf(db, "--as", "ana", "--basis", "1", "rules", "add", "Flood", "-q", "flood")
    card = json.loads(wf(db, "--as", "ana", "report", "accuracy", "--format", "json").stdout)
    assert card["format"] == "watchfloor-accuracy-card/1" and card["min_sample"] == 10 and card["rules"] == []
    table = wf(db, "--as", "sue", "report", "accuracy")
    assert "precision" in table.stdout and "0 flagged" in table.stderr
