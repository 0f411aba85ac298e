"""The retention purge: delete what the retention periods say has expired, unless a legal hold keeps it.

Classes (periods from Settings): posts no alert covers go ``retention_unmatched_days`` after they were
collected; alerts in no case ``retention_alert_days`` after they were raised, and then the posts only
they covered; closed cases ``retention_case_days_after_close`` after closure, after which their alerts
and posts follow the two periods above in the same run; posts their platform reported deleted go at
the next purge. A legal hold on a case, alert or post overrides every period. One purge is one
transaction and one ``retention.purge`` audit event holding the counts and digests of the removed ids,
never content; the audit log itself is never purged, so it still verifies afterwards. A dry run
(``retention.read``) reports the same counts and removes nothing. Fetched media files no remaining
post, evidence item or known-image list uses are deleted from the media directory after the purge
commits (their rows go with it).
"""

from __future__ import annotations

from datetime import timedelta

from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.oversight import RetentionCounts
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import ids_digest, object_refs, record, refusals_recorded
from watchfloor.store.media_files import MediaFiles

__all__ = ["purge"]


def purge(ctx: ServiceContext, *, actor: Actor, dry_run: bool = False) -> RetentionCounts:
    """Delete expired cases, alerts and posts not under legal hold; with ``dry_run``, only count them."""
    action = "retention.read" if dry_run else "retention.purge"
    with refusals_recorded(ctx, actor=actor, action=action):
        authorize(actor, action)
        dropped = [] if dry_run else _maintain_partitions(ctx)
    with refusals_recorded(ctx, actor=actor, action=action), ctx.store.transaction() as tx:
        authorize(actor, action)
        settings, now = ctx.settings, ctx.clock.now()
        counts = tx.purge_expired(
            unmatched_before=now - timedelta(days=settings.retention_unmatched_days),
            alerts_before=now - timedelta(days=settings.retention_alert_days),
            cases_closed_before=now - timedelta(days=settings.retention_case_days_after_close),
            dry_run=dry_run,
        )
        case_refs, case_digest = object_refs("case", counts.case_ids)
        alert_refs, alert_digest = object_refs("alert", counts.alert_ids)
        details: dict[str, DetailValue] = {
            "dry_run": dry_run,
            "cases": counts.cases,
            "alerts": counts.alerts,
            "posts_unmatched": counts.posts_unmatched,
            "posts_of_expired_alerts": counts.posts_of_expired_alerts,
            "posts_deleted_by_platform": counts.posts_deleted_by_platform,
            "deleted_but_held": counts.deleted_but_held,
            "unmatched_days": settings.retention_unmatched_days,
            "alert_days": settings.retention_alert_days,
            "case_days_after_close": settings.retention_case_days_after_close,
            **case_digest,
            **alert_digest,
        }
        if counts.post_ids:  # always a digest: a purge can remove millions of posts
            details["post_ids_sha256"] = ids_digest("post", counts.post_ids)
        details["media_files"] = len(counts.media_sha256s)
        if dropped:
            counts.partitions_dropped = dropped
            details["partitions_dropped"] = ", ".join(dropped)
        record(tx, actor=actor, action=action, at=now, object_ids=(*case_refs, *alert_refs), details=details)
    if not dry_run and counts.media_sha256s and ctx.media is not None:
        _delete_media_files(ctx, ctx.media, counts.media_sha256s)
    return counts


def _maintain_partitions(ctx: ServiceContext) -> list[str]:
    """PostgreSQL: prepare the coming months' post partitions and drop the empty expired ones (emptied
    by earlier purges), in a short transaction of its own before the purge; their names go into the
    purge's audit event. SQLite: nothing."""
    empty_before = ctx.clock.now() - timedelta(days=ctx.settings.retention_unmatched_days)
    with ctx.store.transaction() as tx:
        return tx.maintain_partitions(empty_before=empty_before)


def _delete_media_files(ctx: ServiceContext, files: MediaFiles, hashes: list[str]) -> None:
    """Delete the files of media objects the committed purge removed, unless one was stored again since
    (a fetcher may have stored the same bytes for another post in the meantime)."""
    with ctx.store.snapshot() as tx:
        gone = [sha for sha in hashes if tx.get_media_object(sha) is None]
    for sha in gone:
        files.delete(sha)
