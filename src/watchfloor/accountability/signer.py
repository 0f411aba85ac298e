"""Signing checkpoints safely: verify before sign, and never sign a fork of anything signed before.

C2SP tlog-checkpoint: "A log MUST not sign any checkpoint which is inconsistent with any checkpoint it
previously signed." Two things stand between the signer and such a checkpoint:

1. *Verify before sign.* The new root is computed from the stored leaf bytes — each rehashed and
   compared with its stored hash — extending the frontier kept with the newest stored checkpoint,
   which is itself accepted only if its signature verifies and it hashes to its signed root. So each
   signature covers exactly the leaves read back, and costs only the leaves added since the last one.
2. *The signer's memory.* A database restored from an older backup rolls back the stored
   checkpoints too, so the database cannot tell. The signer therefore keeps its newest checkpoint in
   a file outside the database, and refuses to sign unless the log extends it: a log smaller than
   the remembered checkpoint was rolled back; a log whose first N leaves no longer hash to the
   remembered root was rewritten.

Whoever can write the database can still rewrite events newer than the last checkpoint anyone kept;
that is what outside witnesses are for (docs/auditor-guide.md).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from watchfloor.accountability.merkle import Frontier
from watchfloor.accountability.notes import CheckpointHead, open_checkpoint_note, sign_checkpoint_note
from watchfloor.domain.audit import Checkpoint, decode_leaf, leaf_hash
from watchfloor.domain.errors import ConfigError, Conflict
from watchfloor.store.ports import AuditTx

_PAGE = 5_000  # leaves read per query while extending the tree
_ADVICE = "Run `watchfloor audit verify` and investigate before signing anything."


def read_memory(path: Path | None, *, origin: str, key: Ed25519PrivateKey) -> CheckpointHead | None:
    """The checkpoint the signer remembers signing last (None if it has no memory file yet)."""
    if path is None or not path.exists():
        return None
    try:
        return open_checkpoint_note(path.read_text(encoding="utf-8"), origin=origin, key=key)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(
            f"the signer's checkpoint file {path} cannot be used ({exc}). If the signing key or origin "
            "changed, verify the log with the old key, then move the file aside."
        ) from None


def write_memory(path: Path | None, note: str) -> None:
    """Replace the memory file atomically with ``note`` (after the checkpoint has committed)."""
    if path is None:
        return
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(note)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refuse_rollback(size: int, remembered: CheckpointHead | None, latest: Checkpoint | None) -> None:
    """Conflict if the log holds fewer events than a checkpoint already signed."""
    if remembered is not None and size < remembered.size:
        raise Conflict(
            f"refusing to sign: the log has {size:,} events but a checkpoint of size {remembered.size:,} "
            "was already signed. The database was rolled back (restored from an older backup?) or "
            f"truncated; signing now would fork the log. {_ADVICE}"
        )
    if latest is not None and size < latest.size:
        raise Conflict(
            f"refusing to sign: the log has {size:,} events but its newest stored checkpoint covers "
            f"{latest.size:,}: events were deleted. {_ADVICE}"
        )


def trusted_frontier(latest: Checkpoint | None, *, origin: str, key: Ed25519PrivateKey) -> Frontier:
    """The frontier of the newest stored checkpoint, once its signature and hashes check out."""
    if latest is None:
        return Frontier()
    try:
        head = open_checkpoint_note(latest.note, origin=origin, key=key)
        frontier = Frontier(latest.size, latest.frontier)
    except ValueError as exc:
        raise Conflict(
            f"refusing to sign: the stored checkpoint of size {latest.size:,}: {exc}. {_ADVICE}"
        ) from None
    if (head.size, head.root) != (latest.size, latest.root) or frontier.root() != latest.root:
        raise Conflict(
            f"refusing to sign: the stored checkpoint of size {latest.size:,} does not match its signed "
            f"note. {_ADVICE}"
        )
    return frontier


def _extend(tx: AuditTx, frontier: Frontier, target: int, remembered: CheckpointHead | None) -> None:
    """Rehash the stored leaves from ``frontier.size`` up to ``target`` into ``frontier``, checking each."""
    while frontier.size < target:
        rows = tx.audit_leaves(frontier.size, min(frontier.size + _PAGE, target))
        if not rows or rows[0].seq != frontier.size:
            raise Conflict(f"refusing to sign: audit event {frontier.size:,} is missing. {_ADVICE}")
        for row in rows:
            hashed = leaf_hash(row.leaf)
            if row.seq != frontier.size:
                raise Conflict(f"refusing to sign: audit event {frontier.size:,} is missing. {_ADVICE}")
            if hashed != row.leaf_hash:
                raise Conflict(
                    f"refusing to sign: leaf {row.seq:,} does not match its stored hash. {_ADVICE}"
                )
            try:
                claimed = decode_leaf(row.leaf).seq
            except ValueError:
                claimed = -1
            if claimed != row.seq:
                raise Conflict(
                    f"refusing to sign: leaf {row.seq:,} does not name its own position. {_ADVICE}"
                )
            frontier.append(hashed)
            if (
                remembered is not None
                and frontier.size == remembered.size
                and frontier.root() != remembered.root
            ):
                raise Conflict(
                    f"refusing to sign: the first {remembered.size:,} events no longer hash to the root of "
                    "the checkpoint already signed for that size: history was rewritten (or an older "
                    f"backup restored and added to). Signing now would fork the log. {_ADVICE}"
                )


def confirm_memory(
    tx: AuditTx, remembered: CheckpointHead | None, *, origin: str, key: Ed25519PrivateKey
) -> None:
    """Conflict unless the remembered checkpoint is one the database also holds (same size and root).

    Used when the remembered checkpoint is no newer than the database's newest; when it is newer,
    :func:`extend_checkpoint` checks it while hashing the new leaves.
    """
    if remembered is None:
        return
    stored = tx.checkpoint_at(remembered.size)
    if stored is not None:
        root = stored.root
        trusted_frontier(stored, origin=origin, key=key)
    else:  # the remembered size is not among the stored ones: recompute that prefix
        frontier = Frontier()
        _extend(tx, frontier, remembered.size, None)
        root = frontier.root()
    if root != remembered.root:
        raise Conflict(
            f"refusing to sign: the database's tree of size {remembered.size:,} differs from the checkpoint "
            f"already signed for that size; the log was forked or rewritten. {_ADVICE}"
        )


def extend_checkpoint(
    tx: AuditTx,
    *,
    latest: Checkpoint | None,
    remembered: CheckpointHead | None,
    origin: str,
    key: Ed25519PrivateKey,
    at: datetime,
) -> Checkpoint:
    """Verify the leaves added since ``latest`` and sign the checkpoint of the whole log as it stands."""
    frontier = trusted_frontier(latest, origin=origin, key=key)
    target = tx.audit_size()
    refuse_rollback(target, remembered, latest)
    if remembered is not None and remembered.size <= frontier.size:
        confirm_memory(tx, remembered, origin=origin, key=key)
        remembered = None
    _extend(tx, frontier, target, remembered)
    root = frontier.root()
    return Checkpoint(
        size=target,
        root=root,
        frontier=tuple(frontier.hashes),
        note=sign_checkpoint_note(origin, target, root, key),
        signed_at=at,
    )
