"""The store contract: the same behaviour from SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from tests.store.helpers import make_post, prepared, q
from watchfloor.domain.errors import StoreError
from watchfloor.domain.post import Deletion, Geotag, Location, MediaRef, Metrics, Prepared, Quarantined
from watchfloor.query.ast import And, Field, MatchAll, Near, Not, Or, Phrase, Term
from watchfloor.store.engine import SqlStore

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _seed(store: SqlStore) -> list[Prepared]:
    posts = [
        make_post("1", "The water is rising fast near the river", day=1, langs=("en",), hashtags=("Flood",)),
        make_post(
            "2",
            "Stranded on the roof, the flood water keeps coming",
            day=2,
            langs=("en",),
            author_handle="Rescuer",
            mentions=("CityHall",),
            reply_to="1",
        ),
        make_post("3", "Inundación en Calgary, el agua sube", day=3, langs=("es",), hashtags=("Alberta",)),
        make_post(
            "4",
            "Photos of the flood damage",
            day=4,
            langs=("en",),
            media=(MediaRef(kind="image"),),
            urls=("https://news.bbc.co.uk/story?id=7",),
            domains=("bbc.co.uk",),
            platform="bluesky",
        ),
        make_post(
            "5",
            "Praying for everyone #prayers",
            day=5,
            langs=("en",),
            hashtags=("prayers",),
            geo=Geotag(latitude=51.0, longitude=-114.0),
            repost_of="9",
        ),
    ]
    items = [prepared(p) for p in posts]
    with store.transaction() as tx:
        result = tx.write_posts(items, import_id=None)
    assert result.inserted == 5
    return items


def _ids(store: SqlStore, root: object, **kw: object) -> list[str]:
    with store.transaction() as tx:
        return [s.post.native_id for s in tx.search(q(root), limit=50, **kw)]  # type: ignore[arg-type]


def test_a_post_reads_back_exactly_as_written(store: SqlStore) -> None:
    post = make_post(
        "42",
        "hello world",
        author_handle="someone",
        author_name="Some One",
        langs=("en",),
        metrics=Metrics(likes=3, views=None),
        media=(MediaRef(kind="video", url="https://v.example/1"),),
    )
    with store.transaction() as tx:
        result = tx.write_posts([prepared(post, raw=b'{"id": 42}')], import_id=None)
        [stored] = tx.get_posts(result.inserted_ids)
        raw = tx.get_raw(stored.id)
    assert stored.post == post
    assert raw == ("test", b'{"id": 42}')


def test_writing_the_same_posts_twice_changes_nothing(store: SqlStore) -> None:
    again = _seed(store)
    with store.transaction() as tx:
        result = tx.write_posts(again + again, import_id=None)
        stats = tx.stats()
    assert (result.inserted, result.duplicates) == (0, 10)
    assert stats.posts == 5


def test_same_native_id_on_two_platforms_is_two_posts(store: SqlStore) -> None:
    with store.transaction() as tx:
        result = tx.write_posts(
            [prepared(make_post("7", "a")), prepared(make_post("7", "b", platform="reddit"))], import_id=None
        )
    assert result.inserted == 2


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        (Term("water"), ["2", "1"]),
        (Term("flo", prefix=True), ["4", "2"]),
        (Phrase(("water", "is", "rising")), ["1"]),
        (And((Term("flood"), Term("roof"))), ["2"]),
        (Or((Term("roof"), Term("calgary"))), ["3", "2"]),
        (And((Term("flood"), Not(Term("roof")))), ["4"]),
        (Near(Term("stranded"), Term("flood"), 5), ["2"]),  # four words between: NEAR/5 allows four
        (Near(Term("stranded"), Term("flood"), 4), []),
        (Near(Or((Term("photos"), Term("nothing"))), Term("damage"), 4), ["4"]),
        (Field("lang", "es"), ["3"]),
        (Field("hashtag", "flood"), ["1"]),
        (Field("mention", "cityhall"), ["2"]),
        (Field("from", "rescuer"), ["2"]),
        (Field("platform", "bluesky"), ["4"]),
        (Field("domain", "bbc.co.uk"), ["4"]),
        (Field("domain", "news.bbc.co.uk"), ["4"]),
        (Field("url", "story?id=7"), ["4"]),
        (Field("has", "media"), ["4"]),
        (Field("has", "links"), ["4"]),
        (Field("has", "geo"), ["5"]),
        (Field("is", "reply"), ["2"]),
        (Field("is", "repost"), ["5"]),
        (Field("since", "2013-06-04"), ["5", "4"]),
        (Field("until", "2013-06-02"), ["1"]),
        (
            And(
                (
                    Field("lang", "en"),
                    Or((Term("flood"), Phrase(("water", "rising")))),
                    Not(Field("hashtag", "prayers")),
                )
            ),
            ["4", "2"],
        ),
        (And((Field("lang", "en"), Not(Term("flood")))), ["5", "1"]),
        (MatchAll(), ["5", "4", "3", "2", "1"]),
    ],
)
def test_search_finds_exactly_the_matching_posts_newest_first(
    store: SqlStore, root: object, expected: list[str]
) -> None:
    _seed(store)
    assert _ids(store, root) == expected


@pytest.mark.parametrize(
    "root",
    [
        Field("hashtag", "flood"),
        Field("lang", "en"),
        And((Field("lang", "en"), Term("flood"))),
        And((Field("lang", "en"), Not(Field("hashtag", "prayers")))),
        Or((Field("mention", "cityhall"), Field("domain", "bbc.co.uk"))),
    ],
)
def test_rare_and_common_selectors_select_the_same_posts(
    store: SqlStore, root: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A selector few posts hold goes through the index (``id IN``), a common one is checked per post
    (``EXISTS``): both must select exactly the same posts, in the same order, with the same count."""
    from watchfloor.store import sqlstore

    def found() -> tuple[list[list[str]], int]:
        with store.snapshot() as view:
            return [_ids(store, root, sort=s) for s in ("newest", "oldest", "relevance")], view.count(q(root))

    _seed(store)
    rare = found()
    monkeypatch.setattr(sqlstore, "RARE_SELECTOR_POSTS", 1)  # no selector is rare now
    common = found()
    assert rare == common and rare[1] == len(rare[0][0]) > 0


@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize("rare_below", [1, 1_000], ids=["common", "rare"])
def test_a_selector_is_checked_on_each_text_match_before_its_post_is_read(
    store: SqlStore, sort: str, rare_below: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: with words driving the text index, ``lang:en`` is checked on each match's id (a probe
    of the selector index, or membership in a rare selector's list) before the post is read, and the
    index is scanned in order, not sought once per listed post (on 1M posts: 6-16x faster)."""
    from watchfloor.query.parser import parse_query
    from watchfloor.store import sqlstore

    if store.dialect != "sqlite":
        pytest.skip("the plan is SQLite's; PostgreSQL plans its own joins")
    monkeypatch.setattr(sqlstore, "RARE_SELECTOR_POSTS", rare_below)
    _seed(store)
    with store.transaction() as tx:
        stmt = tx._select(parse_query("flood lang:en"), sort)  # type: ignore[arg-type]
        sql = str(stmt.compile(dialect=tx.conn.dialect, compile_kwargs={"literal_binds": True}))
        plan = [str(row[-1]) for row in tx.conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
        assert [s.post.native_id for s in tx.search(parse_query("flood lang:en"), limit=9, sort=sort)] == (
            ["4", "2"] if sort == "newest" else ["2", "4"]
        )
    scan = next(step for step in plan if "posts_fts" in step)
    probe = next(i for i, step in enumerate(plan) if "post_terms" in step)
    read = next(i for i, step in enumerate(plan) if step.startswith("SEARCH posts"))
    assert scan.startswith("SCAN") and "=" not in scan.rpartition(":")[2], plan
    assert probe < read, plan


@pytest.mark.parametrize(
    "root",
    [
        Term("water"),
        Term("flo", prefix=True),
        Phrase(("water", "is", "rising")),
        And((Term("flood"), Term("roof"))),
        Or((Term("roof"), Term("calgary"))),
        And((Term("flood"), Not(Term("roof")))),
        Term("nothing"),
    ],  # NEAR is checked post by post after SQL (needs_post_filter): it never takes this path
)
def test_a_text_only_search_finds_what_the_general_query_finds(
    store: SqlStore, root: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search for words alone runs a statement compiled once (``SqlTx._text_only``, SQLite): in
    every order and page, and with a deleted post, it must find what the general query finds."""
    from watchfloor.store.sqlstore import SqlTx

    _seed(store)
    with store.transaction() as tx:
        tx.write_deletions([Deletion(platform="twitter", native_id="1", deleted_at=None)], seen_at=NOW)

    def found() -> list[list[str]]:
        return [
            _ids(store, root, sort=sort, offset=offset)
            for sort in ("newest", "oldest", "relevance")
            for offset in (0, 1)
        ]

    calls: list[object] = []
    fast = SqlTx._text_only

    def counted(self: SqlTx, *args: object) -> object:
        result = fast(self, *args)  # type: ignore[arg-type]
        calls.append(result)
        return result

    monkeypatch.setattr(SqlTx, "_text_only", counted)
    through_template = found()
    assert calls and all((r is not None) == (store.dialect == "sqlite") for r in calls)
    monkeypatch.setattr(SqlTx, "_text_only", lambda *_: None)  # the general path only
    assert through_template == found()


def test_ordered_near_is_exact_after_post_filtering(store: SqlStore) -> None:
    _seed(store)
    assert _ids(store, Near(Term("flood"), Term("stranded"), 5, ordered=True)) == []
    assert _ids(store, Near(Term("stranded"), Term("flood"), 5, ordered=True)) == ["2"]


def test_sorting_paging_and_counting(store: SqlStore) -> None:
    _seed(store)
    assert _ids(store, MatchAll(), sort="oldest") == ["1", "2", "3", "4", "5"]
    assert _ids(store, MatchAll(), sort="newest", offset=3) == ["2", "1"]
    assert set(_ids(store, Term("flood"), sort="relevance")) == {"2", "4"}
    with store.transaction() as tx:
        assert tx.count(q(Term("flood"))) == 2
        assert tx.count(q(Near(Term("stranded"), Term("flood"), 5, ordered=True))) == 1
        assert [p.post.native_id for p in tx.iter_search(q(MatchAll()), sort="oldest")] == [
            "1",
            "2",
            "3",
            "4",
            "5",
        ]


def test_platform_deletions_hide_posts_and_are_counted(store: SqlStore) -> None:
    _seed(store)
    with store.transaction() as tx:
        tx.write_deletions([Deletion(platform="twitter", native_id="2")], seen_at=NOW)
        tx.write_deletions([Deletion(platform="twitter", native_id="2")], seen_at=NOW)
        stats = tx.stats()
    assert _ids(store, Term("water")) == ["1"]
    assert (stats.posts, stats.deleted) == (4, 1)


def test_a_post_arriving_after_its_deletion_is_hidden_at_once(store: SqlStore) -> None:
    with store.transaction() as tx:  # a scale-out worker stored the deletion first
        tx.write_deletions([Deletion(platform="twitter", native_id="late")], seen_at=NOW)
    with store.transaction() as tx:
        tx.write_posts([prepared(make_post("late", "water rising fast"))], import_id=None)
        tx.write_posts([prepared(make_post("kept", "water rising slowly"))], import_id=None)
        stats = tx.stats()
    assert _ids(store, Term("water")) == ["kept"]
    assert (stats.posts, stats.deleted) == (1, 1)  # as for a deletion that came after


def test_quarantine_is_listed_with_location_and_recorded_once(store: SqlStore) -> None:
    entry = Quarantined(
        raw=b"{bad",
        format="twarc2",
        location=Location(source="/x/t.jsonl", line=7),
        reason="not JSON",
        field=None,
    )
    with store.transaction() as tx:
        run = tx.start_import(source="/x/t.jsonl", format="twarc2", at=NOW)
        tx.write_quarantine([entry], import_id=run, at=NOW)
        tx.write_quarantine([entry], import_id=run, at=NOW)
        [listed] = tx.list_quarantine(limit=10)
    assert listed.location == Location(source="/x/t.jsonl", line=7)
    assert (listed.reason, listed.raw, listed.import_id) == ("not JSON", b"{bad", run)


def test_exact_and_near_duplicates_share_a_cluster(store: SqlStore) -> None:
    first = prepared(make_post("1", "Evacuate now, the dam broke upstream"), band_keys=(11, 12))
    exact = prepared(make_post("2", "EVACUATE NOW!! The dam broke upstream"), band_keys=(11, 12))
    near = prepared(make_post("3", "evacuate now the dam broke upstream please"), band_keys=(99, 12))
    other = prepared(make_post("4", "Nice weather today"), band_keys=(50, 51))
    with store.transaction() as tx:
        tx.write_posts([first], import_id=None)
    with store.transaction() as tx:
        tx.write_posts([exact, near, other], import_id=None)
        stored = {s.post.native_id: s.cluster_id for s in tx.iter_search(q(MatchAll()))}
        stats = tx.stats()
    assert stored["1"] == stored["2"] == stored["3"] != stored["4"]
    assert stats.clusters_with_duplicates == 1


def test_stats_report_facets(store: SqlStore) -> None:
    _seed(store)
    with store.transaction() as tx:
        stats = tx.stats(top=3)
    assert stats.posts == 5
    assert stats.earliest == datetime(2013, 6, 1, tzinfo=UTC)
    assert [(f.value, f.count) for f in stats.languages] == [("en", 4), ("es", 1)]
    assert [f.value for f in stats.top_domains] == ["bbc.co.uk"]
    assert {f.value: f.count for f in stats.platforms} == {"twitter": 4, "bluesky": 1}


def test_a_failed_transaction_writes_nothing(store: SqlStore) -> None:
    def write_then_fail() -> None:
        with store.transaction() as tx:
            tx.write_posts([prepared(make_post("1", "a"))], import_id=None)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_then_fail()
    with store.transaction() as tx:
        assert tx.stats().posts == 0


def _partition_layout(difference: object) -> bool:
    """PostgreSQL's posts are partitioned by month (migration 0009): the month tables, the natural key
    kept in post_keys (postgres_metadata) instead of a unique constraint, and its plain lookup index."""
    text = str(difference)
    if re.search(r"'posts_(\d{4}_\d{2}|default)'|<posts_(\d{4}_\d{2}|default)>", text):
        return True
    if "post_keys" in text or "ix_posts_natural_key" in text:
        return True
    return text.startswith("('add_constraint', UniqueConstraint(Column('platform'")


def test_migrations_create_exactly_the_declared_schema(store: SqlStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from watchfloor.store.schema import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        tables = set(inspect(conn).get_table_names())
    # The full-text index is dialect-specific and deliberately outside the shared metadata.
    diff = [d for d in diff if "posts_fts" not in str(d) and "search_tsv" not in str(d)]
    if store.dialect == "postgresql":
        diff = [d for d in diff if not _partition_layout(d)]
    assert diff == []
    assert {"posts", "post_terms", "raw_payloads", "quarantine", "imports", "deletions"} <= tables


def test_unreachable_database_is_a_clear_error(tmp_path: object) -> None:
    from watchfloor.store.engine import open_store

    with pytest.raises(StoreError, match="does not exist"):
        open_store("/nonexistent-folder/x.db")


def test_schema_head_constant_matches_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from watchfloor.store import engine

    config = Config()
    config.set_main_option("script_location", str(engine._MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == engine.SCHEMA_HEAD


def test_hashtags_and_handles_compare_folded_like_query_words(store: SqlStore) -> None:
    post = make_post("1", "Llueve en Bogotá", hashtags=("Bogotá",), author_handle="@Ana_Ñ", mentions=("@Él",))
    with store.transaction() as tx:
        tx.write_posts([prepared(post)], import_id=None)
    assert _ids(store, Field("hashtag", "bogota")) == ["1"]
    assert _ids(store, Field("from", "ana_ñ")) == ["1"]
    assert _ids(store, Field("mention", "él")) == ["1"]
    assert _ids(store, Term("bogota")) == ["1"]


def test_account_lists_select_their_members(store: SqlStore) -> None:
    _seed(store)
    lists = {"watch": frozenset({"rescuer", "nobody"})}
    with store.transaction() as tx:
        found = tx.search(q(Field("from", "@watch")), limit=10, lists=lists)
        assert [p.post.native_id for p in found] == ["2"]
        assert tx.count(q(Field("from", "@unknown")), lists=lists) == 0


def test_posts_in_the_same_microsecond_all_get_stored_and_order_by_time(store: SqlStore) -> None:
    # 1,005 posts at one instant overflow the 1,000 id slots of that microsecond (SQLite), then later
    # and earlier posts still sort around them.
    same = [prepared(make_post(f"s{i}", f"same moment {i}", day=2)) for i in range(1005)]
    with store.transaction() as tx:
        tx.write_posts(same[:600], import_id=None)
    with store.transaction() as tx:
        tx.write_posts([*same[600:], prepared(make_post("late", "later post", day=3))], import_id=None)
        tx.write_posts([prepared(make_post("early", "earlier post", day=1))], import_id=None)
        newest = tx.search(q(MatchAll()), limit=2000)
    assert len(newest) == 1007
    assert newest[0].post.native_id == "late"
    assert newest[-1].post.native_id == "early"
    assert len({p.id for p in newest}) == 1007


def test_a_purged_posts_id_is_never_given_to_a_later_post(store: SqlStore) -> None:
    """SQLite ids are time-ordered slots: a post created in the same microsecond as a purged one takes
    the next slot, never the purged post's (audit events and old exports name posts by id)."""
    if store.dialect != "sqlite":
        pytest.skip("PostgreSQL ids come from an identity column, never reused")
    first, second = (prepared(make_post(name, f"{name} post", day=2)) for name in ("gone", "next"))
    with store.transaction() as tx:
        gone = tx.write_posts([first], import_id=None).inserted_ids[0]
        tx.conn.exec_driver_sql("INSERT INTO retired_post_ids (id) VALUES (?)", (gone,))
        tx.conn.exec_driver_sql("DELETE FROM posts WHERE id = ?", (gone,))
    with store.transaction() as tx:
        later = tx.write_posts([second], import_id=None).inserted_ids[0]
    assert later == gone + 1
