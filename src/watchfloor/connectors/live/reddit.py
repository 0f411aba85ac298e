"""Reddit live connector: poll subreddits' ``/new`` and ``/comments`` listings with approved credentials.

Each listing page is mapped by :func:`~watchfloor.connectors.reddit.mapping.map_listing`, the file
importer's pure mapper, so a live post is the same post as one imported from a saved listing
(``[deleted]`` by the author becomes a deletion, ``[removed]`` keeps the post without text, a bad
child is quarantined alone and the rest of the page still maps).

Why it is built the way it is, and its limits:

* **Credentials never enter the database.** Since November 2025 Reddit API access needs approval;
  the operator's approved client id and secret (and, for a script app, a username and password) are
  read from environment variables whose *names* the source's settings give (``client_id_env``, ...),
  through the credentials the runner passes in (``Settings.credentials``, its environment): Settings
  cannot know the per-source names. A secret written into the settings themselves is refused.
* **Token.** ``POST {www_base}/api/v1/access_token`` (client credentials, or the password grant when
  ``username_env``/``password_env`` are set), kept in memory until a minute before it expires. A 401
  on a listing drops the token and asks for a new one once; a second 401 is Permanent.
* **Newest first, until the last one seen.** Each listing is read newest-first (``limit=100``,
  ``raw_json=1``), following ``after=`` to older pages until a child at or below the newest fullname
  seen last time (compared as base-36 numbers, so a last-seen thing that was deleted meanwhile still
  stops the walk), up to ``max_pages``. ``before=`` paging is not used: Reddit answers ``before=`` a
  thing that was deleted or removed with an empty page forever, which would silently stop collection.
  The cursor (JSON) keeps the newest fullname per listing; it moves only when that listing was read
  in full, so a failure in the middle of paging re-reads it next time and loses nothing.
* **The first read** of a listing (no cursor for it) takes the newest page only: collection starts
  now. A backlog larger than ``max_pages`` pages (or than the ~1000 things a listing holds) cannot be
  read from listings; poll often enough for busy subreddits (``every``).
* **Rate limits.** ``X-Ratelimit-Remaining`` at or below ``min_remaining`` stops the fetch and sets the
  next call to ``X-Ratelimit-Reset`` seconds from now. A 429 or 5xx is
  :class:`~watchfloor.domain.errors.Transient` (with ``Retry-After``); after some listings were read,
  those are returned and the next call waits ``Retry-After`` (or ``every``).
* **A page that is not JSON** is quarantined whole and its listing's cursor stays.
* Only subreddit listings: ``u/name`` is refused. A user's profile subreddit (``u_name``) is a
  subreddit to Reddit but one person's posts, so :func:`named_accounts` names that account and the
  source collects only while a watch is in force for it. NSFW, private and quarantined subreddits
  are not served to the free tier (a 403 fails the source with the reason).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx2
import orjson

from watchfloor.connectors.base import MapOptions, decode_json, quarantine
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.http import ReadOnlyHttp
from watchfloor.connectors.live.registry import Account, register_with_credentials
from watchfloor.connectors.live.settings import (
    CredentialLookup,
    approved_env_name,
    http_address,
    known_settings,
    refuse_secrets,
    secret,
    whole_number,
)
from watchfloor.connectors.reddit.mapping import LISTING, PLATFORM, map_listing
from watchfloor.domain.clock import Clock, SystemClock
from watchfloor.domain.errors import BadRecord, ConfigError, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, Quarantined

__all__ = ["RedditConnector", "named_accounts"]

KIND = "reddit"
TOKEN_PATH = "/api/v1/access_token"  # noqa: S105 (a URL path, not a password)
_OPTIONS = MapOptions()
_LISTINGS = ("new", "comments")
_KNOWN = (
    "subreddits",
    "listings",
    "client_id_env",
    "client_secret_env",
    "username_env",
    "password_env",
    "user_agent",
    "oauth_base",
    "www_base",
    "limit",
    "every",
    "max_pages",
    "min_remaining",
)
_SECRETS = ("client_id", "client_secret", "secret", "password", "username", "token", "access_token")
_SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
_TOKEN_MARGIN = timedelta(seconds=60)


class RedditConnector:
    """The new submissions and comments of some subreddits (see the module docstring)."""

    name = KIND
    version = "1"

    def __init__(
        self,
        subreddits: Sequence[str],
        *,
        client_id_env: str,
        client_secret_env: str,
        credentials: CredentialLookup,
        username_env: str | None = None,
        password_env: str | None = None,
        listings: Sequence[str] = _LISTINGS,
        user_agent: str | None = None,
        oauth_base: str = "https://oauth.reddit.com",
        www_base: str = "https://www.reddit.com",
        limit: int = 100,
        every: float = 60.0,
        max_pages: int = 10,
        min_remaining: int = 5,
        http: ReadOnlyHttp | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.keys = [f"{sub}/{listing}" for sub in subreddits for listing in listings]
        self.env_names = {"client_id": client_id_env, "client_secret": client_secret_env}
        if username_env and password_env:
            self.env_names |= {"username": username_env, "password": password_env}
        self.oauth_base = oauth_base.rstrip("/")
        self.token_url = www_base.rstrip("/") + TOKEN_PATH
        self.limit = limit
        self.every = timedelta(seconds=every)
        self.max_pages = max_pages
        self.min_remaining = min_remaining
        self.http = http or ReadOnlyHttp(post_allowed=[self.token_url])
        self.http.post_allowed = self.http.post_allowed | {self.token_url}
        self.clock = clock or SystemClock()
        self.credentials = credentials  # read at each token request
        self._agent = {"User-Agent": user_agent} if user_agent else {}
        self._token: str | None = None
        self._token_until: datetime | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], credentials: CredentialLookup) -> RedditConnector:
        """Build from a source's configuration; ConfigError names the bad key and what it takes.

        The credentials are read from ``credentials`` (the variables the ``*_env`` settings name) when
        a token is needed, so a missing one fails the source at its first fetch, naming the variable.
        """
        refuse_secrets(
            KIND,
            config,
            _SECRETS,
            "put the value in an environment variable of the runner and give its name instead, e.g. "
            'client_secret_env = "REDDIT_CLIENT_SECRET"',
        )
        known_settings(KIND, config, _KNOWN, ignored=("url",))  # `sources add` may pass url; unused
        user, password = config.get("username_env"), config.get("password_env")
        if bool(user) != bool(password):
            raise ConfigError(
                "reddit: the password grant needs both username_env and password_env, or neither"
            )
        return cls(
            _subreddits(config.get("subreddits")),
            listings=_listings(config.get("listings", list(_LISTINGS))),
            user_agent=str(config["user_agent"]) if config.get("user_agent") else None,
            oauth_base=http_address(KIND, config.get("oauth_base", "https://oauth.reddit.com"), "oauth_base"),
            www_base=http_address(KIND, config.get("www_base", "https://www.reddit.com"), "www_base"),
            limit=whole_number(KIND, config.get("limit", 100), "limit", 1, 100),
            every=float(whole_number(KIND, config.get("every", 60), "every", 10, 86_400)),
            max_pages=whole_number(KIND, config.get("max_pages", 10), "max_pages", 1, 10),
            min_remaining=whole_number(KIND, config.get("min_remaining", 5), "min_remaining", 0, 1000),
            client_id_env=_env_name(config, "client_id_env"),
            client_secret_env=_env_name(config, "client_secret_env"),
            username_env=_env_name(config, "username_env") if user else None,
            password_env=_env_name(config, "password_env") if user else None,
            credentials=credentials,
        )

    def fetch(self, cursor: str | None) -> Batch:
        """Read what is new in every configured listing since ``cursor`` (see the module docstring)."""
        now = self.clock.now()
        seen = _decode_cursor(cursor)
        newest = dict(seen)
        envelopes: list[Envelope] = []
        quarantined: list[Quarantined] = []
        wake: datetime | None = now + self.every
        for key in self.keys:
            try:
                top, throttled = self._read_listing(key, seen.get(key), envelopes, quarantined, now)
            except Transient as exc:
                if newest == seen and not envelopes and not quarantined:
                    raise
                wake = now + (timedelta(seconds=exc.retry_after) if exc.retry_after else self.every)
                break
            if top is not None:
                newest[key] = top
            if throttled is not None:
                wake = throttled
                break
        next_cursor = orjson.dumps(newest, option=orjson.OPT_SORT_KEYS).decode() if newest != seen else None
        return Batch(envelopes=envelopes, quarantined=quarantined, next_cursor=next_cursor, next_wake=wake)

    def close(self) -> None:
        self.http.close()

    def _read_listing(
        self,
        key: str,
        last: str | None,
        envelopes: list[Envelope],
        quarantined: list[Quarantined],
        now: datetime,
    ) -> tuple[str | None, datetime | None]:
        """Read one listing newest-first down to ``last``; return its newest fullname and a throttle time.

        Nothing is added to the lists unless the listing was read to its end (or the page was bad).
        """
        sub, listing = key.split("/")
        url = f"{self.oauth_base}/r/{sub}/{listing}"
        found: list[Envelope | Quarantined] = []
        top: str | None = None
        after: str | None = None
        throttled: datetime | None = None
        for _ in range(self.max_pages if last is not None else 1):
            params = {"limit": str(self.limit), "raw_json": "1"}
            if after:
                params["after"] = after
            response = self._get(url, params)
            throttled = self._throttled(response, now)
            location = Location(source=str(response.request.url))
            try:
                children, after = _page(response.content)
            except BadRecord as exc:
                if top is None:  # the first page is bad: keep the cursor, read it again next time
                    quarantined.append(quarantine(exc, response.content, LISTING, location))
                    return None, throttled
                break  # a later page is bad: what is newer was read; the gap cannot be read again
            fresh = _newer_than(children, last)
            if top is None:
                top = next((n for n in map(_fullname, children) if n is not None), None)
            page = orjson.dumps({"kind": "Listing", "data": {"children": fresh}})
            found.extend(map_listing(page, location, _OPTIONS))
            if len(fresh) < len(children) or not after or throttled is not None:
                break
        for item in found:
            if isinstance(item, Quarantined):
                quarantined.append(item)
            else:
                envelopes.append(item)
        return top, throttled

    def _get(self, url: str, params: dict[str, str]) -> httpx2.Response:
        """GET with the bearer token; a 401 drops the token and tries once more with a new one."""
        for attempt in (1, 2):
            headers = {**self._agent, "Authorization": f"bearer {self._access_token()}"}
            try:
                response = self.http.get(url, params=params, headers=headers)
            except Permanent as exc:
                # ReadOnlyHttp reports the status only in its message ("GET url: HTTP 401 Unauthorized").
                if attempt == 1 and ": HTTP 401 " in str(exc):
                    self._token = None
                    continue
                raise Permanent(f"reddit: {exc}{_hint(str(exc))}") from None
            if response.status_code != 200:
                raise Permanent(
                    f"reddit: GET {url}: HTTP {response.status_code} (a subreddit that does not exist "
                    "redirects; check the name)"
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _access_token(self) -> str:
        now = self.clock.now()
        if self._token is not None and self._token_until is not None and now < self._token_until:
            return self._token
        values = {
            what: secret(KIND, self.credentials, name, what.replace("_", " "))
            for what, name in self.env_names.items()
        }
        form = {"grant_type": "client_credentials"}
        if "username" in values:
            form = {"grant_type": "password", "username": values["username"], "password": values["password"]}
        response = self.http.request(
            "POST",
            self.token_url,
            data=form,
            auth=(values["client_id"], values["client_secret"]),
            headers=self._agent,
        )
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            error = body.get("error") if isinstance(body, dict) else None
            raise Permanent(
                f"reddit: the token request was refused ({error or 'no access_token in the answer'}); "
                "check the approved credentials and, for the password grant, the account"
            )
        try:
            expires = float(body.get("expires_in", 3600)) if isinstance(body, dict) else 3600.0
        except (TypeError, ValueError):
            expires = 3600.0
        self._token = token
        self._token_until = now + timedelta(seconds=expires) - _TOKEN_MARGIN
        return token

    def _throttled(self, response: httpx2.Response, now: datetime) -> datetime | None:
        """``now + X-Ratelimit-Reset`` seconds when ``X-Ratelimit-Remaining`` is low, else None."""
        try:
            remaining = float(response.headers["X-Ratelimit-Remaining"])
        except (KeyError, ValueError):
            return None
        if remaining > self.min_remaining:
            return None
        try:
            reset = max(0.0, float(response.headers["X-Ratelimit-Reset"]))
        except (KeyError, ValueError):
            return now + self.every
        return now + timedelta(seconds=reset)


def _page(body: bytes) -> tuple[list[Any], str | None]:
    """A Listing's children and its ``after``; BadRecord when the body is not a Listing."""
    doc = decode_json(body)
    data = doc.get("data") if isinstance(doc, dict) and doc.get("kind") == "Listing" else None
    children = data.get("children") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(children, list):
        raise BadRecord("not a Reddit Listing with data.children", field="data.children")
    after = data.get("after")
    return children, after if isinstance(after, str) and after else None


def _fullname(child: object) -> str | None:
    data = child.get("data") if isinstance(child, dict) else None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and _number(name) is not None else None


def _number(fullname: str) -> int | None:
    """The base-36 number of a fullname (``t3_48fbm9``), which grows with time within a kind."""
    _, _, short = fullname.partition("_")
    try:
        return int(short, 36) if short else None
    except ValueError:
        return None


def _newer_than(children: list[Any], last: str | None) -> list[Any]:
    """The children before the first one at or below ``last`` (all of them when ``last`` is None)."""
    if last is None:
        return children
    bound = _number(last)
    for position, child in enumerate(children):
        name = _fullname(child)
        number = _number(name) if name is not None else None
        same_kind = name is not None and name[:2] == last[:2]
        if same_kind and bound is not None and number is not None and number <= bound:
            return children[:position]
    return children


def _decode_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    try:
        value = orjson.loads(cursor)
    except orjson.JSONDecodeError:
        return {}  # not ours (a cursor from another kind): start afresh
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}


def _hint(message: str) -> str:
    if ": HTTP 401 " in message:
        return (
            "; the credentials were refused twice: check that the approved client id and secret are current"
        )
    if ": HTTP 403 " in message:
        return "; the subreddit is private, quarantined or not served to this client (NSFW on the free tier)"
    if ": HTTP 404 " in message:
        return "; the subreddit does not exist or was banned"
    return ""


def _env_name(config: Mapping[str, Any], key: str) -> str:
    return approved_env_name(KIND, config, key, prefix="REDDIT", approval="Reddit API access needs approval")


def _subreddits(value: object) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ConfigError(
            'reddit: subreddits is required, a list of subreddit names like ["worldnews", "europe"]'
        )
    names: list[str] = []
    for item in items:
        raw = str(item).strip()
        if raw.lower().startswith(("u/", "/u/", "user/")):
            raise ConfigError(
                f"reddit: {raw!r} is a user profile, not a subreddit: it reads subreddit listings "
                "only; follow a named person with a `from:` rule, under an approved watch authorisation"
            )
        name = raw.removeprefix("/").removeprefix("r/")
        if not _SUBREDDIT.match(name):
            raise ConfigError(f"reddit: {raw!r} is not a subreddit name (2-21 letters, digits or _)")
        if name not in names:
            names.append(name)
    return names


def _listings(value: object) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items or any(str(i).strip() not in _LISTINGS for i in items):
        raise ConfigError(f"reddit: listings must be some of {', '.join(_LISTINGS)}, got {value!r}")
    return [str(i).strip() for i in items]


def named_accounts(config: Mapping[str, Any]) -> tuple[Account, ...]:
    """The accounts whose profile subreddits (``u_<name>``) are read: each needs a watch in force.

    Other subreddits are communities and target no one.
    """
    subreddits = _subreddits(config.get("subreddits"))
    return tuple((PLATFORM, sub[2:]) for sub in subreddits if sub.lower().startswith("u_"))


register_with_credentials(KIND, RedditConnector.from_config, accounts=named_accounts)
