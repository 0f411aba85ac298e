"""`watchfloor sources ...` and `watchfloor run` as a user runs them: real processes, a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from tests.cli.floor import ENV
from tests.cli.test_cli import wf
from tests.live.conftest import FakeFeeds
from tests.net import free_port

SAM = {"WATCHFLOOR_USER": "sam"}


def test_sources_add_list_status_pause_resume_remove(tmp_path: Path, feeds: FakeFeeds) -> None:
    db = tmp_path / "s.db"
    added = wf(db, "sources", "add", "city", "--kind", "rss", "--url", feeds.url("/rss2.xml"), env=SAM)
    assert "Added source city (rss" in added.stdout
    listed = wf(db, "sources", "list").stdout  # analysts may read
    assert "city" in listed and "active" in listed and "300 s" in listed
    assert "never" in wf(db, "sources", "status").stdout
    refused = wf(db, "sources", "pause", "city", check=False)  # ana is an analyst
    assert refused.returncode != 0 and "city" in wf(db, "sources", "list").stdout
    assert "Paused source city" in wf(db, "sources", "pause", "city", env=SAM).stdout
    assert "paused" in wf(db, "sources", "status").stdout
    [state] = json.loads(wf(db, "sources", "status", "--format", "json").stdout)
    assert state == {
        "name": "city", "kind": "rss", "status": "paused", "basis_id": state["basis_id"],
        "last_success_at": None, "lag_seconds": None, "posts_total": 0, "error_count": 0, "last_error": None,
    }  # fmt: skip
    assert "Resumed source city" in wf(db, "sources", "resume", "city", env=SAM).stdout
    taken = wf(db, "sources", "add", "city", "--url", feeds.url("/atom.xml"), env=SAM, check=False)
    assert taken.returncode != 0 and "exists already" in taken.stderr
    bad = wf(db, "sources", "add", "x", "--url", "not a url", env=SAM, check=False)
    assert bad.returncode != 0 and "--url" in bad.stderr
    assert "Removed source city" in wf(db, "sources", "remove", "city", env=SAM).stdout
    missing = wf(db, "sources", "pause", "city", env=SAM, check=False)
    assert missing.returncode != 0 and "no source named" in missing.stderr


def test_run_collects_serves_metrics_and_stops_cleanly_on_sigterm(tmp_path: Path, feeds: FakeFeeds) -> None:
    db = tmp_path / "r.db"
    wf(db, "sources", "add", "city", "--url", feeds.url("/rss2.xml"), env=SAM)
    wf(db, "sources", "add", "gone", "--url", feeds.url("/gone.xml"), env=SAM)
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "watchfloor.cli.main", "--db", str(db)),
            *("run", "--no-media", "--metrics-port", str(port)),
        ],
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    while not any('"event": "batch"' in line for line in seen) or not any("source_failed" in s for s in seen):
        line = proc.stderr.readline()
        assert line, "".join(seen)
        seen.append(line)
    metrics = httpx2.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'watchfloor_posts_ingested_total{source="city"} 3.0' in metrics
    assert 'watchfloor_fetch_errors_total{kind="permanent",source="gone"} 1.0' in metrics
    assert "watchfloor_source_lag_seconds" in metrics
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest
    assert '"event": "stopped"' in rest and "Traceback" not in "".join(seen) + rest
    status = wf(db, "sources", "status").stdout
    assert "failed" in status and "404" in status  # the missing feed, with its reason
    assert "city" in status and " 3 " in status  # three posts collected


def test_sources_add_takes_connector_settings_with_set(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    added = wf(
        db, "sources", "add", "askreddit", "--kind", "reddit",
        "--set", 'subreddits=["askreddit"]', "--set", "client_id_env=REDDIT_ID",
        "--set", "client_secret_env=REDDIT_SECRET", env=SAM,
    )  # fmt: skip
    assert "Added source askreddit (reddit" in added.stdout
    bad = wf(db, "sources", "add", "x", "--kind", "reddit", "--set", "no-equals-sign", env=SAM, check=False)
    assert bad.returncode == 2 and "expected KEY=VALUE" in bad.stderr
    secret = wf(
        db, "sources", "add", "y", "--kind", "reddit", "--set", 'subreddits=["a"]',
        "--set", "client_secret=hunter2", env=SAM, check=False,
    )  # fmt: skip
    assert secret.returncode != 0 and "hunter2" not in secret.stdout
