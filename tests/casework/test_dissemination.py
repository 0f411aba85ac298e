"""Reviewed exports: a second person approves the exact bytes, and the manifest checks out offline."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import update

from tests.casework.conftest import ANA, AUDREY, BO, RITA, SUE, import_rows, make_basis
from watchfloor import exportverify
from watchfloor.domain.actor import Actor
from watchfloor.domain.errors import Conflict, InputError, PermissionDenied
from watchfloor.services import dissemination as exports
from watchfloor.services import release
from watchfloor.services.audit import new_signing_key
from watchfloor.services.context import ServiceContext
from watchfloor.store.schema import dissemination_blobs

MARKER = "zqvx5512marker"  # in every post; never in an audit event
ROWS = [
    ("11", f"flood water in the underpass on Mill Road {MARKER}"),
    ("12", f"the flood reached the school gates this morning {MARKER}"),
    ("13", f"sunny and calm by the harbour {MARKER}"),
    ("14", f"bridge closed, flood warning for the valley {MARKER}"),
]


@pytest.fixture
def basis(ctx: ServiceContext, tmp_path: Path) -> int:
    import_rows(ctx, tmp_path, ROWS, "posts.csv")
    return make_basis(ctx)


def _request(ctx: ServiceContext, basis: int, fmt: str = "ndjson") -> exports.Dissemination:
    return exports.request_export(
        ctx, actor=ANA, query="flood", basis_id=basis, recipient="County emergency cell",
        title="Flooded places", fmt=fmt,
    )  # fmt: skip


def _events(ctx: ServiceContext) -> list[tuple[str, str, str]]:
    with ctx.store.transaction() as tx:
        return [(e.actor, e.action, e.outcome) for e in reversed(tx.audit_events(limit=1000))]


def test_export_requires_second_person(ctx: ServiceContext, basis: int, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs a legal basis"):
        exports.request_export(ctx, actor=ANA, query="flood", basis_id=None, recipient="x", title="y")
    with pytest.raises(PermissionDenied):
        exports.request_export(ctx, actor=RITA, query="flood", basis_id=basis, recipient="x", title="y")
    pending = _request(ctx, basis)
    assert (pending.status, pending.author, pending.item_count) == ("pending", "ana", 3)
    out = tmp_path / "out.ndjson"
    with pytest.raises(Conflict, match="approved"):
        release.release_export(ctx, actor=ANA, dissemination_id=pending.id, output=out)
    assert not out.exists()
    sha = pending.content_sha256
    ana_reviewer = Actor(name="ana", roles=frozenset({"analyst", "reviewer"}))
    with pytest.raises(PermissionDenied, match="second person"):  # the author, even holding the role
        exports.approve_export(ctx, actor=ana_reviewer, dissemination_id=pending.id, content_sha256=sha)
    for someone in (ANA, BO, SUE, AUDREY):  # no reviewer role
        with pytest.raises(PermissionDenied):
            exports.approve_export(ctx, actor=someone, dissemination_id=pending.id, content_sha256=sha)
    with pytest.raises(PermissionDenied):  # nor may the author read it as a "review"
        exports.review_content(ctx, actor=ANA, dissemination_id=pending.id)
    _, content = exports.review_content(ctx, actor=RITA, dissemination_id=pending.id)
    approved = exports.approve_export(
        ctx, actor=RITA, dissemination_id=pending.id, content_sha256=exports.sha256_hex(content)
    )
    assert (approved.status, approved.reviewer, approved.decided_at) == ("approved", "rita", ctx.clock.now())
    with pytest.raises(Conflict, match="already approved by rita"):
        exports.reject_export(ctx, actor=RITA, dissemination_id=pending.id, note="changed my mind")
    with pytest.raises(PermissionDenied):  # only the author releases
        release.release_export(ctx, actor=BO, dissemination_id=pending.id, output=out)
    released = release.release_export(ctx, actor=ANA, dissemination_id=pending.id, output=out)
    assert released.dissemination.status == "released" and out.read_bytes() == content
    with pytest.raises(Conflict, match="released"):
        release.release_export(ctx, actor=ANA, dissemination_id=pending.id, output=tmp_path / "again")
    with ctx.store.transaction() as tx:
        assert tx.dissemination_content(pending.id) is None  # the bytes are gone, the hash stays
        leaves = b"".join(r.leaf for r in tx.audit_leaves(0, tx.audit_size()))
    assert exports.show_export(ctx, actor=AUDREY, dissemination_id=pending.id).content_sha256 == sha
    assert MARKER.encode() not in leaves
    actions = [e for e in _events(ctx) if e[1].startswith("exports.")]
    assert ("rita", "exports.decide", "ok") in actions and ("ana", "exports.decide", "denied") in actions
    releases = [e for e in actions if e[1] == "exports.release"]
    assert releases == [
        ("ana", "exports.release", "denied"),
        ("bo", "exports.release", "denied"),
        ("ana", "exports.release", "ok"),
        ("ana", "exports.release", "denied"),
    ]
    assert actions[-1] == ("audrey", "exports.read", "ok")


def test_rejection_needs_a_reason_and_deletes_the_bytes(ctx: ServiceContext, basis: int) -> None:
    pending = _request(ctx, basis)
    with pytest.raises(InputError, match="reason"):
        exports.reject_export(ctx, actor=RITA, dissemination_id=pending.id, note=" ")
    rejected = exports.reject_export(ctx, actor=RITA, dissemination_id=pending.id, note="names a minor")
    assert (rejected.status, rejected.decision_note) == ("rejected", "names a minor")
    with ctx.store.transaction() as tx:
        assert tx.dissemination_content(pending.id) is None
    assert [d.status for d in exports.list_exports(ctx, actor=RITA, status="rejected")] == ["rejected"]


def _tamper(ctx: ServiceContext, dissemination_id: int, content: bytes) -> None:
    with ctx.store.transaction() as tx:
        tx.conn.execute(  # type: ignore[attr-defined]
            update(dissemination_blobs)
            .where(dissemination_blobs.c.dissemination_id == dissemination_id)
            .values(content=content)
        )


def test_approval_bound_to_hash(ctx: ServiceContext, basis: int, tmp_path: Path) -> None:
    pending = _request(ctx, basis)
    with pytest.raises(Conflict, match="content changed since you reviewed it"):
        exports.approve_export(ctx, actor=RITA, dissemination_id=pending.id, content_sha256="ab" * 32)
    _, content = exports.review_content(ctx, actor=RITA, dissemination_id=pending.id)
    _tamper(ctx, pending.id, content.replace(b"Mill Road", b"Mill Lane"))  # changed before approval
    with pytest.raises(Conflict, match="content changed since you reviewed it"):
        exports.approve_export(
            ctx, actor=RITA, dissemination_id=pending.id, content_sha256=pending.content_sha256
        )
    _tamper(ctx, pending.id, content)
    exports.approve_export(
        ctx, actor=RITA, dissemination_id=pending.id, content_sha256=pending.content_sha256.upper()
    )
    _tamper(ctx, pending.id, content + b'{"added":"after approval"}\n')  # changed after approval
    out = tmp_path / "out.ndjson"
    with pytest.raises(Conflict, match=r"approval of export \d+ is void"):
        release.release_export(ctx, actor=ANA, dissemination_id=pending.id, output=out)
    assert not out.exists() and not release.manifest_path(out).exists()
    assert exports.show_export(ctx, actor=ANA, dissemination_id=pending.id).status == "approved"


def _approved(ctx: ServiceContext, basis: int, fmt: str = "ndjson") -> int:
    pending = _request(ctx, basis, fmt)
    exports.approve_export(
        ctx, actor=RITA, dissemination_id=pending.id, content_sha256=pending.content_sha256
    )
    return pending.id


def test_export_manifest_roundtrip(ctx: ServiceContext, basis: int, tmp_path: Path) -> None:
    out = tmp_path / "flood.ndjson"
    done = release.release_export(ctx, actor=ANA, dissemination_id=_approved(ctx, basis), output=out)
    manifest = json.loads(release.manifest_path(out).read_text(encoding="utf-8"))
    assert manifest == done.manifest
    assert manifest["legal_basis"]["id"] == basis and manifest["approver"] == "rita"
    assert manifest["author"] == "ana" and manifest["recipient"] == "County emergency cell"
    assert "signature" not in manifest  # no audit signing key configured
    with ctx.store.transaction() as tx:
        [event] = tx.audit_events(action="exports.release", limit=1)
    assert manifest["audit_seq"] == event.seq
    posts = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert [i["post_id"] for i in manifest["items"]] == [p["id"] for p in posts]
    assert exportverify.verify_export(out.read_bytes(), manifest).ok

    flipped = bytearray(out.read_bytes())
    second = manifest["items"][1]
    flipped[second["offset"] + 5] ^= 0x01
    report = exportverify.verify_export(bytes(flipped), manifest)
    assert not report.ok
    assert any(
        f"item 2 (post {second['post_id']}, twitter {second['native_id']}) differs" in p
        for p in report.problems
    )
    assert not any("item 1 " in p or "item 3 " in p for p in report.problems)

    edited = json.loads(json.dumps(manifest))
    edited["items"][0]["sha256"] = "00" * 32
    assert not exportverify.verify_export(out.read_bytes(), edited).ok
    edited = {**manifest, "content_sha256": "11" * 32}
    assert any("approved content" in p for p in exportverify.verify_export(out.read_bytes(), edited).problems)

    # The standalone file runs with no watchfloor on the path, from a copy, and exits 1 naming the item.
    copy = tmp_path / "standalone" / "exportverify.py"
    copy.parent.mkdir()
    shutil.copy(Path(exportverify.__file__), copy)
    ok = subprocess.run(
        [sys.executable, "-I", str(copy), str(out)], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0 and ok.stdout.rstrip().endswith("verified"), ok.stdout + ok.stderr
    out.write_bytes(bytes(flipped))
    bad = subprocess.run(
        [sys.executable, "-I", str(copy), str(out)], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1 and "item 2" in bad.stdout and "NOT VERIFIED" in bad.stdout


def test_signed_manifest(ctx: ServiceContext, basis: int, tmp_path: Path) -> None:
    private, verifier = new_signing_key("floor.example.org/audit")
    settings = ctx.settings.model_copy(
        update={"audit_signing_key": SecretStr(private), "audit_origin": "floor.example.org/audit"}
    )
    signed_ctx = dataclasses.replace(ctx, settings=settings)
    out = tmp_path / "flood.csv"
    release.release_export(signed_ctx, actor=ANA, dissemination_id=_approved(ctx, basis, "csv"), output=out)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 3 and all("flood" in r["text"] for r in rows)
    manifest = json.loads(release.manifest_path(out).read_text(encoding="utf-8"))
    assert manifest["public_key"] == verifier and manifest["key_name"] == "floor.example.org/audit"
    content = out.read_bytes()
    assert exportverify.verify_export(content, manifest, public_key=verifier).ok
    assert exportverify.verify_export(content, manifest).ok  # valid for the key it names

    _, other = new_signing_key("floor.example.org/audit")
    report = exportverify.verify_export(content, manifest, public_key=other)
    assert any("not by the key given" in p for p in report.problems)
    forged = {**manifest, "recipient": "Someone else"}
    report = exportverify.verify_export(content, forged, public_key=verifier)
    assert any("signature is not valid" in p for p in report.problems)
    unsigned = {k: v for k, v in manifest.items() if k not in ("signature", "public_key", "key_name")}
    report = exportverify.verify_export(content, unsigned, public_key=verifier)
    assert any("not signed" in p for p in report.problems)
