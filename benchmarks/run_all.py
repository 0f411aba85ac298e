"""Run every benchmark and rewrite the results table in benchmarks/README.md.

``python -m benchmarks.run_all`` runs ingest (400k real tweets), search (1M posts), dedup quality,
the console under 20 analysts and media enrichment (image hashes, near-duplicate images, OCR);
``--full`` adds search on 10M posts (about an hour and several GB of disk on the reference machine).
``--latency`` adds alert latency and the sustained rate through ``watchfloor run`` (about 45 minutes).
``--scaleout`` adds scale-out throughput (1 and 2 workers; needs PostgreSQL and NATS, a few minutes).
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


def _floor_rows(r: dict[str, Any]) -> list[str]:
    """The store's writes replayed with bare sqlite3 (bench_ingest's ``sqlite_floor``), if measured."""
    floor = r.get("sqlite_floor")
    if floor is None:
        return []
    parts = ", ".join(f"{name} {_f(us, 1)}" for name, us in floor["floor_split_us_per_post"].items())
    share = floor["sqlite_floor_us_per_post"] / floor["store_us_per_post"]
    return [
        f"| ingest SQLite floor | same, the store's writes replayed with bare sqlite3 | "
        f"{_f(floor['sqlite_floor_us_per_post'], 1)} µs/post ({parts}) | "
        f"the store stage in the same run: {_f(floor['store_us_per_post'], 1)} µs/post | {share:.2f} of it |"
    ]


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
        *_floor_rows(r),
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


def _import_rate(posts_per_s: int | None) -> str:
    return "" if posts_per_s is None else f" (storing {posts_per_s:,} posts/s)"


def _console_rows(r: dict[str, Any]) -> list[str]:
    loaded, alone, static = r["under_load"], r["one_analyst_no_import"], r["static_file_20_threads"]
    crowd = r.get("all_analysts_no_import", {}).get("overall", {}).get("p99_ms", float("nan"))
    workers = r.get("serve_workers", 1)
    served = f"{workers} `serve` process{'es' if workers > 1 else ''}"
    rows = [
        f"| console | {r['analysts']} analysts on loopback firing pages back to back while an import "
        f"runs{_import_rate(r.get('import_posts_per_s'))}, {served} | "
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
            f"| console, analysts reading | same {r['analysts']} analysts while an import runs"
            f"{_import_rate(r.get('think_import_posts_per_s'))}, each "
            f"reading a page {low:.0f}–{high:.0f} s before the next | all pages p50 "
            f"{think['overall']['p50_ms']:.0f} ms, p99 {think['overall']['p99_ms']:.0f} ms | the "
            f"back-to-back run above | goal p99 < {r['goal_p99_ms']} ms: "
            f"**{'met' if think['overall']['p99_ms'] < r['goal_p99_ms'] else 'not met'}** |"
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


def _media_rows(r: dict[str, Any]) -> list[str]:
    nd, cost, ocr = r["near_duplicates"], r["cost"], r.get("ocr")
    base = cost["baseline_pillow_decode_resize"]
    rows = [
        f"| media hashing | {cost['hash']['images']} generated JPEGs, "
        f"{cost['mean_megapixels']:.2f} MP mean | "
        f"pHash + PDQ, whole image and 3 regions: {_f(cost['hash']['images_per_cpu_s'])} images/CPU-s "
        f"({_f(cost['hash']['images_per_s'])}/s wall; whole image only "
        f"{_f(cost.get('hash_whole_image_only', {}).get('images_per_cpu_s', float('nan')))}/CPU-s) | "
        "Pillow decode + resize: "
        f"{_f(base['images_per_cpu_s'])} images/CPU-s | "
        f"{base['images_per_cpu_s'] / cost['hash']['images_per_cpu_s']:.1f}× its CPU |"
    ]
    full = cost.get("hash_ocr")
    if full:
        rows.append(
            f"| media hash + OCR | {full['images']} of the same | "
            f"{full['images_per_cpu_s']:.2f} images/CPU-s "
            f"({full['images_per_s']:.2f}/s wall, tesseract included) | same baseline | "
            f"{base['images_per_cpu_s'] / full['images_per_cpu_s']:.0f}× its CPU |"
        )
    for name in ("pdq", "phash"):
        m = nd[name]
        rows.append(
            f"| near-dup images, {name} ≤ {m['distance']} | {nd['sources']} generated sources × 4 "
            f"transformations; {nd['non_matching_pairs']:,} non-matching pairs | recall "
            + ", ".join(f"{k} {v:.2f}" for k, v in m["recall"].items() if k != "main")
            + f"; false matches {m['false_match_rate']:.5f} | | goal ≥ 0.95 recall (all four) at ≤ 1%: "
            f"**{'met' if m['meets_goal'] else 'not met'}** (recall {m['recall']['main']:.2f}) |"
        )
    production = nd.get("production", {})
    whole = production.get("whole")
    for name, title in (("whole", "whole-image hashes only"), ("regions", "whole + region hashes")):
        m = production.get(name)
        if m is None or whole is None:
            continue
        kinds = ", ".join(f"{k} {v:.4f}" for k, v in m["false_match_rate_by_kind"].items())
        before = (
            ""
            if name == "whole"
            else f"whole-image hashes: recall {whole['recall']['main']:.2f}, "
            f"false matches {whole['false_match_rate']:.5f}"
        )
        rows.append(
            f"| near-dup images, production: {title} | same sources and copies; {m['pairs']:,} pairs; "
            f"{m['hashes_per_image']:.1f} hashes/image | recall "
            + ", ".join(f"{k} {v:.2f}" for k, v in m["recall"].items() if k != "main")
            + f"; false matches {m['false_match_rate']:.5f} (same kind: {kinds}) | {before} | "
            f"goal ≥ 0.95 recall (all four) at ≤ 1%: **{'met' if m['meets_goal'] else 'not met'}** "
            f"(recall {m['recall']['main']:.2f}) |"
        )
    if ocr:
        rows.append(
            f"| OCR | {ocr['images']} generated text images, 6 fonts, 11–36 px, 4 backgrounds | "
            f"character error rate {ocr['cer']:.4f}, {ocr['ms_per_image']:.0f} ms/image | "
            f"plain pytesseract: CER {ocr['cer_plain_pytesseract']:.4f} | |"
        )
    return rows


def _latency_rows(r: dict[str, Any]) -> list[str]:
    rows = []
    lat = r.get("latency")
    if lat:
        steady, burst, drain = lat["phases"]["steady"], lat["phases"]["burst"], lat["drain"]
        s, b, bd = steady["latency_from_send"], burst["latency_from_send"], burst["latency_from_due"]
        default = r.get("default_batching", {}).get("steady", {}).get("latency_from_send", {})
        drained = drain["drained_after_s"]
        rows.append(
            f"| alert latency | {r['rules']:,} rules; Jetstream {steady['rate_per_s']:,}/s for "
            f"{steady['seconds']:.0f} s, "
            f"then {burst['rate_per_s']:,}/s for {burst['seconds']:.0f} s; `watchfloor run` into SQLite | "
            f"steady p50/p99/p99.9 {s['p50_ms']:.0f}/{s['p99_ms']:.0f}/{s['p99_9_ms']:.0f} ms; burst p99 "
            f"{b['p99_ms'] / 1000:.1f} s from send, {bd['p99_ms'] / 1000:.0f} s from due; backlog "
            f"{drain['backlog_posts_at_burst_end']:,} posts "
            + (
                f"drained in {drained:.0f} s"
                if drained is not None
                else f"not drained in {lat['phases']['recovery']['seconds']:.0f} s"
            )
            + f"; drops {sum(lat['drops'].values())} | "
            "default batching (500 frames or 1 s): steady p99 "
            f"{default.get('p99_ms', float('nan')):.0f} ms | "
            f"goals met: {', '.join(k for k, v in lat['goals'].items() if v) or 'none'} |"
        )
    sus = r.get("sustained")
    if sus:
        held = next((c for c in sus["confirm"] if c["held"]), None)
        last = sus["confirm"][-1]
        rows.append(
            f"| sustained rate | same rules and path; rate stepped up every {sus['step_seconds']:.0f} s, "
            f"then held for {last['seconds']:.0f} s | "
            + (
                f"**{held['rate']:,.0f} posts/s** held: lag median {held['median_lag_s']:.2f} s, trend "
                f"{held['lag_slope_s_per_s']:+.4f} s/s, alert p99 "
                f"{held['latency']['latency_from_send']['p99_ms']:.0f} ms"
                if held
                else f"no rate held (last tried {last['rate']:,.0f} posts/s)"
            )
            + f" | highest step held: {sus['highest_step_held']:,.0f} posts/s | |"
        )
    return rows


def _scaleout_rows(r: dict[str, Any]) -> list[str]:
    one, two, bus = r["workers_1"], r["workers_2"], r["bus"]
    emb_pg, emb_lite = r["embedded_postgres"], r["embedded_sqlite"]
    busy = two["cores_busy"]
    ceiling = r["ceiling"]
    cpu = ceiling["cpu_ms_per_1000_posts"]
    return [
        f"| scale-out | {r['posts']:,} posts, {r['rules']:,} rules, pre-filled JetStream stream → "
        f"`watchfloor worker` → PostgreSQL, {r['cores']} cores | 1 worker {_f(one['posts_per_s'])} posts/s, "
        f"2 workers {_f(two['posts_per_s'])} posts/s (cores busy with 2: workers {busy['workers']:.2f}, "
        f"PostgreSQL {busy['postgres']:.2f}, others {busy['others']:.2f}) | embedded `collect_batch`: "
        f"PostgreSQL {_f(emb_pg['posts_per_s'])}, SQLite {_f(emb_lite['posts_per_s'])} posts/s | "
        f"**{r['speedup_2_workers']:.2f}×** with 2 workers (goal {r['goal_speedup']}×) |",
        f"| scale-out ceiling | CPU per 1,000 posts: workers {cpu['workers']:.0f} ms, PostgreSQL "
        f"{cpu['postgres']:.0f} ms, NATS {cpu['nats-server']:.0f} ms | at most "
        f"{_f(ceiling['max_posts_per_s_1_worker'])} posts/s with 1 worker, "
        f"{_f(ceiling['max_posts_per_s_2_workers'])} with 2 on {r['cores']} idle cores | | "
        f"at most {ceiling['max_speedup_2_workers']:.2f}×; 1.8× needs "
        f"{ceiling['cores_for_1_8x']:.1f} cores |",
        f"| bus cost | same posts, {bus['mean_message_bytes']:,.0f} B/message | encode "
        f"{bus['encode_us_per_post']:.1f} µs, publish + ack {bus['publish_us_per_post']:.1f} µs, decode "
        f"{bus['decode_us_per_post']:.1f} µs per post | | |",
    ]


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
        ("alert_latency", _latency_rows),
        ("media", _media_rows),
        ("scaleout", _scaleout_rows),
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
        from benchmarks import bench_console, bench_dedup, bench_ingest, bench_media, bench_search

        bench_ingest.run()
        bench_search.run(1_000_000)
        if "--full" in sys.argv:
            bench_search.run(10_000_000)
        bench_dedup.run()
        bench_console.run()
        if "--latency" in sys.argv:
            from benchmarks import bench_alert_latency

            bench_alert_latency.run()
        bench_media.run()
        if "--scaleout" in sys.argv:
            from benchmarks import bench_scaleout

            bench_scaleout.run()
    print(write_table())


if __name__ == "__main__":
    main()
