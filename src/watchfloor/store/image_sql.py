"""Known-image lists, and what media enrichment adds to a stored post: the ``ImagesTx`` half of SqlTx.

A known-image list is a named set of perceptual hashes; rules match posts whose images come within the
match distance of one (``imagehash:~name``). Changing a list bumps the rules revision, so every matcher
rebuilds with the new hashes, as it does when an account list changes.

When a post's photos and keyframes have been read, :meth:`ImagesSql.set_post_image_facts` writes the
text and hashes into the post's stored document and re-indexes it, so search, back-tests and the
matcher all see them through the one ``Post``. On SQLite the contentless FTS5 index must be told the
exact old tokens to forget the row, so the old document is decoded first.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Connection, Row, delete, func, select, update

from watchfloor.domain.errors import Conflict, NotFound
from watchfloor.domain.media import ImageList, ImageListItem, RegionHash
from watchfloor.query.tokens import index_text
from watchfloor.store import rows
from watchfloor.store.dialects import Dialect, tsvector_literal
from watchfloor.store.media_sql import decode_regions, encode_regions
from watchfloor.store.schema import image_list_items, image_lists, posts


def _list(row: Row[Any], items: int) -> ImageList:
    m = row._mapping
    return ImageList(
        id=int(m["id"]),
        name=m["name"],
        description=m["description"],
        basis_id=int(m["basis_id"]),
        created_by=m["created_by"],
        created_at=rows.instant(int(m["created_us"])),
        items=items,
    )


def _item(row: Row[Any]) -> ImageListItem:
    m = row._mapping
    return ImageListItem(
        id=int(m["id"]),
        list_id=int(m["list_id"]),
        phash=m["phash"],
        pdq=m["pdq"],
        sha256=m["sha256"],
        label=m["label"],
        added_by=m["added_by"],
        added_at=rows.instant(int(m["added_us"])),
        regions=decode_regions(m["region_hashes"]),
    )


class ImagesSql:
    """Known-image lists and post image facts, mixed into :class:`watchfloor.store.sqlstore.SqlTx`."""

    conn: Connection
    dialect: Dialect

    if TYPE_CHECKING:

        def _bump_rules_revision(self) -> None: ...  # RulesSql's, through SqlTx

    # -- known-image lists ---------------------------------------------------------------------------

    def create_image_list(
        self, *, name: str, description: str, basis_id: int, created_by: str, at: datetime
    ) -> ImageList:
        """Store a new empty list; :class:`Conflict` if the name is taken."""
        if self.image_list_named(name) is not None:
            raise Conflict(f"a known-image list named {name!r} exists already; pick another name")
        new_id = self.conn.execute(
            image_lists.insert()
            .values(name=name, description=description, basis_id=basis_id, created_by=created_by,
                    created_us=rows.to_micros(at))
            .returning(image_lists.c.id)
        ).scalar_one()  # fmt: skip
        self._bump_rules_revision()
        found = self.image_list_named(name)
        assert found is not None and found.id == int(new_id)
        return found

    def image_list_named(self, name: str) -> ImageList | None:
        row = self.conn.execute(select(image_lists).where(image_lists.c.name == name)).first()
        if row is None:
            return None
        count = self.conn.execute(
            select(func.count()).select_from(image_list_items).where(image_list_items.c.list_id == row.id)
        ).scalar_one()
        return _list(row, int(count))

    def list_image_lists(self) -> list[ImageList]:
        counts: dict[int, int] = dict(
            self.conn.execute(
                select(image_list_items.c.list_id, func.count()).group_by(image_list_items.c.list_id)
            ).all()
        )
        found = self.conn.execute(select(image_lists).order_by(image_lists.c.name)).all()
        return [_list(row, int(counts.get(row.id, 0))) for row in found]

    def add_image_list_item(
        self,
        list_id: int,
        *,
        phash: str | None,
        pdq: str | None,
        sha256: str | None,
        label: str | None,
        added_by: str,
        at: datetime,
        regions: tuple[RegionHash, ...] = (),
    ) -> ImageListItem:
        """Add one known image's hashes (at least one of ``phash``/``pdq``, and its region hashes)."""
        if phash is None and pdq is None and not regions:
            raise ValueError("a known image needs a pHash, a PDQ hash or region hashes")
        new_id = self.conn.execute(
            image_list_items.insert()
            .values(list_id=list_id, phash=phash, pdq=pdq, sha256=sha256, label=label, added_by=added_by,
                    added_us=rows.to_micros(at), region_hashes=encode_regions(regions))
            .returning(image_list_items.c.id)
        ).scalar_one()  # fmt: skip
        self._bump_rules_revision()
        row = self.conn.execute(select(image_list_items).where(image_list_items.c.id == new_id)).one()
        return _item(row)

    def image_list_items(self, list_id: int) -> list[ImageListItem]:
        stmt = select(image_list_items).where(image_list_items.c.list_id == list_id)
        return [_item(r) for r in self.conn.execute(stmt.order_by(image_list_items.c.id))]

    def remove_image_list_item(self, list_id: int, item_id: int) -> None:
        gone = self.conn.execute(
            delete(image_list_items).where(
                image_list_items.c.list_id == list_id, image_list_items.c.id == item_id
            )
        ).rowcount
        if not gone:
            raise NotFound(f"image {item_id} is not in this list; `watchfloor images show` lists them")
        self._bump_rules_revision()

    def image_list_hashes(self) -> dict[str, frozenset[str]]:
        """Every list as the matcher reads it: ``"~name" -> {"pdq:<hex>", "phash:<hex>", ...}``, each
        item's whole-image and region hashes (``ImageListItem.tagged_hashes``)."""
        found: dict[str, set[str]] = {f"~{row.name}": set() for row in self.conn.execute(select(image_lists))}
        stmt = select(image_lists.c.name, *image_list_items.c).join(
            image_list_items, image_list_items.c.list_id == image_lists.c.id
        )
        for row in self.conn.execute(stmt).all():
            found[f"~{row.name}"].update(_item(row).tagged_hashes)
        return {name: frozenset(members) for name, members in found.items()}

    # -- image facts on posts --------------------------------------------------------------------------

    def set_post_image_facts(
        self, post_id: int, *, image_text: str | None, image_hashes: tuple[str, ...]
    ) -> bool:
        """Write image text and hashes into a stored post and re-index it; False if the post is gone."""
        row = self.conn.execute(select(posts.c.doc).where(posts.c.id == post_id)).first()
        if row is None:
            return False
        old = rows.decode_post(row.doc)
        new = msgspec.structs.replace(old, image_text=image_text or None, image_hashes=image_hashes)
        if new == old:
            return True
        body = index_text(new.searchable_text())
        doc = rows.encode_post(new)
        if self.dialect.name == "sqlite":
            self.conn.exec_driver_sql(
                "INSERT INTO posts_fts(posts_fts, rowid, body) VALUES ('delete', ?, ?)",
                [(post_id, index_text(old.searchable_text()))],
            )
            self.conn.exec_driver_sql("INSERT INTO posts_fts(rowid, body) VALUES (?, ?)", [(post_id, body)])
            self.conn.execute(update(posts).where(posts.c.id == post_id).values(doc=doc))
        else:
            self.conn.exec_driver_sql(
                "UPDATE posts SET doc = %s, search_tsv = %s::tsvector WHERE id = %s",
                (doc, tsvector_literal(body), post_id),
            )
        return True
