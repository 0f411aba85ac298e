"""The kill test (issue 6 part 5): SIGKILL `watchfloor run` again and again, lose nothing.

A forward-paged fake feed serves 100,000 posts (500,000 with WATCHFLOOR_KILL_TEST_FULL=1), 500 a page.
`watchfloor run` collects it as a real subprocess, killed with SIGKILL at 50 random moments (200 with
the flag) and made to crash itself at every named crash point of collect_batch, restarted each time.
About two minutes in CI.
After every kill, every post before the committed cursor must be stored; at the end, every post is
stored once, and every post the rule matches is in exactly one alert. The figures are printed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.floor import seed_floor
from tests.live.conftest import PAGE, FakeFeeds, paged_entry_text
from watchfloor.config import Settings
from watchfloor.domain.actor import Actor
from watchfloor.domain.rules import RuleDraft
from watchfloor.services import rules, sources
from watchfloor.services.collect import CRASHPOINTS
from watchfloor.wiring import build_context

FULL = os.environ.get("WATCHFLOOR_KILL_TEST_FULL") == "1"
TOTAL = 500_000 if FULL else 100_000
KILLS = 200 if FULL else 50
SAM = Actor(name="sam", roles=frozenset({"supervisor"}))


def start(db: Path, crashpoint: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "WATCHFLOOR_CRASHPOINT"}
    if crashpoint:
        env["WATCHFLOOR_CRASHPOINT"] = crashpoint
    return subprocess.Popen(
        [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), "run", "--no-media"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def started(proc: subprocess.Popen[bytes]) -> None:
    """Wait for the runner's "started" log line (its signal handlers are set, collection begins)."""
    assert proc.stderr is not None
    while b'"event": "started"' not in (line := proc.stderr.readline()):
        assert line, "the runner exited before starting"


def stored_ids(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT native_id FROM posts WHERE platform = 'rss'").fetchall()
    return [int(r[0].removeprefix("urn:fake:")) for r in rows]


def committed_page(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (cursor,) = conn.execute("SELECT cursor FROM sources").fetchone()
    if cursor is None:
        return 0
    return int(json.loads(cursor)["url"].rsplit("page=", 1)[1])


def check_nothing_lost(db: Path) -> int:
    """Every post before the committed cursor is stored, and none twice; returns how many are stored."""
    ids = stored_ids(db)
    assert len(ids) == len(set(ids)), "a post was stored twice"
    before = set(range(committed_page(db) * PAGE))
    assert before <= set(ids), f"{len(before - set(ids))} posts before the committed cursor are missing"
    return len(ids)


def test_kill_runner_repeatedly_loses_and_duplicates_nothing(tmp_path: Path, feeds: FakeFeeds) -> None:
    feeds.paged_total = TOTAL
    db = tmp_path / "kill.db"
    seed_floor(str(db))
    ctx = build_context(Settings(database_url=str(db)))
    rules.add_rule(ctx, actor=SAM, draft=RuleDraft(name="Floods", query="flood", severity="high", basis_id=1))
    config = {"url": feeds.url("/paged"), "every": 60, "follow_next": True}
    sources.add_source(ctx, actor=SAM, name="paged", kind="rss", config=config, basis_id=1)
    ctx.store.close()
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    crashes = 0
    for point in CRASHPOINTS:  # each crash point fires in the 2nd batch of a fresh process
        proc = start(db, f"{point}:2")
        assert proc.wait(timeout=120) == 137, proc.stderr.read().decode() if proc.stderr else ""
        crashes += 1
        check_nothing_lost(db)
    progress = []
    for _ in range(KILLS):
        proc = start(db)
        started(proc)  # then a random moment within the next few batches
        time.sleep(rng.uniform(0.0, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        progress.append(check_nothing_lost(db))
    proc = start(db)
    started(proc)
    deadline = time.monotonic() + 300
    while len(stored_ids(db)) < TOTAL and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, proc.stderr.read().decode() if proc.stderr else ""
    ids = stored_ids(db)
    flood = {i for i in range(TOTAL) if "flood" in paged_entry_text(i)}
    with sqlite3.connect(db) as conn:
        alerted = conn.execute(
            "SELECT p.native_id FROM alert_posts a JOIN posts p ON p.id = a.post_id"
        ).fetchall()
        raised = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    alerted_ids = [int(r[0].removeprefix("urn:fake:")) for r in alerted]
    lost = TOTAL - len(set(ids))
    duplicates = len(ids) - len(set(ids))
    duplicate_alerts = len(alerted_ids) - len(set(alerted_ids))
    print(
        f"\nkill test (seed {seed}): {TOTAL:,} posts served, {KILLS} SIGKILLs at random moments "
        f"(stored after each: {progress}), {crashes} crash points; {len(set(ids)):,} stored, "
        f"{lost} lost, {duplicates} duplicate posts; {len(flood)} matching posts in {raised} alerts, "
        f"{duplicate_alerts} duplicate alert entries"
    )
    assert (lost, duplicates, duplicate_alerts) == (0, 0, 0)
    assert set(alerted_ids) == flood  # every matching post alerted (raised or grouped), none twice
