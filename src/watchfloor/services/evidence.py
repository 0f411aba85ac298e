"""Evidence: write-once captures of posts inside a case, their chain of custody, and re-verification.

Capturing a post stores, under the case's legal basis, its raw payload exactly as received, a
rendered HTML snapshot (self-contained and escaped: no scripts, nothing fetched) and a metadata file
(address, capture time in UTC, capturer, tool and version, legal basis, the other parts' SHA-256), and
the post's photos and videos as fetched (``media-<position>.<ext>``; a file not fetched, or missing on
disk, is listed in the metadata as missing rather than silently left out).
Each part is stored by the SHA-256 of its bytes in a write-once blob table: no service changes or
deletes evidence (only the retention purge, with its closed case), and :func:`verify_evidence`
re-hashes every stored part so that a change made behind the store's back shows up as a mismatch.

Every capture, view and download appends to the item's custody chain (captured, viewed, exported in
a report, released, …) in the same transaction as its one audit event (``evidence.capture``,
``evidence.view``, ``evidence.verify``), which names the items and hashes, never post text.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

import msgspec
from jinja2 import Environment, PackageLoader, select_autoescape

from watchfloor import __version__
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailScalar
from watchfloor.domain.casework import CustodyEvent, EvidenceItem, EvidencePart
from watchfloor.domain.errors import Conflict, NotFound
from watchfloor.domain.oversight import Case, LegalBasis
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.cases import access_case_or_raise
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import StoredPost, StoreTx

__all__ = [
    "TOOL",
    "EvidenceView",
    "PartCheck",
    "capture_evidence",
    "render_snapshot",
    "verify_evidence",
    "view_evidence",
]

TOOL = f"watchfloor {__version__}"
SNAPSHOT = "snapshot.html"
METADATA = "metadata.json"
_RAW_TYPES = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "xml": "application/xml",
    "rss": "application/xml",
    "html": "text/plain",  # platform HTML is kept as text: never served as a page
}

_templates = Environment(
    loader=PackageLoader("watchfloor.services", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class EvidenceView(msgspec.Struct, frozen=True, kw_only=True):
    """One evidence item, its custody chain (this view included), and a part's bytes if asked for."""

    item: EvidenceItem
    custody: list[CustodyEvent]
    part: EvidencePart | None = None
    content: bytes | None = None


class PartCheck(msgspec.Struct, frozen=True, kw_only=True):
    """The re-hash of one stored part: ``actual`` is ``None`` when its bytes are missing."""

    evidence_id: int
    name: str
    expected: str
    actual: str | None

    @property
    def ok(self) -> bool:
        return self.actual == self.expected


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _refs(case_id: int, evidence_id: int | None = None) -> list[str]:
    return [f"case:{case_id}"] + ([] if evidence_id is None else [f"evidence:{evidence_id}"])


def render_snapshot(
    stored: StoredPost,
    *,
    case_id: int,
    basis: LegalBasis,
    captured_at: datetime,
    captured_by: str,
    raw_sha256: str | None,
) -> bytes:
    """The post as one self-contained, escaped HTML page (no scripts, nothing loaded from anywhere)."""
    html = _templates.get_template("evidence_snapshot.html.j2").render(
        post=stored.post,
        case_id=case_id,
        basis=basis,
        captured_at=captured_at.isoformat(),
        captured_by=captured_by,
        tool=TOOL,
        raw_sha256=raw_sha256 or "no raw payload was stored for this post",
    )
    return html.encode("utf-8")


def _raw_part(tx: StoreTx, stored: StoredPost) -> tuple[str, str, bytes]:
    """``(name, media type, bytes)`` of the raw payload; the normalised post when none was kept."""
    raw = tx.get_raw(stored.id)
    if raw is None:  # mark absence: this is our mapping, not the platform's bytes, and is named so
        return "post.json", "application/json", msgspec.json.encode(stored.post)
    fmt = re.sub(r"[^a-z0-9]", "", raw[0].lower()) or "bin"
    return f"raw.{fmt}", _RAW_TYPES.get(fmt, "application/octet-stream"), raw[1]


_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
               "image/bmp": "bmp", "image/avif": "avif", "video/mp4": "mp4", "video/webm": "webm",
               "video/quicktime": "mov", "video/x-matroska": "mkv"}  # fmt: skip


def _media_parts(
    ctx: ServiceContext, tx: StoreTx, post_id: int
) -> tuple[list[tuple[str, str, bytes]], list[str]]:
    """The post's fetched media files as parts, and what could not be included (and why)."""
    files: list[tuple[str, str, bytes]] = []
    missing: list[str] = []
    for entry, obj in tx.media_for_post(post_id):
        where = f"media {entry.position} ({entry.url})"
        if obj is None:
            missing.append(f"{where}: {entry.state}" + (f", {entry.last_error}" if entry.last_error else ""))
            continue
        if ctx.media is None or not ctx.media.exists(obj.sha256):
            missing.append(f"{where}: the stored file {obj.sha256} is not on disk")
            continue
        data = ctx.media.read(obj.sha256)
        if sha256_hex(data) != obj.sha256:
            missing.append(f"{where}: the stored file no longer matches its SHA-256 {obj.sha256}")
            continue
        name = f"media-{entry.position}.{_EXTENSIONS.get(obj.media_type, 'bin')}"
        files.append((name, obj.media_type, data))
    return files, missing


def _store_parts(tx: StoreTx, files: list[tuple[str, str, bytes]]) -> list[EvidencePart]:
    parts = []
    for name, media_type, data in files:
        digest = sha256_hex(data)
        tx.put_evidence_blob(digest, data)  # an existing hash is kept as it is: write-once
        parts.append(EvidencePart(name=name, media_type=media_type, sha256=digest, size=len(data)))
    return parts


def _open_case(tx: StoreTx, actor: Actor, case_id: int) -> Case:
    case = access_case_or_raise(tx, actor, case_id, "cases.work")
    if case.status != "open":
        raise Conflict(f"case {case_id} is closed: evidence can only be captured into an open case")
    return case


def capture_evidence(ctx: ServiceContext, *, actor: Actor, case_id: int, post_id: int) -> EvidenceItem:
    """Capture stored post ``post_id`` into an open case (its owner, or a supervisor), write-once."""
    refs = [*_refs(case_id), f"post:{post_id}"]
    with (
        refusals_recorded(ctx, actor=actor, action="evidence.capture", object_ids=refs),
        ctx.store.transaction() as tx,
    ):
        case = _open_case(tx, actor, case_id)
        authorize(actor, "posts.view")  # a capture reads the post and its raw payload
        now = ctx.clock.now()
        basis = require_basis(tx, case.basis_id, now=now, doing="capturing evidence")
        found = tx.get_posts([post_id])
        if not found:
            raise NotFound(f"post {post_id} is not in the store (it may have been purged under retention)")
        stored = found[0]
        raw_name, raw_type, raw_bytes = _raw_part(tx, stored)
        raw_sha = sha256_hex(raw_bytes)
        media_files, media_missing = _media_parts(ctx, tx, post_id)
        snapshot = render_snapshot(
            stored,
            case_id=case_id,
            basis=basis,
            captured_at=now,
            captured_by=actor.name,
            raw_sha256=raw_sha if raw_name.startswith("raw.") else None,
        )
        metadata = {
            "format": "watchfloor-evidence/1",
            "case_id": case_id,
            "post_id": post_id,
            "platform": stored.post.platform,
            "native_id": stored.post.native_id,
            "url": stored.post.url,
            "captured_at": now.isoformat(),
            "captured_by": actor.name,
            "tool": TOOL,
            "legal_basis": {"id": basis.id, "title": basis.title, "authority": basis.authority},
            "parts": {
                raw_name: raw_sha,
                SNAPSHOT: sha256_hex(snapshot),
                **{name: sha256_hex(data) for name, _type, data in media_files},
            },
            "media_missing": media_missing,
        }
        meta_bytes = (
            json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
        )
        parts = _store_parts(
            tx,
            [
                (raw_name, raw_type, raw_bytes),
                (SNAPSHOT, "text/html", snapshot),
                (METADATA, "application/json", meta_bytes),
                *media_files,
            ],
        )
        item = tx.create_evidence(
            case_id=case_id,
            post_id=post_id,
            platform=stored.post.platform,
            native_id=stored.post.native_id,
            url=stored.post.url,
            captured_at=now,
            captured_by=actor.name,
            basis_id=basis.id,
            tool_version=TOOL,
            parts=parts,
        )
        tx.add_custody_events([item.id], action="captured", actor=actor.name, at=now, note=None)
        record(
            tx,
            actor=actor,
            action="evidence.capture",
            at=now,
            object_ids=[*_refs(case_id, item.id), f"post:{post_id}"],
            basis_id=basis.id,
            details={"parts": list[DetailScalar](f"{p.name}:{p.sha256}" for p in parts), "tool": TOOL},
        )
        return item


def _item(tx: StoreTx, case_id: int, evidence_id: int) -> EvidenceItem:
    item = tx.get_evidence(evidence_id)
    if item is None or item.case_id != case_id:
        raise NotFound(f"case {case_id} has no evidence item {evidence_id}")
    return item


def view_evidence(
    ctx: ServiceContext, *, actor: Actor, case_id: int, evidence_id: int, part: str | None = None
) -> EvidenceView:
    """An evidence item with its custody chain, and the bytes of ``part`` if named; writes a custody
    event ("viewed") in the same transaction as the ``evidence.view`` audit event."""
    refs = _refs(case_id, evidence_id)
    with (
        refusals_recorded(ctx, actor=actor, action="evidence.view", object_ids=refs, details={"part": part}),
        ctx.store.transaction() as tx,
    ):
        case = access_case_or_raise(tx, actor, case_id, "cases.read")
        item = _item(tx, case_id, evidence_id)
        chosen, content = None, None
        if part is not None:
            chosen = next((p for p in item.parts if p.name == part), None)
            if chosen is None:
                names = ", ".join(p.name for p in item.parts)
                raise NotFound(f"evidence item {evidence_id} has no part {part!r} (it has {names})")
            content = tx.evidence_blob(chosen.sha256)
            if content is None:
                raise Conflict(f"the stored bytes of {part} are missing: run verify on case {case_id}")
        now = ctx.clock.now()
        note = None if part is None else f"opened {part}"
        tx.add_custody_events([item.id], action="viewed", actor=actor.name, at=now, note=note)
        custody = tx.custody_events([item.id])
        record(
            tx,
            actor=actor,
            action="evidence.view",
            at=now,
            object_ids=refs,
            basis_id=case.basis_id,
            details={"part": part, "sha256": None if chosen is None else chosen.sha256},
        )
        return EvidenceView(item=item, custody=custody, part=chosen, content=content)


def verify_evidence(ctx: ServiceContext, *, actor: Actor, case_id: int) -> list[PartCheck]:
    """Re-hash every stored part of a case's evidence; a check whose ``ok`` is False was changed."""
    refs = _refs(case_id)
    with (
        refusals_recorded(ctx, actor=actor, action="evidence.verify", object_ids=refs),
        ctx.store.transaction() as tx,
    ):
        case = access_case_or_raise(tx, actor, case_id, "cases.read")
        checks = []
        for item in tx.case_evidence(case_id):
            for part in item.parts:
                data = tx.evidence_blob(part.sha256)
                actual = None if data is None else sha256_hex(data)
                checks.append(
                    PartCheck(evidence_id=item.id, name=part.name, expected=part.sha256, actual=actual)
                )
        bad = [f"evidence:{c.evidence_id}/{c.name}" for c in checks if not c.ok]
        record(
            tx,
            actor=actor,
            action="evidence.verify",
            at=ctx.clock.now(),
            object_ids=refs,
            basis_id=case.basis_id,
            details={
                "parts": len(checks),
                "mismatched": len(bad),
                "mismatches": list[DetailScalar](bad[:100]),
            },
        )
        return checks
