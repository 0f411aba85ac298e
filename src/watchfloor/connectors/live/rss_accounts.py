"""Which feed addresses are one person's account: the RSS connector's :func:`named_accounts`.

A feed is usually a site (a newsroom, an agency, a blog), which targets no one. Some platforms also
publish an account's posts as a feed, and reading that feed is watching the account by another road,
so it needs a watch in force like a Telegram channel or Jetstream ``dids`` do. The shapes recognised,
each on the platform whose account it is:

* YouTube: ``youtube.com/feeds/videos.xml?channel_id=UC...`` (or ``?user=NAME``, or an uploads
  playlist ``?playlist_id=UU...``, which is the channel ``UC...``);
* Reddit: ``reddit.com/user/NAME/...`` or ``/u/NAME/...``, and a profile subreddit ``/r/u_NAME``;
* Bluesky: ``bsky.app/profile/HANDLE-OR-DID/rss``;
* Mastodon and other fediverse servers: ``https://HOST/@NAME.rss`` and ``/users/NAME.rss`` (the
  account ``NAME@HOST``), also with ``/tagged/TAG`` after the name.

Limits, candidly: other feeds of one person's posts (a bridge such as RSSHub, a personal blog) are not
recognised; following them is the operator's responsibility (docs/connectors.md).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

__all__ = ["feed_account"]

_YOUTUBE = frozenset({"youtube.com", "m.youtube.com"})


def _host(netloc: str) -> str:
    host = netloc.rpartition("@")[2].partition(":")[0].casefold()
    return host.removeprefix("www.")


def feed_account(url: str) -> tuple[str, str] | None:
    """``(platform, account)`` when ``url`` is the feed of one account (see the module docstring)."""
    parts = urlsplit(url)
    host = _host(parts.netloc)
    path = [p for p in parts.path.split("/") if p]
    if host in _YOUTUBE and parts.path.rstrip("/") == "/feeds/videos.xml":
        query = {k: v[-1].strip() for k, v in parse_qs(parts.query).items() if v and v[-1].strip()}
        if "channel_id" in query:
            return ("youtube", query["channel_id"])
        if "user" in query:
            return ("youtube", query["user"])
        playlist = query.get("playlist_id", "")
        return ("youtube", "UC" + playlist[2:]) if playlist.startswith("UU") else None
    if host == "reddit.com" or host.endswith(".reddit.com"):
        if len(path) >= 2 and path[0].casefold() in ("user", "u"):
            return ("reddit", path[1].removesuffix(".rss"))
        if len(path) >= 2 and path[0].casefold() == "r" and path[1].casefold().startswith("u_"):
            return ("reddit", path[1][2:].removesuffix(".rss"))
        return None
    if host == "bsky.app":
        return ("bluesky", path[1]) if len(path) >= 3 and path[0] == "profile" and path[2] == "rss" else None
    if path and path[-1].endswith(".rss"):
        name = path[0] if path[0].startswith("@") else None
        if len(path) == 2 and path[0] == "users":
            name = path[1]
        name = (name or "").removeprefix("@").removesuffix(".rss")
        return ("mastodon", f"{name}@{host}") if name and host else None
    return None
