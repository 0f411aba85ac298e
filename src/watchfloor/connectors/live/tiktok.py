"""TikTok Research API live connector: a video query walked forward in windows of at most 30 days.

Videos are mapped by :func:`~watchfloor.connectors.tiktok.mapping.map_videos` onto the keys the
Zeeschuimer importer uses (platform ``tiktok``, the video id), so a video seen both ways is one post.

Why it is built the way it is, and its limits:

* **Approved access, credentials by name.** The Research API is only for researchers TikTok approved;
  the client key and secret are read from environment variables whose *names* the settings give
  (``client_key_env``, ``client_secret_env``), through the credentials the runner passes in, as the
  Reddit connector does: never from the settings, never into the database. A secret written into the
  settings is refused.
* **Token.** ``POST /v2/oauth/token/`` (client credentials) gives a ``clt.`` token for about two
  hours; it is kept in memory until five minutes before it expires. A 401 on a query drops it and asks
  for a new one once; a second 401, or a refused token request, is Permanent. The token and query
  endpoints are the only POSTs the read-only client lets through.
* **Windows.** ``start_date``/``end_date`` (YYYYMMDD, UTC) may be at most 30 days apart, so the query
  is walked from ``since`` forward in windows of 30 days (the last one ending today), each paged with
  the ``cursor`` and ``search_id`` the API returns until ``has_more`` is false. At the live edge the
  window restarts ``lookback_days`` back on the next poll, because videos reach the index late; the
  ids already collected (the last 5,000, kept in the cursor) are not emitted twice.
* **Daily quota.** Video queries count against a daily request quota (1,000 by default), which resets
  at midnight UTC. The cursor keeps a ledger of the requests this source made today; a query is
  entered *before* it is made, and when the next one would go past ``daily_requests - reserve`` the
  connector stops and asks to be woken at the next UTC midnight. ``daily_quota_limit_exceeded`` from
  the API means the same. The ledger sees only this source: sources sharing a client split the quota
  by hand.
* **Faults.** ``rate_limit_exceeded`` (429) and 5xx are :class:`~watchfloor.domain.errors.Transient`
  (``Retry-After`` honoured); pages already read are returned first. ``invalid_params`` on a page with
  a ``search_id`` means the search expired ("cursor too old"): the window is read again from its first
  page once (already-collected ids are dropped); any other ``invalid_params`` is Permanent with the
  API's message. A response that is not JSON is quarantined whole and the same page is read next time.
* A ``usernames`` condition follows named accounts: the source collects only while a watch is in
  force for every username (``services/collect.py``; docs/connectors.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx2
import msgspec
import orjson

from watchfloor.connectors.base import quarantine
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.http import ReadOnlyHttp
from watchfloor.connectors.live.registry import register_with_credentials
from watchfloor.connectors.live.settings import CredentialLookup, secret
from watchfloor.connectors.live.tiktok_query import (
    KIND,
    QueryConfig,
    TikTokRefusal,
    body_of,
    named_accounts,
    refusal_hook,
)
from watchfloor.connectors.tiktok.mapping import map_videos
from watchfloor.domain.clock import Clock, SystemClock
from watchfloor.domain.errors import BadRecord, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, Quarantined

__all__ = ["TikTokResearchConnector", "next_reset"]

API_BASE = "https://open.tiktokapis.com"
TOKEN_PATH = "/v2/oauth/token/"  # noqa: S105 (a URL path, not a password)
QUERY_PATH = "/v2/research/video/query/"
PAGE = "tiktok-research-page"  # the format of a whole response quarantined because it is not JSON
FIELDS = (
    "id", "create_time", "username", "video_description", "like_count", "comment_count", "share_count",
    "view_count", "hashtag_names",
)  # fmt: skip
WINDOW_DAYS = 30  # start_date and end_date inclusive: 30 calendar days
_SEEN_KEPT = 5000
_TOKEN_MARGIN = timedelta(minutes=5)


class _Ledger(msgspec.Struct, kw_only=True):
    day: str  # the UTC date the requests count against
    spent: int = 0


class _Window(msgspec.Struct, kw_only=True, omit_defaults=True):
    start: str  # YYYYMMDD
    end: str | None = None  # set when its first page is asked for
    cursor: int = 0
    search_id: str | None = None


class _Cursor(msgspec.Struct, kw_only=True, omit_defaults=True):
    window: _Window | None = None
    quota: _Ledger | None = None
    seen: list[str] = msgspec.field(default_factory=list)  # video ids, oldest first


class _OutOfQuota(Exception):
    """The next query would cross the day's budget, or the API said the quota is spent."""


def next_reset(now: datetime) -> datetime:
    """The next midnight UTC, when TikTok resets the daily request quota."""
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)


def _day(text: str) -> date:
    return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC).date()


def _text(day: date) -> str:
    return day.strftime("%Y%m%d")


class TikTokResearchConnector:
    """Videos matching a Research API query, walked forward from ``since`` (see the module docstring)."""

    name = KIND
    version = "1"

    def __init__(
        self,
        query: QueryConfig,
        *,
        client_key_env: str,
        client_secret_env: str,
        credentials: CredentialLookup,
        api_base: str = API_BASE,
        http: ReadOnlyHttp | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.query = query
        self.env_names = {"client key": client_key_env, "client secret": client_secret_env}
        base = api_base.rstrip("/")
        self.token_url, self.query_url = base + TOKEN_PATH, base + QUERY_PATH
        self.every = timedelta(seconds=query.every)
        self.budget = query.daily_requests - query.reserve
        self.fields = ",".join(FIELDS + (("voice_to_text",) if query.voice_to_text else ()))
        self.http = http or ReadOnlyHttp()
        self.http.post_allowed = self.http.post_allowed | {self.token_url, self.query_url}
        if refusal_hook not in self.http.client.event_hooks["response"]:
            self.http.client.event_hooks["response"].append(refusal_hook)
        self.clock = clock or SystemClock()
        self.credentials = credentials  # read at each token request
        self._token: str | None = None
        self._token_until: datetime | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], credentials: CredentialLookup) -> TikTokResearchConnector:
        """Build from a source's configuration; ConfigError names the bad key and what it takes.

        The client key and secret are read from ``credentials`` when a token is needed.
        """
        query = QueryConfig.from_config(config)
        return cls(
            query,
            client_key_env=query.client_key_env,
            client_secret_env=query.client_secret_env,
            credentials=credentials,
            api_base=query.api_base,
        )

    def fetch(self, cursor: str | None) -> Batch:
        """Read matching videos from where ``cursor`` stopped until caught up or out of today's quota."""
        now = self.clock.now()
        today = now.astimezone(UTC).date()
        state = _decode(cursor)
        if state.quota is None or state.quota.day != today.isoformat():
            state.quota = _Ledger(day=today.isoformat())
        if state.window is None:
            since = self.query.since or today - timedelta(days=7)
            state.window = _Window(start=_text(min(since, today)))
        envelopes: list[Envelope] = []
        quarantined: list[Quarantined] = []
        wake: datetime | None = None  # pages left after max_pages: call again at once
        restarted = read = False
        requests = 0
        while True:
            window = state.window
            if window.end is None:
                window.end = _text(min(_day(window.start) + timedelta(days=WINDOW_DAYS - 1), today))
            if requests == self.query.max_pages:
                break  # wake None: more pages are waiting, call again at once
            requests += 1
            try:
                response = self._query(state, window)
            except _OutOfQuota:
                wake = next_reset(now)
                break
            except _StaleSearch:
                if restarted:
                    raise Permanent(
                        "tiktok-research: the API refused the search twice (invalid_params); check the query"
                    ) from None
                restarted = True  # the search expired ("cursor too old"): read this window again
                state.window = _Window(start=window.start, end=window.end)
                continue
            except Transient as exc:
                if not read:
                    raise
                wake = now + (timedelta(seconds=exc.retry_after) if exc.retry_after else self.every)
                break
            location = Location(
                source=f"{self.query_url}#start_date={window.start}&end_date={window.end}&cursor={window.cursor}"
            )
            try:
                data = _data(response.content)
            except BadRecord as exc:
                quarantined.append(quarantine(exc, response.content, PAGE, location))
                wake = now + self.every
                break
            read = True  # from here on a failure returns what was read (and the requests spent)
            self._collect(data, location, state, envelopes, quarantined)
            if data.get("has_more") is True and isinstance(data.get("cursor"), int):
                window.cursor = data["cursor"]
                search_id = data.get("search_id")
                window.search_id = str(search_id) if search_id else window.search_id
                continue
            if window.end < _text(today):  # this window is done: on to the next 30 days
                state.window = _Window(start=_text(_day(window.end) + timedelta(days=1)))
                continue
            lookback = today - timedelta(days=self.query.lookback_days)  # caught up with today
            state.window = _Window(start=_text(max(_day(window.start), lookback)))
            wake = now + self.every
            break
        encoded = msgspec.json.encode(state).decode()
        return Batch(
            envelopes=envelopes,
            quarantined=quarantined,
            next_cursor=encoded if encoded != cursor else None,
            next_wake=wake,
        )

    def close(self) -> None:
        self.http.close()

    def _collect(
        self,
        data: dict[str, Any],
        location: Location,
        state: _Cursor,
        envelopes: list[Envelope],
        quarantined: list[Quarantined],
    ) -> None:
        """Map one page's videos, dropping those already collected; remember the new ids."""
        videos = data.get("videos")
        seen = set(state.seen)
        fresh: list[str] = []
        for item in map_videos(videos if isinstance(videos, list) else [], location):
            if isinstance(item, Quarantined):
                quarantined.append(item)
                continue
            ident = item.post.native_id if item.post is not None else None
            if ident is None or ident in seen:
                continue
            seen.add(ident)
            fresh.append(ident)
            envelopes.append(item)
        state.seen = (state.seen + fresh)[-_SEEN_KEPT:]

    def _query(self, state: _Cursor, window: _Window) -> httpx2.Response:
        """One video query page, entered in the ledger first; a 401 renews the token once."""
        assert state.quota is not None
        if state.quota.spent + 1 > self.budget:
            raise _OutOfQuota
        state.quota.spent += 1
        body = body_of(self.query, start=window.start, end=window.end or window.start)
        if window.search_id is not None or window.cursor:
            body |= {"cursor": window.cursor, "search_id": window.search_id}
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._access_token()}"}
            try:
                return self.http.request(
                    "POST", self.query_url, params={"fields": self.fields}, json=body, headers=headers
                )
            except TikTokRefusal as exc:
                if exc.status == 401 and attempt == 1:
                    self._token = None
                    continue
                if exc.code == "daily_quota_limit_exceeded":
                    state.quota.spent = max(state.quota.spent, self.budget)
                    raise _OutOfQuota from None
                if exc.status == 429 or exc.code == "rate_limit_exceeded":
                    raise Transient(str(exc), retry_after=exc.retry_after) from None
                if exc.code == "invalid_params" and window.search_id is not None:
                    raise _StaleSearch from None
                raise Permanent(f"tiktok-research: {exc}{_hint(exc)}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _access_token(self) -> str:
        now = self.clock.now()
        if self._token is not None and self._token_until is not None and now < self._token_until:
            return self._token
        values = {what: secret(KIND, self.credentials, name, what) for what, name in self.env_names.items()}
        form = {
            "client_key": values["client key"],
            "client_secret": values["client secret"],
            "grant_type": "client_credentials",
        }
        try:
            response = self.http.request("POST", self.token_url, data=form)
        except TikTokRefusal as exc:
            raise Permanent(
                f"tiktok-research: the token request was refused ({exc.code or exc.status}); check the "
                "approved client key and secret"
            ) from None
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            answer = None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            error = answer.get("error") if isinstance(answer, dict) else None
            raise Permanent(
                "tiktok-research: the token request was refused "
                f"({error or 'no access_token in the answer'}); check the approved client key and secret"
            )
        expires = answer.get("expires_in") if isinstance(answer, dict) else None
        seconds = (
            float(expires) if isinstance(expires, int | float) and not isinstance(expires, bool) else 7200.0
        )
        self._token = token
        self._token_until = now + timedelta(seconds=seconds) - _TOKEN_MARGIN
        return token


def _decode(cursor: str | None) -> _Cursor:
    if not cursor:
        return _Cursor()
    try:
        return msgspec.json.decode(cursor, type=_Cursor)
    except msgspec.DecodeError:
        return _Cursor()  # not ours (another kind's cursor): start afresh from ``since``


class _StaleSearch(Exception):
    """``invalid_params`` on a page with a search_id: the search expired and must start again."""


def _data(content: bytes) -> dict[str, Any]:
    """``data`` of a 200 response; BadRecord when the body is not the JSON the API documents."""
    try:
        doc = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise BadRecord(f"not valid JSON: {exc}") from None
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        raise BadRecord("not a video query response (no data object)", field="data")
    return data


def _hint(exc: TikTokRefusal) -> str:
    if exc.status == 401:
        return "; the token was refused twice: check that the client is still approved"
    if exc.code == "scope_not_authorized" or exc.status == 403:
        return "; the client is not approved for research.data.basic (apply through TikTok for Developers)"
    return ""


register_with_credentials(KIND, TikTokResearchConnector.from_config, accounts=named_accounts)
