"""Mastodon streaming live connector: one WebSocket per instance, multiplexing public, hashtag and lists.

Every ``update`` (a new status) and ``status.update`` (an edit) carries a ``Status`` as a JSON string;
it is mapped by :func:`~watchfloor.connectors.mastodon.mapping.map_status`, the file importer's and
the REST connector's pure mapper, so a streamed post is the same post as a polled or imported one
(reblogs yield the original too, private statuses are skipped). The raw payload kept is that Status
JSON, in the ``mastodon-status`` format, exactly as a REST page element is kept. A ``delete`` becomes
a :class:`~watchfloor.domain.post.Deletion`. A frame that cannot be read is quarantined with the
reason and the stream goes on.

Why it is built the way it is, and its limits:

* **A user token is required** (Mastodon 4.2+ refuses anonymous streaming). The token is read from
  the environment variable whose *name* ``token_env`` gives, when the connector connects, and is sent
  as ``Authorization: Bearer`` on the WebSocket and on REST; a token written into the settings is
  refused (it would be stored in the database). An access token with only ``read:statuses`` (and
  ``read:lists`` for list streams) is enough.
* **Streaming has no resume cursor**, so the cursor is, per stream, the newest status id seen (JSON,
  ``{"hashtag:flood": "113..."}``). On every (re)connect the connector subscribes first and then reads
  each stream's REST timeline from that id (``min_id`` paging, through
  :class:`~watchfloor.connectors.live.mastodon.MastodonConnector`) until it has caught up, a few
  pages per fetch, before it reads frames again: what was posted while disconnected is collected,
  and what arrives on both paths is kept once (the ids seen recently are remembered; the store's
  natural key is the last line of defence across restarts). A stream seen for the first time starts
  with its newest REST page, as the REST connector does.
* **Deletes name only the instance-local id**, while posts are keyed by the status ``uri``. The
  connector remembers the uri of the last ``remember`` statuses it read; a delete of a status it did
  not read in this process (older, or read before a restart) is counted as skipped with the reason,
  and retention keeps that post until its own schedule.
* **Edits and deletes made while disconnected are not recovered**: REST timelines list each status
  once, at its original position. The store keeps the first version of a post it already holds (an
  edit is counted as a duplicate there); the edit's ``edited_at`` is on the mapped post.
* ``fetch`` never sleeps: it reads until ``max_frames`` frames or ``max_seconds`` have passed, like
  the Jetstream connector. A connection that drops after some frames returns them (the runner commits
  them) and the next fetch reconnects and backfills; a drop before any frame, or a failure to connect,
  is :class:`~watchfloor.domain.errors.Transient` (the runner backs off). HTTP 401/403 on connect, an
  ``error`` frame with status 401/403/404 (a list the token's account does not own), or a missing
  token variable are :class:`~watchfloor.domain.errors.Permanent`.
* **Lists are not collected as sources.** A list stream follows the accounts on a list, which the
  settings do not name, so no watch can be checked for them: :func:`named_accounts` refuses it.
* The WebSocket host is the instance's ``configuration.urls.streaming`` (``/api/v2/instance``) unless
  ``streaming_url`` is set; instances without that answer are streamed from their own host.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from watchfloor.connectors.base import quarantine
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.http import USER_AGENT, ReadOnlyHttp
from watchfloor.connectors.live.mastodon import ENV_VARIABLE_ADVICE, MastodonConnector, instance_address
from watchfloor.connectors.live.registry import Account, register_with_credentials
from watchfloor.connectors.live.settings import (
    CredentialLookup,
    env_name,
    known_settings,
    names,
    number,
    refuse_secrets,
    secret,
    whole_number,
)
from watchfloor.connectors.mastodon.mapping import FORMAT, PLATFORM, map_status
from watchfloor.domain.clock import Clock, FrozenClock, SystemClock
from watchfloor.domain.errors import BadRecord, ConfigError, Permanent, Transient
from watchfloor.domain.post import Deletion, Envelope, Location, Quarantined

__all__ = ["FRAME_FORMAT", "MastodonStreamConnector", "Stream", "named_accounts", "parse_stream"]

KIND = "mastodon-stream"
FRAME_FORMAT = "mastodon-stream-frame"  # frames that are not a Status (deletes, other events, bad frames)
STREAMING_PATH = "/api/v1/streaming"
_KNOWN = (
    "instance",
    "url",
    "streams",
    "token_env",
    "streaming_url",
    "max_frames",
    "max_seconds",
    "backfill_pages",
    "remember",
)
_SECRETS = ("token", "access_token", "client_secret", "password")
_LIST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_REST_EVERY = 60.0  # the REST reader's poll interval; only used to tell "caught up" from "throttled"

Connect = Callable[[str, Mapping[str, str]], ClientConnection]


def _default_connect(url: str, headers: Mapping[str, str]) -> ClientConnection:
    # Statuses are a few KiB; 4 MiB leaves room for long ones without unbounded memory. The connection
    # outlives one call (it is held across fetches): legacy=True, no context manager.
    return connect(
        url,
        additional_headers=dict(headers),
        user_agent_header=USER_AGENT,
        open_timeout=10.0,
        close_timeout=1.0,
        max_size=4 * 2**20,
        legacy=True,
    )


@dataclass(frozen=True, slots=True)
class Stream:
    """One configured stream: its key (``hashtag:flood``), the subscribe message, its REST timeline."""

    key: str
    subscribe: dict[str, str]
    timeline: str | None = None  # "public", "local" or "remote" for the public timeline
    hashtag: str | None = None
    list_id: str | None = None


def parse_stream(spec: str) -> Stream:
    """``public``, ``public:local``, ``public:remote``, ``hashtag:<tag>`` or ``list:<id>`` as a Stream."""
    text = spec.strip()
    publics = {"public": "public", "public:local": "local", "public:remote": "remote"}
    if text in publics:
        return Stream(key=text, subscribe={"type": "subscribe", "stream": text}, timeline=publics[text])
    kind, _, value = text.partition(":")
    if kind == "hashtag" and value.removeprefix("#").strip():
        tag = value.removeprefix("#").strip().lower()
        return Stream(
            key=f"hashtag:{tag}",
            subscribe={"type": "subscribe", "stream": "hashtag", "tag": tag},
            hashtag=tag,
        )
    if kind == "list" and _LIST_ID.match(value):
        return Stream(
            key=f"list:{value}",
            subscribe={"type": "subscribe", "stream": "list", "list": value},
            list_id=value,
        )
    raise ConfigError(
        f"mastodon-stream: {spec!r} is not a stream; use public, public:local, public:remote, "
        "hashtag:<tag> or list:<id>"
    )


class MastodonStreamConnector:
    """Statuses streamed from one Mastodon instance, with REST backfill across disconnects (see above)."""

    name = KIND
    version = "1"

    def __init__(
        self,
        instance: str,
        *,
        streams: Sequence[Stream],
        token_env: str,
        credentials: CredentialLookup,
        streaming_url: str | None = None,
        max_frames: int = 500,
        max_seconds: float = 1.0,
        backfill_pages: int = 5,
        remember: int = 100_000,
        connect: Connect = _default_connect,
        http: ReadOnlyHttp | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.instance = instance.rstrip("/")
        self.streams = {s.key: s for s in streams}
        self.token_env = token_env
        self.streaming_url = streaming_url
        self.max_frames = max_frames
        self.max_seconds = max_seconds
        self.backfill_pages = backfill_pages
        self.remember = remember
        self.http = http or ReadOnlyHttp()
        self.clock = clock or SystemClock()
        self.credentials = credentials  # the token is read from it at each connect
        self._connect = connect
        self._ws: ClientConnection | None = None
        self._rest: dict[str, MastodonConnector] = {}
        self._position: str | None = None  # the cursor the runner should pass next if all went well
        self._newest: dict[str, str] = {}  # stream key -> newest status id seen
        self._backfill: set[str] = set()  # streams still to read over REST since the last connect
        self._uris: dict[str, str] = {}  # status id -> uri of the statuses read lately (insertion order)
        self._error: Permanent | Transient | None = None  # an error frame met after a batch began
        self._frame_no = 0
        self.counts: Counter[str] = Counter()  # frames, posts, edits, deletions, duplicates, backfilled, ...

    @classmethod
    def from_config(cls, config: Mapping[str, Any], credentials: CredentialLookup) -> MastodonStreamConnector:
        """Build from a source's configuration; ConfigError names the bad key and what it takes.

        The access token is read from ``credentials`` (the variable ``token_env`` names) at connect.
        """
        refuse_secrets(
            KIND,
            config,
            _SECRETS,
            ENV_VARIABLE_ADVICE,
        )
        # "every" (a poll interval `sources add` always sends) means nothing to a stream: ignored
        known_settings(KIND, config, _KNOWN, ignored=("every",))
        instance = instance_address(KIND, config)
        streaming = config.get("streaming_url")
        if streaming is not None and not str(streaming).startswith(("wss://", "ws://")):
            raise ConfigError(
                f"mastodon-stream: streaming_url must start with wss:// (or ws://), got {streaming!r}"
            )
        return cls(
            instance,
            streams=_streams(config),
            token_env=env_name(
                KIND,
                config,
                "token_env",
                required="the NAME of the environment variable holding a user access token (Mastodon 4.2+ "
                'streams only to signed-in users), e.g. token_env = "MASTODON_TOKEN"',
                holds="the token",
            ),
            credentials=credentials,
            streaming_url=str(streaming).rstrip("/") if streaming else None,
            max_frames=whole_number(KIND, config.get("max_frames", 500), "max_frames", 1, 100_000),
            max_seconds=number(KIND, config.get("max_seconds", 1.0), "max_seconds", 0.01, 60.0),
            backfill_pages=whole_number(KIND, config.get("backfill_pages", 5), "backfill_pages", 1, 100),
            remember=whole_number(KIND, config.get("remember", 100_000), "remember", 1_000, 10_000_000),
        )

    # --- the contract -----------------------------------------------------------------------------

    def fetch(self, cursor: str | None) -> Batch:
        """Backfill over REST after a (re)connect, else read frames (see the module docstring)."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._ws is None or cursor != self._position:
            self._reconnect(cursor)
        if self._backfill:
            return self._read_backfill()
        return self._read_frames()

    def close(self) -> None:
        self._drop()
        self.http.close()

    # --- connecting -------------------------------------------------------------------------------

    def _reconnect(self, cursor: str | None) -> None:
        self._drop()
        if cursor != self._position:
            # The runner did not commit what this connector last returned (or restarted): what it
            # remembers as read may not be stored, so read it again and let the store drop duplicates.
            self._uris.clear()
        token = self._token()
        url = self._streaming_endpoint(token)
        try:
            ws = self._connect(url, {"Authorization": f"Bearer {token}"})
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status == 429 or status >= 500:
                raise Transient(f"Mastodon streaming {url}: HTTP {status} on connect") from None
            hint = "; check the token in " + self.token_env if status in (401, 403) else ""
            raise Permanent(f"Mastodon streaming {url}: HTTP {status} on connect{hint}") from None
        except InvalidURI as exc:
            raise Permanent(f"Mastodon streaming url is not usable: {exc}") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise Transient(f"Mastodon streaming {url}: could not connect ({exc})") from None
        try:
            for stream in self.streams.values():
                ws.send(orjson.dumps(stream.subscribe).decode())
        except ConnectionClosed as exc:
            with contextlib.suppress(Exception):
                ws.close()
            raise Transient(f"Mastodon streaming {url}: closed while subscribing ({exc})") from None
        self._ws = ws
        self._newest = _decode_cursor(cursor)
        self._position = cursor
        self._backfill = set(self.streams)  # subscribed first, so nothing falls between REST and stream
        self.counts["connects"] += 1

    def _token(self) -> str:
        return secret(KIND, self.credentials, self.token_env, "access token")

    def _streaming_endpoint(self, token: str) -> str:
        """The WebSocket URL: ``streaming_url``, else the instance's advertised streaming host."""
        if self.streaming_url is None:
            self.streaming_url = self._discover(token)
        return self.streaming_url + STREAMING_PATH

    def _discover(self, token: str) -> str:
        url = self.instance + "/api/v2/instance"
        try:
            response = self.http.get(url, headers={"Authorization": f"Bearer {token}"})
            body = orjson.loads(response.content)
        except Permanent as exc:
            if ": HTTP 404 " not in str(exc):  # an old server without /api/v2/instance: use its own host
                raise Permanent(f"mastodon-stream: {exc}; check the instance address and token") from None
            body = None
        except orjson.JSONDecodeError:
            body = None
        configuration = body.get("configuration") if isinstance(body, dict) else None
        urls = configuration.get("urls") if isinstance(configuration, dict) else None
        streaming = urls.get("streaming") if isinstance(urls, dict) else None
        if isinstance(streaming, str) and streaming.startswith(("wss://", "ws://")):
            return streaming.rstrip("/")
        scheme = "wss" if self.instance.startswith("https://") else "ws"
        return f"{scheme}://{urlsplit(self.instance).netloc}"

    def _drop(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):  # closing a broken socket must not mask why it broke
                self._ws.close()
        self._ws = None

    # --- REST backfill ----------------------------------------------------------------------------

    def _read_backfill(self) -> Batch:
        """One round of REST reading for every stream still behind; the batch the runner stores."""
        envelopes: list[Envelope] = []
        quarantined: list[Quarantined] = []
        for key in sorted(self._backfill):
            reader = self._reader(self.streams[key])
            now = self.clock.now()
            reader.clock = FrozenClock(now)  # so "caught up" (now + every) can be told from "throttled"
            try:
                batch = reader.fetch(self._newest.get(key))
            except Transient:
                if envelopes or quarantined:  # keep what other streams gave; this one stays behind
                    return self._batch(envelopes, quarantined)
                raise  # the runner backs off; the connection stays open and the backfill resumes
            for envelope in batch.envelopes:
                status_id, uri = _status_ids(envelope.raw)
                if status_id is not None and status_id in self._uris:
                    self.counts["duplicates"] += 1
                    continue
                envelopes.append(envelope)
                self.counts["backfilled"] += 1
            for envelope in batch.envelopes:  # after the loop: a reblog's two posts share one raw
                status_id, uri = _status_ids(envelope.raw)
                if status_id is not None and uri is not None:
                    self._seen(status_id, uri)
            quarantined.extend(batch.quarantined)
            if batch.next_cursor is not None:
                self._advance(key, batch.next_cursor)
            caught_up = batch.next_wake is not None and batch.next_wake == now + reader.every
            if caught_up:
                self._backfill.discard(key)
            elif batch.next_wake is not None:  # throttled by the rate limit: come back at the reset
                return self._batch(envelopes, quarantined, wake=batch.next_wake)
        return self._batch(envelopes, quarantined)

    def _reader(self, stream: Stream) -> MastodonConnector:
        reader = self._rest.get(stream.key)
        if reader is None:
            reader = MastodonConnector(
                self.instance,
                hashtag=stream.hashtag,
                timeline=stream.timeline or "public",
                token_env=self.token_env,
                credentials=self.credentials,
                limit=40,
                every=_REST_EVERY,
                max_pages=self.backfill_pages,
                min_remaining=1,
                http=self.http,
            )
            if stream.list_id is not None:
                reader.endpoint = f"{self.instance}/api/v1/timelines/list/{quote(stream.list_id, safe='')}"
                reader.params = {"limit": "40"}
            self._rest[stream.key] = reader
        return reader

    # --- frames -----------------------------------------------------------------------------------

    def _read_frames(self) -> Batch:
        ws = self._ws
        assert ws is not None
        envelopes: list[Envelope] = []
        quarantined: list[Quarantined] = []
        frames = 0
        deadline = time.monotonic() + self.max_seconds
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
                    raise Transient(
                        f"Mastodon streaming {self.streaming_url} closed the connection: {exc}"
                    ) from None
                break
            frames += 1
            try:
                self._take(data, envelopes, quarantined)
            except (Permanent, Transient) as exc:
                self._drop()
                if frames == 1:
                    raise
                self._error = exc  # return what was read first; the next fetch raises it
                break
        self.counts["frames"] += frames
        return self._batch(envelopes, quarantined)

    def _take(self, data: bytes, envelopes: list[Envelope], quarantined: list[Quarantined]) -> None:
        """Map one frame into ``envelopes`` or ``quarantined`` (raising on an ``error`` frame)."""
        self._frame_no += 1
        location = Location(source=f"{self.streaming_url}{STREAMING_PATH}", index=self._frame_no - 1)
        try:
            frame = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            self._quarantine(BadRecord(f"not valid JSON: {exc}"), data, FRAME_FORMAT, location, quarantined)
            return
        if not isinstance(frame, dict):
            reason = f"expected a streaming event object, got {type(frame).__name__}"
            self._quarantine(BadRecord(reason), data, FRAME_FORMAT, location, quarantined)
            return
        if "error" in frame and "event" not in frame:
            raise _error_frame(frame)
        event, payload = frame.get("event"), frame.get("payload")
        if event in ("update", "status.update"):
            self._take_status(event, payload, frame, location, envelopes, quarantined, data)
        elif event == "delete":
            self._take_delete(payload, data, location, envelopes)
        elif isinstance(event, str) and event:
            reason = f"streaming event {event!r} is not a status"
            envelopes.append(
                Envelope(raw=data, format=FRAME_FORMAT, location=location, skipped_reason=reason)
            )
            self.counts["skipped"] += 1
        else:
            reason = "a streaming frame without an event name"
            self._quarantine(BadRecord(reason, field="event"), data, FRAME_FORMAT, location, quarantined)

    def _take_status(
        self,
        event: str,
        payload: object,
        frame: dict[str, Any],
        location: Location,
        envelopes: list[Envelope],
        quarantined: list[Quarantined],
        data: bytes,
    ) -> None:
        if isinstance(payload, dict):  # servers that send the Status itself rather than a string
            payload = orjson.dumps(payload).decode()
        if not isinstance(payload, str):
            reason = f"the {event} payload must be a Status as a JSON string, got {type(payload).__name__}"
            self._quarantine(BadRecord(reason, field="payload"), data, FRAME_FORMAT, location, quarantined)
            return
        raw = payload.encode()
        try:
            status = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            reason = f"the {event} payload is not valid JSON: {exc}"
            self._quarantine(BadRecord(reason, field="payload"), data, FRAME_FORMAT, location, quarantined)
            return
        if not isinstance(status, dict):
            reason = f"the {event} payload must be a Status object, got {type(status).__name__}"
            self._quarantine(BadRecord(reason, field="payload"), data, FRAME_FORMAT, location, quarantined)
            return
        status_id = status.get("id") if isinstance(status.get("id"), str) else None
        if event == "update" and status_id is not None and status_id in self._uris:
            self.counts["duplicates"] += 1  # already read over REST (or on another subscribed stream)
            key = _stream_key(frame.get("stream"))
            if key in self.streams:
                self._advance(key, status_id)
            return
        try:
            mapped = map_status(status, raw, location)
        except BadRecord as exc:
            self._quarantine(exc, raw, FORMAT, location, quarantined)
            return
        envelopes.extend(mapped)
        self.counts["edits" if event == "status.update" else "posts"] += 1
        uri = status.get("uri")
        if status_id is not None and isinstance(uri, str):
            self._seen(status_id, uri)
        key = _stream_key(frame.get("stream"))
        if event == "update" and status_id is not None and key in self.streams:
            self._advance(key, status_id)

    def _take_delete(
        self, payload: object, data: bytes, location: Location, envelopes: list[Envelope]
    ) -> None:
        status_id = (
            str(payload) if isinstance(payload, (str, int)) and not isinstance(payload, bool) else None
        )
        uri = self._uris.get(status_id) if status_id is not None else None
        if uri is None:
            reason = (
                f"delete of status {status_id!r}, which this connector has not read since it started, so its "
                "uri (the stored key) is unknown; retention removes the post on its own schedule"
            )
            envelopes.append(
                Envelope(raw=data, format=FRAME_FORMAT, location=location, skipped_reason=reason)
            )
            self.counts["skipped"] += 1
            return
        deletion = Deletion(platform=PLATFORM, native_id=uri)
        envelopes.append(Envelope(raw=data, format=FRAME_FORMAT, location=location, deletion=deletion))
        self.counts["deletions"] += 1

    # --- bookkeeping ------------------------------------------------------------------------------

    def _quarantine(
        self, exc: BadRecord, raw: bytes, fmt: str, location: Location, quarantined: list[Quarantined]
    ) -> None:
        quarantined.append(quarantine(exc, raw, fmt, location))
        self.counts["quarantined"] += 1

    def _seen(self, status_id: str, uri: str) -> None:
        self._uris.pop(status_id, None)
        self._uris[status_id] = uri
        while len(self._uris) > self.remember:
            del self._uris[next(iter(self._uris))]

    def _advance(self, key: str, status_id: str) -> None:
        current = self._newest.get(key)
        if current is None or _id_order(status_id) > _id_order(current):
            self._newest[key] = status_id

    def _batch(self, envelopes: list[Envelope], quarantined: list[Quarantined], wake: Any = None) -> Batch:
        cursor = orjson.dumps(self._newest, option=orjson.OPT_SORT_KEYS).decode() if self._newest else None
        if cursor == self._position:
            return Batch(envelopes=envelopes, quarantined=quarantined, next_wake=wake)
        self._position = cursor
        return Batch(envelopes=envelopes, quarantined=quarantined, next_cursor=cursor, next_wake=wake)


def _id_order(status_id: str) -> tuple[int, str]:
    """Status ids are opaque strings; Mastodon's grow with time, compared by length then text."""
    return (len(status_id), status_id)


def _stream_key(stream: object) -> str | None:
    """The configured key of a frame's ``stream`` (``["hashtag", "Flood"]`` -> ``hashtag:flood``)."""
    if not isinstance(stream, list) or not stream or not all(isinstance(s, str) for s in stream):
        return None
    if stream[0] == "hashtag" and len(stream) > 1:
        return f"hashtag:{stream[1].lower()}"
    if stream[0] == "list" and len(stream) > 1:
        return f"list:{stream[1]}"
    return str(stream[0])


def _status_ids(raw: bytes) -> tuple[str | None, str | None]:
    """The ``id`` and ``uri`` of a Status payload (None when it has none)."""
    try:
        status = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(status, dict):
        return None, None
    status_id, uri = status.get("id"), status.get("uri")
    return (
        status_id if isinstance(status_id, str) else None,
        uri if isinstance(uri, str) else None,
    )


def _error_frame(frame: dict[str, Any]) -> Permanent | Transient:
    status = frame.get("status")
    message = f"Mastodon streaming refused: {frame.get('error')!s} (status {status})"
    if status in (401, 403, 404):
        return Permanent(message + "; check the token's scopes and that lists belong to its account")
    return Transient(message)


def _decode_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        value = orjson.loads(cursor)
    except orjson.JSONDecodeError:
        return {}  # not ours (a cursor from another kind): start afresh
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str) and v}


def _streams(config: Mapping[str, Any]) -> list[Stream]:
    specs = names(KIND, config.get("streams", "public"), "streams")
    if not specs:
        raise ConfigError('mastodon-stream: streams needs at least one stream, e.g. ["hashtag:flood"]')
    return [parse_stream(s) for s in specs]


def named_accounts(config: Mapping[str, Any]) -> tuple[Account, ...]:
    """No account for public and hashtag streams; ConfigError for a list stream.

    A list is accounts its owner chose, so streaming it monitors named people, but its members are
    not in the settings (and change without watchfloor knowing): no watch can be checked for them, so
    a source may not stream a list. The connector can read one; the services refuse such a source.
    """
    listed = [s.key for s in _streams(config) if s.list_id is not None]
    if listed:
        raise ConfigError(
            f"mastodon-stream: {', '.join(listed)} streams the accounts on a list, which watchfloor cannot "
            "see, so it cannot check that a watch is in force for each of them; stream hashtags or public "
            "timelines, and follow named accounts with `from:` rules under approved watches"
        )
    return ()


register_with_credentials(KIND, MastodonStreamConnector.from_config, accounts=named_accounts)
