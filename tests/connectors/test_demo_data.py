"""The bundled demo data: every manifest entry exists, is licensed, and the CSVs import cleanly."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import watchfloor
from tests.connectors.helpers import import_posts
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.post import Post

DEMO = Path(watchfloor.__file__).parent / "demo"
MANIFEST: list[dict[str, Any]] = json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))
CSV_ENTRIES = [entry for entry in MANIFEST if "map" in entry]


def test_manifest_lists_existing_files_with_licences() -> None:
    readme = (DEMO / "README.md").read_text(encoding="utf-8")
    for entry in MANIFEST:
        assert (DEMO / entry["path"]).is_file(), entry["path"]
        assert entry["path"] in readme, f"{entry['path']} is not described in demo/README.md"
        if "map" in entry:
            assert (DEMO / entry["map"]).is_file(), entry["map"]
    assert (DEMO / "crisislex.LICENSE").read_text().startswith("The MIT License")
    assert "Copyright (c) 2014 Alexandra Olteanu, Carlos Castillo" in (DEMO / "crisislex.LICENSE").read_text()
    assert "Bluesky Social PBC" in (DEMO / "bluesky_jetstream.LICENSE-DUAL").read_text()


def test_demo_folder_stays_small() -> None:
    total = sum(path.stat().st_size for path in DEMO.rglob("*") if path.is_file())
    assert total < 2 * 1024 * 1024


def _import(entry: dict[str, Any]) -> tuple[list[Post], int]:
    column_map = json.loads((DEMO / entry["map"]).read_text(encoding="utf-8"))
    options = MapOptions(platform=column_map["platform"], column_map=column_map["columns"])
    posts, quarantined = import_posts(DEMO / entry["path"], entry["format"], options)
    return posts, len(quarantined)


@pytest.mark.parametrize("entry", CSV_ENTRIES, ids=[e["path"] for e in CSV_ENTRIES])
def test_demo_csv_maps_without_quarantine_and_with_2012_2013_dates(entry: dict[str, Any]) -> None:
    posts, quarantined = _import(entry)
    assert quarantined == 0
    assert len(posts) >= 1000
    assert all(
        datetime(2012, 1, 1, tzinfo=UTC) <= p.created_at < datetime(2014, 1, 1, tzinfo=UTC) for p in posts
    )
    assert all(p.platform == "twitter" and p.native_id.isdigit() and p.text for p in posts)
    assert len({p.native_id for p in posts}) == len(posts)


def test_sandy_sample_answers_the_demo_flood_query() -> None:
    [entry] = [e for e in CSV_ENTRIES if "sandy" in e["path"]]
    posts, _ = _import(entry)
    since = datetime(2012, 10, 29, tzinfo=UTC)
    hits = [
        p
        for p in posts
        if p.created_at >= since
        and p.text
        and re.search(r"\bflood|water rising", p.text, re.IGNORECASE)
        and "#prayers" not in p.text.lower()
    ]
    assert len(hits) >= 50


def test_t26_sample_spans_several_events() -> None:
    [entry] = [e for e in CSV_ENTRIES if "t26" in e["path"]]
    posts, _ = _import(entry)
    assert len(posts) == 3000
    months = {(p.created_at.year, p.created_at.month) for p in posts}
    assert len(months) >= 8  # ten events spread over 2012-2013
