"""Releasing an approved export: re-check its hash, write the file and its manifest, mark it released.

The third step of the dissemination review (:mod:`watchfloor.services.dissemination` has the first
two, and re-exports :func:`release_export`). Only the author releases, and only what a reviewer
approved: the held bytes are hashed again and a mismatch voids the approval. The manifest
(``<file>.manifest.json``, format ``watchfloor-export-manifest/1``) lists the legal basis, author,
approver, the file's SHA-256 and every item's position and SHA-256, and the sequence number of the
release's audit event; it is signed with the audit signing key when one is configured.
:mod:`watchfloor.exportverify` checks it offline and shares no code with this module on purpose: a
bug here is not silently repeated there. The console releases to the caller instead of a file
(:func:`release_export_bytes`); releasing a case report adds a ``released`` custody event to each of
its evidence items.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import msgspec

from watchfloor.accountability.notes import check_origin, load_signing_key, verifier_key
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import DetailValue
from watchfloor.domain.errors import Conflict, InputError, NotFound
from watchfloor.domain.oversight import Dissemination, DisseminationItem, LegalBasis
from watchfloor.services.access import authorize, require_basis
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record, refusals_recorded
from watchfloor.store.ports import StoreTx

__all__ = [
    "MANIFEST_FORMAT",
    "Release",
    "ReleasedBytes",
    "access_dissemination_or_raise",
    "canonical_json",
    "download_name",
    "export_manifest",
    "manifest_path",
    "manifest_text",
    "release_export",
    "release_export_bytes",
    "release_format",
    "sha256_hex",
]

MANIFEST_FORMAT = "watchfloor-export-manifest/1"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def access_dissemination_or_raise(
    tx: StoreTx, actor: Actor, dissemination_id: int, operation: str
) -> Dissemination:
    """Review ``dissemination_id`` if ``actor`` may perform ``operation`` on it (owner: its author)."""
    found = tx.get_dissemination(dissemination_id)
    if found is None:
        raise NotFound(f"export {dissemination_id} does not exist (see `watchfloor exports list`)")
    authorize(actor, operation, owner=found.author)
    return found


class Release(msgspec.Struct, frozen=True, kw_only=True):
    """What releasing wrote: the file, its manifest, and the review as it now stands."""

    dissemination: Dissemination
    file: Path
    manifest_file: Path
    manifest: dict[str, Any]


def manifest_path(file: Path) -> Path:
    """Where the manifest of ``file`` goes: beside it, ``<file>.manifest.json``."""
    return file.with_name(file.name + ".manifest.json")


def canonical_json(value: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes a manifest signature covers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _manifest(
    ctx: ServiceContext,
    released: Dissemination,
    basis: LegalBasis,
    content: bytes,
    items: list[DisseminationItem],
    audit_seq: int,
) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "dissemination_id": released.id,
        "kind": released.kind,
        "title": released.title,
        "recipient": released.recipient,
        "legal_basis": {"id": basis.id, "title": basis.title, "authority": basis.authority},
        "author": released.author,
        "approver": released.reviewer,
        "approved_at": released.decided_at.isoformat() if released.decided_at else None,
        "released_at": released.released_at.isoformat() if released.released_at else None,
        "content_sha256": released.content_sha256,
        "bytes": len(content),
        "items": [
            {
                "post_id": i.post_id,
                "platform": i.platform,
                "native_id": i.native_id,
                "offset": i.offset,
                "length": i.length,
                "sha256": sha256_hex(content[i.offset : i.offset + i.length]),
            }
            for i in items
        ],
        "audit_seq": audit_seq,
    }
    secret = ctx.settings.audit_signing_key
    if secret is not None:
        key = load_signing_key(secret.get_secret_value())
        origin = check_origin(ctx.settings.audit_origin)
        manifest["key_name"] = origin
        manifest["public_key"] = verifier_key(origin, key)
        manifest["signature"] = base64.b64encode(key.sign(canonical_json(manifest))).decode("ascii")
    return manifest


def _write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file beside it, so no half-written file is left."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


class ReleasedBytes(msgspec.Struct, frozen=True, kw_only=True):
    """What releasing to the caller gave: the approved bytes, the manifest, and suggested file names."""

    dissemination: Dissemination
    content: bytes
    manifest: dict[str, Any]
    filename: str
    media_type: str

    @property
    def manifest_filename(self) -> str:
        return self.filename + ".manifest.json"

    @property
    def manifest_bytes(self) -> bytes:
        return manifest_text(self.manifest)


_MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv", "pdf": "application/pdf"}


def release_format(found: Dissemination) -> str:
    """The file format of a review: ``pdf`` for a case report, else the export's format."""
    fmt = found.spec.get("format")
    if found.kind == "report":
        return "pdf"
    return str(fmt) if fmt in _MEDIA_TYPES else "ndjson"


def download_name(found: Dissemination) -> str:
    """The file name a released review is offered under: ``watchfloor-report-7.pdf``."""
    return f"watchfloor-{found.kind}-{found.id}.{release_format(found)}"


def manifest_text(manifest: dict[str, Any]) -> bytes:
    """The manifest file's bytes (indented JSON, UTF-8, final newline)."""
    return json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"


def _evidence_ids(found: Dissemination) -> list[int]:
    raw = found.spec.get("evidence_ids") if found.kind == "report" else None
    return [int(x) for x in str(raw).split(",") if x.strip().isdigit()] if raw else []


def _release(
    ctx: ServiceContext, tx: StoreTx, actor: Actor, dissemination_id: int, details: dict[str, DetailValue]
) -> tuple[Dissemination, bytes, dict[str, Any]]:
    """Mark an approved review released in ``tx`` and record ``exports.release``; the bytes and manifest."""
    ref = [f"dissemination:{dissemination_id}"]
    found = access_dissemination_or_raise(tx, actor, dissemination_id, "exports.release")
    if found.status != "approved":
        raise Conflict(
            f"export {dissemination_id} is {found.status}: it can leave only once a reviewer has "
            f"approved it (`watchfloor exports approve {dissemination_id} --sha256 "
            f"{found.content_sha256}`, run by a reviewer)"
        )
    details.setdefault("file", download_name(found))
    content = tx.dissemination_content(dissemination_id)
    if content is None or sha256_hex(content) != found.content_sha256:
        raise Conflict(
            f"the approval of export {dissemination_id} is void: the stored content no longer has "
            f"the approved SHA-256 {found.content_sha256}. Nothing was written; request the export "
            "again and have it reviewed"
        )
    now = ctx.clock.now()
    basis = require_basis(tx, found.basis_id, now=now, doing="releasing an export")
    items = tx.dissemination_items(dissemination_id)
    released = tx.mark_released(dissemination_id, at=now)
    if released is None:
        raise Conflict(f"export {dissemination_id} was released by someone else meanwhile")
    tx.drop_dissemination_content(dissemination_id)
    evidence = _evidence_ids(found)  # a case report: its evidence items leave with it
    tx.add_custody_events(
        evidence,
        action="released",
        actor=actor.name,
        at=now,
        note=f"in {_ref_name(found)} sha256:{found.content_sha256}",
    )
    event = record(
        tx,
        actor=actor,
        action="exports.release",
        at=now,
        object_ids=[*ref, *(f"evidence:{e}" for e in evidence)],
        basis_id=basis.id,
        details={
            **details,
            "recipient": released.recipient,
            "content_sha256": released.content_sha256,
            "items": len(items),
            "approver": released.reviewer,
        },
    )
    manifest = _manifest(ctx, released, basis, content, items, event.seq)
    # After the event, which the manifest names (as the files are): kept so that the author, a reviewer
    # or an auditor can fetch the manifest again later (it holds ids, hashes and names, no content).
    tx.set_dissemination_manifest(dissemination_id, manifest_text(manifest).decode("utf-8"))
    return released, content, manifest


def _ref_name(found: Dissemination) -> str:
    return f"{found.kind} {found.id}"


def release_export(ctx: ServiceContext, *, actor: Actor, dissemination_id: int, output: Path) -> Release:
    """Write an approved export and its manifest (the author); refused if the bytes changed since approval."""
    ref = [f"dissemination:{dissemination_id}"]
    target, manifest_file = output, manifest_path(output)
    details: dict[str, DetailValue] = {"file": target.name}
    written: list[Path] = []
    try:
        with (
            refusals_recorded(ctx, actor=actor, action="exports.release", object_ids=ref, details=details),
            ctx.store.transaction() as tx,
        ):
            for path in (target, manifest_file):
                if path.exists():
                    raise InputError(f"{path} already exists: choose another file name")
            released, content, manifest = _release(ctx, tx, actor, dissemination_id, dict(details))
            # The files are written after the event (which the manifest names) but before the commit:
            # if writing fails the release rolls back, and if the commit fails the files are removed.
            _write_new(target, content)
            written.append(target)
            _write_new(manifest_file, manifest_text(manifest))
            written.append(manifest_file)
    except BaseException:
        for path in written:  # the release did not commit: take back what it wrote
            path.unlink(missing_ok=True)
        raise
    return Release(dissemination=released, file=target, manifest_file=manifest_file, manifest=manifest)


def release_export_bytes(ctx: ServiceContext, *, actor: Actor, dissemination_id: int) -> ReleasedBytes:
    """Release an approved export or report to the caller as bytes (the console streams them as a
    download), with its manifest; the same checks and the same one audit event as :func:`release_export`."""
    ref = [f"dissemination:{dissemination_id}"]
    details: dict[str, DetailValue] = {"to": "download"}
    with (
        refusals_recorded(ctx, actor=actor, action="exports.release", object_ids=ref, details=details),
        ctx.store.transaction() as tx,
    ):
        released, content, manifest = _release(ctx, tx, actor, dissemination_id, dict(details))
    fmt = release_format(released)
    return ReleasedBytes(
        dissemination=released,
        content=content,
        manifest=manifest,
        filename=download_name(released),
        media_type=_MEDIA_TYPES[fmt],
    )


def export_manifest(
    ctx: ServiceContext, *, actor: Actor, dissemination_id: int
) -> tuple[Dissemination, bytes]:
    """The manifest a release handed out (for anyone who may read exports), as its file's bytes."""
    ref = [f"dissemination:{dissemination_id}"]
    with (
        refusals_recorded(
            ctx, actor=actor, action="exports.read", object_ids=ref, details={"manifest": True}
        ),
        ctx.store.transaction() as tx,
    ):
        found = access_dissemination_or_raise(tx, actor, dissemination_id, "exports.read")
        text = tx.dissemination_manifest(dissemination_id)
        if text is None:
            raise NotFound(f"export {dissemination_id} is {found.status}: only a released one has a manifest")
        record(
            tx,
            actor=actor,
            action="exports.read",
            at=ctx.clock.now(),
            object_ids=ref,
            basis_id=found.basis_id,
            details={"manifest": True},
        )
        return found, text.encode("utf-8")
