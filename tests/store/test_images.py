"""Image facts on stored posts and known-image lists, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.store.helpers import make_post, prepared
from watchfloor.domain.errors import Conflict, NotFound
from watchfloor.domain.media import RegionHash
from watchfloor.query.parser import parse_query
from watchfloor.store.engine import SqlStore

AT = datetime(2026, 11, 30, tzinfo=UTC)


def _ids(store: SqlStore, text: str) -> list[str]:
    with store.transaction() as tx:
        return sorted(s.post.native_id for s in tx.search(parse_query(text), limit=50))


def _count(store: SqlStore, text: str) -> int:
    with store.transaction() as tx:
        return tx.count(parse_query(text))


@pytest.fixture
def posts(store: SqlStore) -> dict[str, int]:
    with store.transaction() as tx:
        tx.write_posts(
            [prepared(make_post("1", "look at this")), prepared(make_post("2", "free bitcoin"))],
            import_id=None,
        )
        found = tx.search(parse_query(""), limit=10)
    return {s.post.native_id: s.id for s in found}


def test_image_text_becomes_searchable_and_scoped(store: SqlStore, posts: dict[str, int]) -> None:
    assert _ids(store, "bitcoin") == ["2"]
    with store.transaction() as tx:
        assert tx.set_post_image_facts(
            posts["1"], image_text="FREE BITCOIN giveaway", image_hashes=("phash:00",)
        )
    assert _ids(store, "bitcoin") == ["1", "2"]
    assert _ids(store, "image:bitcoin") == ["1"]
    assert _ids(store, "text:bitcoin") == ["2"]
    assert _ids(store, "-image:bitcoin") == ["2"]
    assert _ids(store, 'image:"bitcoin giveaway"') == ["1"]
    assert _count(store, "image:giveaway") == 1
    with store.transaction() as tx:
        stored = tx.get_posts([posts["1"]])[0].post
    assert stored.image_text == "FREE BITCOIN giveaway"
    assert stored.image_hashes == ("phash:00",)
    assert stored.text == "look at this"


def test_facts_can_be_rewritten_and_the_old_words_are_forgotten(
    store: SqlStore, posts: dict[str, int]
) -> None:
    with store.transaction() as tx:
        tx.set_post_image_facts(posts["1"], image_text="first words", image_hashes=())
        tx.set_post_image_facts(posts["1"], image_text="second words", image_hashes=())
    assert _ids(store, "first") == []
    assert _ids(store, "second") == ["1"]


def test_facts_for_a_purged_post_are_a_no_op(store: SqlStore) -> None:
    with store.transaction() as tx:
        assert not tx.set_post_image_facts(999_999, image_text="x", image_hashes=())


def test_known_image_lists(store: SqlStore) -> None:
    with store.transaction() as tx:
        basis = tx.create_basis(
            title="Fraud prevention", authority="Policy 7", purpose="scam monitoring",
            necessity="public posts", owner="sam", review_at=None, expires_at=None, created_by="sam", at=AT,
        ).id  # fmt: skip
    with store.transaction() as tx:
        before = tx.rules_revision()
        made = tx.create_image_list(
            name="scam-kit", description="flyers", basis_id=basis, created_by="ana", at=AT
        )
        item = tx.add_image_list_item(
            made.id,
            phash="ffff0000ffff0000",
            pdq="ab" * 32,
            sha256=None,
            label="flyer",
            added_by="ana",
            at=AT,
        )
        tx.add_image_list_item(
            made.id, phash=None, pdq="cd" * 32, sha256=None, label=None, added_by="ana", at=AT
        )
        tx.create_image_list(name="empty", description="nothing yet", basis_id=basis, created_by="ana", at=AT)
        assert tx.rules_revision() > before  # matchers rebuild with the new hashes
        with pytest.raises(Conflict):
            tx.create_image_list(
                name="scam-kit", description="again", basis_id=basis, created_by="ana", at=AT
            )
    with store.transaction() as tx:
        assert [(x.name, x.items) for x in tx.list_image_lists()] == [("empty", 0), ("scam-kit", 2)]
        assert tx.image_list_hashes() == {
            "~scam-kit": frozenset({"phash:ffff0000ffff0000", "pdq:" + "ab" * 32, "pdq:" + "cd" * 32}),
            "~empty": frozenset(),
        }
        tx.remove_image_list_item(made.id, item.id)
        with pytest.raises(NotFound):
            tx.remove_image_list_item(made.id, item.id)
        assert tx.image_list_hashes()["~scam-kit"] == frozenset({"pdq:" + "cd" * 32})


def test_known_images_keep_their_region_hashes(store: SqlStore) -> None:
    """An uploaded file's region hashes are stored with the item and given to the matcher."""
    regions = (
        RegionHash(region="centre_80", pdq="12" * 32, pdq_quality=100, phash="ffff0000ffff0000"),
        # quality 20: this region's PDQ is unreliable, so its pHash is what the matcher gets
        RegionHash(region="top_80", pdq="34" * 32, pdq_quality=20, phash="00ff00ff00ff00ff"),
    )
    with store.transaction() as tx:
        basis = tx.create_basis(
            title="Fraud prevention", authority="Policy 7", purpose="scam monitoring",
            necessity="public posts", owner="sam", review_at=None, expires_at=None, created_by="sam", at=AT,
        ).id  # fmt: skip
        made = tx.create_image_list(name="kit", description="flyers", basis_id=basis, created_by="ana", at=AT)
        item = tx.add_image_list_item(
            made.id, phash="0f0f0f0f0f0f0f0f", pdq="ab" * 32, sha256=None, label="flyer", added_by="ana",
            at=AT, regions=regions,
        )  # fmt: skip
        partner = tx.add_image_list_item(
            made.id, phash=None, pdq="cd" * 32, sha256=None, label=None, added_by="ana", at=AT
        )
    assert item.regions == regions and partner.regions == ()
    with store.transaction() as tx:
        assert [i.regions for i in tx.image_list_items(made.id)] == [regions, ()]
        assert tx.image_list_hashes()["~kit"] == frozenset(
            {"pdq:" + "ab" * 32, "phash:0f0f0f0f0f0f0f0f", "pdq:" + "12" * 32, "phash:00ff00ff00ff00ff",
             "pdq:" + "cd" * 32}
        )  # fmt: skip


def test_a_purged_posts_id_is_never_given_to_another_post(store: SqlStore) -> None:
    """The audit log names posts by id: after a purge, a new post at the same instant gets a new id."""
    with store.transaction() as tx:
        tx.write_posts([prepared(make_post("old", "first at this instant"))], import_id=None)
        old_id = tx.search(parse_query(""), limit=1)[0].id
    with store.transaction() as tx:
        counts = tx.purge_expired(
            unmatched_before=datetime(2030, 1, 1, tzinfo=UTC),
            alerts_before=datetime(2000, 1, 1, tzinfo=UTC),
            cases_closed_before=datetime(2000, 1, 1, tzinfo=UTC),
        )
        assert counts.posts_unmatched == 1
    with store.transaction() as tx:
        tx.write_posts([prepared(make_post("new", "second at the same instant"))], import_id=None)
        new_id = tx.search(parse_query(""), limit=1)[0].id
    assert new_id != old_id
