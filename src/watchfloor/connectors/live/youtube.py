"""YouTube Data API v3 live connector: a channel's uploads or a keyword search, with comment threads.

Responses are mapped by :func:`~watchfloor.connectors.youtube.mapping.map_lines`, the file importer's pure
mapper, so a live post is the same post ``watchfloor import`` makes of the same saved response.

Why it is built the way it is, and its limits:

* **Quota ledger.** A project gets 10,000 units a day; ``search.list`` costs 100, every other call here
  costs 1. The cursor keeps the units spent today (and the day they count against); each call's cost is
  added *before* it is made, and when the next call would go past ``daily_quota - reserve`` the
  connector stops and asks to be woken at the next reset: midnight America/Los_Angeles, when Google
  resets quotas. The ledger only knows what this source spent: other sources or tools sharing the same
  API key spend the same quota unseen, so give each key its own ``daily_quota`` share. A 403 with reason
  ``quotaExceeded`` from the API also means "wait for the reset", not a failure.
* **Channel mode** reads the channel's uploads playlist (``playlistItems.list``, 1 unit a page), newest
  first, until a page holds a video it has already seen; then ``videos.list`` (1 unit per 50 videos)
  for the full details. The uploads playlist id is the channel id with ``UC`` replaced by ``UU``:
  Google's own convention, saving a ``channels.list`` call, but not a documented guarantee.
* **Search mode** pages ``search.list`` (100 units a page) ordered by date, from the newest video
  already collected on. Search results carry only a snippet (no counts), mapped as they are.
* **Comments.** With ``comments`` on, the comment threads of each *newly collected* video are read
  (``commentThreads.list``, 1 unit per page of 100, with the replies YouTube embeds: at most five per
  thread). Videos whose threads are still to read are kept in the cursor, so a quota stop resumes
  there. Comments added to a video after its threads were read are not collected.
* **Channel mode targets an account**: :func:`named_accounts` names the channel id, and the source
  collects only while a watch is in force for it (``services/collect.py``); search mode targets no one.
* **Already seen.** The cursor keeps the newest ``publishedAt`` and the last video ids collected, so a
  second fetch stores nothing new; the store's natural key is the last line of defence.
* The API key is sent in the ``X-Goog-Api-Key`` header, never in a URL (URLs end up in locations
  and logs), and read from the environment variable the configuration names (through the credentials
  the caller passes in, ``Settings.credentials``), never from the configuration itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx2
import msgspec
import orjson

from watchfloor.connectors.base import MapOptions, quarantine
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.http import USER_AGENT, ReadOnlyHttp
from watchfloor.connectors.live.registry import Account, register_with_credentials
from watchfloor.connectors.live.settings import CredentialLookup, flag, known_settings, secret, whole_number
from watchfloor.connectors.youtube.mapping import COMMENT_PREFIX, LINES, PLATFORM, map_lines
from watchfloor.domain.clock import Clock, SystemClock
from watchfloor.domain.errors import BadRecord, ConfigError, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, Quarantined

__all__ = ["YouTubeConnector", "named_accounts"]

KIND = "youtube"
API_BASE = "https://www.googleapis.com/youtube/v3"
COST = {"playlistItems": 1, "videos": 1, "commentThreads": 1, "search": 100}
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_SKIP_COMMENTS = frozenset({"commentsDisabled", "videoNotFound", "forbidden"})
_SEEN_KEPT = 2000  # ids remembered; older ones are older than ``newest`` anyway
_KNOWN = (
    "mode", "channel_id", "query", "comments", "daily_quota", "reserve", "api_base", "api_key_env",
    "every", "max_pages", "comment_pages",
)  # fmt: skip
_KEY_SETTINGS = ("api_key", "key", "token", "apikey")
_OPTIONS = MapOptions()


def _pacific() -> tzinfo:
    try:
        return ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:  # no tz database on the host: Pacific Standard Time, an hour off in summer
        return timezone(timedelta(hours=-8), "PST")


PACIFIC = _pacific()


class _Ledger(msgspec.Struct, kw_only=True):
    day: str  # the Pacific date the units count against
    spent: int = 0


class _Cursor(msgspec.Struct, kw_only=True, omit_defaults=True):
    quota: _Ledger | None = None
    newest: str | None = None  # newest publishedAt collected (RFC 3339 text, as the API gave it)
    seen: list[str] = msgspec.field(default_factory=list)  # video ids, oldest first
    pending: list[tuple[str, str | None]] = msgspec.field(default_factory=list)  # (video, page token)


class ApiRefusal(Permanent):
    """An API error the body explains: HTTP status and Google's ``reason`` (``quotaExceeded``…)."""

    def __init__(self, message: str, *, status: int, reason: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class _OutOfQuota(Exception):
    """The next call would cross the budget, or the API said the quota is spent."""


def _refusal_hook(response: httpx2.Response) -> None:
    """Read 4xx error bodies before ReadOnlyHttp turns the status into a bare Permanent."""
    if response.status_code not in (400, 401, 403, 404):
        return
    response.read()
    try:
        error = orjson.loads(response.content).get("error", {})
        reason = error["errors"][0].get("reason") if error.get("errors") else None
        message = str(error.get("message") or response.reason_phrase)
    except (orjson.JSONDecodeError, AttributeError, TypeError, KeyError, IndexError):
        reason, message = None, response.reason_phrase
    raise ApiRefusal(
        f"YouTube API refused {response.request.url.path}: HTTP {response.status_code} "
        f"({reason or 'no reason given'}): {message}",
        status=response.status_code,
        reason=reason,
    )


def next_reset(now: datetime) -> datetime:
    """The next midnight America/Los_Angeles (YouTube's quota reset), in UTC."""
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=PACIFIC)
    return midnight.astimezone(UTC)


def quota_day(now: datetime) -> date:
    return now.astimezone(PACIFIC).date()


class YouTubeConnector:
    """A channel's uploads or a keyword search on the YouTube Data API (see the module docstring)."""

    name = KIND
    version = "1"

    def __init__(
        self,
        *,
        api_key: str,
        channel_id: str | None = None,
        query: str | None = None,
        comments: bool = True,
        daily_quota: int = 10_000,
        reserve: int = 500,
        api_base: str = API_BASE,
        every: float = 900.0,
        max_pages: int = 5,
        comment_pages: int = 5,
        http: ReadOnlyHttp | None = None,
        clock: Clock | None = None,
    ) -> None:
        if (channel_id is None) == (query is None):
            raise ConfigError("youtube: give exactly one of channel_id (mode channel) or query (mode search)")
        self.channel_id = channel_id
        self.query = query
        self.comments = comments
        self.budget = daily_quota - reserve
        self.api_base = api_base.rstrip("/")
        self.every = timedelta(seconds=every)
        self.max_pages = max_pages
        self.comment_pages = comment_pages
        self.http = http or ReadOnlyHttp(httpx2.Client(timeout=30.0, headers={"User-Agent": USER_AGENT}))
        if _refusal_hook not in self.http.client.event_hooks["response"]:
            self.http.client.event_hooks["response"].append(_refusal_hook)
        self.clock = clock or SystemClock()
        self._headers = {"X-Goog-Api-Key": api_key, "Accept": "application/json"}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], credentials: CredentialLookup) -> YouTubeConnector:
        """Build from a source's configuration; ConfigError names the bad key and what it takes.

        The API key is read from ``credentials`` now: an unset variable is a ConfigError at once (also
        when the source is added, which builds the connector to check it).
        """
        put = sorted(k for k in config if k.lower() in _KEY_SETTINGS)
        if put:
            raise ConfigError(
                f"youtube: do not put the API key in the source settings ({', '.join(put)}): set it in an "
                "environment variable and name that variable in api_key_env, e.g. api_key_env = "
                '"YOUTUBE_API_KEY"'
            )
        known_settings(KIND, config, _KNOWN)
        env_name = str(config.get("api_key_env") or "")
        if not env_name:
            raise ConfigError(
                "youtube: api_key_env is required: the name of the environment variable holding the API "
                'key, e.g. api_key_env = "YOUTUBE_API_KEY"'
            )
        api_key = secret(KIND, credentials, env_name, "API key", error=ConfigError)
        channel_id, query = _target(config)
        daily_quota = whole_number(KIND, config.get("daily_quota", 10_000), "daily_quota", 1, 10_000_000)
        reserve = whole_number(KIND, config.get("reserve", 500), "reserve", 0, daily_quota - 1)
        comments = flag(KIND, config.get("comments", True), "comments")
        return cls(
            api_key=api_key,
            channel_id=channel_id,
            query=query,
            comments=comments,
            daily_quota=daily_quota,
            reserve=reserve,
            api_base=str(config.get("api_base", API_BASE)),
            every=float(whole_number(KIND, config.get("every", 900), "every", 60, 86_400)),
            max_pages=whole_number(KIND, config.get("max_pages", 5), "max_pages", 1, 100),
            comment_pages=whole_number(KIND, config.get("comment_pages", 5), "comment_pages", 0, 100),
        )

    def fetch(self, cursor: str | None) -> Batch:
        """Read what is new since ``cursor`` until done or the day's budget is reached."""
        now = self.clock.now()
        state = msgspec.json.decode(cursor, type=_Cursor) if cursor else _Cursor()
        today = quota_day(now).isoformat()
        if state.quota is None or state.quota.day != today:
            state.quota = _Ledger(day=today)
        out = _Out()
        wake: datetime | None = now + self.every
        try:
            self._comments(state, out)  # threads a quota stop left unread
            if self.query is not None:
                self._search(state, out)
            else:
                self._uploads(state, out)
            self._comments(state, out)
        except _OutOfQuota:
            wake = next_reset(now)
        encoded = msgspec.json.encode(state).decode()
        return Batch(
            envelopes=out.envelopes,
            quarantined=out.quarantined,
            next_cursor=encoded if encoded != cursor else None,
            next_wake=wake,
        )

    def close(self) -> None:
        self.http.close()

    # --- the calls --------------------------------------------------------------------------------

    def _call(self, state: _Cursor, resource: str, params: Mapping[str, str]) -> httpx2.Response:
        """One GET, its cost entered in the ledger first; _OutOfQuota when over budget or told so."""
        assert state.quota is not None
        cost = COST[resource]
        if state.quota.spent + cost > self.budget:
            raise _OutOfQuota
        state.quota.spent += cost
        try:
            return self.http.get(f"{self.api_base}/{resource}", params=params, headers=self._headers)
        except ApiRefusal as exc:
            if exc.reason in _QUOTA_REASONS:
                state.quota.spent = max(state.quota.spent, self.budget)
                raise _OutOfQuota from None
            if exc.reason in _RATE_REASONS:
                raise Transient(str(exc)) from None
            raise

    def _uploads(self, state: _Cursor, out: _Out) -> None:
        """Page the uploads playlist back to a video already seen, then read the new videos' details."""
        assert self.channel_id is not None
        seen = set(state.seen)
        params = {"part": "snippet", "playlistId": "UU" + self.channel_id[2:], "maxResults": "50"}
        found: list[str] = []
        token: str | None = None
        for _ in range(self.max_pages):
            page = _json(self._call(state, "playlistItems", _paged(params, token)))
            ids = [v for v in map(_playlist_video, _items(page)) if v is not None]
            found += [v for v in ids if v not in seen and v not in found]
            token = _next_token(page)
            if not token or any(v in seen for v in ids):
                break
        found.reverse()  # uploads come newest first; collect oldest first
        for start in range(0, len(found), 50):
            chunk = found[start : start + 50]
            response = self._call(state, "videos", {"part": "snippet,statistics", "id": ",".join(chunk)})
            _map(response, out, state)
            self._collected(state, chunk)

    def _search(self, state: _Cursor, out: _Out) -> None:
        """Page ``search.list`` (newest first) from the newest video collected, down to one already seen."""
        seen = set(state.seen)
        params = {
            "part": "snippet",
            "q": self.query or "",
            "type": "video",
            "order": "date",
            "maxResults": "50",
        }
        if state.newest:
            params["publishedAfter"] = state.newest
        token: str | None = None
        for _ in range(self.max_pages):
            response = self._call(state, "search", _paged(params, token))
            page = _json(response)
            fresh: list[str] = []
            for video in map(_search_video, _items(page)):
                if video is not None and video not in seen and video not in fresh:
                    fresh.append(video)
            _map(response, out, state, keep=set(fresh))
            self._collected(state, fresh)
            seen.update(fresh)
            token = _next_token(page)
            if not token or not fresh:
                break

    def _collected(self, state: _Cursor, videos: list[str]) -> None:
        """Remember ``videos`` as seen and queue their comment threads."""
        state.seen = (state.seen + videos)[-_SEEN_KEPT:]
        if self.comments and self.comment_pages:
            state.pending.extend((video, None) for video in videos)

    def _comments(self, state: _Cursor, out: _Out) -> None:
        """Read the comment threads of the videos in ``state.pending``, in order, page by page."""
        while state.pending:
            video, token = state.pending[0]
            pages = 0
            while pages < self.comment_pages:
                params = {"part": "snippet,replies", "videoId": video, "maxResults": "100"}
                try:
                    response = self._call(state, "commentThreads", _paged(params, token))
                except ApiRefusal as exc:
                    if exc.reason in _SKIP_COMMENTS or exc.status == 404:
                        break  # comments off, or the video went private or away: nothing to read
                    raise
                _map(response, out, state)
                pages += 1
                page = _json(response)
                token = page.get("nextPageToken") if isinstance(page, dict) else None
                if not token:
                    break
                state.pending[0] = (video, token)  # a quota stop resumes at this page
            state.pending.pop(0)


class _Out:
    """What one fetch has mapped so far."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.quarantined: list[Quarantined] = []


def _map(response: httpx2.Response, out: _Out, state: _Cursor, *, keep: set[str] | None = None) -> None:
    """Map one response with the importer's mapper; track the newest video ``publishedAt``."""
    location = Location(source=str(response.request.url))
    try:
        results = map_lines(response.content, location, _OPTIONS)
    except BadRecord as exc:
        out.quarantined.append(quarantine(exc, response.content, LINES, location))
        return
    for item in results:
        if isinstance(item, Quarantined):
            out.quarantined.append(item)
            continue
        post = item.post
        if keep is not None and (post is None or post.native_id not in keep):
            continue  # a search result already collected
        out.envelopes.append(item)
        if post is not None and not post.native_id.startswith(COMMENT_PREFIX):  # a video
            stamp = post.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if state.newest is None or stamp > state.newest:
                state.newest = stamp


def _json(response: httpx2.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _paged(params: dict[str, str], token: str | None) -> dict[str, str]:
    return {**params, "pageToken": token} if token else params


def _next_token(page: Any) -> str | None:
    token = page.get("nextPageToken") if isinstance(page, dict) else None
    return token if isinstance(token, str) and token else None


def _items(page: Any) -> list[Any]:
    items = page.get("items") if isinstance(page, dict) else None
    return items if isinstance(items, list) else []


def _playlist_video(item: Any) -> str | None:
    snippet = item.get("snippet") if isinstance(item, dict) else None
    resource = snippet.get("resourceId") if isinstance(snippet, dict) else None
    video = resource.get("videoId") if isinstance(resource, dict) else None
    return video if isinstance(video, str) and video else None


def _search_video(item: Any) -> str | None:
    ident = item.get("id") if isinstance(item, dict) else None
    video = ident.get("videoId") if isinstance(ident, dict) else None
    return video if isinstance(video, str) and video else None


def _target(config: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(channel_id, None)`` in mode channel, ``(None, query)`` in mode search; ConfigError otherwise."""
    mode = str(config.get("mode", "channel"))
    if mode == "channel":
        channel_id = str(config.get("channel_id") or "")
        if not (channel_id.startswith("UC") and len(channel_id) == 24):
            raise ConfigError(
                "youtube: mode channel needs channel_id, the 24-character id starting UC "
                f"(from the channel page's address or its 'Share channel' link), got {channel_id!r}"
            )
        return channel_id, None
    if mode == "search":
        query = str(config.get("query") or "").strip()
        if not query:
            raise ConfigError('youtube: mode search needs query, e.g. query = "flood warning"')
        return None, query
    raise ConfigError(f"youtube: mode must be channel or search, got {mode!r}")


def named_accounts(config: Mapping[str, Any]) -> tuple[Account, ...]:
    """The channel whose uploads mode channel reads, by channel id (a watch must be in force for it);
    mode search targets no one."""
    channel_id, _ = _target(config)
    return ((PLATFORM, channel_id),) if channel_id else ()


register_with_credentials(KIND, YouTubeConnector.from_config, accounts=named_accounts)
