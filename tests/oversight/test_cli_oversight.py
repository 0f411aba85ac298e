"""`watchfloor basis ...` and `watchfloor watches ...` as people on a watch floor run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def wf(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the CLI on ``db`` with no WATCHFLOOR_* settings from the environment (unseeded store)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHFLOOR_")}
    done = subprocess.run(
        [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**env, "COLUMNS": "160"},
    )
    assert "Traceback" not in done.stderr, done.stderr
    if check:
        assert done.returncode == 0, done.stderr
    return done


BASIS_ARGS = [
    "--title",
    "Storm response",
    "--authority",
    "Civil Contingencies Act 2004",
    "--purpose",
    "Find people asking for rescue",
    "--necessity",
    "Public posts only, for the storm period",
]


def _floor(tmp_path: Path) -> Path:
    """A store with an admin (root), two supervisors (sam, sue) and an analyst (ana)."""
    db = tmp_path / "floor.db"
    wf(db, "init", "--admin", "root")
    for name, roles in (("sam", "supervisor"), ("sue", "supervisor"), ("ana", "analyst")):
        wf(db, "--as", "root", "users", "add", name, "--roles", roles)
    return db


def _register(db: Path, *args: str) -> list[dict[str, object]]:
    listed = wf(db, "--as", "sam", "watches", "list", "--format", "json", *args).stdout
    records: list[dict[str, object]] = json.loads(listed)
    return records


def test_basis_add_list_show_retire(tmp_path: Path) -> None:
    db = _floor(tmp_path)
    added = wf(db, "--as", "sam", "basis", "add", *BASIS_ARGS, "--expires", "2099-01-31")
    assert added.stdout.strip() == "basis 1 created"
    assert "--basis 1" in added.stderr and "WATCHFLOOR_BASIS=1" in added.stderr
    refused = wf(db, "--as", "ana", "basis", "add", *BASIS_ARGS, check=False)
    assert refused.returncode == 1 and "may not add or retire a legal basis" in refused.stderr
    bad_date = wf(db, "--as", "sam", "basis", "add", *BASIS_ARGS, "--review", "31/01/2099", check=False)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    listed = wf(db, "--as", "ana", "basis", "list").stdout
    assert "Storm response" in listed and "2099-01-31" in listed and "active" in listed
    shown = wf(db, "--as", "ana", "basis", "show", "1").stdout
    assert "Civil Contingencies Act 2004" in shown and "owner      sam" in shown
    assert wf(db, "--as", "ana", "basis", "show", "9", check=False).returncode == 1
    wf(db, "--as", "sam", "basis", "retire", "1", "--reason", "storm stood down")
    assert "Storm response" not in wf(db, "--as", "ana", "basis", "list").stdout
    everything = wf(db, "--as", "ana", "basis", "list", "--all").stdout
    assert "retired" in everything
    assert "storm stood down" in wf(db, "--as", "ana", "basis", "show", "1").stdout


def test_watch_lifecycle_and_matching(tmp_path: Path) -> None:
    db = _floor(tmp_path)
    wf(db, "--as", "sam", "basis", "add", *BASIS_ARGS)
    missing = wf(db, "--as", "ana", "watches", "request", "cy_z", "--reason", "threats", check=False)
    assert missing.returncode == 2 and "watchfloor basis add" in missing.stderr
    requested = wf(db, "--as", "ana", "--basis", "1", "watches", "request", "@Cy_Z", "--reason", "threats")
    assert "watch 1: @cy_z requested for 90 days" in requested.stdout
    assert "watchfloor watches approve 1" in requested.stderr
    own = wf(db, "--as", "sam", "--basis", "1", "watches", "request", "bo_x", "--reason", "x", "--days", "5")
    assert "watch 2" in own.stdout
    self_approval = wf(db, "--as", "sam", "watches", "approve", "2", check=False)
    assert self_approval.returncode == 1 and "second person" in self_approval.stderr
    assert "approved" in wf(db, "--as", "sue", "watches", "approve", "2").stdout
    assert [r["state"] for r in _register(db)] == ["requested", "approved"]

    wf(db, "--as", "ana", "--basis", "1", "rules", "add", "Named", "--query", "from:cy_z")
    posts = tmp_path / "posts.csv"
    posts.write_text(
        'id,author,created_at,text\n"1","cy_z","2026-01-01T00:00:00Z","first post"\n', encoding="utf-8"
    )
    wf(db, "--as", "ana", "import", str(posts), "--format", "csv", "--platform", "twitter")
    assert wf(db, "--as", "ana", "alerts", "list", "--format", "ndjson").stdout.strip() == ""
    wf(db, "--as", "sam", "watches", "approve", "1", "--note", "credible threats")
    posts.write_text(
        'id,author,created_at,text\n"2","cy_z","2026-01-02T00:00:00Z","second post"\n', encoding="utf-8"
    )
    wf(db, "--as", "ana", "import", str(posts), "--format", "csv", "--platform", "twitter")
    alerts = wf(db, "--as", "ana", "alerts", "list", "--format", "ndjson").stdout.splitlines()
    assert len(alerts) == 1

    renewed = wf(db, "--as", "ana", "watches", "renew", "1", "--days", "30")
    assert "watch 3: @cy_z renewal of watch 1 requested for 30 days" in renewed.stdout
    denied = wf(db, "--as", "sue", "watches", "deny", "3", "--note", " ", check=False)
    assert denied.returncode == 2 and "needs a note" in denied.stderr
    wf(db, "--as", "sue", "watches", "deny", "3", "--note", "not yet needed")
    wf(db, "--as", "ana", "watches", "cancel", "1", "--reason", "threat resolved")
    table = wf(db, "--as", "ana", "watches", "list").stdout
    assert "@cy_z" in table and "cancelled" in table and "denied" in table
    assert [r["id"] for r in _register(db, "--state", "approved")] == [2]
    bad = wf(db, "--as", "ana", "watches", "list", "--state", "pending", check=False)
    assert bad.returncode == 2 and "--state must be one of" in bad.stderr

    wf(db, "--as", "sam", "basis", "retire", "1", "--reason", "stood down")
    [stopped] = _register(db, "--state", "expired")
    assert stopped["id"] == 2 and stopped["in_force"] is False
    assert "expired (basis retired)" in wf(db, "--as", "ana", "watches", "list").stdout
