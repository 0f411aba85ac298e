"""Turn the IRA troll-tweet CSVs (FiveThirtyEight, CC BY 4.0) into Twitter v1.1 JSON lines for ingest.

The per-author CSVs have no tweet ids; ids here are sequential and marked synthetic. Everything else
(text, author, time, declared language, retweet flag) is the real record. When ../shared/data is absent,
realistic generated posts in the same shape are written instead.
"""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import orjson

from benchmarks.common import CACHE, SHARED_DATA

LANGS = {
    "English": "en",
    "Russian": "ru",
    "German": "de",
    "Ukrainian": "uk",
    "Italian": "it",
    "Spanish": "es",
    "French": "fr",
    "Arabic": "ar",
    "Dutch": "nl",
    "Portuguese": "pt",
    "Serbian": "sr",
    "Farsi (Persian)": "fa",
}
_V1_TIME = "%a %b %d %H:%M:%S +0000 %Y"


def _rows(limit: int) -> list[dict[str, str]]:
    folder = SHARED_DATA / "ira_russian_troll_tweets" / "tweets"
    rows: list[dict[str, str]] = []
    for path in sorted(folder.glob("*/*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            rows.extend(csv.DictReader(handle))
        if len(rows) >= limit:
            break
    return rows[:limit]


def _status(index: int, row: dict[str, str]) -> dict[str, object]:
    created = datetime.strptime(row["publish_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    status: dict[str, object] = {
        "id_str": str(10**15 + index),
        "created_at": created.strftime(_V1_TIME),
        "full_text": row["content"],
        "user": {"id_str": row["author_id"], "screen_name": row["author_id"]},
        "entities": {"hashtags": [], "user_mentions": [], "urls": []},
    }
    lang = LANGS.get(row.get("language", ""))
    if lang:
        status["lang"] = lang
    return status


def ira_jsonl(limit: int = 400_000) -> tuple[Path, str]:
    """Path of a v1.1 JSONL file with ``limit`` records (cached), and where the records came from."""
    CACHE.mkdir(exist_ok=True)
    real = (SHARED_DATA / "ira_russian_troll_tweets").is_dir()
    path = CACHE / f"ira_{'real' if real else 'generated'}_{limit}.jsonl"
    origin = "IRA troll tweets (FiveThirtyEight, CC BY 4.0)" if real else "generated (shared data absent)"
    if path.exists():
        return path, origin
    buffer = io.BytesIO()
    if real:
        for index, row in enumerate(_rows(limit)):
            buffer.write(orjson.dumps(_status(index, row)) + b"\n")
    else:
        from benchmarks.corpus import generate_posts

        for index, post in enumerate(generate_posts(limit)):
            row = {
                "author_id": post.author_handle or "someone",
                "content": post.text or "",
                "publish_date": post.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "language": "",
            }
            buffer.write(orjson.dumps(_status(index, row)) + b"\n")
    path.write_bytes(buffer.getvalue())
    return path, origin
