"""Scale-out throughput: a pre-filled JetStream stream through 1 and 2 `watchfloor worker` processes into
PostgreSQL, against embedded mode's storing on the same data, and the bus's own cost per post.

Data: ``POSTS`` synthetic posts (benchmarks/corpus.py: realistic language mix, selectors, duplicates),
each wrapped as a live connector wraps it (raw JSON payload kept beside the mapped post) and encoded
as a bus record, with ``RULES`` standing rules made of the corpus's own mid-frequency words and word
pairs (so some posts match and alerts are raised, as on a real floor).

Scenarios, each on a fresh PostgreSQL database with the same rules:

* ``workers_1`` / ``workers_2``: the stream is filled first (not timed); then N real worker processes
  (``watchfloor worker --batch 500``) drain it. The clock starts when the last worker logged
  "started" (posts stored before that are subtracted) and stops when the consumer has nothing pending
  or unacknowledged. Speed-up = workers_2 / workers_1; the issue's goal is ≥ 1.8× on 2 cores.
* ``embedded_postgres`` / ``embedded_sqlite``: the same envelopes in batches of 500 through
  ``collect_batch`` in one process: what ``watchfloor run`` does per batch after its fetch.
* ``bus``: publishing the records (encode + publish + wait for every ack) and decoding them, per post.

Caveat: PostgreSQL, NATS and the workers share the same 2 cores (with whatever else runs on the
machine: the CPU each group used while draining is recorded), so two workers cannot get two whole
cores. ``ceiling`` turns the CPU each post cost into the throughput the cores allow with nothing else
running, which a shared machine's measured speed-up cannot show.

``python -m benchmarks.bench_scaleout`` (60,000 posts, a few minutes); ``--quick`` 10,000 posts.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from benchmarks.common import ROOT, write_result
from benchmarks.corpus import generate_posts

POSTS = 60_000
RULES = 1_000
BATCH = 500
PG_URL = os.environ.get("WATCHFLOOR_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("WATCHFLOOR_BENCH_NATS_URL", "nats://127.0.0.1:4222")


def _envelopes(n: int) -> list[Any]:
    from watchfloor.domain.post import Envelope, Location

    posts = generate_posts(n, seed=7)
    return [
        Envelope(
            raw=msgspec.json.encode(post),
            format="bench-json",
            location=Location(source="bench", index=i),
            post=msgspec.structs.replace(post, platform="bench"),
        )
        for i, post in enumerate(posts)
    ]


def _rules(envelopes: list[Any], count: int) -> list[str]:
    """Half single mid-frequency words, half two-word phrases, from the posts themselves."""
    import random

    from watchfloor.query.tokens import tokenize

    words: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for e in envelopes[:20_000]:
        tokens = [t for t in tokenize(e.post.text or "") if t.isalpha() and len(t) > 3]
        words.update(list(dict.fromkeys(tokens)))  # not set(): its order varies with the hash seed
        pairs.update(pairwise(tokens))
    ranked = [w for w, _ in words.most_common()][300:]
    bigrams = [p for p, _ in pairs.most_common()][100:5_000]
    rng = random.Random(3)
    return [rng.choice(ranked) if i % 2 else '"{} {}"'.format(*rng.choice(bigrams)) for i in range(count)]


def _database(rules: list[str]) -> str:
    """A fresh PostgreSQL database at the newest schema, with a legal basis, the rules and one source."""
    from watchfloor.config import Settings
    from watchfloor.wiring import build_context

    name = f"wf_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    _seed(build_context(Settings(database_url=url)), rules)
    return url


def _seed(ctx: Any, rules: list[str]) -> Any:
    from watchfloor.domain.rules import RuleDraft

    now = ctx.clock.now()
    with ctx.store.transaction() as tx:
        basis = tx.create_basis(
            title="Benchmark",
            authority="benchmark",
            purpose="throughput",
            necessity="synthetic posts only",
            owner="bench",
            review_at=None,
            expires_at=None,
            created_by="bench",
            at=now,
        )
        for i, query in enumerate(rules):
            draft = RuleDraft(name=f"rule {i}", query=query, severity="medium", basis_id=basis.id)
            tx.create_rule(draft, owner="bench", at=now)
        source = tx.create_source(
            name="bench",
            kind="rss",
            config={"url": "https://example.org/feed"},
            basis_id=basis.id,
            created_by="bench",
            at=now,
        )
    ctx.store.close()
    return source


def _drop(url: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _cpu_seconds(workers: list[int]) -> dict[str, float]:
    """CPU seconds used so far by the ``workers`` (pids), PostgreSQL, nats-server, and the machine.

    Read from /proc (Linux): utime + stime of live processes, and the machine's busy time from
    /proc/stat. Differences over a run say where the cores went; "others" is everything else running
    on the (shared) machine.
    """
    tick = os.sysconf("SC_CLK_TCK")
    groups = {"workers": 0.0, "postgres": 0.0, "nats-server": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        name = "workers" if int(stat.parent.name) in workers else comm
        if name in groups:
            groups[name] += (int(rest[11]) + int(rest[12])) / tick
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = (sum(fields) - fields[3] - fields[4]) / tick  # all but idle and iowait
    return {**groups, "others": busy - sum(groups.values()), "machine": busy}


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])  # type: ignore[index]


def _bus(stream: str) -> Any:
    from watchfloor.bus.nats import NatsBus

    return NatsBus(NATS_URL, stream=stream, subject=f"wfbench.{stream}", duplicate_window=300)


def _records(envelopes: list[Any], source_id: int) -> list[Any]:
    from watchfloor.bus.records import BusRecord, Outgoing, encode_record

    records = [BusRecord(source_id=source_id, source_name="bench", envelope=e) for e in envelopes]
    return [Outgoing(key=r.key, source_id=source_id, data=encode_record(r)) for r in records]


def _bus_cost(envelopes: list[Any]) -> dict[str, Any]:
    """Encode + publish + every ack, and decode, per post (a stream of its own, removed after)."""
    from watchfloor.bus.records import decode_record

    bus = _bus(f"WFBENCH_{uuid.uuid4().hex[:8]}")
    try:
        bus.ensure_stream()
        start = time.perf_counter()
        messages = _records(envelopes, 1)
        encoded = time.perf_counter()
        for i in range(0, len(messages), BATCH):
            bus.publish(messages[i : i + BATCH])
        published = time.perf_counter()
        for m in messages:
            decode_record(m.data)
        decoded = time.perf_counter()
    finally:
        bus.delete_stream()
        bus.close()
    n = len(envelopes)
    return {
        "posts": n,
        "mean_message_bytes": sum(len(m.data) for m in messages) / n,
        "encode_us_per_post": (encoded - start) / n * 1e6,
        "publish_us_per_post": (published - encoded) / n * 1e6,
        "decode_us_per_post": (decoded - published) / n * 1e6,
    }


def _workers(count: int, envelopes: list[Any], rules: list[str]) -> dict[str, Any]:
    url = _database(rules)
    stream = f"WFBENCH_{uuid.uuid4().hex[:8]}"
    bus = _bus(stream)
    logs = Path(tempfile.mkdtemp(prefix="wf-bench-scaleout-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        bus.ensure_stream()
        messages = _records(envelopes, 1)
        for i in range(0, len(messages), BATCH):
            bus.publish(messages[i : i + BATCH])
        env = dict(
            os.environ,
            WATCHFLOOR_BUS_URL=NATS_URL,
            WATCHFLOOR_BUS_STREAM=stream,
            WATCHFLOOR_BUS_SUBJECT=f"wfbench.{stream}",
        )
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for n in range(count):
            with (logs / f"w{n}.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "watchfloor.cli.main",
                            "--db",
                            url,
                            "worker",
                            "--batch",
                            str(BATCH),
                            "--name",
                            f"w{n}",
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                    )
                )
        for n in range(count):
            while '"event": "started"' not in (logs / f"w{n}.log").read_text():
                if procs[n].poll() is not None:
                    raise RuntimeError((logs / f"w{n}.log").read_text())
                time.sleep(0.01)
        start = time.perf_counter()
        cpu_start = _cpu_seconds([p.pid for p in procs])
        before = _count(url)
        while True:
            consumer = bus.consumer_state("workers")
            if consumer is not None and consumer.pending == 0 and consumer.ack_pending == 0:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        cpu_end = _cpu_seconds([p.pid for p in procs])
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=120)
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        stored = _count(url)
        if stored != len(envelopes):
            raise RuntimeError(f"{stored} posts stored of {len(envelopes)}")
        batches = [
            json.loads(line)
            for n in range(count)
            for line in (logs / f"w{n}.log").read_text().splitlines()
            if '"event": "batch"' in line
        ]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        bus.delete_stream()
        bus.close()
        _drop(url)
    worker_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    timed = len(envelopes) - before
    return {
        "workers": count,
        "posts": len(envelopes),
        "timed_posts": timed,
        "seconds": elapsed,
        "posts_per_s": timed / elapsed,
        "alerts_raised": sum(b["alerts"] for b in batches),
        "worker_cpu_s_per_1000_posts": worker_cpu / len(envelopes) * 1000,
        # While draining: CPU seconds per second of wall time (2.0 = both cores busy), by process group
        # ("others": whatever else the shared machine ran meanwhile, this benchmark's poller included).
        "cores_busy": {k: (cpu_end[k] - cpu_start[k]) / elapsed for k in cpu_end},
    }


def _embedded(target: str, envelopes: list[Any], rules: list[str]) -> dict[str, Any]:
    """collect_batch over the same envelopes, 500 a batch, in this process (what `watchfloor run` does)."""
    from watchfloor.config import Settings
    from watchfloor.connectors.live.contract import Batch
    from watchfloor.services.collect import collect_batch
    from watchfloor.wiring import build_context

    folder = Path(tempfile.mkdtemp(prefix="wf-bench-embedded-"))
    url = _database(rules) if target == "postgres" else str(folder / "embedded.db")
    if target == "sqlite":
        _seed(build_context(Settings(database_url=url)), rules)
    ctx = build_context(Settings(database_url=url))
    try:
        with ctx.store.snapshot() as tx:
            (source,) = tx.list_sources()
        alerts = 0
        start = time.perf_counter()
        for i in range(0, len(envelopes), BATCH):
            batch = Batch(envelopes=envelopes[i : i + BATCH], next_cursor=str(i))
            alerts += collect_batch(ctx, source, batch).alerts_raised
            with ctx.store.snapshot() as tx:
                source = tx.get_source(source.id)
        elapsed = time.perf_counter() - start
    finally:
        ctx.store.close()
        if target == "postgres":
            _drop(url)
    return {
        "store": target,
        "posts": len(envelopes),
        "seconds": elapsed,
        "posts_per_s": len(envelopes) / elapsed,
        "alerts_raised": alerts,
    }


def _ceiling(two: dict[str, Any], cores: int) -> dict[str, Any]:
    """What the CPU each post cost says about throughput on ``cores`` cores with nothing else running.

    Per post: the workers', PostgreSQL's and nats-server's CPU (from the 2-worker run). A worker is one
    process, so k workers get at most k cores between them, and everything together at most ``cores``.
    On a shared machine the measured speed-up depends on what else ran; this one does not.
    """
    busy, rate = two["cores_busy"], two["posts_per_s"]
    per_post = {k: busy[k] / rate for k in ("workers", "postgres", "nats-server")}
    total = sum(per_post.values())

    def rate_with(k: int) -> float:
        return min(k / per_post["workers"], cores / total)

    return {
        "cpu_ms_per_1000_posts": {k: v * 1e6 for k, v in per_post.items()},
        "max_posts_per_s_1_worker": rate_with(1),
        "max_posts_per_s_2_workers": rate_with(2),
        "max_speedup_2_workers": rate_with(2) / rate_with(1),
        "cores_for_1_8x": 1.8 * rate_with(1) * total,
    }


def run(posts: int = POSTS, *, name: str = "scaleout") -> dict[str, Any]:
    envelopes = _envelopes(posts)
    rules = _rules(envelopes, RULES)
    one = _workers(1, envelopes, rules)
    two = _workers(2, envelopes, rules)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    result = {
        "posts": posts,
        "rules": RULES,
        "batch": BATCH,
        "workers_1": one,
        "workers_2": two,
        "speedup_2_workers": two["posts_per_s"] / one["posts_per_s"],
        "goal_speedup": 1.8,
        "embedded_postgres": _embedded("postgres", envelopes, rules),
        "embedded_sqlite": _embedded("sqlite", envelopes, rules),
        "bus": _bus_cost(envelopes),
        "cores": cores,
        "ceiling": _ceiling(two, cores),
    }
    write_result(name, result)
    return result


def main() -> None:
    quick = "--quick" in sys.argv
    result = run(10_000 if quick else POSTS, name="scaleout_quick" if quick else "scaleout")
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
