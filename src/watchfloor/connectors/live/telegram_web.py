"""Telegram public-channel live connector: poll the account-free web preview ``t.me/s/<channel>``.

Each message block is mapped by :func:`~watchfloor.connectors.telegram.webpage.map_block`, keyed like the
Telethon and Desktop importers (``"<channel id>/<message id>"``), so a message imported from a file
and seen live are one post.

Why it is built the way it is, and its limits:

* **No account, no credentials.** The preview is what any browser sees of a public channel whose owner
  has not turned it off. It is rate limited by Telegram, and its markup changes without notice: a page
  whose markup no longer holds message blocks fails the source (Permanent, "t.me markup changed")
  instead of silently collecting nothing. A channel page with an empty history is fine (nothing new).
* **Forward paging.** The first fetch reads the newest page (about 20 messages): collection starts now.
  The cursor keeps the highest message id seen (an album's last member included); every later fetch
  reads ``?after=<id>``, the messages right after it, oldest first, and follows with the new highest
  id up to ``max_pages`` pages, so a burst between two polls is read in full over as many fetches as it
  takes (``?before=`` pages backwards and could skip a gap). When ``max_pages`` pages were all new,
  the runner is told to call again at once.
* **The channel id.** The numeric id the keys need comes from each block's ``data-view``; the cursor
  keeps it, so blocks without it still map, and a block naming a *different* channel id means the
  username now belongs to another channel: the source fails rather than mixing two channels' posts.
* **Faults.** 429 and 5xx are :class:`~watchfloor.domain.errors.Transient` (``Retry-After`` honoured);
  after some pages were read, those are returned first. A redirect away from ``/s/`` means the channel
  has no public preview (it does not exist, is private, or the owner disabled it): Permanent. A block
  that cannot be mapped is quarantined alone; service messages are skipped with the reason.
* **A channel is an account**: :func:`named_accounts` names it, and the source collects only while a
  watch is in force for the channel's username (``services/collect.py``).
* Telethon with an operator-supplied user session would read more (exact view counts, edit times,
  forwards' source ids) but needs a Telegram account; it is not built (docs/connectors.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx2
import msgspec

from watchfloor.connectors.base import quarantine
from watchfloor.connectors.live.contract import Batch
from watchfloor.connectors.live.http import ReadOnlyHttp
from watchfloor.connectors.live.registry import Account, register
from watchfloor.connectors.live.settings import http_address, known_settings, whole_number
from watchfloor.connectors.telegram.mapping import PLATFORM
from watchfloor.connectors.telegram.webpage import PREVIEW, Block, channel_id_of, map_block, parse_page
from watchfloor.domain.clock import Clock, SystemClock
from watchfloor.domain.errors import BadRecord, ConfigError, Permanent, Transient
from watchfloor.domain.post import Envelope, Location, Quarantined

__all__ = ["TelegramWebConnector", "named_accounts"]

KIND = "telegram-web"
_KNOWN = ("channel", "url", "every", "base_url", "max_pages")
_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?([^/?#]+)(?:[/?#].*)?$")


class _Cursor(msgspec.Struct, kw_only=True, omit_defaults=True):
    last: int | None = None  # the highest message id read
    channel_id: str | None = None  # the numeric channel id, once a block has shown it


class TelegramWebConnector:
    """The new messages of one public channel, from its web preview (see the module docstring)."""

    name = KIND
    version = "1"

    def __init__(
        self,
        channel: str,
        *,
        every: float = 300.0,
        base_url: str = "https://t.me",
        max_pages: int = 5,
        http: ReadOnlyHttp | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.channel = channel
        self.every = timedelta(seconds=every)
        self.page_url = f"{base_url.rstrip('/')}/s/{channel}"
        self.max_pages = max_pages
        self.http = http or ReadOnlyHttp()
        self.clock = clock or SystemClock()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TelegramWebConnector:
        """Build from a source's configuration; ConfigError names the bad key and what it takes."""
        known_settings(KIND, config, _KNOWN)
        base = http_address(KIND, config.get("base_url", "https://t.me"), "base_url")
        return cls(
            _channel_setting(config),
            every=float(whole_number(KIND, config.get("every", 300), "every", 60, 86_400)),
            base_url=base,
            max_pages=whole_number(KIND, config.get("max_pages", 5), "max_pages", 1, 50),
        )

    def fetch(self, cursor: str | None) -> Batch:
        """Read the channel's messages after ``cursor`` (the newest page the first time)."""
        now = self.clock.now()
        state = _decode(cursor)
        last, channel_id = state.last, state.channel_id
        envelopes: list[Envelope] = []
        quarantined: list[Quarantined] = []
        wake: datetime | None = now + self.every
        for page_number in range(self.max_pages if last is not None else 1):
            params = {"after": str(last)} if last is not None else None
            try:
                response = self._get(params)
            except Transient as exc:
                if page_number == 0:
                    raise
                wake = now + (timedelta(seconds=exc.retry_after) if exc.retry_after else self.every)
                break
            url = str(response.request.url)
            page = parse_page(response.content)
            if not page.blocks:
                if page.has_history and not page.unreferenced:
                    break  # an empty channel, or nothing after ``last``
                raise Permanent(
                    f"telegram-web: t.me markup changed: no message blocks found on {url} "
                    f"({page.unreferenced} block(s) without a data-post reference); collection stopped "
                    "rather than silently collecting nothing; update watchfloor, or see docs/connectors.md"
                )
            fresh = sorted(
                (b for b in page.blocks if last is None or b.top_id > last), key=lambda b: b.message_id
            )
            if not fresh:
                break
            for block in fresh:
                channel_id = self._channel(block, channel_id)
                location = Location(source=url, index=page.blocks.index(block))
                try:
                    envelopes.append(map_block(block.raw, location, channel_id=channel_id))
                except BadRecord as exc:
                    quarantined.append(quarantine(exc, block.raw, PREVIEW, location))
            last = max([last or 0, *(b.top_id for b in fresh)])
            if page_number == self.max_pages - 1:
                wake = None  # every page was new: there may be more waiting
        state_after = _Cursor(last=last, channel_id=channel_id)
        changed = state_after != state
        return Batch(
            envelopes=envelopes,
            quarantined=quarantined,
            next_cursor=msgspec.json.encode(state_after).decode() if changed else None,
            next_wake=wake,
        )

    def close(self) -> None:
        self.http.close()

    def _get(self, params: dict[str, str] | None) -> httpx2.Response:
        response = self.http.get(self.page_url, params=params)
        if 300 <= response.status_code < 400:
            where = response.headers.get("Location", "elsewhere")
            raise Permanent(
                f"telegram-web: {self.page_url} redirected to {where}: the channel {self.channel!r} has no "
                "public web preview (it does not exist, is private, or its owner turned the preview off)"
            )
        if response.status_code != 200:
            raise Permanent(f"telegram-web: GET {self.page_url}: HTTP {response.status_code}")
        return response

    def _channel(self, block: Block, known: str | None) -> str | None:
        """The channel id this block shows (or the one known); Permanent when the two differ."""
        if block.username.lower() != self.channel.lower():
            raise Permanent(
                f"telegram-web: the page of {self.channel!r} holds a message of {block.username!r}: the "
                "channel was renamed; add a source with its new username"
            )
        shown = channel_id_of(block.raw)
        if shown is not None and known is not None and shown != known:
            raise Permanent(
                f"telegram-web: the username {self.channel!r} now belongs to another channel (id {shown}, "
                f"was {known}); collection stopped so two channels' posts are not mixed"
            )
        return shown or known


def channel_name(value: object) -> str:
    """A channel username from ``name``, ``@name`` or a ``t.me/name`` / ``t.me/s/name`` link."""
    text = str(value or "").strip()
    if not text:
        raise ConfigError('telegram-web: channel is required, the public username, e.g. channel = "durov"')
    link = _LINK.match(text)
    name = link.group(1) if link else text.removeprefix("@")
    if name.startswith(("+", "joinchat")):
        raise ConfigError(
            f"telegram-web: {text!r} is an invite link to a private chat; only public channels have a preview"
        )
    if not _CHANNEL.match(name):
        raise ConfigError(
            f"telegram-web: {text!r} is not a public channel username (4-32 letters, digits or _, "
            "starting with a letter)"
        )
    return name


def _decode(cursor: str | None) -> _Cursor:
    if not cursor:
        return _Cursor()
    try:
        return msgspec.json.decode(cursor, type=_Cursor)
    except msgspec.DecodeError:
        return _Cursor()  # not ours (another kind's cursor): start afresh from the newest page


def _channel_setting(config: Mapping[str, Any]) -> str:
    return channel_name(config.get("channel") or config.get("url"))


def named_accounts(config: Mapping[str, Any]) -> tuple[Account, ...]:
    """The channel read, by username: a public channel is an account, so it needs a watch in force."""
    return ((PLATFORM, _channel_setting(config)),)


register(KIND, TelegramWebConnector.from_config, accounts=named_accounts)
