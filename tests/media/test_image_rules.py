"""What a post's images say reaches search and the rules: image text, known-image lists, the console.

Posts are matched when stored, before their media is fetched; once the fetcher has read a post's
images, the post carries their text and hashes and is matched again, raising the alerts only the
image could raise (and no second alert from a rule that already fired).
"""

from __future__ import annotations

import io
from pathlib import Path

import msgspec
import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.media.helpers import ADA, ANA, import_statuses
from tests.media.server import MediaServer
from tests.people import make_basis
from tests.pipeline.media.media import encode, scene
from tests.web.conftest import make_web
from watchfloor.connectors.media.fetch import MediaFetcher
from watchfloor.domain.errors import InputError
from watchfloor.domain.media import Enrichment, hash_distance, match_distance
from watchfloor.domain.rules import RuleDraft
from watchfloor.pipeline.media import EnrichSettings, enrich_media
from watchfloor.query.parser import parse_query
from watchfloor.services import images, rules
from watchfloor.services.console_posts import alert_page
from watchfloor.services.context import ServiceContext
from watchfloor.services.media import fetch_due_media
from watchfloor.store.ports import AlertFilter

FLYER_PHASH = "c3c3c3c33c3c3c3c"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def flyer_enrich(data: bytes, media_type: str, settings: EnrichSettings) -> Enrichment:
    """The enricher's answer for the test flyer, without tesseract: its text and its pHash."""
    return Enrichment(
        enricher="fake/1", width=48, height=32, phash=FLYER_PHASH, ocr_text="FREE BITCOIN\nGIVEAWAY",
        ocr_status="done",
    )  # fmt: skip


def _rule(ctx: ServiceContext, basis: int, name: str, query: str) -> int:
    return rules.add_rule(
        ctx, actor=ANA, draft=RuleDraft(name=name, query=query, severity="high", basis_id=basis)
    ).id


def _alerted_rules(ctx: ServiceContext) -> list[int]:
    with ctx.store.transaction() as tx:
        return sorted(a.rule_id for a in tx.list_alerts(AlertFilter(), limit=100))


def test_image_text_and_known_images_raise_alerts_after_the_fetch(
    media_ctx: ServiceContext, media_server: MediaServer, fetcher: MediaFetcher, tmp_path: Path
) -> None:
    basis = make_basis(media_ctx)
    images.create_image_list(media_ctx, actor=ANA, name="scam-kit", description="flyers", basis_id=basis)
    near = FLYER_PHASH[:-1] + "d"  # one bit away from the post's image
    images.add_known_image(media_ctx, actor=ANA, list_name="scam-kit", phash=near, label="giveaway flyer")
    on_text = _rule(media_ctx, basis, "Post text", "post")
    in_image = _rule(media_ctx, basis, "Image text", "image:bitcoin")
    plain = _rule(media_ctx, basis, "Any text", "giveaway")
    known = _rule(media_ctx, basis, "Known flyer", "imagehash:~scam-kit")
    only_text = _rule(media_ctx, basis, "Own words only", "text:bitcoin")
    ids = import_statuses(media_ctx, tmp_path, {"1": [("image", media_server.url("/red.png"))]})
    assert _alerted_rules(media_ctx) == [on_text]  # the image is not read yet

    summary = fetch_due_media(media_ctx, actor=ADA, fetcher=fetcher, enrich=flyer_enrich)
    assert summary.completed_post_ids == [ids["1"]]
    assert summary.alerts_raised == 3
    assert _alerted_rules(media_ctx) == sorted([on_text, in_image, plain, known])
    assert only_text not in _alerted_rules(media_ctx)

    with media_ctx.store.transaction() as tx:
        stored = tx.get_posts([ids["1"]])[0].post
        assert stored.image_text == "FREE BITCOIN\nGIVEAWAY"
        assert f"phash:{FLYER_PHASH}" in stored.image_hashes
        assert [s.id for s in tx.search(parse_query("image:bitcoin"), limit=5)] == [ids["1"]]
        known_alert = next(a for a in tx.list_alerts(AlertFilter(), limit=100) if a.rule_id == known)
    page = alert_page(media_ctx, actor=ANA, alert_id=known_alert.id, basis_id=basis)
    assert [(m.list_name, m.label, m.algorithm, m.distance) for m in page.image_matches] == [
        ("scam-kit", "giveaway flyer", "phash", 1)
    ]
    assert page.context is not None and page.context.media[0].state == "fetched"

    # Running the fetcher again changes nothing and raises nothing twice.
    assert fetch_due_media(media_ctx, actor=ADA, fetcher=fetcher, enrich=flyer_enrich).claimed == 0


def test_a_crash_before_the_image_facts_step_is_caught_up_by_the_next_run(
    media_ctx: ServiceContext,
    media_server: MediaServer,
    fetcher: MediaFetcher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    basis = make_basis(media_ctx)
    in_image = _rule(media_ctx, basis, "Image text", "image:bitcoin")
    import_statuses(media_ctx, tmp_path, {"1": [("image", media_server.url("/red.png"))]})

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed after the fetch committed")

    monkeypatch.setattr("watchfloor.services.media.apply_waiting_image_facts", crash)
    with pytest.raises(SystemExit):
        fetch_due_media(media_ctx, actor=ADA, fetcher=fetcher, enrich=flyer_enrich)
    monkeypatch.undo()
    assert _alerted_rules(media_ctx) == []  # fetched and stored, but not matched on the image yet

    again = fetch_due_media(media_ctx, actor=ADA, fetcher=fetcher, enrich=flyer_enrich)
    assert (again.claimed, again.alerts_raised) == (0, 1)  # nothing to fetch; the waiting post applied
    assert _alerted_rules(media_ctx) == [in_image]
    assert fetch_due_media(media_ctx, actor=ADA, fetcher=fetcher, enrich=flyer_enrich).alerts_raised == 0


def _flyer_png() -> bytes:
    image = Image.new("RGB", (900, 300), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 72) if FONT.exists() else ImageFont.load_default(size=72)
    draw.text((40, 100), "FREE BITCOIN", fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.slow
def test_real_ocr_makes_a_flyer_searchable(
    tmp_path: Path, media_server: MediaServer, fetcher: MediaFetcher
) -> None:
    """The real enricher (tesseract), end to end on SQLite: the words on a picture find its post."""
    web = make_web(tmp_path)
    try:
        media_server.files["/flyer.png"] = ("image/png", _flyer_png())
        ids = import_statuses(web.ctx, tmp_path, {"7": [("image", media_server.url("/flyer.png"))]})
        summary = fetch_due_media(web.ctx, actor=ADA, fetcher=fetcher, enrich=enrich_media)
        assert summary.fetched == 1
        with web.ctx.store.transaction() as tx:
            stored = tx.get_posts([ids["7"]])[0].post
            found = [s.id for s in tx.search(parse_query("image:bitcoin"), limit=5)]
        assert stored.image_text is not None and "BITCOIN" in stored.image_text.upper()
        assert found == [ids["7"]]
    finally:
        web.ctx.store.close()


def test_the_post_page_says_what_enrichment_could_not_do(
    tmp_path: Path, media_server: MediaServer, fetcher: MediaFetcher
) -> None:
    web = make_web(tmp_path)
    try:
        ids = import_statuses(web.ctx, tmp_path, {"8": [("image", media_server.url("/green.png"))]})
        no_ocr = EnrichSettings(ocr_languages=())

        def enrich(data: bytes, media_type: str, settings: EnrichSettings) -> Enrichment:
            read = enrich_media(data, media_type, no_ocr)
            return msgspec.structs.replace(
                read, notes=(*read.notes, "OCR unavailable: install tesseract-ocr-deu")
            )

        fetch_due_media(web.ctx, actor=ADA, fetcher=fetcher, enrich=enrich)
        page = web.client("ana").get(f"/posts/{ids['8']}")
        assert page.status_code == 200
        assert "OCR is turned off (WATCHFLOOR_OCR_LANGUAGES is empty)" in page.text
        assert "OCR unavailable: install tesseract-ocr-deu" in page.text
    finally:
        web.ctx.store.close()


def test_the_console_shows_the_stored_copy_never_the_platforms(
    tmp_path: Path, media_server: MediaServer, fetcher: MediaFetcher
) -> None:
    web = make_web(tmp_path)
    try:
        ids = import_statuses(web.ctx, tmp_path, {"5": [("image", media_server.url("/green.png"))]})
        fetch_due_media(web.ctx, actor=ADA, fetcher=fetcher, enrich=flyer_enrich)
        with web.ctx.store.transaction() as tx:
            ((_entry, obj),) = tx.media_for_post(ids["5"])
        assert obj is not None
        ana = web.client("ana")
        page = ana.get(f"/posts/{ids['5']}")
        assert page.status_code == 200
        src = f"/posts/{ids['5']}/media/{obj.sha256}"
        assert f'src="{src}"' in page.text
        assert 'src="http' not in page.text  # nothing is loaded from anywhere but the console
        assert "FREE BITCOIN" in page.text  # the image text panel

        with web.ctx.store.transaction() as tx:
            before = tx.audit_size()
        shown = ana.get(src)
        assert shown.status_code == 200
        assert shown.headers["content-type"] == "image/png"
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in shown.headers["content-security-policy"]
        assert shown.content == media_server.files["/green.png"][1]
        with web.ctx.store.transaction() as tx:
            after = tx.audit_size()
            events = tx.audit_events(limit=1)
        assert after == before + 1  # one request, one audit event
        assert [e.action for e in events] == ["media.view"]
        assert f"media:{obj.sha256}" in events[0].object_ids

        other = import_statuses(web.ctx, tmp_path, {"6": []})["6"]
        assert ana.get(f"/posts/{other}/media/{obj.sha256}").status_code == 404  # not that post's file
        assert web.client("rita").get(src).status_code in (403, 404)  # reviewers do not view posts
    finally:
        web.ctx.store.close()


def _variants() -> dict[str, bytes]:
    """A known picture, a cropped and a captioned repost of it, and an unrelated picture."""
    original = scene(21, (800, 600))
    w, h = original.size
    captioned = original.copy()
    draw = ImageDraw.Draw(captioned)
    draw.rectangle((0, h - h // 6, w, h), fill=(0, 0, 0))
    bold = ImageFont.truetype(str(FONT), 36) if FONT.exists() else ImageFont.load_default(size=36)
    draw.text((30, h - h // 7), "SHARE BEFORE THEY DELETE IT", fill="white", font=bold)
    return {
        "original": encode(original, "JPEG", quality=92),
        "cropped": encode(original.crop((w // 10, h // 10, w - w // 10, h - h // 10)), "JPEG", quality=85),
        "captioned": encode(captioned, "JPEG", quality=85),
        "different": encode(scene(22, (800, 600)), "JPEG", quality=85),
    }


def test_cropped_and_captioned_copies_of_a_known_image_raise_alerts(
    media_ctx: ServiceContext, media_server: MediaServer, fetcher: MediaFetcher, tmp_path: Path
) -> None:
    """The real enricher (no OCR) end to end: region hashes find edited reposts, not other pictures."""
    files = _variants()
    basis = make_basis(media_ctx)
    images.create_image_list(media_ctx, actor=ANA, name="kit", description="known flyer", basis_id=basis)
    item = images.add_known_image(
        media_ctx, actor=ANA, list_name="kit", data=files["original"], label="flyer"
    )
    assert len(item.regions) == 3  # the uploaded file's regions are kept with it
    with pytest.raises(InputError, match="flat, featureless picture"):  # would match every blank image
        images.add_known_image(media_ctx, actor=ANA, list_name="kit", phash="8000000000000000")
    known = _rule(media_ctx, basis, "Known flyer", "imagehash:~kit")
    for name in ("cropped", "captioned", "different"):
        media_server.files[f"/{name}.jpg"] = ("image/jpeg", files[name])
    ids = import_statuses(
        media_ctx,
        tmp_path,
        {n: [("image", media_server.url(f"/{n}.jpg"))] for n in ("cropped", "captioned", "different")},
    )
    summary = fetch_due_media(
        media_ctx,
        actor=ADA,
        fetcher=fetcher,
        enrich=enrich_media,
        enrich_settings=EnrichSettings(ocr_languages=()),
    )
    assert summary.fetched == 3
    with media_ctx.store.transaction() as tx:
        alerts = {a.post_id: a for a in tx.list_alerts(AlertFilter(), limit=100) if a.rule_id == known}
        posts = {p.id: p.post for p in tx.get_posts(list(ids.values()))}
        listed = tx.image_list_items(tx.image_list_named("kit").id)  # type: ignore[union-attr]
    assert set(alerts) == {ids["cropped"], ids["captioned"]}
    for name in ("cropped", "captioned"):
        page = alert_page(media_ctx, actor=ANA, alert_id=alerts[ids[name]].id, basis_id=basis)
        ((match,),) = [page.image_matches]
        pairs = [
            (d / match_distance(theirs), theirs.partition(":")[0], d)
            for mine in posts[ids[name]].image_hashes
            for theirs in listed[0].tagged_hashes
            if (d := hash_distance(mine, theirs)) is not None and d <= match_distance(theirs)
        ]
        _share, algorithm, distance = min(pairs)  # the nearest pair, relative to its algorithm's limit
        assert (match.list_name, match.label) == ("kit", "flyer"), name
        assert (match.algorithm, match.distance) == (algorithm, distance), name
