"""Run every benchmark and rewrite the results table in benchmarks/README.md.

``python -m benchmarks.run_all`` runs ingest (400k real tweets), search (1M posts), dedup quality and
the console under 20 analysts;
``--full`` adds search on 10M posts (about an hour and several GB of disk on the reference machine).
``--table`` only rewrites the table from the JSON results already in benchmarks/results/.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from benchmarks.common import RESULTS, ROOT

README = ROOT / "benchmarks" / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _f(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _ingest_rows(r: dict[str, Any]) -> list[str]:
    ours, peer, split = r["watchfloor"], r["peer_sqlite_utils"], r["stage_split"]
    return [
        f"| ingest | {r['records']:,} records, {r['data']} | watchfloor import (full pipeline + FTS5) | "
        f"{_f(ours['posts_per_s'])} posts/s, peak RSS {_f(ours['peak_rss_mb'])} MB, "
        f"DB {_f(ours['db_mb'])} MB | "
        f"sqlite-utils insert + enable-fts: {_f(peer['posts_per_s'])} posts/s | "
        f"**{r['ratio_vs_peer']:.2f}×** peer |",
        f"| ingest split | same | µs/post: read+map {_f(split['read_map_us_per_post'], 1)}, "
        f"pipeline {_f(split['pipeline_us_per_post'], 1)}, store {_f(split['store_us_per_post'], 1)} | | | |",
    ] + [
        f"| ingest + rules | same, {int(n):,} active rules | {_f(m['posts_per_s'])} posts/s, "
        f"{m['alerts_raised']:,} alerts | same import with 0 rules | {m['slowdown_vs_0_rules']:.2f}× slower |"
        for n, m in r.get("with_rules", {}).items()
    ]


def _search_rows(r: dict[str, Any]) -> list[str]:
    rows = []
    for name, c in r["classes"].items():
        ratio = c["p99_ms"] / c["bare_fts5_p99_ms"] if c["bare_fts5_p99_ms"] else float("nan")
        rows.append(
            f"| search {r['posts']:,} | {name} | p50 {c['p50_ms']:.2f} ms, p99 {c['p99_ms']:.2f} ms | "
            f"bare FTS5 p50 {c['bare_fts5_p50_ms']:.2f}, p99 {c['bare_fts5_p99_ms']:.2f} ms | "
            f"{ratio:.1f}× bare p99 |"
        )
    return rows


def _match_rows(r: dict[str, Any]) -> list[str]:
    rows = []
    for size, v in r.get("sizes", {}).items():
        engines = v.get("engines", {})
        ours = engines.get("aho") or next(iter(engines.values()), None)
        if ours is None:
            continue
        peer_re, requery = v.get("peer-re", {}), v.get("peer-requery", {})
        nan = float("nan")
        rows.append(
            f"| match | {int(size):,} rules × {r['posts']:,} posts | "
            f"{_f(ours['posts_per_s'])} posts/s end to end, "
            f"{_f(ours['scan_and_evaluate_posts_per_s'])} posts/s scan-and-evaluate, "
            f"build {ours['build_s']:.2f} s | "
            f"`re` alternation {_f(peer_re.get('posts_per_s', nan))} posts/s; "
            f"re-query {_f(requery.get('posts_per_s', nan))} posts/s | "
            f"**{peer_re.get('aho_ratio', nan):.0f}×** `re`, "
            f"**{requery.get('aho_ratio', nan):.0f}×** re-query |"
        )
    return rows


def _dedup_rows(r: dict[str, Any]) -> list[str]:
    ours, peer = r["ours"], r.get("datasketch", {})
    rows = [
        f"| dedup | {r['n']:,} generated posts | exact recall {ours['exact_recall']:.3f}, near recall "
        f"{ours['near_recall']:.3f}, precision {ours['precision']:.3f}, {ours['us_per_post']:.1f} µs/post | "
        f"datasketch: {peer.get('us_per_post', float('nan')):.1f} µs/post | "
        f"**{peer.get('us_per_post', float('nan')) / ours['us_per_post']:.1f}×** faster |"
    ]
    lang = r.get("language")
    if lang and lang.get("per_language"):
        cells = ", ".join(f"{k} {v['accuracy']:.2f}" for k, v in lang["per_language"].items())
        rows.append(
            f"| language id | UMSAB tweets | accuracy {cells}; {lang['us_per_post']:.1f} µs/post | | |"
        )
    return rows


def _console_rows(r: dict[str, Any]) -> list[str]:
    loaded, alone, static = r["under_load"], r["one_analyst_no_import"], r["static_file_20_threads"]
    crowd = r.get("all_analysts_no_import", {}).get("overall", {}).get("p99_ms", float("nan"))
    rows = [
        f"| console | {r['analysts']} analysts on loopback, importing {r['import_posts']:,} posts | "
        f"all pages p50 {loaded['overall']['p50_ms']:.0f} ms, p99 {loaded['overall']['p99_ms']:.0f} ms, "
        f"{r['pages_per_s']:.0f} pages/s, {r['errors']} errors | one analyst, no import: p99 "
        f"{alone['overall']['p99_ms']:.0f} ms; {r['analysts']} analysts, no import: p99 "
        f"{crowd:.0f} ms; static file ×{r['analysts']}: p99 {static['p99_ms']:.0f} ms | "
        f"goal p99 < {r['goal_p99_ms']} ms: **{'met' if r['meets_goal'] else 'not met'}** |"
    ]
    think = r.get("with_think_time_importing")
    if think:
        low, high = think["think_seconds"]
        rows.append(
            f"| console, analysts reading | same {r['analysts']} analysts importing, each reading a page "
            f"{low:.0f}–{high:.0f} s before the next | all pages p50 {think['overall']['p50_ms']:.0f} ms, "
            f"p99 {think['overall']['p99_ms']:.0f} ms | the back-to-back run above | "
            f"{'under' if think['overall']['p99_ms'] < r['goal_p99_ms'] else 'over'} the 300 ms goal |"
        )
    for kind, c in loaded.items():
        if kind != "overall":
            one = alone.get(kind, {})
            rows.append(
                f"| console {kind} | same | p50 {c['p50_ms']:.0f} ms, p99 {c['p99_ms']:.0f} ms | "
                f"one analyst: p50 {one.get('p50_ms', float('nan')):.0f} ms, "
                f"p99 {one.get('p99_ms', float('nan')):.0f} ms | |"
            )
    return rows


def write_table() -> str:
    lines = [
        "| benchmark | workload | watchfloor | baseline run beside it | ratio |",
        "|---|---|---|---|---|",
    ]
    for name, rows in (
        ("ingest", _ingest_rows),
        ("search_1000000", _search_rows),
        ("search_10000000", _search_rows),
        ("match", _match_rows),
        ("dedup", _dedup_rows),
        ("console", _console_rows),
    ):
        result = _load(name)
        if result is not None:
            try:
                lines.extend(rows(result))
            except KeyError as exc:
                lines.append(f"| {name} | result file lacks {exc} | | | |")
    table = "\n".join(lines)
    text = README.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    README.write_text(text[:start] + "\n" + table + "\n" + text[end:], encoding="utf-8")
    return table


def main() -> None:
    if "--table" not in sys.argv:
        from benchmarks import bench_console, bench_dedup, bench_ingest, bench_search

        bench_ingest.run()
        bench_search.run(1_000_000)
        if "--full" in sys.argv:
            bench_search.run(10_000_000)
        bench_dedup.run()
        bench_console.run()
    print(write_table())


if __name__ == "__main__":
    main()
