"""The media queue and media objects in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.people import make_basis
from tests.store.helpers import make_post, prepared
from watchfloor.domain.casework import EvidencePart
from watchfloor.domain.media import CameraInfo, Enrichment, MediaFrame, MediaObject, RegionHash
from watchfloor.domain.post import MediaRef
from watchfloor.services.context import ServiceContext
from watchfloor.store.media_sql import purge_post_media
from watchfloor.store.sqlstore import SqlTx

COLLECTED = datetime(2013, 7, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _sha(n: int) -> str:
    return f"{n:064x}"


def _obj(n: int, media_type: str = "image/png", **fields: object) -> MediaObject:
    return MediaObject(sha256=_sha(n), size=100 + n, media_type=media_type, stored_at=NOW, **fields)  # type: ignore[arg-type]


def _store_posts(ctx: ServiceContext, *posts: tuple[str, tuple[MediaRef, ...]]) -> dict[str, int]:
    with ctx.store.transaction() as tx:
        result = tx.write_posts(
            [prepared(make_post(n, f"post {n}", media=media)) for n, media in posts], import_id=None
        )
    return {key[1]: post_id for key, post_id in zip(result.inserted_keys, result.inserted_ids, strict=True)}


def test_new_posts_queue_their_fetchable_media(media_ctx: ServiceContext) -> None:
    media = (
        MediaRef(kind="image", url="https://cdn.example/a.jpg"),
        MediaRef(kind="video", preview_url="https://cdn.example/v-still.jpg"),  # no file URL: the still
        MediaRef(kind="link_card", url="https://news.example/story"),
        MediaRef(kind="audio", url="https://cdn.example/a.mp3"),
        MediaRef(kind="gif", url="https://cdn.example/g.mp4", preview_url="https://cdn.example/g.jpg"),
        MediaRef(kind="image"),  # Telegram: a photo without a URL
    )
    ids = _store_posts(media_ctx, ("1", media), ("2", ()))
    with media_ctx.store.transaction() as tx:
        found = tx.media_for_posts([ids["1"], ids["2"]])
        # storing the same post again (a re-import) queues nothing twice
        tx.write_posts([prepared(make_post("1", "post 1", media=media))], import_id=None)
        assert len(tx.media_for_post(ids["1"])) == 3
    entries = [e for e, _ in found[ids["1"]]]
    assert [(e.position, e.kind, e.url) for e in entries] == [
        (0, "image", "https://cdn.example/a.jpg"),
        (1, "video", "https://cdn.example/v-still.jpg"),
        (4, "gif", "https://cdn.example/g.mp4"),
    ]
    assert all(e.state == "pending" and e.attempts == 0 and e.sha256 is None for e in entries)
    assert all(e.next_attempt_at == COLLECTED for e in entries)
    assert ids["2"] not in found


def test_claims_are_leased_oldest_first(media_ctx: ServiceContext) -> None:
    ids = _store_posts(
        media_ctx,
        (
            "1",
            (
                MediaRef(kind="image", url="https://x.example/1"),
                MediaRef(kind="image", url="https://x.example/2"),
            ),
        ),
        ("2", (MediaRef(kind="image", url="https://x.example/3"),)),
    )
    lease = NOW + timedelta(minutes=30)
    with media_ctx.store.transaction() as tx:
        first = tx.claim_due_media(now=NOW, limit=2, lease_until=lease)
    with media_ctx.store.transaction() as tx:
        second = tx.claim_due_media(now=NOW, limit=10, lease_until=lease)
        third = tx.claim_due_media(now=NOW, limit=10, lease_until=lease)
    assert [(e.post_id, e.position) for e in first] == [(ids["1"], 0), (ids["1"], 1)]
    assert [(e.post_id, e.position) for e in second] == [(ids["2"], 0)]
    assert third == []  # everything is leased
    assert all(e.next_attempt_at == lease for e in [*first, *second])
    with media_ctx.store.transaction() as tx:  # a fetcher that died: its entries are due after the lease
        again = tx.claim_due_media(now=lease, limit=10, lease_until=lease + timedelta(minutes=30))
    assert len(again) == 3


def test_outcomes_objects_frames_and_reuse(media_ctx: ServiceContext) -> None:
    url = "https://x.example/v.mp4"
    ids = _store_posts(
        media_ctx,
        ("1", (MediaRef(kind="video", url=url), MediaRef(kind="image", url="https://x.example/bad"))),
        ("2", (MediaRef(kind="video", url=url),)),
    )
    p1, p2 = ids["1"], ids["2"]
    camera = CameraInfo(make="Canon", model="EOS 5D", taken_at="2026:11:29 08:00:00")
    video = _obj(1, "video/mp4", duration_ms=1000, width=64, height=48)
    frame = _obj(2, phash="8f373714acfcf4d0", ocr_text="FLOOD", ocr_status="done", camera=camera)
    with media_ctx.store.transaction() as tx:
        assert tx.fetched_sha_for_url(url) is None
        assert tx.put_media_object(frame) and tx.put_media_object(video)
        assert not tx.put_media_object(video)  # idempotent
        tx.put_media_frames(
            [MediaFrame(video_sha256=video.sha256, index=0, at_ms=0, frame_sha256=frame.sha256)]
        )
        tx.put_media_frames(
            [MediaFrame(video_sha256=video.sha256, index=0, at_ms=0, frame_sha256=frame.sha256)]
        )
        assert tx.set_media_outcome(p1, 0, state="fetched", attempts=1, at=NOW, sha256=video.sha256)
        assert tx.set_media_outcome(
            p1,
            1,
            state="pending",
            attempts=1,
            at=NOW,
            next_attempt_at=NOW + timedelta(minutes=1),
            error="HTTP 500",
        )
        assert not tx.set_media_outcome(999, 0, state="failed", attempts=1, at=NOW, error="gone")
    with media_ctx.store.transaction() as tx:
        assert tx.fetched_sha_for_url(url) == video.sha256
        assert tx.get_media_object(frame.sha256) == frame
        assert tx.get_media_object(video.sha256) == video
        assert tx.frames_of(video.sha256) == [
            MediaFrame(video_sha256=video.sha256, index=0, at_ms=0, frame_sha256=frame.sha256)
        ]
        listed = tx.media_for_post(p1)
        assert listed[0][1] == video and listed[1][1] is None
        assert listed[1][0].last_error == "HTTP 500" and listed[1][0].next_attempt_at == NOW + timedelta(
            minutes=1
        )
        assert tx.posts_with_pending_media([p1, p2]) == {p1, p2}
        tx.set_media_outcome(
            p1, 1, state="refused", attempts=2, at=NOW + timedelta(minutes=2), error="refused: x"
        )
        assert tx.posts_with_pending_media([p1, p2]) == {p2}
        counts = tx.media_counts()
        assert counts.by_state == {"pending": 1, "fetched": 1, "failed": 0, "refused": 1}
        assert (counts.retrying, counts.objects, counts.object_bytes, counts.frames) == (0, 2, 101 + 102, 1)
        failures = tx.recent_media_failures(limit=5)
        assert [(f.post_id, f.position, f.state, f.last_error) for f in failures] == [
            (p1, 1, "refused", "refused: x")
        ]
        assert tx.set_media_enrichment(
            video.sha256, Enrichment(enricher="t", width=65, ocr_status="skipped", camera=camera), at=NOW
        )
        updated = tx.get_media_object(video.sha256)
        assert updated is not None and updated.width == 65 and updated.camera == camera


REGIONS = (
    RegionHash(region="centre_80", pdq="ab" * 32, pdq_quality=100, phash="ffff0000ffff0000"),
    RegionHash(region="top_80", pdq="cd" * 32, pdq_quality=12, phash="0f0f0f0f0f0f0f0f"),
)
NOTES = ("OCR unavailable: install tesseract-ocr-deu", "keyframes: ffmpeg timed out after 60 s")


def test_region_hashes_and_notes_are_stored_and_read_back(media_ctx: ServiceContext) -> None:
    with_facts = _obj(
        7, pdq="ee" * 32, pdq_quality=90, phash="8f373714acfcf4d0", regions=REGIONS, notes=NOTES
    )
    bare = _obj(8)  # enriched before migration 0008, or nothing to say: NULL columns
    ids = _store_posts(
        media_ctx,
        ("1", (MediaRef(kind="image", url="https://x/7"), MediaRef(kind="image", url="https://x/8"))),
    )
    with media_ctx.store.transaction() as tx:
        assert tx.put_media_object(with_facts) and tx.put_media_object(bare)
        tx.set_media_outcome(ids["1"], 0, state="fetched", attempts=1, at=NOW, sha256=with_facts.sha256)
        tx.set_media_outcome(ids["1"], 1, state="fetched", attempts=1, at=NOW, sha256=bare.sha256)
    with media_ctx.store.transaction() as tx:
        assert tx.get_media_object(with_facts.sha256) == with_facts
        assert tx.get_media_object(bare.sha256) == bare
        assert [obj for _entry, obj in tx.media_for_post(ids["1"])] == [with_facts, bare]
        enrichment = Enrichment(enricher="t", ocr_status="done", regions=REGIONS[:1], notes=NOTES[:1])
        assert tx.set_media_enrichment(bare.sha256, enrichment, at=NOW)
        updated = tx.get_media_object(bare.sha256)
    assert updated is not None and (updated.regions, updated.notes) == (REGIONS[:1], NOTES[:1])
    assert with_facts.tagged_hashes == (
        "pdq:" + "ee" * 32, "phash:8f373714acfcf4d0", "pdq:" + "ab" * 32, "phash:0f0f0f0f0f0f0f0f"
    )  # fmt: skip


def test_purge_drops_only_what_nothing_uses(media_ctx: ServiceContext) -> None:
    shared, lonely, video, frame, evidence = 1, 2, 3, 4, 5
    ids = _store_posts(
        media_ctx,
        ("1", (MediaRef(kind="image", url="https://x/1"), MediaRef(kind="image", url="https://x/2"))),
        ("2", (MediaRef(kind="image", url="https://x/1-copy"),)),
        ("3", (MediaRef(kind="video", url="https://x/v"), MediaRef(kind="image", url="https://x/e"))),
    )
    basis = make_basis(media_ctx)
    with media_ctx.store.transaction() as tx:
        for n in (shared, lonely, frame, evidence):
            tx.put_media_object(_obj(n))
        tx.put_media_object(_obj(video, "video/mp4"))
        tx.put_media_frames(
            [MediaFrame(video_sha256=_sha(video), index=0, at_ms=0, frame_sha256=_sha(frame))]
        )
        for post, position, n in (
            ("1", 0, shared),
            ("1", 1, lonely),
            ("2", 0, shared),
            ("3", 0, video),
            ("3", 1, evidence),
        ):
            tx.set_media_outcome(ids[post], position, state="fetched", attempts=1, at=NOW, sha256=_sha(n))
        # an analyst preserved the last image as evidence: evidence keeps it even when its post goes
        case = tx.create_case(title="c", basis_id=basis, owner="ana", at=NOW)
        tx.put_evidence_blob(_sha(evidence), b"bytes")
        tx.create_evidence(
            case_id=case.id,
            post_id=ids["3"],
            platform="twitter",
            native_id="3",
            url=None,
            captured_at=NOW,
            captured_by="ana",
            basis_id=basis,
            tool_version="t",
            parts=[EvidencePart(name="media-1.png", media_type="image/png", sha256=_sha(evidence), size=5)],
        )
    with media_ctx.store.transaction() as tx:
        assert isinstance(tx, SqlTx)
        assert purge_post_media(tx.conn, [ids["1"]]) == [_sha(lonely)]  # the shared image stays for post 2
        assert purge_post_media(tx.conn, [ids["2"], ids["3"]]) == sorted(
            [_sha(shared), _sha(video), _sha(frame)]
        )
        assert tx.get_media_object(_sha(evidence)) is not None
        assert tx.media_for_posts([ids["1"], ids["2"], ids["3"]]) == {}
        assert tx.frames_of(_sha(video)) == []
        assert tx.media_counts().objects == 1
