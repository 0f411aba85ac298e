"""Bluesky Jetstream live connector: read the legacy ``/subscribe`` WebSocket, a batch of frames at a time.

Jetstream re-encodes the ATProto firehose as one JSON object per text frame (the same v1 shape the
file importer reads), so each frame is mapped by
:func:`~watchfloor.connectors.bluesky.mapping.map_jetstream_event`, the importer's pure mapper: post
creates and updates become posts, post deletes become deletion envelopes, everything else (likes,
follows, identity and account events) is a skipped envelope with its reason, and a frame that cannot
be mapped is quarantined with the reason. Nothing is mapped twice or differently from a saved file.

Why it is built the way it is, and its limits:

* The cursor is the ``time_us`` of the last frame read, as decimal text. Jetstream v1 and the
  wire-frozen legacy socket of v2 both accept a microsecond timestamp as ``cursor`` (values at or above
  1e15 are timestamps; below are v2 sequence numbers, passed through unchanged). On every (re)connect
  the connector asks for ``rewind_seconds`` *before* the cursor, because ``time_us`` is not strictly
  ordered across Jetstream's shards and delivery is at-least-once; the posts read twice are dropped by
  the store's natural key.
* ``fetch`` never sleeps: it reads until ``max_frames`` frames or ``max_seconds`` have passed on the
  open connection and returns what it has. If the connection drops mid-read the frames already read
  are returned (the runner commits them) and the next ``fetch`` reconnects from that cursor; a drop
  before any frame raises :class:`~watchfloor.domain.errors.Transient` so the runner backs off.
* If the runner passes a cursor other than the one this connector last returned (it could not commit
  a batch, or it restarted), the connector reconnects from the runner's cursor, so what is committed
  is always what the stream resumes from.
* Jetstream keeps about 36 hours of history. Asked for an older cursor it starts at the oldest event
  it still has, silently. The connector notices when the first frame after a connect is more than
  ``gap_seconds`` later than it asked for and records a note (``notes``, and a warning log): posts in
  that gap were not collected. On a quiet, narrowly filtered stream the same can happen without loss.
* ``dids`` (``wantedDids``) follow named accounts: :func:`named_accounts` names them, and the source
  collects only while a watch is in force for every DID (``services/collect.py``).
* ``compress`` (zstd with Jetstream's custom dictionary) is not supported yet: no dictionary ships
  with watchfloor's fixtures to test it against, so asking for it is a configuration error.
* The v2 ``/xrpc/network.bsky.jetstream.subscribeEvents`` wire (other framing, ``CursorTooOld`` errors)
  is not read; point ``url`` at a ``/subscribe`` endpoint.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from watchfloor.connectors.base import MapOptions, quarantine
from watchfloor.connectors.bluesky.mapping import FORMAT, PLATFORM, POST, map_jetstream_event
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.registry import Account, register
from watchfloor.connectors.live.settings import flag, known_settings, names, number
from watchfloor.domain.errors import BadRecord, ConfigError, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, Quarantined

__all__ = ["DEFAULT_URL", "JetstreamConnector", "named_accounts"]

log = logging.getLogger("watchfloor.connectors.jetstream")

DEFAULT_URL = "wss://jetstream2.us-east.bsky.network/subscribe"
KIND = "bluesky-jetstream"
_TIMESTAMP_FLOOR = 10**15  # cursors at or above this are time_us; below, v2 sequence numbers
_OPTIONS = MapOptions()

Connect = Callable[[str], ClientConnection]


def _default_connect(url: str) -> ClientConnection:
    # Frames are JSON of a few KiB; 4 MiB leaves room for the largest records without unbounded memory.
    # legacy=True: the connection outlives one call (it is held across fetches), so no context manager
    return connect(
        url, open_timeout=10.0, close_timeout=1.0, max_size=4 * 2**20, compression=None, legacy=True
    )


class JetstreamConnector:
    """A live Bluesky source on one Jetstream ``/subscribe`` URL (see the module docstring)."""

    name = KIND
    version = "1"

    def __init__(
        self,
        *,
        url: str = DEFAULT_URL,
        collections: Sequence[str] = (POST,),
        dids: Sequence[str] = (),
        max_frames: int = 500,
        max_seconds: float = 1.0,
        rewind_seconds: float = 5.0,
        gap_seconds: float = 60.0,
        connect: Connect = _default_connect,
    ) -> None:
        self.url = url
        self.collections = tuple(collections)
        self.dids = tuple(dids)
        self.max_frames = max_frames
        self.max_seconds = max_seconds
        self.rewind_us = int(rewind_seconds * 1_000_000)
        self.gap_us = int(gap_seconds * 1_000_000)
        self._connect = connect
        self._ws: ClientConnection | None = None
        self._position: str | None = None  # the cursor the runner should pass next if all went well
        self._asked_us: int | None = None  # time_us asked for on the open connection, until a frame came
        self._frame_no = 0  # frames read on this connector, for quarantine locations
        self.notes: list[str] = []  # things the operator should know (cursor too old)
        self.counts: Counter[str] = Counter()  # frames, posts, deletions, skipped, quarantined, reconnects

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> JetstreamConnector:
        """Build from a source's configuration; ConfigError names the bad key and what it takes."""
        known = sorted(
            {"url", "collections", "dids", "max_frames", "max_seconds", "rewind_seconds", "gap_seconds"}
        )
        # "every" (a poll interval `sources add` always sends) means nothing to a stream: ignored
        known_settings(KIND, config, known, ignored=("compress", "every"))
        if flag(KIND, config.get("compress", False), "compress", words=True):
            raise ConfigError(
                "bluesky-jetstream: compress=true (zstd) is not supported yet; remove it "
                "(uncompressed frames carry the same events)"
            )
        url = str(config.get("url", DEFAULT_URL))
        if not url.startswith(("ws://", "wss://")):
            raise ConfigError(f"bluesky-jetstream: url must start with wss:// (or ws://), got {url!r}")
        return cls(
            url=url,
            collections=names(KIND, config.get("collections", POST), "collections") or (POST,),
            dids=_dids(config),
            max_frames=int(number(KIND, config.get("max_frames", 500), "max_frames", low=1)),
            max_seconds=number(KIND, config.get("max_seconds", 1.0), "max_seconds", low=0.01),
            rewind_seconds=number(KIND, config.get("rewind_seconds", 5.0), "rewind_seconds", low=0),
            gap_seconds=number(KIND, config.get("gap_seconds", 60.0), "gap_seconds", low=0),
        )

    def subscribe_url(self, cursor: str | None) -> str:
        """The URL to connect to for ``cursor``: filters, plus the cursor rewound by ``rewind_seconds``."""
        params: list[tuple[str, str]] = [("wantedCollections", c) for c in self.collections]
        params += [("wantedDids", d) for d in self.dids]
        asked = self._asked_for(cursor)
        if asked is not None:
            params.append(("cursor", str(asked)))
        return f"{self.url}?{urlencode(params)}" if params else self.url

    def fetch(self, cursor: str | None) -> Batch:
        """Read up to ``max_frames`` frames or for ``max_seconds`` from ``cursor`` (see the module doc)."""
        if self._ws is None or cursor != self._position:
            self._reconnect(cursor)
        ws = self._ws
        assert ws is not None
        envelopes: list[Envelope] = []
        quarantined: list[Quarantined] = []
        last_us: int | None = None
        deadline = time.monotonic() + self.max_seconds
        frames = 0
        while frames < self.max_frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                data = ws.recv(timeout=remaining, decode=False)
            except TimeoutError:
                break
            except ConnectionClosed as exc:
                self._drop()
                if frames == 0:
                    raise Transient(f"Jetstream {self.url} closed the connection: {exc}") from None
                break
            frames += 1
            frame_us = self._take(data, envelopes, quarantined)
            if frame_us is not None:
                last_us = frame_us if last_us is None else max(last_us, frame_us)
        self.counts["frames"] += frames
        if last_us is None:
            return Batch(envelopes=envelopes, quarantined=quarantined)
        self._position = str(last_us)
        return Batch(envelopes=envelopes, quarantined=quarantined, next_cursor=self._position)

    def close(self) -> None:
        self._drop()

    # --- internals ------------------------------------------------------------------------------

    def _asked_for(self, cursor: str | None) -> int | None:
        if cursor is None:
            return None
        try:
            value = int(cursor)
        except ValueError:
            raise Permanent(f"stored cursor {cursor!r} is not a Jetstream time_us (an integer)") from None
        if value >= _TIMESTAMP_FLOOR:
            return max(_TIMESTAMP_FLOOR, value - self.rewind_us)
        return value

    def _reconnect(self, cursor: str | None) -> None:
        self._drop()
        url = self.subscribe_url(cursor)
        try:
            self._ws = self._connect(url)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 429 or status >= 500:
                raise Transient(f"Jetstream {self.url}: HTTP {status} on connect") from None
            raise Permanent(
                f"Jetstream {self.url}: HTTP {status} on connect; check url and filters"
            ) from None
        except InvalidURI as exc:
            raise Permanent(f"Jetstream url is not usable: {exc}") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise Transient(f"Jetstream {self.url}: could not connect ({exc})") from None
        asked = self._asked_for(cursor)
        self._asked_us = asked if asked is not None and asked >= _TIMESTAMP_FLOOR else None
        self._position = cursor
        self.counts["connects"] += 1

    def _drop(self) -> None:
        if self._ws is not None:
            # closing a broken socket can fail too, and must not mask the error that broke it
            with contextlib.suppress(Exception):
                self._ws.close()
        self._ws = None

    def _take(self, data: bytes, envelopes: list[Envelope], quarantined: list[Quarantined]) -> int | None:
        """Map one frame into ``envelopes`` or ``quarantined``; return its ``time_us`` if it has one."""
        self._frame_no += 1
        location = Location(source=self.url, index=self._frame_no - 1)
        frame_us = _time_us(data)
        try:
            results = map_jetstream_event(data, location, _OPTIONS)
        except BadRecord as exc:
            quarantined.append(quarantine(exc, data, FORMAT, location))
            self.counts["quarantined"] += 1
            results = []
        for item in results:
            if isinstance(item, Quarantined):
                quarantined.append(item)
                self.counts["quarantined"] += 1
                continue
            envelopes.append(item)
            self.counts[_count_key(item)] += 1
        if frame_us is not None and self._asked_us is not None:
            self._check_gap(frame_us)
        return frame_us

    def _check_gap(self, frame_us: int) -> None:
        asked, self._asked_us = self._asked_us, None
        assert asked is not None
        if frame_us - asked > self.gap_us:
            note = (
                f"cursor too old or gap: asked Jetstream for events from time_us {asked}, first event came "
                f"{(frame_us - asked) / 1_000_000:.0f} s later; posts in between were not collected"
            )
            self.notes.append(note)
            self.counts["gaps"] += 1
            log.warning(note)


def _count_key(envelope: Envelope) -> str:
    if envelope.post is not None:
        return "posts"
    return "deletions" if envelope.deletion is not None else "skipped"


def _time_us(data: bytes) -> int | None:
    """The frame's ``time_us`` if it is a JSON object with an integer one (malformed frames have none)."""
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    value = event.get("time_us") if isinstance(event, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _dids(config: Mapping[str, Any]) -> tuple[str, ...]:
    return names(KIND, config.get("dids", ()), "dids")


def named_accounts(config: Mapping[str, Any]) -> tuple[Account, ...]:
    """The accounts ``dids`` (Jetstream's ``wantedDids``) follow, by DID: each needs a watch in force."""
    return tuple((PLATFORM, did) for did in _dids(config))


register(KIND, JetstreamConnector.from_config, accounts=named_accounts)
