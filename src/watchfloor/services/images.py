"""Known-image lists: named sets of image hashes (a propaganda set, a scam kit) that rules match.

An analyst creates a list under a legal basis and adds images to it — an image file (hashed here with
pHash and PDQ, whole and over three regions, exactly as the fetcher hashes posts' images; the file
itself is not kept) or hashes received from a partner (PDQ is what trust-and-safety teams exchange).
A rule ``imagehash:~name`` then matches posts with a photo or video keyframe any of whose hashes is
within the match distance of any hash of a list member, and "why this alert" shows the distance. A
partner's hash is of the whole image only, so it catches whole-image copies (resized, recompressed),
not cropped or captioned ones; an uploaded file's region hashes catch those too.
Every call records one ``images.*`` audit event naming the list and the hashes, never an image.
"""

from __future__ import annotations

import re

from watchfloor.connectors.media.sniff import sniff_media_type
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import InputError, NotFound
from watchfloor.domain.media import (
    ImageList,
    ImageListItem,
    RegionHash,
    phash_informative,
    tagged_hashes,
)
from watchfloor.pipeline.media.hashes import PDQ_MIN_QUALITY, ImageHashes, hash_image
from watchfloor.pipeline.media.images import decode_image
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import StoreTx

__all__ = [
    "add_known_image",
    "create_image_list",
    "file_hashes",
    "image_lists",
    "remove_known_image",
    "show_image_list",
]

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_PHASH = re.compile(r"[0-9a-f]{16}")
_PDQ = re.compile(r"[0-9a-f]{64}")
_MAX_PIXELS = 50_000_000


def _list_or_raise(tx: StoreTx, name: str) -> ImageList:
    found = tx.image_list_named(name.casefold())
    if found is None:
        raise NotFound(f"There is no known-image list named {name!r}; `watchfloor images list` shows them.")
    return found


def create_image_list(
    ctx: ServiceContext, *, actor: Actor, name: str, description: str, basis_id: int | None
) -> ImageList:
    """Create an empty known-image list under a legal basis in force."""
    with refusals_recorded(ctx, actor=actor, action="images.create", basis_id=basis_id):
        authorize(actor, "images.write")
        name = name.strip().casefold()
        if not _NAME.fullmatch(name):
            raise InputError(
                f"{name!r} is not a list name: use 1-64 lower-case letters, digits, '_', '.' or '-' "
                "(rules write imagehash:~name)"
            )
        if not description.strip():
            raise InputError("say what the list holds and why (--description): reviewers read it")
        with ctx.store.transaction() as tx:
            now = ctx.clock.now()
            basis = require_basis(tx, basis_id, now=now, doing="keeping a known-image list")
            created = tx.create_image_list(
                name=name, description=description.strip(), basis_id=basis.id, created_by=actor.name, at=now
            )
            record(tx, actor=actor, action="images.create", at=now, object_ids=(f"image_list:{created.id}",),
                   basis_id=basis.id, details={"name": name})  # fmt: skip
    return created


def file_hashes(data: bytes) -> ImageHashes:
    """The hashes kept of a known image's file: PDQ only when its quality makes it reliable, pHash
    unless the picture is flat, and every region (the matcher picks each region's usable hash)."""
    media_type = sniff_media_type(data[:64])
    if media_type is None or not media_type.startswith("image/"):
        raise InputError("the file is not an image watchfloor reads (JPEG, PNG, GIF, WebP, BMP or AVIF)")
    hashes = hash_image(decode_image(data, max_pixels=_MAX_PIXELS).image)
    kept = ImageHashes(
        phash=hashes.phash if phash_informative(hashes.phash) else "",
        pdq=hashes.pdq if hashes.pdq_quality >= PDQ_MIN_QUALITY else "",
        pdq_quality=hashes.pdq_quality,
        regions=hashes.regions,
    )
    if not tagged_hashes(pdq=kept.pdq, pdq_quality=None, phash=kept.phash, regions=kept.regions):
        raise InputError(
            "the image is (nearly) one flat colour: its hashes would match every other featureless "
            "image, so it cannot be a known image"
        )
    return kept


def add_known_image(
    ctx: ServiceContext,
    *,
    actor: Actor,
    list_name: str,
    data: bytes | None = None,
    phash: str | None = None,
    pdq: str | None = None,
    label: str | None = None,
) -> ImageListItem:
    """Add an image to a list: from its file (``data``), or from a partner's ``pdq``/``phash`` hex hashes."""
    with refusals_recorded(ctx, actor=actor, action="images.add"):
        authorize(actor, "images.write")
        regions: tuple[RegionHash, ...] = ()
        if data is not None:
            hashes = file_hashes(data)
            phash, pdq, regions = hashes.phash or None, hashes.pdq or None, hashes.regions
        else:
            phash = phash.strip().casefold() if phash else None
            pdq = pdq.strip().casefold() if pdq else None
            if phash is not None and not _PHASH.fullmatch(phash):
                raise InputError("--phash takes 16 hexadecimal digits (a 64-bit pHash)")
            if pdq is not None and not _PDQ.fullmatch(pdq):
                raise InputError("--pdq takes 64 hexadecimal digits (a 256-bit PDQ hash)")
            if phash is None and pdq is None:
                raise InputError("give an image file, or its --pdq or --phash hash")
            if phash is not None and pdq is None and not phash_informative(phash):
                raise InputError(
                    f"{phash} is the pHash of a flat, featureless picture: it would match every blank "
                    "image, so it is not kept (give the PDQ hash or the image itself)"
                )
        with ctx.store.transaction() as tx:
            now = ctx.clock.now()
            found = _list_or_raise(tx, list_name)
            item = tx.add_image_list_item(
                found.id, phash=phash, pdq=pdq, sha256=None, label=label, added_by=actor.name, at=now,
                regions=regions,
            )  # fmt: skip
            objects = (f"image_list:{found.id}", f"image_list_item:{item.id}")
            record(tx, actor=actor, action="images.add", at=now, object_ids=objects, basis_id=found.basis_id,
                   details={"list": found.name, "phash": phash or "", "pdq": pdq or "",
                            "regions": len(regions)})  # fmt: skip
    return item


def remove_known_image(ctx: ServiceContext, *, actor: Actor, list_name: str, item_id: int) -> None:
    """Take one image out of a list (rules stop matching it at once)."""
    with refusals_recorded(ctx, actor=actor, action="images.remove"):
        authorize(actor, "images.write")
        with ctx.store.transaction() as tx:
            now = ctx.clock.now()
            found = _list_or_raise(tx, list_name)
            tx.remove_image_list_item(found.id, item_id)
            objects = (f"image_list:{found.id}", f"image_list_item:{item_id}")
            record(tx, actor=actor, action="images.remove", at=now, object_ids=objects,
                   basis_id=found.basis_id, details={"list": found.name})  # fmt: skip


def image_lists(ctx: ServiceContext, *, actor: Actor) -> list[ImageList]:
    """Every known-image list with its size."""
    with refusals_recorded(ctx, actor=actor, action="images.list"), ctx.store.transaction() as tx:
        authorize(actor, "images.read")
        found = tx.list_image_lists()
        record(tx, actor=actor, action="images.list", at=ctx.clock.now(), details={"count": len(found)})
    return found


def show_image_list(
    ctx: ServiceContext, *, actor: Actor, list_name: str
) -> tuple[ImageList, list[ImageListItem]]:
    """One list and its images' hashes."""
    with refusals_recorded(ctx, actor=actor, action="images.show"), ctx.store.transaction() as tx:
        authorize(actor, "images.read")
        found = _list_or_raise(tx, list_name)
        items = tx.image_list_items(found.id)
        record(tx, actor=actor, action="images.show", at=ctx.clock.now(),
               object_ids=(f"image_list:{found.id}",), basis_id=found.basis_id)  # fmt: skip
    return found, items
