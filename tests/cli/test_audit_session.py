"""A realistic shift from the command line leaves a complete audit log that still verifies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.test_audit_cli import Cli
from tests.cli.test_rules_cli import IMPORT


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(tmp_path / "floor.db", capsys, monkeypatch)


def test_a_shift_is_logged_and_the_log_verifies(cli: Cli, tmp_path: Path) -> None:
    cli("--as", "ana", "rules", "add", "Sandy", "--query", "sandy", "--severity", "high")
    cli("--as", "ana", *IMPORT)
    queue, _ = cli("--as", "maria", "alerts", "list", "--format", "ndjson")
    alert_id = str(json.loads(queue.splitlines()[0])["alert"]["id"])
    cli("--as", "maria", "alerts", "claim", alert_id)
    _, refused = cli("--as", "li", "alerts", "claim", alert_id, code=1)
    assert "claimed by maria" in refused
    cli("--as", "maria", "alerts", "dismiss", alert_id, "--reason", "nope", code=2)
    cli("--as", "maria", "alerts", "dismiss", alert_id, "--reason", "false-positive", "--note", "weather")
    cli("--as", "li", "search", "sandy", "--format", "ndjson", "--limit", "5")
    requested, _ = cli(
        "--as", "li", "exports", "request", "sandy", "--recipient", "press", "--title", "Sandy"
    )
    export_id, sha = re.search(r"Export (\d+) requested: \d+ posts, SHA-256 (\w+)", requested).groups()  # type: ignore[union-attr]
    cli("--as", "rita", "exports", "approve", export_id, "--sha256", sha)
    cli("--as", "li", "exports", "release", export_id, "-o", str(tmp_path / "sandy.ndjson"))

    kept = tmp_path / "kept.txt"
    cli("audit", "checkpoint", "-o", str(kept))
    key, _ = cli("audit", "public-key")
    verified, _ = cli("audit", "verify", "--checkpoint", str(kept), "--key", key.strip())
    assert "Audit log verified" in verified

    log, _ = cli("audit", "log", "--format", "ndjson", "--limit", "1000")
    events = [json.loads(line) for line in reversed(log.splitlines())]
    steps = [(e["actor"], e["action"], e["outcome"]) for e in events if e["action"] != "posts.import_batch"]
    assert steps == [
        ("ana", "rules.add", "ok"),
        ("ana", "posts.import", "ok"),
        ("maria", "alerts.list", "ok"),
        ("maria", "alerts.claim", "ok"),
        ("li", "alerts.claim", "denied"),
        ("maria", "alerts.dismiss", "error"),
        ("maria", "alerts.dismiss", "ok"),
        ("li", "posts.search", "ok"),
        ("li", "exports.request", "ok"),
        ("rita", "exports.decide", "ok"),
        ("li", "exports.release", "ok"),
        ("maria", "audit.checkpoint", "ok"),
        ("maria", "audit.verify", "ok"),
    ]
    batches = [e for e in events if e["action"] == "posts.import_batch"]
    (run,) = [e for e in events if e["action"] == "posts.import"]
    assert run["details"]["inserted"] > 0
    assert sum(b["details"]["inserted"] for b in batches) == run["details"]["inserted"]
    dismissed = next(e for e in events if e["action"] == "alerts.dismiss" and e["outcome"] == "ok")
    details = dismissed["details"]
    assert dismissed["object_ids"] == [f"alert:{alert_id}"]
    assert (details["disposition"], details["note"]) == ("false_positive", "weather")
