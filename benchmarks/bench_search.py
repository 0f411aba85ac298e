"""Search benchmark: query latency on 1M (and, with --posts 10000000, 10M) stored posts.

Builds a SQLite store from the deterministic synthetic corpus (Zipf-like multilingual text, see
``benchmarks/corpus.py``), then runs 300 queries per class through the store's search path (parse ->
SQL compile -> FTS5 -> decode posts), newest-first top-50 and relevance top-20. Beside each class it
runs the bare FTS5 statement for the same words on the same index (``SELECT rowid ... MATCH ...
LIMIT``) as the baseline: the ratio is what watchfloor's query layer costs on top of the engine.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.common import CACHE, peak_rss_mb, percentile, pin_one_core, run_child, write_result

QUERIES_PER_CLASS = 300


def _build(db: Path, n: int) -> dict[str, Any]:
    from benchmarks.corpus import generate_posts
    from watchfloor.domain.clock import SystemClock
    from watchfloor.pipeline import prepare_batch
    from watchfloor.store.engine import open_store

    store, now = open_store(str(db)), SystemClock().now()
    start, chunk = time.perf_counter(), 50_000
    for offset in range(0, n, chunk):
        posts = generate_posts(min(chunk, n - offset), seed=42 + offset)
        posts = [msgspec.structs.replace(p, native_id=f"{offset + i}") for i, p in enumerate(posts)]
        prepared = prepare_batch(posts, now=now)
        for part in range(0, len(prepared), 10_000):
            with store.transaction() as tx:
                tx.write_posts(prepared[part : part + 10_000], import_id=None)
    store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO posts_fts(posts_fts) VALUES ('optimize')")
    return {"posts": n, "build_seconds": time.perf_counter() - start, "db_mb": db.stat().st_size / 2**20}


SAMPLE_SLICES, SAMPLE_SLICE_POSTS = 50, 1000


def _vocabulary(db: Path) -> dict[str, list[str]]:
    """Words in three document-frequency bands (rare / mid / common), from a sample of posts.

    The sample is 50 runs of 1,000 consecutive posts spread evenly over the id range: ids follow
    creation time, so the first 50,000 by id would be only the oldest posts, not a cross-section.
    """
    from watchfloor.query.tokens import tokenize
    from watchfloor.store.rows import decode_post

    counts: Counter[str] = Counter()
    with sqlite3.connect(db) as conn:
        low, high = conn.execute("SELECT min(id), max(id) FROM posts").fetchone()
        step = (high - low) // SAMPLE_SLICES
        for start in range(low, low + step * SAMPLE_SLICES, step):
            rows = conn.execute(
                "SELECT doc FROM posts WHERE id >= ? ORDER BY id LIMIT ?", (start, SAMPLE_SLICE_POSTS)
            )
            for (doc,) in rows:
                # dict.fromkeys, not set(): ties in frequency must rank the same in every run
                counts.update(list(dict.fromkeys(tokenize(decode_post(doc).searchable_text()))))
    ranked = [w for w, c in counts.most_common() if len(w) > 2 and w.isalpha()]
    third = len(ranked) // 3
    return {"common": ranked[:200], "mid": ranked[third : third + 2000], "rare": ranked[-5000:]}


def _classes(vocab: dict[str, list[str]], rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """Query classes: (watchfloor query, bare FTS5 expression) pairs."""

    def pick(band: str) -> str:
        return rng.choice(vocab[band])

    classes: dict[str, list[tuple[str, str]]] = {}
    for band in ("rare", "mid", "common"):
        classes[f"1-term {band}"] = [(w, f'"{w}"') for w in (pick(band) for _ in range(QUERIES_PER_CLASS))]
    pairs = [(pick("mid"), pick("common")) for _ in range(QUERIES_PER_CLASS)]
    classes["2-term AND"] = [(f"{a} {b}", f'"{a}" AND "{b}"') for a, b in pairs]
    classes["phrase"] = [
        (f'"{a} {b}"', f'"{a} {b}"')
        for a, b in ((pick("common"), pick("common")) for _ in range(QUERIES_PER_CLASS))
    ]
    prefixes = [pick("mid")[:4] for _ in range(QUERIES_PER_CLASS)]
    classes["prefix"] = [(f"{p}*", f'"{p}" *') for p in prefixes]
    classes["field-filtered"] = [
        (f"{w} lang:en", f'"{w}"') for w in (pick("mid") for _ in range(QUERIES_PER_CLASS))
    ]
    return classes


def _measure(db: Path) -> dict[str, Any]:
    from watchfloor.query.parser import parse_query
    from watchfloor.store.engine import open_store

    rng = random.Random(7)
    vocab = _vocabulary(db)
    store = open_store(str(db))
    raw = sqlite3.connect(db)
    results: dict[str, Any] = {}
    for name, queries in _classes(vocab, rng).items():
        for sort, limit in (("newest", 50), ("relevance", 20)):
            ours: list[float] = []
            bare: list[float] = []
            order = "ORDER BY rowid DESC" if sort == "newest" else "ORDER BY rank"

            def watchfloor(query: str, sort: str = sort, limit: int = limit) -> float:
                start = time.perf_counter()
                parsed = parse_query(query)
                with store.transaction() as tx:
                    tx.search(parsed, limit=limit, sort=sort)  # type: ignore[arg-type]
                return (time.perf_counter() - start) * 1000

            def bare_fts5(fts: str, order: str = order, limit: int = limit) -> float:
                start = time.perf_counter()
                sql = f"SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? {order} LIMIT {limit}"
                ids = [r[0] for r in raw.execute(sql, (fts,))]
                if ids:
                    raw.execute(f"SELECT doc FROM posts WHERE id IN ({','.join(map(str, ids))})").fetchall()
                return (time.perf_counter() - start) * 1000

            for i, (query, fts) in enumerate(queries):
                # Whichever runs first for a word warms the caches (the OS's, the CPU's) for the
                # other: take turns, so neither side always pays for that.
                if i % 2:
                    bare.append(bare_fts5(fts))
                    ours.append(watchfloor(query))
                else:
                    ours.append(watchfloor(query))
                    bare.append(bare_fts5(fts))
            results[f"{name} / {sort}"] = {
                "p50_ms": percentile(ours, 50),
                "p99_ms": percentile(ours, 99),
                "bare_fts5_p50_ms": percentile(bare, 50),
                "bare_fts5_p99_ms": percentile(bare, 99),
            }
    store.close()
    return {"classes": results, "peak_rss_mb": peak_rss_mb()}


def run(posts: int = 1_000_000) -> dict[str, Any]:
    CACHE.mkdir(exist_ok=True)
    db = CACHE / f"search_{posts}.db"
    build = None
    if not db.exists():
        partial = db.with_suffix(".partial.db")
        partial.unlink(missing_ok=True)
        build = run_child("benchmarks.bench_search", "build", str(partial), str(posts))
        partial.rename(db)  # only a finished build is ever reused
    measured = run_child("benchmarks.bench_search", "measure", str(db))
    result = {"posts": posts, "build": build, **measured}
    write_result(f"search_{posts}", result)
    return result


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "build":
        pin_one_core()
        print(json.dumps(_build(Path(sys.argv[2]), int(sys.argv[3]))))
        return
    if len(sys.argv) >= 3 and sys.argv[1] == "measure":
        pin_one_core()
        print(json.dumps(_measure(Path(sys.argv[2]))))
        return
    posts = int(sys.argv[sys.argv.index("--posts") + 1]) if "--posts" in sys.argv else 1_000_000
    print(json.dumps(run(posts), indent=2))


if __name__ == "__main__":
    main()
