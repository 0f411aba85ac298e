"""One `watchfloor run --sources FILE` streams from every live connector kind's fake at once (issue 6).

A real `watchfloor run` process reads a sources file with one source of every kind in the registry
(Bluesky Jetstream, Mastodon REST, Mastodon streaming, Reddit, RSS, Telegram web preview, TikTok
Research, YouTube), each pointing at its loopback fake in this test process (tests/live/all_platforms.py),
with its credentials in the runner's environment and an approved watch on each account the sources
name (the Telegram and YouTube channels: they collect nothing without one). Every fake fails its
first request once (a stream cut after ten frames, 429 with Retry-After, 503, 500, a connection closed
unanswered) and the Mastodon stream is cut mid-run while a status is posted. The runner must collect
exactly what the fakes serve, each post once, raise alerts from a rule that matches several platforms,
audit every committed batch, stop cleanly on SIGTERM and, started again with the same file, resume from
the committed cursors and store nothing new. Takes about 15 seconds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx2

from tests.cli.floor import seed_floor
from tests.cli.test_cli import wf
from tests.live.all_platforms import ENV, RSS_TOTAL, Fakes, Served, mastodon_ids, served, start_fakes
from tests.live.conftest import paged_entry_text
from tests.net import free_port
from watchfloor.config import Settings
from watchfloor.connectors.live.registry import KINDS
from watchfloor.domain.actor import Actor
from watchfloor.domain.rules import RuleDraft
from watchfloor.services import rules
from watchfloor.services.audit import list_audit_events
from watchfloor.wiring import build_context

SAM = Actor(name="sam", roles=frozenset({"supervisor"}))
AUDREY = Actor(name="audrey", roles=frozenset({"auditor"}))
DEADLINE = 45.0  # seconds any one wait may take before the test fails (collection takes a few)
REWIND_US = 5_000_000  # Jetstream's default rewind_seconds on reconnect
FAULTED = ("mastodon", "reddit", "rss", "telegram-web", "tiktok-research", "youtube")


class Runner:
    """`watchfloor run --sources FILE` as a subprocess; its JSON log lines are read in a thread."""

    def __init__(self, db: Path, sources: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k != "WATCHFLOOR_CRASHPOINT"}
        env |= {**ENV, "WATCHFLOOR_USER": "sam", "WATCHFLOOR_BASIS": "1"}
        command = [sys.executable, "-m", "watchfloor.cli.main", "--db", str(db), "run"]
        command += ["--sources", str(sources), "--no-media", "--metrics-port", str(port)]
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def log(self) -> str:
        return "".join(self.lines[-60:])

    def wait(self, condition: Callable[[], bool], what: str) -> None:
        """Poll ``condition`` until it holds; fail with the runner's log if it exits or DEADLINE passes."""
        deadline = time.monotonic() + DEADLINE
        while not condition():
            assert self.proc.poll() is None, f"the runner exited before {what}:\n{self.log()}"
            assert time.monotonic() < deadline, f"no {what} within {DEADLINE:.0f} s:\n{self.log()}"
            time.sleep(0.1)

    def started(self) -> None:
        self.wait(lambda: any('"event": "started"' in line for line in self.lines), "start")

    def stop(self) -> int:
        """SIGTERM, as an operator's service manager stops it; the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.reader.join(timeout=5)
        return code

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:  # a reader beside the runner's writer (WAL)
        return conn.execute(sql).fetchall()


def stored(db: Path) -> dict[str, list[str]]:
    """Stored native ids by platform, as a list: a post stored twice would show twice."""
    found: dict[str, list[str]] = {}
    for platform, native_id in query(
        db, "SELECT platform, native_id FROM posts ORDER BY platform, native_id"
    ):
        found.setdefault(platform, []).append(native_id)
    return found


def sources(db: Path) -> dict[str, dict[str, Any]]:
    columns = ("id", "kind", "status", "cursor", "error_count", "posts_total", "last_error")
    rows = query(db, f"SELECT name, {', '.join(columns)} FROM sources")
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


def collected(db: Path, want: Served) -> bool:
    """Everything the fakes serve is stored, the deletions too, and Jetstream read to its last frame."""
    have = stored(db)
    deletions = set(query(db, "SELECT platform, native_id FROM deletions"))
    jetstream = sources(db).get("bluesky-jetstream", {}).get("cursor")
    return (
        all(ids <= set(have.get(platform, ())) for platform, ids in want.posts.items())
        and want.deletions <= deletions
        and jetstream == str(want.jetstream_last_us)
    )


def stream_through_a_cut(fakes: Fakes, runner: Runner, db: Path) -> None:
    """Post on the Mastodon stream, cut it, post while it is down and after it reconnected."""
    streaming = fakes.streaming
    streaming.wait_subscribed(1, timeout=DEADLINE)
    live = mastodon_ids(streaming.post(2))  # update frames to the subscribed connection
    runner.wait(lambda: live <= set(stored(db).get("mastodon", ())), "streamed statuses stored")
    streaming.drop()  # a network failure, not a polite close
    streaming.post(1)  # while disconnected: on the REST timeline only, read by the backfill
    streaming.wait_subscribed(2, timeout=DEADLINE)
    streaming.post(1)


def ingested(metrics: str) -> dict[str, float]:
    pattern = r'^watchfloor_posts_ingested_total\{source="([^"]+)"\} (\S+)$'
    return {m.group(1): float(m.group(2)) for m in re.finditer(pattern, metrics, re.MULTILINE)}


def collect_events(db: Path) -> list[Any]:
    ctx = build_context(Settings(database_url=str(db)))
    try:
        return list_audit_events(ctx, actor=AUDREY, action="sources.collect", limit=10_000)
    finally:
        ctx.store.close()


def test_one_runner_collects_every_kind_exactly_once_and_resumes_from_its_cursors(tmp_path: Path) -> None:
    with ExitStack() as stack:
        fakes = start_fakes(stack)
        fakes.inject_faults()
        want = served(fakes)
        db, sources_file = tmp_path / "floor.db", tmp_path / "sources.toml"
        seed_floor(str(db))
        ctx = build_context(Settings(database_url=str(db)))
        draft = RuleDraft(name="Flooding anywhere", query="flood*", severity="high", basis_id=1)
        rules.add_rule(ctx, actor=SAM, draft=draft)
        assert fakes.watch_named_accounts(ctx) == 2  # the Telegram and YouTube channels are accounts
        ctx.store.close()
        sources_file.write_text(fakes.sources_toml(), encoding="utf-8")
        port = free_port()  # for Prometheus /metrics

        with Runner(db, sources_file, port) as runner:
            runner.started()
            stream_through_a_cut(fakes, runner, db)
            runner.wait(lambda: collected(db, want), "collection of everything the fakes serve")
            metrics = httpx2.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            assert runner.stop() == 0, runner.log()  # graceful: batches in hand committed, exit 0
        check_first_run(db, fakes, want, metrics)

        first = stored(db)
        before, cursors = fakes.requests(), {n: s["cursor"] for n, s in sources(db).items()}
        stream_requests = len(fakes.streaming.requests)
        (last_seq,) = query(db, "SELECT max(seq) FROM audit_events")[0]
        with Runner(db, sources_file, free_port()) as runner:
            runner.started()
            runner.wait(
                lambda: all(n > before[kind] for kind, n in fakes.requests().items()),
                "fetch from every fake again",
            )
            fakes.streaming.wait_subscribed(3, timeout=DEADLINE)
            assert runner.stop() == 0, runner.log()

        assert stored(db) == first  # nothing new, nothing twice
        again = [e for e in collect_events(db) if e.seq > last_seq]
        assert sum(int(e.details["inserted"]) for e in again) == 0
        assert {s["status"] for s in sources(db).values()} == {"active"} and len(sources(db)) == len(KINDS)
        # each source resumed from its committed cursor (what the fakes were asked shows it)
        jetstream = fakes.jetstream.connections[before["bluesky-jetstream"]]
        assert jetstream.cursor == int(cursors["bluesky-jetstream"]) - REWIND_US
        assert fakes.mastodon.requests[before["mastodon"]].params["min_id"] == cursors["mastodon"]
        newest = json.loads(cursors["mastodon-stream"])["hashtag:flood"]
        assert any(r.params.get("min_id") == newest for r in fakes.streaming.requests[stream_requests:])
        assert fakes.feeds.requests[before["rss"]][0] == "/paged?page=3"
        assert fakes.telegram.requests[before["telegram-web"]] == {"after": "16"}
        assert [c.resource for c in fakes.youtube.calls[before["youtube"] :]] == ["playlistItems"]


def check_first_run(db: Path, fakes: Fakes, want: Served, metrics: str) -> None:
    have = stored(db)
    assert set(have) == set(want.posts)
    for platform, ids in want.posts.items():  # exactly what the fake serves, each post once
        assert have[platform] == sorted(ids), platform
    deleted = set(query(db, "SELECT platform, native_id FROM posts WHERE deleted_us IS NOT NULL"))
    assert deleted == {(p, i) for p, ids in want.posts.items() for i in ids} & want.deletions
    assert want.deletions <= set(query(db, "SELECT platform, native_id FROM deletions"))
    total = sum(len(ids) for ids in have.values())

    found = sources(db)
    assert sorted(s["kind"] for s in found.values()) == sorted(KINDS)  # one source of every kind
    assert {name: s["status"] for name, s in found.items()} == dict.fromkeys(KINDS, "active")
    assert {name: found[name]["error_count"] for name in FAULTED} == dict.fromkeys(FAULTED, 1)  # retried
    assert found["bluesky-jetstream"]["cursor"] == str(want.jetstream_last_us)
    newest = str(fakes.streaming.statuses[-1]["id"])
    assert json.loads(found["mastodon-stream"]["cursor"]) == {"hashtag:flood": newest}
    assert found["mastodon"]["cursor"] == str(fakes.mastodon.statuses[-1]["id"])
    assert json.loads(found["telegram-web"]["cursor"])["last"] == 16
    assert json.loads(found["rss"]["cursor"])["url"].endswith("/paged?page=3")
    assert all(s["cursor"] for s in found.values())
    assert len(fakes.jetstream.connections) >= 2 and fakes.jetstream.connections[1].cursor is not None

    assert sum(s["posts_total"] for s in found.values()) == total
    assert sum(ingested(metrics).values()) == total
    events = collect_events(db)  # one per committed batch, naming its source: together, every post
    inserted = Counter[str]()
    for event in events:
        assert event.object_ids[0] == f"source:{found[str(event.details['source'])]['id']}"
        inserted[str(event.details["source"])] += int(event.details["inserted"])
    assert inserted == Counter({name: s["posts_total"] for name, s in found.items() if s["posts_total"]})

    alerted = query(db, "SELECT p.platform, p.native_id FROM alert_posts a JOIN posts p ON p.id = a.post_id")
    assert len(alerted) == len(set(alerted))  # no post in two alerts
    assert {"mastodon", "rss", "telegram", "tiktok"} <= {platform for platform, _ in alerted}
    floods = {f"urn:fake:{i}" for i in range(RSS_TOTAL) if "flood" in paged_entry_text(i)}
    assert {i for p, i in alerted if p == "rss"} == floods
    verified = wf(db, "--as", "audrey", "audit", "verify")
    assert "Audit log verified" in verified.stdout
