"""Posts, rules and alerts for the queue, post-view, handover and dashboard tests (through services)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.web.conftest import Web
from watchfloor.connectors.base import MapOptions
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import AuditEvent
from watchfloor.domain.rules import RuleDraft
from watchfloor.services.ingest import import_file
from watchfloor.services.rules import add_rule

ANA = Actor(name="ana", roles=frozenset({"analyst"}))
RESCUE = '"trapped" OR "need rescue" OR "stranded"'


def add_rescue_rule(web: Web, *, name: str = "Rescue", query: str = RESCUE, severity: str = "high") -> int:
    draft = RuleDraft(basis_id=web.basis, name=name, query=query, severity=severity)  # type: ignore[arg-type]
    return add_rule(web.ctx, actor=ANA, draft=draft).id


def import_rows(web: Web, tmp_path: Path, rows: list[dict[str, str]], name: str = "posts.csv") -> int:
    """Import CSV rows (keys: id, author, created_at, text, and optional lang, url, urls, hashtags)."""
    columns = sorted({key for row in rows for key in row})
    lines = [",".join(columns)] + [",".join(json.dumps(row.get(c, "")) for c in columns) for row in rows]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(
        web.ctx, actor=ANA, path=path, format_name="csv", options=MapOptions(platform="twitter")
    )
    return report.alerts_raised


def import_tweets(
    web: Web, tmp_path: Path, tweets: list[dict[str, object]], name: str = "tweets.jsonl"
) -> int:
    """Import Twitter API v1.1 status objects (for replies and media, which CSV files cannot carry)."""
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(t) for t in tweets) + "\n", encoding="utf-8")
    return import_file(web.ctx, actor=ANA, path=path).alerts_raised


def tweet(
    native_id: str,
    screen_name: str,
    text: str,
    *,
    reply_to: str | None = None,
    minute: int = 0,
    **extra: object,
) -> dict[str, object]:
    return {
        "id_str": native_id,
        "created_at": f"Mon Oct 29 20:{minute:02d}:00 +0000 2012",
        "text": text,
        "in_reply_to_status_id_str": reply_to,
        "user": {"id_str": f"u-{screen_name}", "screen_name": screen_name, "name": f"{screen_name} name"},
        "entities": {"hashtags": [], "urls": [], "user_mentions": []},
        **extra,
    }


def events(web: Web, action: str | None = None) -> list[AuditEvent]:
    """Audit events so far (of one action), oldest first."""
    with web.ctx.store.transaction() as tx:
        found = tx.audit_events(actor=None, action=action, before=None, limit=10_000)
    return list(reversed(found))


def audit_size(web: Web) -> int:
    with web.ctx.store.transaction() as tx:
        return tx.audit_size()
