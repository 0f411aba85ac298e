"""The settings of a TikTok Research API source, the query they make, and how API refusals are read.

Settings (see docs/connectors.md): ``keywords``, ``hashtags`` and ``usernames`` are OR-ed (a video
matching any of them), ``region_codes`` restricts the result (AND) and ``exclude_keywords`` removes
videos (NOT): the API's ``{"and": [...], "or": [...], "not": [...]}`` conditions, each an ``IN`` over
the given values. ``region_code`` filters on the creator's account country *at the platform*; it is
never requested or stored (see :mod:`watchfloor.connectors.tiktok.mapping`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx2
import orjson

from watchfloor.connectors.live.http import retry_after_seconds
from watchfloor.connectors.live.registry import Account
from watchfloor.connectors.live.settings import (
    approved_env_name,
    flag,
    http_address,
    known_settings,
    refuse_secrets,
    whole_number,
)
from watchfloor.connectors.tiktok.mapping import PLATFORM
from watchfloor.domain.errors import ConfigError, Permanent

__all__ = ["KIND", "QueryConfig", "TikTokRefusal", "body_of", "named_accounts", "refusal_hook"]

KIND = "tiktok-research"
_KNOWN = (
    "keywords", "hashtags", "usernames", "region_codes", "exclude_keywords", "since", "voice_to_text",
    "client_key_env", "client_secret_env", "api_base", "every", "max_pages", "max_count",
    "daily_requests", "reserve", "lookback_days",
)  # fmt: skip
_SECRETS = ("client_key", "client_secret", "secret", "token", "access_token", "key")
_REGION = re.compile(r"^[A-Z]{2}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.]{1,24}$")


class TikTokRefusal(Permanent):
    """An HTTP 4xx from the API with its error code (``invalid_params``, ``rate_limit_exceeded``…)."""

    def __init__(self, message: str, *, status: int, code: str | None, retry_after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


def refusal_hook(response: httpx2.Response) -> None:
    """Read 4xx bodies (the error code is in them) before ReadOnlyHttp reduces them to a status."""
    if not 400 <= response.status_code < 500:
        return
    response.read()
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        doc = None
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict):  # research endpoints: {"error": {"code", "message", "log_id"}}
        code, message = error.get("code"), error.get("message")
    else:  # the OAuth endpoint: {"error": "invalid_client", "error_description": ...}
        code = error
        message = doc.get("error_description") if isinstance(doc, dict) else None
    code = code if isinstance(code, str) and code else None
    raise TikTokRefusal(
        f"{response.request.method} {response.request.url.path}: HTTP {response.status_code} "
        f"({code or 'no error code'}): {message or response.reason_phrase}",
        status=response.status_code,
        code=code,
        retry_after=retry_after_seconds(response),
    )


@dataclass(frozen=True, slots=True)
class QueryConfig:
    """A validated TikTok Research source configuration."""

    client_key_env: str
    client_secret_env: str
    keywords: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    usernames: tuple[str, ...] = ()
    region_codes: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    since: date | None = None  # None: a week before the first fetch
    voice_to_text: bool = False
    api_base: str = "https://open.tiktokapis.com"
    every: float = 3600.0
    max_pages: int = 10
    max_count: int = 100
    daily_requests: int = 1000
    reserve: int = 50
    lookback_days: int = 2

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> QueryConfig:
        """Validate a source's settings; ConfigError names the bad key and what it takes."""
        refuse_secrets(
            KIND,
            config,
            _SECRETS,
            "put the value in an environment variable of the runner and give its name, e.g. "
            'client_secret_env = "TIKTOK_CLIENT_SECRET"',
        )
        known_settings(KIND, config, _KNOWN)
        keywords = _list(config, "keywords")
        hashtags = tuple(h.removeprefix("#") for h in _list(config, "hashtags"))
        usernames = tuple(u.removeprefix("@") for u in _list(config, "usernames"))
        if not (keywords or hashtags or usernames):
            raise ConfigError(
                'tiktok-research: give keywords, hashtags (or usernames), e.g. keywords = ["flood"]; '
                "a query on region codes alone would collect everything posted in a country"
            )
        bad = [u for u in usernames if not _USERNAME.match(u)]
        if bad:
            raise ConfigError(f"tiktok-research: {bad[0]!r} is not a TikTok username")
        regions = tuple(r.upper() for r in _list(config, "region_codes"))
        bad = [r for r in regions if not _REGION.match(r)]
        if bad:
            raise ConfigError(f"tiktok-research: region_codes are two-letter country codes, got {bad[0]!r}")
        voice = flag(KIND, config.get("voice_to_text", False), "voice_to_text")
        daily = whole_number(KIND, config.get("daily_requests", 1000), "daily_requests", 1, 1_000_000)
        base = http_address(KIND, config.get("api_base", "https://open.tiktokapis.com"), "api_base")
        return cls(
            client_key_env=_env_name(config, "client_key_env"),
            client_secret_env=_env_name(config, "client_secret_env"),
            keywords=keywords,
            hashtags=hashtags,
            usernames=usernames,
            region_codes=regions,
            exclude_keywords=_list(config, "exclude_keywords"),
            since=_since(config.get("since")),
            voice_to_text=voice,
            api_base=base,
            every=float(whole_number(KIND, config.get("every", 3600), "every", 60, 86_400)),
            max_pages=whole_number(KIND, config.get("max_pages", 10), "max_pages", 1, 1000),
            max_count=whole_number(KIND, config.get("max_count", 100), "max_count", 1, 100),
            daily_requests=daily,
            reserve=whole_number(KIND, config.get("reserve", 50), "reserve", 0, daily - 1),
            lookback_days=whole_number(KIND, config.get("lookback_days", 2), "lookback_days", 0, 29),
        )


def named_accounts(config: Mapping[str, Any]) -> tuple[Account, ...]:
    """The accounts a ``usernames`` condition collects from (each needs a watch in force); keywords,
    hashtags and region codes target no one."""
    return tuple((PLATFORM, username) for username in QueryConfig.from_config(config).usernames)


def body_of(query: QueryConfig, *, start: str, end: str) -> dict[str, Any]:
    """The JSON body of a video query over ``start``..``end`` (YYYYMMDD, inclusive), first page."""

    def condition(field: str, values: tuple[str, ...]) -> dict[str, Any]:
        return {"operation": "IN", "field_name": field, "field_values": list(values)}

    any_of = [
        condition(field, values)
        for field, values in (
            ("keyword", query.keywords),
            ("hashtag_name", query.hashtags),
            ("username", query.usernames),
        )
        if values
    ]
    conditions: dict[str, Any] = {"or": any_of}
    if query.region_codes:
        conditions["and"] = [condition("region_code", query.region_codes)]
    if query.exclude_keywords:
        conditions["not"] = [condition("keyword", query.exclude_keywords)]
    return {"query": conditions, "start_date": start, "end_date": end, "max_count": query.max_count}


def _list(config: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = config.get(key)
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f'tiktok-research: {key} must be a list of words, e.g. {key} = ["flood", "storm"]')
    found: list[str] = []
    for item in items:
        text = item.strip()
        if text and text not in found:
            found.append(text)
    return tuple(found)


def _since(value: object) -> date | None:
    if value is None or value == "":
        return None
    text = str(value).strip().replace("-", "")
    try:
        return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise ConfigError(f"tiktok-research: since must be a date like 2026-11-01, got {value!r}") from None


def _env_name(config: Mapping[str, Any], key: str) -> str:
    return approved_env_name(
        KIND, config, key, prefix="TIKTOK", approval="Research API access needs TikTok's approval"
    )
