"""Map one row of a CrowdTangle CSV export (Facebook Pages or Groups, Instagram) to a Post.

CrowdTangle closed in August 2024, but its CSVs remain in many archives. Times carry a time-zone
abbreviation ("2021-07-06 16:45:20 EDT") resolved by :mod:`.timezones`; counts carry thousands
separators ("1,234"). What is mapped:

* platform: ``--platform`` if given, else the host of the row's ``URL`` (facebook.com or
  instagram.com), else the header (an ``Account`` column and no ``Page Name``/``Group Name`` is an
  Instagram export), else "facebook".
* native_id: Facebook posts get Facebook's own ``{owner id}_{post id}`` form from ``Facebook Id``
  and the post id in the URL (``/posts/…``, ``/videos/…``, ``/photos/…/{id}``, ``permalink``,
  ``story_fbid``, ``fbid``, ``?v=``); without ``Facebook Id`` the URL's post id alone. Instagram posts
  get the shortcode from ``/p/``, ``/reel/`` or ``/tv/`` URLs, as the Zeeschuimer importer does.
* text: ``Message`` (Facebook) or ``Description`` (the caption, Instagram); title: ``Link Text``
  (the shared link's headline) or ``Title``. ``Image Text`` (CrowdTangle's OCR of the post's image) is
  the post's image text, searched like text and asked for alone with ``image:``; link ``Description``
  stays raw.
* author: the Page (``Page Name``, ``User Name``, ``Facebook Id``) or Instagram ``Account``. A Group
  is the place a post appeared, not its author, so group posts get ``conversation`` and no author.
* metrics: Likes, Comments, Shares, Post Views (or Views). Reactions, Total Interactions and the
  Overperforming Score have no Post field and stay in the raw row.

Not mapped on purpose: ``Page Admin Top Country`` says where a page's administrators are. Storing it
would attach a country to the people behind an account, which DESIGN.md rules out (no person
location, no nationality inference). Page-level attributes (category, followers) stay raw as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watchfloor.connectors.base import MapOptions, MapResult
from watchfloor.connectors.crowdtangle.timezones import localize
from watchfloor.connectors.generic_csv.cells import (
    cell,
    decode_row,
    http_or_none,
    parse_count,
    parse_native_id,
    split_urls,
    strip_at,
)
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, MediaKind, MediaRef, Metrics, Post
from watchfloor.domain.timeutil import ensure_plausible

FORMAT_NAME = "crowdtangle-csv"
SOURCE_VERSION = "1"

POST_CREATED = "Post Created"
_CREATED = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*(\S+)?")
_FB_POST_ID = (
    re.compile(r"/posts/([\w.-]+)"),
    re.compile(r"/videos/(?:[^/?#]+/)?(\d+)"),
    re.compile(r"/photos/[^/?#]+/(\d+)"),
    re.compile(r"/permalink/(\d+)"),
    re.compile(r"/reel/(\d+)"),
    re.compile(r"[?&]story_fbid=(\w+)"),
    re.compile(r"[?&]fbid=(\d+)"),
    re.compile(r"[?&]v=(\d+)"),
)
_IG_SHORTCODE = re.compile(r"/(?:p|reel|tv)/([\w-]+)")
_TYPE_KINDS: Mapping[str, MediaKind] = {
    "photo": "image",
    "album": "image",
    "carousel": "image",
    "video": "video",
    "native video": "video",
    "live video": "video",
    "live video complete": "video",
    "live video scheduled": "video",
    "igtv": "video",
    "reel": "video",
    "youtube": "video",
    "vine": "video",
    "link": "link_card",
}


def map_crowdtangle_row(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map one CrowdTangle CSV row (a JSON object {header: cell}) to an envelope holding its Post."""
    row = decode_row(raw)
    url = cell(row, "URL")
    platform = _platform(row, url, options)
    created_at = _post_created(row, options)
    group = cell(row, "Group Name")
    is_instagram = platform == "instagram"
    owner_id = cell(row, "Facebook Id")
    link = cell(row, "Link")
    # Total Interactions has no Post field, but a garbled total means the row's counts are suspect.
    parse_count(cell(row, "Total Interactions"), field="Total Interactions")
    post = Post(
        platform=platform,
        native_id=_native_id(url, owner_id, instagram=is_instagram),
        created_at=created_at,
        source=FORMAT_NAME,
        source_version=SOURCE_VERSION,
        url=http_or_none(url),
        author_id=None if group else _id_or_none(owner_id),
        author_handle=None if group else strip_at(cell(row, "User Name")),
        author_name=None if group else cell(row, "Page Name") or cell(row, "Account"),
        title=cell(row, "Link Text") or cell(row, "Title"),
        text=cell(row, "Description") if is_instagram else cell(row, "Message"),
        image_text=cell(row, "Image Text"),
        conversation=group,
        urls=tuple(u for u in split_urls(link, cell(row, "Final Link")) if u != url),
        media=_media(cell(row, "Type"), link, cell(row, "Photo")),
        metrics=_metrics(row),
    )
    return [Envelope(raw=raw, format=FORMAT_NAME, location=location, post=post)]


def _platform(row: Mapping[str, object], url: str | None, options: MapOptions) -> str:
    if options.platform:
        return options.platform.strip().lower()
    host = (urlparse(url).hostname or "").lower() if url else ""
    if host == "instagram.com" or host.endswith(".instagram.com"):
        return "instagram"
    if host.endswith(("facebook.com", "fb.com", "fb.watch")):
        return "facebook"
    if "Account" in row and "Page Name" not in row and "Group Name" not in row:
        return "instagram"
    return "facebook"


def _post_created(row: Mapping[str, object], options: MapOptions) -> datetime:
    text = cell(row, POST_CREATED)
    if text is None:
        return _from_date_and_time(row, options)
    match = _CREATED.fullmatch(text)
    if match is None:
        raise BadRecord(
            f"not a CrowdTangle time: {text!r} (expected 2021-07-06 16:45:20 EDT)", field=POST_CREATED
        )
    *parts, abbreviation = match.groups()
    year, month, day, hour, minute, second = (int(p or 0) for p in parts)
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=UTC).replace(tzinfo=None)
    except ValueError:
        raise BadRecord(f"impossible date or time: {text!r}", field=POST_CREATED) from None
    if abbreviation is None:
        zone = _default_zone(options, reason=f"{text!r} has no time-zone abbreviation")
        return ensure_plausible(local.replace(tzinfo=zone), field=POST_CREATED)
    return ensure_plausible(localize(local, abbreviation, field=POST_CREATED), field=POST_CREATED)


def _from_date_and_time(row: Mapping[str, object], options: MapOptions) -> datetime:
    # "Post Created Date"/"Post Created Time" carry no zone; use them only with a zone the user chose.
    day, clock = cell(row, "Post Created Date"), cell(row, "Post Created Time")
    if day is None or clock is None:
        raise BadRecord("the post has no creation time", field=POST_CREATED)
    zone = _default_zone(
        options, reason="Post Created is empty and Post Created Date/Time carry no time zone"
    )
    try:
        local = datetime.fromisoformat(f"{day} {clock}")
    except ValueError:
        raise BadRecord(f"not a date and time: {day!r} {clock!r}", field="Post Created Date") from None
    return ensure_plausible(local.replace(tzinfo=zone), field="Post Created Date")


def _default_zone(options: MapOptions, *, reason: str) -> tzinfo:
    if not options.default_timezone:
        raise BadRecord(f"{reason}; give the export's time zone as the default time zone", field=POST_CREATED)
    try:
        return ZoneInfo(options.default_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRecord(
            f"unknown time zone {options.default_timezone!r}; give an IANA name such as America/New_York",
            field="default_timezone",
        ) from None


def _native_id(url: str | None, owner_id: str | None, *, instagram: bool) -> str:
    if not url:
        raise BadRecord("the post has no URL, so its id cannot be derived", field="URL")
    patterns = (_IG_SHORTCODE,) if instagram else _FB_POST_ID
    for pattern in patterns:
        match = pattern.search(url)
        if match:
            post_id = match.group(1)
            break
    else:
        raise BadRecord(f"cannot find a post id in {url!r}", field="URL")
    if instagram or owner_id is None:
        return post_id
    owner = parse_native_id(owner_id, field="Facebook Id")
    return f"{owner}_{post_id}"


def _metrics(row: Mapping[str, object]) -> Metrics | None:
    views = parse_count(cell(row, "Post Views"), field="Post Views")
    if views is None:
        views = parse_count(cell(row, "Views"), field="Views")
    counts = {
        "likes": parse_count(cell(row, "Likes"), field="Likes"),
        "replies": parse_count(cell(row, "Comments"), field="Comments"),
        "reposts": parse_count(cell(row, "Shares"), field="Shares"),
        "views": views,
    }
    given = {name: value for name, value in counts.items() if value is not None}
    return Metrics(**given) if given else None


def _media(post_type: str | None, link: str | None, photo: str | None) -> tuple[MediaRef, ...]:
    kind = _TYPE_KINDS.get((post_type or "").strip().lower())
    if kind is None:
        return ()
    if kind == "link_card":
        return (MediaRef(kind=kind, url=link),) if link else ()
    return (MediaRef(kind=kind, url=photo if kind == "image" else None),)


def _id_or_none(value: str | None) -> str | None:
    return parse_native_id(value, field="Facebook Id") if value else None
