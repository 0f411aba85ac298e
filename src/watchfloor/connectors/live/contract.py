"""What every live connector is: ``fetch(cursor) -> Batch``, with no sleeping and no writing.

A connector is built from a source's configuration and an injected client (HTTP or WebSocket), so
tests run it against a loopback fake server. ``fetch`` takes the cursor the runner last committed (None
the first time) and returns what it read after it: the envelopes (raw payload kept verbatim, mapped
post or deletion or quarantined record), the cursor to commit *with* those envelopes, and when to call
again. The runner stores the envelopes and the new cursor in one transaction, so a crash anywhere
neither loses nor duplicates a post (the natural key (platform, native id) is the last line of
defence). Errors are :class:`~watchfloor.domain.errors.Transient` (retry later, with backoff; a
``retry_after`` in seconds when the platform said so) or :class:`~watchfloor.domain.errors.Permanent`
(stop this source and tell the operator why).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from watchfloor.domain.post import Deletion, Envelope, Quarantined


class Batch(msgspec.Struct, frozen=True, kw_only=True):
    """One fetch's worth: what was read, the cursor that follows it, and when to fetch again."""

    envelopes: Sequence[Envelope] = ()
    deletions: Sequence[Deletion] = ()
    quarantined: Sequence[Quarantined] = ()
    next_cursor: str | None = None  # opaque to the runner; None: unchanged
    next_wake: datetime | None = None  # None: call again at once (a stream with more to read)


class Connector(Protocol):
    """A live source of posts (see the module docstring)."""

    name: str  # the connector kind: "rss", "bluesky-jetstream", ...
    version: str  # recorded on every post it maps (Post.source_version)

    def fetch(self, cursor: str | None) -> Batch: ...

    def close(self) -> None: ...
