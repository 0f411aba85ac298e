"""Rules, alerts and handover from the command line, as an analyst on shift uses them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import CRISISLEX, wf

IMPORT = [
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
]


def test_rule_to_alert_to_handover(tmp_path: Path) -> None:
    db = tmp_path / "floor.db"
    added = wf(
        db,
        "rules",
        "add",
        "Sandy",
        "--query",
        "sandy",
        "--severity",
        "high",
        "--description",
        "storm chatter",
    )
    assert "rule 1 v1: Sandy" in added.stdout
    tested = wf(db, "rules", "test", "sandy")
    assert "0 stored posts match" in tested.stdout  # nothing imported yet

    imported = wf(db, *IMPORT)
    assert "alerts:" in imported.stdout and "raised" in imported.stdout
    queue = [json.loads(line) for line in wf(db, "alerts", "list", "--format", "ndjson").stdout.splitlines()]
    assert queue and all(item["rule_name"] == "Sandy" for item in queue)
    alert_id = str(queue[0]["alert"]["id"])

    shown = wf(db, "alerts", "show", alert_id).stdout
    assert "rule 1 v1" in shown and "sandy" in shown.casefold() and "raised" in shown
    assert "claimed by maria" in wf(db, "--as", "maria", "alerts", "claim", alert_id).stdout
    refused = wf(db, "--as", "li", "alerts", "claim", alert_id, check=False)
    assert refused.returncode == 1 and "claimed by maria" in refused.stderr
    bad = wf(db, "--as", "maria", "alerts", "dismiss", alert_id, "--reason", "nope", check=False)
    assert bad.returncode == 2 and "disposition must be one of" in bad.stderr
    wf(db, "--as", "maria", "alerts", "dismiss", alert_id, "--reason", "false-positive", "--note", "weather")
    assert "dismissed" in wf(db, "alerts", "show", alert_id).stdout

    wf(db, "--as", "maria", "handover", "note", "sandy rule is broad; consider narrowing")
    handover = wf(db, "handover").stdout
    assert "sandy rule is broad" in handover and "high:" in handover

    edited = wf(db, "rules", "edit", "1", "--query", "sandy has:links", "--note", "narrower")
    assert "v2" in edited.stdout
    assert "narrower" in wf(db, "rules", "history", "1").stdout
    assert "paused" in wf(db, "rules", "pause", "1").stdout


def test_a_broken_rule_is_refused_with_the_column(tmp_path: Path) -> None:
    result = wf(tmp_path / "x.db", "rules", "add", "Bad", "--query", "flood NEAR/0 water", check=False)
    assert result.returncode == 2 and "^" in result.stderr
    listed = wf(tmp_path / "x.db", "rules", "list").stdout
    assert "Bad" not in listed
