"""Signing checkpoints: verify before sign, idle logs need no new checkpoint, forks are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.accountability.conftest import AUDITOR, ORIGIN, add_events, settings_for
from watchfloor import auditverify
from watchfloor.domain.errors import ConfigError, Conflict
from watchfloor.services.audit import memory_file, public_key, sign_checkpoint, verify_log
from watchfloor.services.context import ServiceContext
from watchfloor.wiring import build_context


def _sql(ctx: ServiceContext, statement: str, **params: object) -> None:
    with ctx.store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text(statement), params)


def test_a_checkpoint_covers_the_log_and_its_own_signing(audit_ctx: ServiceContext) -> None:
    add_events(audit_ctx, 10)
    first = sign_checkpoint(audit_ctx, actor=AUDITOR)
    assert first.signed and first.checkpoint.size == 11  # 10 events + the audit.checkpoint event
    key = auditverify.parse_verifier_key(public_key(audit_ctx.settings))
    head = auditverify.open_checkpoint(first.checkpoint.note, [key])
    with audit_ctx.store.transaction() as tx:
        leaves = tx.audit_leaves(0, 11)
    root = auditverify.root_of(auditverify.hash_leaf(r.leaf) for r in leaves)
    assert head == auditverify.SignedCheckpoint(ORIGIN, 11, root)
    assert leaves[-1].action == "audit.checkpoint"

    again = sign_checkpoint(audit_ctx, actor=AUDITOR)  # nothing new: the same checkpoint, no new event
    assert not again.signed and again.checkpoint == first.checkpoint
    add_events(audit_ctx, 3)
    third = sign_checkpoint(audit_ctx, actor=AUDITOR)
    assert third.checkpoint.size == 15
    path = memory_file(audit_ctx)
    assert path is not None and path.read_text(encoding="utf-8") == third.checkpoint.note

    report = verify_log(audit_ctx, actor=AUDITOR, checkpoints=[("first", first.checkpoint.note)])
    assert report.ok and report.size == 15
    with audit_ctx.store.transaction() as tx:
        (event,) = tx.audit_events(limit=1)
    assert event.action == "audit.verify"  # verifying is itself recorded
    assert event.details == {"size": 15, "verified": True, "problems": 0, "kept_checkpoints": 1}


def test_signing_needs_a_key_and_says_how_to_make_one(tmp_path: Path) -> None:
    settings = settings_for(str(tmp_path / "floor.db"), tmp_path).model_copy(
        update={"audit_signing_key": None}
    )
    ctx = build_context(settings)
    with pytest.raises(ConfigError, match="watchfloor audit keygen"):
        sign_checkpoint(ctx, actor=AUDITOR)
    ctx.store.close()


def test_the_signer_checks_what_it_signs_over(audit_ctx: ServiceContext) -> None:
    """Each forgery in turn (then repaired): a stored hash, and the stored checkpoint's parts."""
    add_events(audit_ctx, 4)
    sign_checkpoint(audit_ctx, actor=AUDITOR)  # size 5: two subtree hashes in the frontier
    add_events(audit_ctx, 5, start=4)
    forgeries = [
        (
            "UPDATE audit_events SET leaf_hash = :junk32 WHERE seq = 8",
            "leaf 8 does not match its stored hash",
        ),
        ("UPDATE audit_checkpoints SET frontier = :junk64", "does not match its signed note"),
        ("UPDATE audit_checkpoints SET root = :junk32", "does not match its signed note"),
        ("UPDATE audit_checkpoints SET note = replace(note, '\n5\n', '\n6\n')", "does not verify"),
    ]
    for statement, message in forgeries:
        with audit_ctx.store.engine.begin() as conn:  # type: ignore[attr-defined]
            saved = conn.execute(text("SELECT * FROM audit_checkpoints")).one()._mapping
            hash8 = conn.execute(text("SELECT leaf_hash FROM audit_events WHERE seq = 8")).scalar_one()
        _sql(audit_ctx, statement, junk32=b"\x01" * 32, junk64=b"\x01" * 64)
        with pytest.raises(Conflict, match=message):
            sign_checkpoint(audit_ctx, actor=AUDITOR)
        _sql(
            audit_ctx,
            "UPDATE audit_checkpoints SET root = :root, frontier = :frontier, note = :note",
            **saved,
        )
        _sql(audit_ctx, "UPDATE audit_events SET leaf_hash = :h WHERE seq = 8", h=hash8)
    assert sign_checkpoint(audit_ctx, actor=AUDITOR).checkpoint.size == 11  # repaired: signs again


def test_a_rolled_back_database_is_never_signed_over(audit_ctx: ServiceContext) -> None:
    """Restoring an older backup rolls back events and stored checkpoints alike; the signer's
    memory file, kept elsewhere, still knows the newest checkpoint."""
    add_events(audit_ctx, 8)
    sign_checkpoint(audit_ctx, actor=AUDITOR)  # size 9
    add_events(audit_ctx, 4, start=8)
    sign_checkpoint(audit_ctx, actor=AUDITOR)  # size 14
    # What a restore of the backup taken at size 9 leaves in these tables:
    _sql(audit_ctx, "DELETE FROM audit_events WHERE seq >= 9")
    _sql(audit_ctx, "DELETE FROM audit_checkpoints WHERE size > 9")
    with pytest.raises(Conflict, match=r"log has 9 events but a checkpoint of size 14 was already signed"):
        sign_checkpoint(audit_ctx, actor=AUDITOR)
    add_events(audit_ctx, 10, actor="mallory")  # and carry on as if nothing happened: a fork
    with pytest.raises(Conflict, match="first 14 events no longer hash to the root"):
        sign_checkpoint(audit_ctx, actor=AUDITOR)
