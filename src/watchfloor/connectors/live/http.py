"""The one HTTP client connectors use: read-only by construction.

Connectors read public or licensed APIs; they never post, like, follow or message (README: read-only
public content, no personas). :class:`ReadOnlyHttp` wraps an ``httpx2.Client`` and refuses every
method but GET and HEAD, except POSTs to the exact URLs a connector declares as query or token
endpoints (TikTok's research query and OAuth token requests are POSTs). Tests pass a client whose
transport points at a loopback fake server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx2

from watchfloor.domain.errors import Permanent, Transient

__all__ = ["ReadOnlyHttp", "WriteRefused", "retry_after_seconds"]

USER_AGENT = "watchfloor (read-only research and safety monitoring)"


class WriteRefused(Permanent):
    """A connector tried a method or URL that could change something on a platform."""


def retry_after_seconds(response: httpx2.Response) -> float | None:
    """The ``Retry-After`` delay in seconds (a number of seconds; HTTP-dates are not used by platforms)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class ReadOnlyHttp:
    """GET/HEAD to anything, POST only to ``post_allowed`` URLs; maps HTTP failures to Transient/Permanent."""

    def __init__(self, client: httpx2.Client | None = None, *, post_allowed: Iterable[str] = ()) -> None:
        self.client = client or httpx2.Client(timeout=30.0, headers={"User-Agent": USER_AGENT})
        self.post_allowed = frozenset(post_allowed)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        method = method.upper()
        if method not in ("GET", "HEAD") and not (
            method == "POST" and url.split("?", 1)[0] in self.post_allowed
        ):
            raise WriteRefused(f"connectors are read-only: {method} {url} refused")
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx2.TimeoutException as exc:
            raise Transient(f"{method} {url}: timed out ({exc})") from None
        except httpx2.TransportError as exc:
            raise Transient(f"{method} {url}: connection failed ({exc})") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise Transient(
                f"{method} {url}: HTTP {response.status_code}", retry_after=retry_after_seconds(response)
            )
        if response.status_code in (401, 403, 404, 410):
            raise Permanent(f"{method} {url}: HTTP {response.status_code} {response.reason_phrase}")
        return response

    def get(
        self, url: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx2.Response:
        return self.request("GET", url, params=params, headers=headers)

    def close(self) -> None:
        self.client.close()
