"""Turn the platform names 4CAT and Zeeschuimer write into watchfloor's platform names.

Zeeschuimer names a capture by the site's domain ("tiktok.com", "x.com") and 4CAT names datasets by
data source ("twitter-import", "instagram-search"). watchfloor keys posts by ``(platform, native_id)``,
so the same platform must get one name whichever tool collected it, or duplicates slip through.
"""

from __future__ import annotations

_ALIASES = {
    "x": "twitter",
    "x.com": "twitter",
    "twitter.com": "twitter",
    "twitter": "twitter",
    "tiktok-urls": "tiktok",
    "tiktok-comments": "tiktok",
    "instagram-comments": "instagram",
    "threads.com": "threads",
    "threads.net": "threads",
    "xiaohongshu": "rednote",
    "truth": "truthsocial",
    "9gag": "9gag",
    "ninegag": "9gag",
}

_SUFFIXES = ("-search", "-import", "-comments")
_DOMAIN_ENDINGS = (".com", ".net", ".org", ".social", ".gg")


def normalise_platform(name: str) -> str:
    """Return watchfloor's name for a 4CAT data source or Zeeschuimer module id ("x.com" -> "twitter")."""
    key = name.strip().lower().removeprefix("www.")
    if key in _ALIASES:
        return _ALIASES[key]
    for suffix in _SUFFIXES:
        key = key.removesuffix(suffix)
    for ending in _DOMAIN_ENDINGS:
        key = key.removesuffix(ending)
    return _ALIASES.get(key, key)
