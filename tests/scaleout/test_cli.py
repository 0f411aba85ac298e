"""`watchfloor run --role connectors`, `worker` and `status` as an operator runs them."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.cli.floor import ENV
from tests.cli.test_cli import wf
from tests.live.conftest import FakeFeeds
from tests.scaleout.test_kill_workers import wait_for

SAM = {"WATCHFLOOR_USER": "sam"}


def bus_env(bus_settings: dict[str, str]) -> dict[str, str]:
    return {f"WATCHFLOOR_{key.upper()}": value for key, value in bus_settings.items()}


def start(db: Path, log: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), *args],
            env={**os.environ, **ENV, **env},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def posts(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])


def test_status_says_embedded_mode_without_a_bus(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    assert "Embedded mode" in wf(db, "status").stdout
    assert json.loads(wf(db, "status", "--json").stdout) == {"mode": "embedded"}


def test_the_scale_out_roles_say_they_need_a_bus(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    wf(db, "sources", "add", "city", "--kind", "rss", "--url", "https://example.org/feed", env=SAM)
    for args in (("run", "--role", "connectors", "--no-media"), ("worker",)):
        done = wf(db, *args, check=False)
        assert done.returncode == 1 and "set WATCHFLOOR_BUS_URL" in done.stderr, done.stderr


def test_connectors_publish_a_worker_stores_and_status_shows_it(
    tmp_path: Path, feeds: FakeFeeds, bus_settings: dict[str, str]
) -> None:
    db = tmp_path / "s.db"
    bus = bus_env(bus_settings)
    wf(db, "sources", "add", "city", "--kind", "rss", "--url", feeds.url("/rss2.xml"), env=SAM)
    connectors = start(db, tmp_path / "run.log", "run", "--role", "connectors", "--no-media", env=bus)
    wait_for(tmp_path / "run.log", '"event": "published"', connectors)
    waiting = json.loads(wf(db, "status", "--json", env=bus).stdout)
    assert waiting["mode"] == "scale-out" and waiting["stream"]["messages"] == 3
    assert waiting["consumer"] is None and waiting["workers"] == {}
    assert posts(db) == 0  # published, not stored: that is a worker's job

    worker = start(db, tmp_path / "worker.log", "worker", "--name", "w1", env=bus)
    wait_for(tmp_path / "worker.log", '"event": "batch"', worker)
    for proc in (worker, connectors):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    batch = next(
        json.loads(line)
        for line in (tmp_path / "worker.log").read_text().splitlines()
        if '"event": "batch"' in line
    )
    assert (batch["records"], batch["inserted"], batch["alerts"]) == (3, 3, 0)
    done = json.loads(wf(db, "status", "--json", env=bus).stdout)
    assert done["stream"]["messages"] == 0 and done["consumer"]["pending"] == 0
    assert done["consumer"]["ack_pending"] == 0 and set(done["workers"]) == {"w1"}
    text = wf(db, "status", env=bus).stdout
    assert "Scale-out mode" in text and "Workers seen in the last minute: 1" in text and "w1" in text
    assert posts(db) == 3
