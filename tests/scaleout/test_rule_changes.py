"""A rule change reaches every worker's matcher at once, and every alert records the version that fired
(issue 7).

Two `watchfloor worker` processes store what is published to the bus (PostgreSQL and NATS as in the
other scale-out tests). First both raise alerts with version 1 of a rule (query ``flood``), so each
has compiled and cached that version. With both idle, the rule is edited through the service layer
(version 2: ``flood OR landslide``) and posts are published at once, not 5 s later: every alert on a
post published after the change must carry version 2, and both workers must raise such alerts. A
worker whose cached matcher outlived the change would alert the flood posts with version 1 and miss
the landslide posts, which only version 2 matches.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.cli.floor import seed_floor
from tests.scaleout.conftest import post_envelope
from tests.scaleout.test_kill_workers import SAM, Floor, wait_for
from tests.services import scratch_postgres_database
from watchfloor.bus.nats import NatsBus
from watchfloor.bus.records import BusRecord, Outgoing, encode_record
from watchfloor.config import Settings
from watchfloor.domain.rules import RuleDraft
from watchfloor.domain.sources import Source
from watchfloor.services import rules, sources
from watchfloor.wiring import build_context

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROUND = 60  # posts published per round: flood, landslide and quiet ones, a third each
BATCH = 10  # messages per worker batch: a round is shared out between both workers
ROUNDS = 10  # at most, per phase, until both workers have raised alerts
DEADLINE_SECONDS = 60.0
Worker = tuple[subprocess.Popen[bytes], Path]


def words() -> str:
    """Six random words: no two posts are near-duplicates, so each alert covers one post."""
    return " ".join(uuid.uuid4().hex[i : i + 5] for i in range(0, 30, 5))


def publish_round(bus: NatsBus, source: Source, tag: str) -> dict[str, str]:
    """Publish ``ROUND`` posts; returns each one's native id with its kind (flood, landslide, quiet)."""
    kinds = {f"{tag}-{i}": ("flood", "landslide", "quiet")[i % 3] for i in range(ROUND)}
    records = [
        BusRecord(
            source_id=source.id, source_name=source.name, envelope=post_envelope(key, f"{kind} {words()}")
        )
        for key, kind in kinds.items()
    ]
    bus.publish([Outgoing(key=r.key, source_id=r.source_id, data=encode_record(r)) for r in records])
    return kinds


def stored(db: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT count(*) FROM posts").fetchone()
    return int(row[0]) if row else 0


def alert_versions(db: str) -> dict[str, list[int]]:
    """Each alerted post's native id, with the rule version of every alert that covers it."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT p.native_id, a.rule_version FROM alert_posts ap "
            "JOIN alerts a ON a.id = ap.alert_id JOIN posts p ON p.id = ap.post_id"
        ).fetchall()
    found: dict[str, list[int]] = {}
    for native_id, version in rows:
        found.setdefault(native_id, []).append(int(version))
    return found


def alerting_batches(log: Path, since: int) -> int:
    """The batches a worker logged after line ``since`` that raised alerts."""
    lines = log.read_text().splitlines()[since:]
    return sum(1 for line in lines if '"event": "batch"' in line and json.loads(line)["alerts"])


def phase(bus: NatsBus, source: Source, db: str, workers: list[Worker], tag: str) -> dict[str, str]:
    """Publish rounds of posts until both workers have raised alerts on them; returns every post sent."""
    since = [len(log.read_text().splitlines()) for _, log in workers]
    total, sent = stored(db), dict[str, str]()
    for n in range(ROUNDS):
        sent |= publish_round(bus, source, f"{tag}{n}")
        deadline = time.monotonic() + DEADLINE_SECONDS
        while stored(db) < total + len(sent):  # every post of the round stored (and so matched)
            assert all(proc.poll() is None for proc, _ in workers), "a worker exited"
            assert time.monotonic() < deadline, f"round {n} not stored in {DEADLINE_SECONDS:.0f} s"
            time.sleep(0.05)
        if all(alerting_batches(log, start) for (_, log), start in zip(workers, since, strict=True)):
            return sent
    raise AssertionError(f"{ROUNDS} rounds of {ROUND} posts did not reach both workers")


@pytest.fixture
def floor(tmp_path: Path, bus_settings: dict[str, str]) -> Iterator[tuple[Floor, str]]:
    with scratch_postgres_database() as db:
        yield Floor(db, bus_settings, tmp_path), db


def test_a_rule_change_reaches_both_workers_at_once_and_alerts_name_the_version(
    floor: tuple[Floor, str], bus_settings: dict[str, str]
) -> None:
    deployment, db = floor
    seed_floor(db)
    ctx = build_context(Settings(database_url=db))
    draft = RuleDraft(name="Floods", query="flood", severity="high", basis_id=1)
    rule = rules.add_rule(ctx, actor=SAM, draft=draft)
    config = {"url": "https://example.org/feed", "every": 60}  # never fetched: the test publishes
    source = sources.add_source(ctx, actor=SAM, name="city", kind="rss", config=config, basis_id=1)
    bus = NatsBus(
        bus_settings["bus_url"],
        stream=bus_settings["bus_stream"],
        subject=bus_settings["bus_subject"],
        duplicate_window=300,
    )
    bus.ensure_stream()
    workers = [deployment.start("worker", "--batch", str(BATCH), "--name", name) for name in ("w1", "w2")]
    try:
        for proc, log in workers:
            wait_for(log, '"event": "started"', proc)
        before = phase(bus, source, db, workers, "v1-")  # both workers now hold version 1, compiled
        edited = rules.edit_rule(
            ctx, actor=SAM, rule_id=rule.id, query="flood OR landslide", change_note="landslides too"
        )
        after = phase(bus, source, db, workers, "v2-")  # published at once, both workers idle till now
    finally:
        for proc, _ in workers:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=60) for proc, _ in workers]
        bus.close()
        ctx.store.close()
    assert codes == [0, 0]
    assert edited.current.version == 2

    versions = alert_versions(db)
    assert {key: versions.get(key) for key, kind in before.items() if kind == "flood"} == {
        key: [1] for key, kind in before.items() if kind == "flood"
    }
    assert not any(kind != "flood" and key in versions for key, kind in before.items())
    # After the change: every flood and landslide post alerted once, by version 2; no quiet post.
    assert {key: versions.get(key) for key, kind in after.items()} == {
        key: [2] if kind != "quiet" else None for key, kind in after.items()
    }
