"""The audit log's use cases: record an event, sign a checkpoint, verify the log, list events, prove.

Every other service records its event with :func:`record` (re-exported from the accountability layer)
inside its own transaction; a refused or failed operation, whose transaction rolled back, is recorded
afterwards with :func:`record_failure`. Both are re-exported here; :mod:`watchfloor.services.recording`
has them with the helpers use cases share. Reading the audit log — listing, verifying, proving — is itself
recorded, as CJIS §5.4.1.1 asks for "attempts to access the audit log". Signing records an
``audit.checkpoint`` event first, so each checkpoint covers its own event and an idle log needs no
further checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from watchfloor import auditverify
from watchfloor.accountability import signer
from watchfloor.accountability.auditlog import ids_digest, record, refs
from watchfloor.accountability.merkle import MerkleTree
from watchfloor.accountability.notes import (
    CheckpointHead,
    check_origin,
    generate_signing_key,
    load_signing_key,
    verifier_key,
)
from watchfloor.config import Settings
from watchfloor.domain.actor import Actor
from watchfloor.domain.audit import AuditEvent, Checkpoint
from watchfloor.domain.errors import InputError
from watchfloor.services.access import authorize
from watchfloor.services.context import ServiceContext
from watchfloor.services.recording import record_failure, refusals_recorded
from watchfloor.store.ports import AuditRecord, StoreTx

__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "SignResult",
    "ids_digest",
    "list_audit_events",
    "new_signing_key",
    "prove_consistency",
    "prove_inclusion",
    "public_key",
    "record",
    "record_failure",
    "refs",
    "sign_checkpoint",
    "verify_log",
]

_PAGE = 5_000
_BEFORE_ANY = -(1 << 63)  # the verifier must also see rows a tamperer gave impossible numbers


class SignResult(msgspec.Struct, frozen=True, kw_only=True):
    """The newest checkpoint, and whether this call signed it (False: nothing new to sign)."""

    checkpoint: Checkpoint
    signed: bool


class InclusionProof(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 inclusion proof of event ``seq`` in the tree of ``size`` events."""

    seq: int
    size: int
    leaf_hash: bytes
    hashes: list[bytes]


class ConsistencyProof(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 9162 consistency proof that the tree of ``first`` events is a prefix of the one of ``second``."""

    first: int
    second: int
    hashes: list[bytes]


def _key(settings: Settings) -> Ed25519PrivateKey:
    secret = settings.audit_signing_key
    return load_signing_key(secret.get_secret_value() if secret is not None else None)


def public_key(settings: Settings) -> str:
    """The verifier key auditors and witnesses need (ConfigError if no signing key is configured)."""
    return verifier_key(check_origin(settings.audit_origin), _key(settings))


def new_signing_key(origin: str) -> tuple[str, str]:
    """A fresh (private key setting, verifier key) pair for the log ``origin``; nothing is stored."""
    private = generate_signing_key()
    return private, verifier_key(check_origin(origin), load_signing_key(private))


def memory_file(ctx: ServiceContext) -> Path | None:
    """Where the signer remembers its newest checkpoint: the setting, else beside a SQLite file."""
    if ctx.settings.audit_checkpoint_file:
        return Path(ctx.settings.audit_checkpoint_file).expanduser()
    if ctx.store.dialect == "sqlite":
        return Path(ctx.store.url + ".checkpoint")
    return None


def sign_checkpoint(ctx: ServiceContext, *, actor: Actor) -> SignResult:
    """Sign a checkpoint of the whole log if events were added since the newest one; return the newest.

    Refuses (Conflict) to sign a log that does not extend every checkpoint signed before: see
    :mod:`watchfloor.accountability.signer`.
    """
    with refusals_recorded(ctx, actor=actor, action="audit.checkpoint"):
        authorize(actor, "audit.sign")
    key, origin = _key(ctx.settings), check_origin(ctx.settings.audit_origin)
    path = memory_file(ctx)
    remembered = signer.read_memory(path, origin=origin, key=key)
    with ctx.store.transaction() as tx:
        latest, size = tx.latest_checkpoint(), tx.audit_size()
        signer.refuse_rollback(size, remembered, latest)
        if latest is not None and latest.size == size:
            signer.trusted_frontier(latest, origin=origin, key=key)
            signer.confirm_memory(tx, remembered, origin=origin, key=key)
            checkpoint, signed = latest, False
        else:
            checkpoint, signed = _sign_next(ctx, tx, actor, latest=latest, remembered=remembered), True
    if signed or remembered is None or remembered.size < checkpoint.size:
        signer.write_memory(path, checkpoint.note)
    return SignResult(checkpoint=checkpoint, signed=signed)


def _sign_next(
    ctx: ServiceContext,
    tx: StoreTx,
    actor: Actor,
    *,
    latest: Checkpoint | None,
    remembered: CheckpointHead | None,
) -> Checkpoint:
    """Record the signing, then verify the new leaves and sign (inside the caller's transaction)."""
    key, origin = _key(ctx.settings), check_origin(ctx.settings.audit_origin)
    now = ctx.clock.now()
    details = {"previous_size": latest.size if latest else 0}
    record(tx, actor=actor, action="audit.checkpoint", at=now, details=details)
    checkpoint = signer.extend_checkpoint(
        tx, latest=latest, remembered=remembered, origin=origin, key=key, at=now
    )
    tx.save_checkpoint(checkpoint)
    return checkpoint


def _rows(tx: StoreTx) -> Iterator[auditverify.Row]:
    """Every stored audit row in sequence order, as plain tuples, a page at a time."""
    yield from (_plain(r) for r in tx.audit_leaves(_BEFORE_ANY, 0))
    end = tx.audit_size()
    for start in range(0, end, _PAGE):
        yield from (_plain(r) for r in tx.audit_leaves(start, min(start + _PAGE, end)))


def _plain(r: AuditRecord) -> auditverify.Row:
    return (r.seq, r.at_us, r.actor, r.action, r.leaf, r.leaf_hash)


def _trusted_keys(ctx: ServiceContext, keys: Sequence[str]) -> list[auditverify.VerifierKey]:
    texts = list(keys)
    if not texts and ctx.settings.audit_signing_key is not None:
        texts = [public_key(ctx.settings)]
    try:
        return [auditverify.parse_verifier_key(text) for text in texts]
    except ValueError as exc:
        raise InputError(f"verifier key: {exc}") from None


def verify_log(
    ctx: ServiceContext,
    *,
    actor: Actor,
    checkpoints: Sequence[tuple[str, str]] = (),
    keys: Sequence[str] = (),
) -> auditverify.Report:
    """Recompute the whole log with the independent verifier, against the stored checkpoints and the
    ``(label, note)`` checkpoints an auditor kept, trusting ``keys`` (default: the configured key)."""
    with refusals_recorded(ctx, actor=actor, action="audit.verify"):
        authorize(actor, "audit.read")
    trusted = _trusted_keys(ctx, keys)
    with ctx.store.transaction() as tx:
        stored = [(c.size, c.root, c.note) for c in tx.checkpoints()]
        report = auditverify.verify_log(_rows(tx), stored=stored, kept=checkpoints, keys=trusted)
        record(
            tx,
            actor=actor,
            action="audit.verify",
            at=ctx.clock.now(),
            details={
                "size": report.size,
                "verified": report.ok,
                "problems": len(report.problems) + report.more_problems,
                "kept_checkpoints": len(checkpoints),
            },
        )
    return report


def list_audit_events(
    ctx: ServiceContext,
    *,
    actor: Actor,
    by: str | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """Events newest first, optionally by one user or of one action; the reading is itself recorded."""
    with refusals_recorded(ctx, actor=actor, action="audit.read"):
        authorize(actor, "audit.read")
    if not 1 <= limit <= 10_000:
        raise InputError("--limit must be between 1 and 10,000")
    with ctx.store.transaction() as tx:
        events = tx.audit_events(actor=by, action=action, before=before, limit=limit)
        record(
            tx,
            actor=actor,
            action="audit.read",
            at=ctx.clock.now(),
            object_ids=refs("audit", (e.seq for e in events)) if len(events) <= 100 else (),
            details={"by": by, "action": action, "before": before, "limit": limit, "count": len(events)},
        )
    return events


def _proof_tree(tx: StoreTx, size: int) -> MerkleTree:
    tree = MerkleTree()
    for start in range(0, size, _PAGE):
        for row in tx.audit_leaves(start, min(start + _PAGE, size)):
            tree.append(row.leaf_hash)
    if tree.size != size:
        raise InputError(f"the log has events missing below {size:,}; run `watchfloor audit verify`")
    return tree


def _default_size(tx: StoreTx, size: int | None) -> int:
    if size is not None:
        return size
    latest = tx.latest_checkpoint()
    return latest.size if latest is not None else tx.audit_size()


def prove_inclusion(
    ctx: ServiceContext, *, actor: Actor, seq: int, size: int | None = None
) -> InclusionProof:
    """Prove event ``seq`` is in the tree of ``size`` events (default: the newest checkpoint's size).

    Builds the tree from the stored leaf hashes each time: O(size) hashing, about a second per
    million events. Witnesses ask rarely; a cached tree is the next step if that changes.
    """
    with refusals_recorded(ctx, actor=actor, action="audit.prove"):
        authorize(actor, "audit.read")
    with ctx.store.transaction() as tx:
        size = _default_size(tx, size)
        if not 0 <= seq < size <= tx.audit_size():
            raise InputError(f"no inclusion proof for event {seq:,} in a tree of {size:,} events")
        tree = _proof_tree(tx, size)
        proof = InclusionProof(
            seq=seq, size=size, leaf_hash=tree.leaf(seq), hashes=tree.inclusion_proof(seq, size)
        )
        record(
            tx,
            actor=actor,
            action="audit.prove",
            at=ctx.clock.now(),
            object_ids=(f"audit:{seq}",),
            details={"size": size},
        )
    return proof


def prove_consistency(
    ctx: ServiceContext, *, actor: Actor, first: int, second: int | None = None
) -> ConsistencyProof:
    """Prove the tree of ``first`` events is a prefix of that of ``second`` (default: newest checkpoint)."""
    with refusals_recorded(ctx, actor=actor, action="audit.prove"):
        authorize(actor, "audit.read")
    with ctx.store.transaction() as tx:
        second = _default_size(tx, second)
        if not 0 < first <= second <= tx.audit_size():
            raise InputError(f"no consistency proof from {first:,} to {second:,} events")
        hashes = _proof_tree(tx, second).consistency_proof(first, second)
        record(
            tx,
            actor=actor,
            action="audit.prove",
            at=ctx.clock.now(),
            details={"first": first, "second": second},
        )
    return ConsistencyProof(first=first, second=second, hashes=hashes)
