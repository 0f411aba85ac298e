"""Mastodon live connector: poll one instance's hashtag or public timeline over REST, oldest new page first.

Each page is a JSON array of ``Status`` objects, mapped by
:func:`~watchfloor.connectors.mastodon.mapping.map_status_line`, the file importer's pure mapper (so a
live post is the same post as one imported from a saved page: reblogs yield the original too, private
statuses are skipped, a bad element is quarantined and the rest of the page still maps).

Why it is built the way it is, and its limits:

* The cursor is a status id used as ``min_id``: the instance returns the statuses *immediately after*
  it (``since_id`` would return the newest ones and silently skip a gap larger than a page). The next
  cursor is the ``min_id`` of the page's ``Link: rel="prev"`` URL, as the instance computes it, and
  the newest status id if a server sends no Link header. Ids are opaque strings (GoToSocial's are
  not numbers), compared only by length then text when there is no Link header.
* The first fetch (no cursor) reads only the newest page: collection starts now, it does not backfill.
  Then each fetch follows up to ``max_pages`` pages forward; a full last page means more is waiting
  and the runner is told to call again at once, otherwise at ``every`` seconds.
* ``X-RateLimit-Remaining`` at or below ``min_remaining`` stops paging and sets the next call to
  ``X-RateLimit-Reset``. A 429 or 5xx raises :class:`~watchfloor.domain.errors.Transient` (with the
  ``Retry-After`` delay when given); after the first page, the pages already read are returned
  instead and the failure surfaces on the next call.
* A page that is not a JSON array is quarantined whole; the cursor moves past it only when the Link
  header says where (otherwise the same page is tried again at the next poll).
* Edits show up when a status is read again (same key, ``edited_at`` set); REST polling reads each
  status once, so later edits and deletes are not seen. Both need the streaming API with a user
  token, which this connector does not read yet. Account timelines are left out on purpose (the
  settings can name a hashtag or a public timeline only, so a source targets no one): follow a
  named account with a ``from:`` rule, which alerts only under an approved watch.
* Since Mastodon 4.2 an instance may refuse anonymous timeline reads. Then put an access token with
  only the ``read:statuses`` scope in an environment variable of the runner and give its *name* as
  ``token_env``; it is read from Settings' credentials at each fetch and sent as
  ``Authorization: Bearer``. A token written into the settings is refused (settings are stored).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx2
import orjson

from watchfloor.connectors.base import MapOptions, quarantine
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.http import ReadOnlyHttp
from watchfloor.connectors.live.registry import no_accounts, register_with_credentials
from watchfloor.connectors.live.settings import (
    NO_CREDENTIALS,
    CredentialLookup,
    env_name,
    known_settings,
    refuse_secrets,
    secret,
    whole_number,
)
from watchfloor.connectors.mastodon.mapping import FORMAT, map_status_line
from watchfloor.domain.clock import Clock, SystemClock
from watchfloor.domain.errors import BadRecord, ConfigError, Transient
from watchfloor.domain.post import Envelope, Location, Quarantined
from watchfloor.domain.timeutil import parse_iso

__all__ = ["ENV_VARIABLE_ADVICE", "MastodonConnector", "instance_address"]

KIND = "mastodon"
_OPTIONS = MapOptions()
_TIMELINES: dict[str, dict[str, str]] = {
    "public": {},
    "local": {"local": "true"},
    "remote": {"remote": "true"},
}
_KNOWN = (
    "instance",
    "url",
    "hashtag",
    "timeline",
    "token_env",
    "limit",
    "every",
    "max_pages",
    "min_remaining",
)
_SECRETS = ("token", "access_token")
# What to do instead of writing a token into the settings (shared with mastodon_stream).
ENV_VARIABLE_ADVICE = (
    "put the access token in an environment variable of the runner and give its name instead, e.g. "
    'token_env = "MASTODON_TOKEN"'
)


class MastodonConnector:
    """A hashtag or public timeline on one Mastodon-API instance (see the module docstring)."""

    name = KIND
    version = "1"

    def __init__(
        self,
        instance: str,
        *,
        hashtag: str | None = None,
        timeline: str = "public",
        token_env: str | None = None,
        credentials: CredentialLookup = NO_CREDENTIALS,
        limit: int = 40,
        every: float = 60.0,
        max_pages: int = 5,
        min_remaining: int = 10,
        http: ReadOnlyHttp | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.instance = instance.rstrip("/")
        path = f"/api/v1/timelines/tag/{quote(hashtag, safe='')}" if hashtag else "/api/v1/timelines/public"
        self.endpoint = self.instance + path
        self.params = dict(_TIMELINES[timeline], limit=str(limit))
        self.limit = limit
        self.every = timedelta(seconds=every)
        self.max_pages = max_pages
        self.min_remaining = min_remaining
        self.http = http or ReadOnlyHttp()
        self.clock = clock or SystemClock()
        self.token_env, self.credentials = token_env, credentials

    @classmethod
    def from_config(cls, config: Mapping[str, Any], credentials: CredentialLookup) -> MastodonConnector:
        """Build from a source's configuration; ConfigError names the bad key and what it takes."""
        refuse_secrets(
            KIND,
            config,
            _SECRETS,
            ENV_VARIABLE_ADVICE,
        )
        known_settings(KIND, config, _KNOWN)
        instance = instance_address(KIND, config)
        hashtag = str(config["hashtag"]).removeprefix("#").strip() if config.get("hashtag") else None
        timeline = str(config.get("timeline", "public"))
        if timeline not in _TIMELINES:
            raise ConfigError(f"mastodon: timeline must be public, local or remote, got {timeline!r}")
        token_env = None
        if config.get("token_env") is not None:
            token_env = env_name(
                KIND,
                config,
                "token_env",
                required=(
                    "the NAME of the environment variable holding the access token, "
                    'e.g. token_env = "MASTODON_TOKEN"'
                ),
                holds="the token",
            )
        return cls(
            instance,
            hashtag=hashtag or None,
            timeline=timeline,
            token_env=token_env,
            credentials=credentials,
            limit=whole_number(KIND, config.get("limit", 40), "limit", 1, 40),
            every=float(whole_number(KIND, config.get("every", 60), "every", 5, 86_400)),
            max_pages=whole_number(KIND, config.get("max_pages", 5), "max_pages", 1, 100),
            min_remaining=whole_number(KIND, config.get("min_remaining", 10), "min_remaining", 0, 10_000),
        )

    def _headers(self) -> dict[str, str]:
        """The bearer token when ``token_env`` is set (read at each fetch: an unset variable fails the
        source with the reason until the operator sets it and resumes)."""
        if self.token_env is None:
            return {}
        return {"Authorization": f"Bearer {secret(KIND, self.credentials, self.token_env, 'access token')}"}

    def fetch(self, cursor: str | None) -> Batch:
        """Read the statuses after ``cursor`` (the newest page when None), up to ``max_pages`` pages."""
        now = self.clock.now()
        envelopes: list[Envelope] = []
        quarantined: list[Quarantined] = []
        position = cursor
        wake: datetime | None = now + self.every
        for page in range(self.max_pages if cursor is not None else 1):
            params = dict(self.params, min_id=position) if position is not None else self.params
            try:
                response = self.http.get(self.endpoint, params=params, headers=self._headers())
            except Transient:
                if page == 0:
                    raise
                wake = None  # keep what was read; the failure shows again on the next call
                break
            count, newest = self._take(response, envelopes, quarantined)
            position = newest or position
            throttled = self._throttled(response, now)
            if throttled is not None:
                wake = throttled
                break
            if cursor is None or count < self.limit or newest is None:
                break  # caught up (or nowhere to go from a bad page): poll again later
        else:
            wake = None  # every page was full: more is waiting
        next_cursor = position if position != cursor else None
        return Batch(envelopes=envelopes, quarantined=quarantined, next_cursor=next_cursor, next_wake=wake)

    def close(self) -> None:
        self.http.close()

    def _take(
        self, response: httpx2.Response, envelopes: list[Envelope], quarantined: list[Quarantined]
    ) -> tuple[int, str | None]:
        """Map one page into the lists; return how many statuses it held and the cursor after it."""
        location = Location(source=str(response.request.url))
        body = response.content
        try:
            results = map_status_line(body, location, _OPTIONS)
        except BadRecord as exc:
            quarantined.append(quarantine(exc, body, FORMAT, location))
            return 0, _link_min_id(response)
        statuses = len({item.location.index for item in results})
        for item in results:
            if isinstance(item, Quarantined):
                quarantined.append(item)
            else:
                envelopes.append(item)
        return statuses, _link_min_id(response) or _newest_id(body)

    def _throttled(self, response: httpx2.Response, now: datetime) -> datetime | None:
        """``X-RateLimit-Reset`` when ``X-RateLimit-Remaining`` is low, else None."""
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = response.headers.get("X-RateLimit-Reset")
        try:
            low = remaining is not None and int(remaining) <= self.min_remaining
        except ValueError:
            return None
        if not low:
            return None
        try:
            return max(now, parse_iso(reset, field="X-RateLimit-Reset"))
        except BadRecord:
            return now + self.every


def _link_min_id(response: httpx2.Response) -> str | None:
    prev = response.links.get("prev", {}).get("url")
    if not prev:
        return None
    values = parse_qs(urlsplit(prev).query).get("min_id")
    return values[0] if values else None


def _newest_id(body: bytes) -> str | None:
    """The largest status ``id`` on a page (servers that send no Link header), by length then text."""
    page = orjson.loads(body)
    ids = [s["id"] for s in page if isinstance(s, dict) and isinstance(s.get("id"), str) and s["id"]]
    return max(ids, key=lambda i: (len(i), i)) if ids else None


def instance_address(kind: str, config: Mapping[str, Any]) -> str:
    """The instance's address from ``instance`` (or the ``url`` `sources add --url` gives): a bare
    http(s) origin, since the API paths are added to it (shared with the streaming connector)."""
    instance = str(config.get("instance") or config.get("url") or "")
    parts = urlsplit(instance)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
        raise ConfigError(
            f"{kind}: instance must be the instance's address, like https://mastodon.social, got {instance!r}"
        )
    return instance


register_with_credentials(
    KIND, MastodonConnector.from_config, accounts=no_accounts
)  # a hashtag or public timeline only
