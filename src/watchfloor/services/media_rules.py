"""Put what was read from a post's photos and videos into the post, then match it against the rules again.

Posts are matched the moment they are stored, before their media is fetched; an image's text or a
known picture can only match later. When the fetcher has finished a post's media, this service writes
the image text (OCR of photos and video keyframes) and perceptual hashes into the stored post — so
search and back-tests see them too — and runs the matcher over the post once more. Alerts are
idempotent per rule and post, so a rule that already fired on the post's own text does not fire twice;
a rule that needs the image (``image:``, ``imagehash:~list``, or words only the image holds) fires now.
"""

from __future__ import annotations

from collections.abc import Sequence

from watchfloor.domain.actor import Actor
from watchfloor.domain.media import MediaObject
from watchfloor.services.context import ServiceContext
from watchfloor.services.matching import NewPost, match_and_alert
from watchfloor.services.recording import object_refs, record
from watchfloor.store.ports import AlertWrite, StoreTx

__all__ = ["apply_image_facts", "apply_waiting_image_facts", "image_facts"]

_MAX_IMAGE_TEXT = 20_000  # characters of image text kept per post (a poster wall of text is still searchable)


def image_facts(objects: Sequence[MediaObject]) -> tuple[str | None, tuple[str, ...]]:
    """The image text and tagged hashes ("pdq:<hex>", "phash:<hex>") of a post's stored images/frames.

    Each image gives its whole-image hashes and those of its regions (centre, top, bottom), so a
    cropped or captioned copy of a known image still matches (``MediaObject.tagged_hashes``). PDQ
    hashes of nearly featureless images or regions (quality below 50) are left out, as are pHashes of
    flat ones: they match other featureless images. Text is kept in the order of the post's media,
    each image's on its own line.
    """
    texts: list[str] = []
    hashes: list[str] = []
    for obj in objects:
        if obj.ocr_text and obj.ocr_text.strip():
            texts.append(obj.ocr_text.strip())
        hashes.extend(obj.tagged_hashes)
    text = "\n".join(texts)[:_MAX_IMAGE_TEXT] or None
    return text, tuple(dict.fromkeys(hashes))


def _objects_of_post(tx: StoreTx, post_id: int) -> list[MediaObject]:
    """The post's fetched files in media order, each video followed by its keyframes."""
    found: list[MediaObject] = []
    for _entry, obj in tx.media_for_post(post_id):
        if obj is None:
            continue
        found.append(obj)
        if obj.is_video:
            for frame in tx.frames_of(obj.sha256):
                frame_obj = tx.get_media_object(frame.frame_sha256)
                if frame_obj is not None:
                    found.append(frame_obj)
    return found


def apply_waiting_image_facts(ctx: ServiceContext, *, actor: Actor, limit: int = 500) -> AlertWrite:
    """Apply the image facts of up to ``limit`` posts whose media have all finished and wait for it.

    The fetcher commits each entry's outcome on its own, so the posts are found from the store (an
    entry finished without ``facts_us``), not from memory: a crash between the two steps leaves the
    post waiting, and the next run applies it.
    """
    with ctx.store.snapshot() as tx:
        waiting = tx.posts_awaiting_image_facts(limit=limit)
    return apply_image_facts(ctx, actor=actor, post_ids=waiting)


def apply_image_facts(ctx: ServiceContext, *, actor: Actor, post_ids: Sequence[int]) -> AlertWrite:
    """Write image text and hashes into each post and match it again (one transaction, one audit event);
    the posts' finished media entries are marked applied in the same transaction."""
    if not post_ids:
        return AlertWrite()
    with ctx.store.transaction() as tx:
        now = ctx.clock.now()
        tx.mark_image_facts_applied(post_ids, at=now)
        changed: list[int] = []
        for post_id in post_ids:
            text, hashes = image_facts(_objects_of_post(tx, post_id))
            if (text or hashes) and tx.set_post_image_facts(post_id, image_text=text, image_hashes=hashes):
                changed.append(post_id)
        stored = tx.get_posts(changed)
        written = match_and_alert(
            tx,
            cache=ctx.matchers,
            posts=[NewPost(id=p.id, post=p.post, cluster_id=p.cluster_id) for p in stored],
            settings=ctx.settings,
            now=now,
            actor=actor.name,
        )
        alert_refs, _digest = object_refs("alert", written.raised)
        record(tx, actor=actor, action="media.rematch", at=now, object_ids=alert_refs,
               details={"posts": len(changed), "alerts_raised": len(written.raised),
                        "alerts_withheld": written.withheld})  # fmt: skip
    return written
