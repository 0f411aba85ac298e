"""JSON shapes of the queue, alert, post, handover and dashboard API (they describe /api/openapi.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from pydantic import BaseModel

from watchfloor.domain.alerts import Alert, AlertEvent, HandoverNote
from watchfloor.domain.rules import RuleVersion
from watchfloor.services.console_dashboard import Chart, Dashboard
from watchfloor.services.console_posts import AccountPosts, AlertPage, PostContext
from watchfloor.services.console_queue import BulkDismissal, QueueRow
from watchfloor.services.handover import Handover
from watchfloor.store.ports import StoredPost


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value)


class AlertOut(BaseModel):
    id: int
    kind: str
    rule_id: int
    rule_version: int
    severity: str
    status: str
    created_at: datetime
    deadline: datetime
    updated_at: datetime
    post_id: int | None = None
    cluster_id: int | None = None
    post_count: int = 1
    spans: list[tuple[int, int]] = []
    fields: list[str] = []
    assignee: str | None = None
    disposition: str | None = None
    breached_at: datetime | None = None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls.model_validate(_plain(alert))


class MediaOut(BaseModel):
    kind: str
    url: str | None = None
    alt_text: str | None = None
    mime_type: str | None = None


class PostOut(BaseModel):
    """A stored post as the platform gave it (text and names are the author's: treat as untrusted)."""

    id: int
    platform: str
    native_id: str
    created_at: datetime
    url: str | None = None
    author_id: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    title: str | None = None
    text: str | None = None
    langs: list[str] = []
    hashtags: list[str] = []
    mentions: list[str] = []
    urls: list[str] = []
    domains: list[str] = []
    media: list[MediaOut] = []
    reply_to: str | None = None
    reply_root: str | None = None
    conversation: str | None = None
    cluster_id: int | None = None
    deleted_at: datetime | None = None

    @classmethod
    def of(cls, stored: StoredPost) -> PostOut:
        post = _plain(stored.post)
        return cls.model_validate(
            {**post, "id": stored.id, "cluster_id": stored.cluster_id, "deleted_at": stored.deleted_at}
        )


def _posts(items: list[StoredPost]) -> list[PostOut]:
    return [PostOut.of(p) for p in items]


class QueueRowOut(BaseModel):
    alert: AlertOut
    rule_name: str
    post: PostOut | None
    cluster: list[int]  # active alerts (any rule) sharing the post's near-duplicate cluster

    @classmethod
    def of(cls, row: QueueRow) -> QueueRowOut:
        post = PostOut.of(row.view.post) if row.view.post else None
        return cls(
            alert=AlertOut.of(row.view.alert), rule_name=row.view.rule_name, post=post, cluster=row.cluster
        )


class RuleVersionOut(BaseModel):
    rule_id: int
    version: int
    name: str
    query: str
    severity: str
    basis_id: int | None = None

    @classmethod
    def of(cls, rule: RuleVersion) -> RuleVersionOut:
        return cls(
            rule_id=rule.rule_id,
            version=rule.version,
            name=rule.name,
            query=rule.query,
            severity=rule.severity,
            basis_id=rule.basis_id,
        )


class AlertEventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: str | None = None
    to_status: str | None = None
    disposition: str | None = None
    note: str | None = None

    @classmethod
    def of(cls, event: AlertEvent) -> AlertEventOut:
        return cls.model_validate(_plain(event))


class PostContextOut(BaseModel):
    post: PostOut
    raw_format: str | None
    raw: str | None  # the payload as received, decoded as UTF-8 (undecodable bytes replaced)
    parents: list[PostOut]
    replies: list[PostOut]
    near_duplicates: list[PostOut]
    basis_id: int

    @classmethod
    def of(cls, context: PostContext) -> PostContextOut:
        return cls(
            post=PostOut.of(context.post),
            raw_format=context.raw_format,
            raw=context.raw.decode("utf-8", "replace") if context.raw is not None else None,
            parents=_posts(context.parents),
            replies=_posts(context.replies),
            near_duplicates=_posts(context.near_duplicates),
            basis_id=context.basis_id,
        )


class AlertDetailOut(BaseModel):
    alert: AlertOut
    rule: RuleVersionOut  # the version that fired
    matched: list[str]  # the matched spans of the post's searchable text
    events: list[AlertEventOut]
    grouped_posts: list[PostOut]
    context: PostContextOut | None
    cluster: list[int]

    @classmethod
    def of(cls, page: AlertPage) -> AlertDetailOut:
        text = page.context.post.post.searchable_text() if page.context else ""
        return cls(
            alert=AlertOut.of(page.alert),
            rule=RuleVersionOut.of(page.rule),
            matched=[text[s:e] for s, e in page.alert.spans if 0 <= s < e <= len(text)],
            events=[AlertEventOut.of(e) for e in page.events],
            grouped_posts=_posts(page.grouped_posts),
            context=PostContextOut.of(page.context) if page.context else None,
            cluster=page.cluster,
        )


class AccountPostsOut(BaseModel):
    post_id: int
    posts: list[PostOut]

    @classmethod
    def of(cls, found: AccountPosts) -> AccountPostsOut:
        return cls(post_id=found.post.id, posts=_posts(found.posts))


class BulkDismissIn(BaseModel):
    alert_ids: list[int]
    disposition: str
    note: str | None = None


class DismissIn(BaseModel):
    disposition: str
    note: str | None = None


class NoteIn(BaseModel):
    note: str | None = None


class BulkDismissOut(BaseModel):
    dismissed: list[AlertOut]
    skipped: list[int]

    @classmethod
    def of(cls, done: BulkDismissal) -> BulkDismissOut:
        return cls(dismissed=[AlertOut.of(a) for a in done.dismissed], skipped=done.skipped)


class HandoverNoteOut(BaseModel):
    id: int
    at: datetime
    author: str
    text: str

    @classmethod
    def of(cls, note: HandoverNote) -> HandoverNoteOut:
        return cls.model_validate(_plain(note))


class HandoverNoteIn(BaseModel):
    text: str


class HandoverOut(BaseModel):
    now: datetime
    shift_start: datetime
    open_by_severity: dict[str, list[AlertOut]]
    breached_in_shift: list[AlertOut]
    claimed_untouched: list[AlertOut]
    raised_in_shift: int
    closed_in_shift: int
    notes: list[HandoverNoteOut]

    @classmethod
    def of(cls, summary: Handover) -> HandoverOut:
        return cls(
            now=summary.now,
            shift_start=summary.shift_start,
            open_by_severity={k: [AlertOut.of(a) for a in v] for k, v in summary.open_by_severity.items()},
            breached_in_shift=[AlertOut.of(a) for a in summary.breached_in_shift],
            claimed_untouched=[AlertOut.of(a) for a in summary.claimed_untouched],
            raised_in_shift=summary.raised_in_shift,
            closed_in_shift=summary.closed_in_shift,
            notes=[HandoverNoteOut.of(n) for n in summary.notes],
        )


class SeriesOut(BaseModel):
    label: str
    counts: list[int]


class ChartOut(BaseModel):
    starts: list[datetime]
    series: list[SeriesOut]

    @classmethod
    def of(cls, chart: Chart) -> ChartOut:
        return cls(
            starts=chart.starts, series=[SeriesOut(label=s.label, counts=s.counts) for s in chart.series]
        )


class SlaOut(BaseModel):
    raised: int
    claimed: int
    median_seconds_to_claim: float | None
    claimed_within_deadline: int
    breaches: int


class FacetOut(BaseModel):
    value: str
    count: int


class ImportOut(BaseModel):
    id: int
    source: str
    format: str
    started_at: datetime
    finished_at: datetime | None = None
    records: int
    inserted: int
    duplicates: int
    deletions: int
    skipped: int
    quarantined: int


class DashboardOut(BaseModel):
    since: datetime
    until: datetime
    bucket_seconds: int
    alerts_by_rule: ChartOut
    posts_by_platform: ChartOut
    posts_by_language: ChartOut
    sla: SlaOut
    top_hashtags: list[FacetOut]
    top_domains: list[FacetOut]
    imports: list[ImportOut]  # file imports (no live connectors yet): counts and quarantined records

    @classmethod
    def of(cls, board: Dashboard) -> DashboardOut:
        return cls(
            since=board.since,
            until=board.until,
            bucket_seconds=board.bucket_seconds,
            alerts_by_rule=ChartOut.of(board.alerts_by_rule),
            posts_by_platform=ChartOut.of(board.posts_by_platform),
            posts_by_language=ChartOut.of(board.posts_by_language),
            sla=SlaOut.model_validate(board.sla, from_attributes=True),
            top_hashtags=[FacetOut(value=f.value, count=f.count) for f in board.top_hashtags],
            top_domains=[FacetOut(value=f.value, count=f.count) for f in board.top_domains],
            imports=[ImportOut.model_validate(_plain(r)) for r in board.imports],
        )
