"""Match newly stored posts against every active rule and raise alerts, in the caller's transaction.

Matching runs inside the same transaction that stores the posts, so a post is never stored without
being matched, or matched twice (idempotent alert writes make replays harmless anyway). The compiled
matcher is cached per process and rebuilt incrementally when the store's rules revision changes.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from watchfloor.config import Settings
from watchfloor.domain.alerts import AlertDraft
from watchfloor.domain.post import Post
from watchfloor.domain.rules import RuleVersion
from watchfloor.rules import Matcher, compile_rule
from watchfloor.services.watch_checks import withhold_unauthorised
from watchfloor.store.ports import AlertWrite, StoreTx


@dataclass
class MatcherCache:
    """The compiled matcher of this process, rebuilt when rules or account lists change."""

    _revision: int | None = None
    _matcher: Matcher | None = None
    _versions: dict[int, RuleVersion] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self, tx: StoreTx) -> tuple[Matcher, dict[int, RuleVersion]]:
        """The matcher for the store's current rules (incremental rebuild if they changed)."""
        revision = tx.rules_revision()
        with self._lock:
            if self._matcher is not None and revision == self._revision:
                return self._matcher, self._versions
            versions = {r.id: r.current for r in tx.list_rules(status="active")}
            lists = {a.name: frozenset(a.members) for a in tx.account_lists()}
            lists.update(tx.image_list_hashes())  # "~name": known-image lists (imagehash:~name)
            if self._matcher is None:
                matcher = Matcher.build([compile_rule(v) for v in versions.values()], lists)
            else:
                changed = [v for rid, v in versions.items() if self._versions.get(rid) != v]
                removed = [rid for rid in self._versions if rid not in versions]
                matcher = self._matcher.with_changes(
                    upsert=[compile_rule(v) for v in changed], remove=removed, lists=lists
                )
            self._matcher, self._versions, self._revision = matcher, versions, revision
            return matcher, versions


@dataclass(frozen=True, slots=True)
class NewPost:
    """A post just stored: its store id, content and near-duplicate cluster."""

    id: int
    post: Post
    cluster_id: int | None


def _deadline(settings: Settings, severity: str, now: datetime) -> datetime:
    return now + timedelta(minutes=settings.sla_minutes.get(severity, 24 * 60))


def match_and_alert(
    tx: StoreTx,
    *,
    cache: MatcherCache,
    posts: Sequence[NewPost],
    settings: Settings,
    now: datetime,
    actor: str,
) -> AlertWrite:
    """Match ``posts`` against the active rules and raise (or group) alerts; returns what was written."""
    if not posts:
        return AlertWrite()
    matcher, versions = cache.current(tx)
    if not len(matcher):
        return AlertWrite()
    drafts: list[AlertDraft] = []
    volume_hits: dict[int, list[NewPost]] = defaultdict(list)
    # No alert from a rule whose basis ended, or through a named account with no watch (watch_checks.py).
    found_all, withheld = withhold_unauthorised(
        tx,
        posts=[p.post for p in posts],
        found=matcher.match([p.post for p in posts]),
        versions=versions,
        now=now,
    )
    for item, found in zip(posts, found_all, strict=True):
        for match in found:
            version = versions.get(match.rule_id)
            if version is None:
                continue
            if version.volume is not None:
                volume_hits[match.rule_id].append(item)
                continue
            drafts.append(
                AlertDraft(
                    kind="post",
                    rule_id=match.rule_id,
                    rule_version=match.version,
                    severity=version.severity,
                    created_at=now,
                    deadline=_deadline(settings, version.severity, now),
                    post_id=item.id,
                    cluster_id=item.cluster_id,
                    spans=match.spans,
                    fields=match.fields,
                )
            )
    drafts.extend(_bursts(tx, volume_hits, versions, settings, now))
    written = tx.write_alerts(drafts, actor=actor)
    written.withheld = withheld
    return written


def _bursts(
    tx: StoreTx,
    hits: dict[int, list[NewPost]],
    versions: dict[int, RuleVersion],
    settings: Settings,
    now: datetime,
) -> list[AlertDraft]:
    """Burst alerts for volume rules whose window now holds at least the threshold of matching posts."""
    if not hits:
        return []
    tx.record_rule_hits([(rid, p.id, p.post.created_at) for rid, items in hits.items() for p in items])
    drafts = []
    for rule_id, items in hits.items():
        version = versions[rule_id]
        assert version.volume is not None
        window = timedelta(minutes=version.volume.window_minutes)
        latest = max(p.post.created_at for p in items)
        start = latest - window
        last_end = tx.last_burst_end(rule_id)
        if last_end is not None and last_end > start:
            continue  # one burst alert per window: the current burst is already on the queue
        count = tx.count_rule_hits(rule_id, since=start, until=latest + timedelta(microseconds=1))
        if count < version.volume.threshold:
            continue
        sample = max(items, key=lambda p: p.post.created_at)
        drafts.append(
            AlertDraft(
                kind="burst",
                rule_id=rule_id,
                rule_version=version.version,
                severity=version.severity,
                created_at=now,
                deadline=_deadline(settings, version.severity, now),
                post_id=sample.id,
                cluster_id=None,
                window_start=start,
                window_end=latest,
                post_count=count,
            )
        )
    return drafts
