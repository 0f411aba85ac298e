"""Ingest benchmark: real tweets through the whole import path into SQLite, beside sqlite-utils.

watchfloor: read + map (twitter-v1 importer) -> pipeline (normalise, selectors, language, exact and
near-duplicate keys) -> store (posts, FTS5 index, selector terms, LSH bands, raw payloads), via the
same ``import_file`` service the CLI uses. Peer: ``sqlite-utils`` inserting the same JSON records and
``enable-fts`` on the text, i.e. the minimal "searchable SQLite table" an analyst could build.
Each side runs in its own process pinned to one core, so peak RSS is its own.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import peak_rss_mb, pin_one_core, run_child, write_result


def make_rules(path: Path, count: int, seed: int = 7) -> list[str]:
    """``count`` realistic rule queries built from the words and word pairs of the records themselves.

    Mix (as in bench_match): 45% single mid/rare words, 35% two-word phrases, 10% prefixes, 10% NEAR
    pairs; every fifth rule also carries a field filter.
    """
    import random
    from collections import Counter
    from itertools import islice, pairwise

    import orjson

    from watchfloor.query.tokens import tokenize

    words: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    with path.open("rb") as handle:
        for line in islice(handle, 50_000):
            tokens = [t for t in tokenize(orjson.loads(line)["full_text"]) if t.isalpha() and len(t) > 3]
            words.update(list(dict.fromkeys(tokens)))  # not set(): its order varies with the hash seed
            pairs.update(pairwise(tokens))
    ranked = [w for w, _ in words.most_common()][500:]  # skip the very common words
    bigrams = [p for p, _ in pairs.most_common()][200:20_000]
    rng = random.Random(seed)
    rules = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.45:
            rule = rng.choice(ranked)
        elif roll < 0.80:
            rule = '"{} {}"'.format(*rng.choice(bigrams))
        elif roll < 0.90:
            rule = rng.choice(ranked)[:5] + "*"
        else:
            rule = f"{rng.choice(ranked)} NEAR/5 {rng.choice(ranked)}"
        rules.append(rule + (" lang:en" if i % 5 == 0 else ""))
    return rules


def _as_the_cli() -> None:
    """Run as `watchfloor import` does: the CLI raises the cyclic collector's threshold first."""
    import gc

    from watchfloor.cli.main import GC_THRESHOLD

    gc.set_threshold(*GC_THRESHOLD)


def _watchfloor(path: Path, db: Path, rules: int = 0) -> dict[str, Any]:
    from watchfloor.config import Settings
    from watchfloor.domain.actor import Actor
    from watchfloor.domain.clock import SystemClock
    from watchfloor.domain.rules import RuleDraft
    from watchfloor.services.ingest import import_file
    from watchfloor.wiring import build_context

    ctx = build_context(Settings(database_url=str(db)))
    if rules:
        with ctx.store.transaction() as tx:  # the rules service validates; these are known-good
            for i, query in enumerate(make_rules(path, rules)):
                draft = RuleDraft(name=f"rule {i}", query=query, severity="medium")
                tx.create_rule(draft, owner="bench", at=SystemClock().now())
    start = time.perf_counter()
    # A bulk load while nobody works in the console, as `watchfloor import --bulk` (docs/user-guide.md).
    report = import_file(ctx, actor=Actor.system("bench"), path=path, format_name="twitter-v1", bulk=True)
    elapsed = time.perf_counter() - start
    ctx.store.close()
    return {
        "posts": report.run.inserted,
        "records": report.run.records,
        "seconds": elapsed,
        "posts_per_s": report.run.inserted / elapsed,
        "peak_rss_mb": peak_rss_mb(),
        "db_mb": db.stat().st_size / 2**20,
        "rules": rules,
        "alerts_raised": report.alerts_raised,
        "alerts_grouped": report.alerts_grouped,
    }


def _split(path: Path, db: Path, record: list[list[tuple[str, Any]]] | None = None) -> dict[str, Any]:
    """The same work as the service, stage by stage, with a timer around each.

    ``record``: append each transaction's bulk statements and their rows to it (for :func:`_floor`).
    """
    from contextlib import ExitStack
    from itertools import islice

    import msgspec

    from watchfloor.connectors.base import MapOptions
    from watchfloor.connectors.files import iter_file
    from watchfloor.connectors.registry import format_named
    from watchfloor.domain.clock import SystemClock
    from watchfloor.domain.post import Envelope
    from watchfloor.pipeline import prepare_batch
    from watchfloor.services.ingest import BULK_BATCH_SIZE, estimate_records
    from watchfloor.store.engine import open_store

    store, now = open_store(str(db)), SystemClock().now()
    timings = {"read_map": 0.0, "pipeline": 0.0, "store": 0.0}
    items = iter_file(path, format_named("twitter-v1"), MapOptions())
    total = 0
    deferred = ExitStack()  # as the service: a large bulk import goes without the query-only indexes
    while True:
        t0 = time.perf_counter()
        batch = [e for e in islice(items, BULK_BATCH_SIZE) if isinstance(e, Envelope) and e.post is not None]
        t1 = time.perf_counter()
        if not batch:
            break
        if not total:
            deferred.enter_context(store.post_indexes_deferred(estimate_records(path, batch)))
        prepared = prepare_batch([e.post for e in batch if e.post is not None], now=now)
        prepared = [
            msgspec.structs.replace(p, raw=e.raw, raw_format=e.format)
            for p, e in zip(prepared, batch, strict=True)
        ]
        t2 = time.perf_counter()
        with store.transaction() as tx, _recording(record):
            tx.write_posts(prepared, import_id=None)
        t3 = time.perf_counter()
        timings["read_map"] += t1 - t0
        timings["pipeline"] += t2 - t1
        timings["store"] += t3 - t2
        total += len(batch)
    t0 = time.perf_counter()
    deferred.close()  # rebuilds the indexes: part of the store's time
    timings["store"] += time.perf_counter() - t0
    store.close()
    return {"posts": total, **{f"{k}_us_per_post": v / total * 1e6 for k, v in timings.items()}}


@contextmanager
def _recording(into: list[list[tuple[str, Any]]] | None) -> Iterator[None]:
    """Append the block's ``executemany`` calls (statement, rows) to ``into`` as one transaction."""
    if into is None:
        yield
        return
    from sqlalchemy.engine import default

    calls: list[tuple[str, Any]] = []
    original = default.DefaultDialect.do_executemany

    def recorded(self: Any, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        calls.append((statement, list(parameters)))
        original(self, cursor, statement, parameters, context)

    default.DefaultDialect.do_executemany = recorded  # type: ignore[method-assign]
    try:
        yield
    finally:
        default.DefaultDialect.do_executemany = original  # type: ignore[method-assign]
        into.append(calls)


def _floor(path: Path, db: Path) -> dict[str, Any]:
    """SQLite's own share of the store: the split's bulk writes replayed with bare ``sqlite3``.

    The rows are built already, so what is left is the driver binding them and SQLite inserting them
    into the tables and indexes the store keeps (posts, FTS5, selector terms, LSH bands, raw
    payloads), committing and rebuilding any deferred indexes: the floor under the store stage that no
    Python-side work can lower. Same pragmas as the store (``SQLITE_PRAGMAS``).
    """
    import sqlite3

    from watchfloor.store.engine import SQLITE_PRAGMAS, open_store

    transactions: list[list[tuple[str, Any]]] = []
    split = _split(path, db, record=transactions)
    posts = split["posts"]
    target = db.with_name("floor.db")
    store = open_store(str(target))
    timings: dict[str, float] = {}
    with store.post_indexes_deferred(posts):
        conn = sqlite3.connect(target, isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(f"PRAGMA {pragma}")
        start = time.perf_counter()
        for calls in transactions:
            conn.execute("BEGIN IMMEDIATE")
            for statement, rows in calls:
                t0 = time.perf_counter()
                conn.executemany(statement, rows)
                table = statement.split("(", 1)[0].split()[-1]
                timings[table] = timings.get(table, 0.0) + time.perf_counter() - t0
            t0 = time.perf_counter()
            conn.execute("COMMIT")
            timings["commit"] = timings.get("commit", 0.0) + time.perf_counter() - t0
        conn.close()
        t0 = time.perf_counter()
    timings["rebuild_indexes"] = time.perf_counter() - t0
    total = time.perf_counter() - start
    store.close()
    return {
        "posts": posts,
        "store_us_per_post": split["store_us_per_post"],
        "sqlite_floor_us_per_post": total / posts * 1e6,
        "floor_split_us_per_post": {name: round(v / posts * 1e6, 2) for name, v in timings.items()},
    }


def _peer(path: Path, db: Path) -> dict[str, Any]:
    import orjson
    import sqlite_utils

    start = time.perf_counter()
    database = sqlite_utils.Database(db)
    with path.open("rb") as handle:
        records = ({**(r := orjson.loads(line)), "user": r["user"]["screen_name"]} for line in handle)
        database["tweets"].insert_all(records, pk="id_str", batch_size=5000, alter=True)
    database["tweets"].enable_fts(["full_text"], create_triggers=False)
    elapsed = time.perf_counter() - start
    count = database["tweets"].count
    return {
        "posts": count,
        "seconds": elapsed,
        "posts_per_s": count / elapsed,
        "peak_rss_mb": peak_rss_mb(),
        "db_mb": db.stat().st_size / 2**20,
    }


def run(limit: int = 400_000) -> dict[str, Any]:
    from benchmarks.ira import ira_jsonl

    path, origin = ira_jsonl(limit)
    ours = run_child("benchmarks.bench_ingest", "watchfloor", str(path))
    split = run_child("benchmarks.bench_ingest", "split", str(path))
    floor = run_child("benchmarks.bench_ingest", "floor", str(path))
    peer = run_child("benchmarks.bench_ingest", "peer", str(path))
    with_rules = {
        str(n): run_child("benchmarks.bench_ingest", "watchfloor", str(path), str(n)) for n in (1_000, 10_000)
    }
    for measured in with_rules.values():
        measured["slowdown_vs_0_rules"] = ours["posts_per_s"] / measured["posts_per_s"]
    result = {
        "data": origin,
        "records": limit,
        "watchfloor": ours,
        "with_rules": with_rules,
        "stage_split": split,
        "sqlite_floor": floor,
        "peer_sqlite_utils": peer,
        "ratio_vs_peer": ours["posts_per_s"] / peer["posts_per_s"],
    }
    write_result("ingest", result)
    return result


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] in {"watchfloor", "split", "floor", "peer"}:
        pin_one_core()
        if sys.argv[1] != "peer":
            _as_the_cli()
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "bench.db"
            if sys.argv[1] == "watchfloor":
                rules = int(sys.argv[3]) if len(sys.argv) > 3 else 0
                print(json.dumps(_watchfloor(Path(sys.argv[2]), db, rules)))
            else:
                fn = {"split": _split, "floor": _floor, "peer": _peer}[sys.argv[1]]
                print(json.dumps(fn(Path(sys.argv[2]), db)))
        return
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 400_000
    print(json.dumps(run(limit), indent=2))


if __name__ == "__main__":
    main()
