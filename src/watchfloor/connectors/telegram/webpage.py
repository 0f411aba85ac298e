"""Pure mapper from the account-free web preview of a public channel (``t.me/s/<channel>``) to Posts.

The preview is an HTML page of message blocks (``div.tgme_widget_message`` with ``data-post=
"<username>/<id>"``), oldest first. :func:`parse_page` splits a page into blocks (each kept verbatim as
its raw payload); :func:`map_block` maps one block, so a stored block can be mapped again later.
Decisions, and what the preview cannot give:

* **Keys agree with the importers.** ``native_id`` is ``"<channel id>/<message id>"`` with the bare
  numeric channel id, as the Telethon and Desktop importers write it, so a message imported from a
  file and one seen live are one post. The page shows only the username; the numeric id comes from
  each block's ``data-view`` (base64url JSON whose ``c`` is the channel id negated: the @telegram
  channel, id 1005640892, shows ``c = -1005640892``). The connector remembers it, so a block without
  ``data-view`` still maps.
* **Author** is the channel (``channel<id>``, its username and title); a signed post's admin name
  (``tgme_widget_message_from_author``) names a person other than the account and stays in the raw.
* **Text** keeps line breaks (``<br>``); hashtags, @mentions and links come from the links Telegram
  draws in the text, never from regexes. A reply's quoted text is not the message's text.
* **Views** are abbreviated on the page ("1.2K", "436.6K", "3.1M"): stored as 1200, 436600, 3100000,
  so they are approximate above 999.
* **Albums** are one block on the page (the first message's id) holding every photo and video; they
  map to one post with all the media. The Telethon importer maps each album message on its own, so
  only the first one meets its live copy. The block's highest message id (from the ``?single`` links)
  is what the cursor moves to.
* **Replies** to the same channel become ``reply_to`` in the importers' key form. **Forwards** from a
  channel message become ``repost_of = "<username>/<message id>"``: the page gives the source's
  username, not its numeric id, so this is *not* the key of a stored post (the importer writes
  ``"<channel id>/<id>"``). Forwards from people carry a name only and stay in the raw.
* **Edits.** The page says "edited" but not when; ``edited_at`` stays empty (absent, not guessed) and
  the marker stays in the raw block.
* Service messages ("Channel created", pins, photo changes) are skipped with a reason; a block without
  a time is quarantined with its reason.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

from watchfloor.connectors.telegram.mapping import PLATFORM
from watchfloor.connectors.values import metrics_of, unique
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, MediaRef, Post
from watchfloor.domain.timeutil import parse_iso

__all__ = ["PREVIEW", "SOURCE_VERSION", "Block", "Page", "channel_id_of", "map_block", "parse_page"]

PREVIEW = "telegram-web"  # the Envelope format: one message block of a t.me/s page, as HTML
SOURCE_VERSION = "1"

_POST_REF = re.compile(r"^([A-Za-z][A-Za-z0-9_]{2,31})/(\d+)$")
_TME_LINK = re.compile(
    r"^https?://(?:t\.me|telegram\.me)/(?:s/)?([A-Za-z][A-Za-z0-9_]{2,31})(?:/(\d+))?/?(\?.*)?$"
)
_BACKGROUND = re.compile(r"background-image:\s*url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
_COUNT = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMB]?)$")
_SCALE = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


@dataclass(frozen=True, slots=True)
class Block:
    """One message block of a page: its HTML (the raw payload), its post reference and highest id."""

    raw: bytes
    username: str
    message_id: int
    top_id: int  # the highest message id the block shows (an album's last member)


@dataclass(frozen=True, slots=True)
class Page:
    """What a preview page holds: its message blocks, oldest first, and whether it is a channel page."""

    blocks: tuple[Block, ...]
    has_history: bool  # the page has the message-history container, even when it holds no message
    unreferenced: int  # message blocks without a usable data-post (markup drift)


def parse_page(body: bytes) -> Page:
    """Split a ``t.me/s`` page into message blocks; no interpretation beyond the block's reference."""
    tree = LexborHTMLParser(body.decode("utf-8", errors="replace"))
    blocks: list[Block] = []
    unreferenced = 0
    for node in tree.css("div.tgme_widget_message"):
        ref = _POST_REF.match((node.attributes.get("data-post") or "").strip())
        if ref is None:
            unreferenced += 1
            continue
        number = int(ref.group(2))
        wrap = (
            node.parent
            if node.parent is not None and _has_class(node.parent, "tgme_widget_message_wrap")
            else node
        )
        blocks.append(
            Block(
                raw=(wrap.html or "").encode(),
                username=ref.group(1),
                message_id=number,
                top_id=max([number, *_single_ids(node)]),
            )
        )
    history = tree.css_first(".tgme_channel_history") is not None
    return Page(blocks=tuple(blocks), has_history=history, unreferenced=unreferenced)


def channel_id_of(raw: bytes) -> str | None:
    """The numeric channel id in a block's ``data-view``, or None when it is missing or unreadable."""
    node = LexborHTMLParser(raw.decode("utf-8", errors="replace")).css_first("div.tgme_widget_message")
    return _view_channel(node.attributes.get("data-view") if node is not None else None)


def map_block(raw: bytes, location: Location, *, channel_id: str | None = None) -> Envelope:
    """Map one message block to an envelope (a post, or skipped with a reason); BadRecord if unusable.

    ``channel_id`` is the channel's numeric id when the caller already knows it; the block's own
    ``data-view`` wins when present (the caller checks that the two agree).
    """
    tree = LexborHTMLParser(raw.decode("utf-8", errors="replace"))
    message = tree.css_first("div.tgme_widget_message")
    ref = (
        _POST_REF.match((message.attributes.get("data-post") or "").strip()) if message is not None else None
    )
    if message is None or ref is None:
        raise BadRecord("no message block with a data-post reference", field="data-post")
    username, number = ref.group(1), int(ref.group(2))
    channel = _view_channel(message.attributes.get("data-view")) or channel_id
    if channel is None:
        raise BadRecord("no channel id: the block has no readable data-view", field="data-view")
    text_node = _text_node(message)
    if _has_class(message, "service_message"):
        what = " ".join((text_node.text() if text_node is not None else "").split())[:80]
        reason = f"service message ({what or 'no text'}), not a post"
        return Envelope(raw=raw, format=PREVIEW, location=location, skipped_reason=reason)
    text, hashtags, mentions, urls = _text(text_node)
    media, card = _media(message)
    if text is None and not media:
        reason = "message has neither text nor media the preview shows"
        return Envelope(raw=raw, format=PREVIEW, location=location, skipped_reason=reason)
    owner = message.css_first(".tgme_widget_message_owner_name")
    title = " ".join(owner.text().split()) if owner is not None else ""
    post = Post(
        platform=PLATFORM,
        native_id=f"{channel}/{number}",
        created_at=parse_iso(_time(message), field="time"),
        source=PREVIEW,
        source_version=SOURCE_VERSION,
        url=f"https://t.me/{username}/{number}",
        author_id=f"channel{channel}",
        author_handle=username,
        author_name=title or None,
        text=text,
        reply_to=_reference(message.css_first("a.tgme_widget_message_reply"), username, channel),
        repost_of=_reference(
            message.css_first("a.tgme_widget_message_forwarded_from_name"), username, channel
        ),
        conversation=username,
        media=media,
        hashtags=hashtags,
        mentions=mentions,
        urls=urls or ((card,) if card else ()),  # a preview's url only when the text had no link
        metrics=metrics_of(views=_views(message)),
    )
    return Envelope(raw=raw, format=PREVIEW, location=location, post=post)


def _has_class(node: LexborNode, name: str) -> bool:
    return name in (node.attributes.get("class") or "").split()


def _inside(node: LexborNode, ancestor_class: str, stop: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent != stop:
        if _has_class(parent, ancestor_class):
            return True
        parent = parent.parent
    return False


def _single_ids(message: LexborNode) -> list[int]:
    """Message ids of an album's members: their links end ``/<id>?single``."""
    ids: list[int] = []
    for anchor in message.css("a[href]"):
        found = _TME_LINK.match(anchor.attributes.get("href") or "")
        if found and found.group(2) and (found.group(3) or "").startswith("?single"):
            ids.append(int(found.group(2)))
    return ids


def _view_channel(value: str | None) -> str | None:
    """Decode ``data-view`` (base64url JSON, unpadded) and return ``abs(c)`` as text."""
    if not value:
        return None
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    raw_id = decoded.get("c") if isinstance(decoded, dict) else None
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
        return None
    text = str(raw_id).strip().lstrip("-")
    return text if text.isdigit() and int(text) > 0 else None


def _text_node(message: LexborNode) -> LexborNode | None:
    """The message's own text: the outermost ``js-message_text`` outside a reply's quote."""
    for selector in (".js-message_text", ".tgme_widget_message_text"):
        for node in message.css(selector):
            if not _inside(node, "tgme_widget_message_reply", message):
                return node
    return None


def _text(node: LexborNode | None) -> tuple[str | None, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Text with line breaks, and the hashtags, mentions and links Telegram drew in it."""
    if node is None:
        return None, (), (), ()
    hashtags: list[str] = []
    mentions: list[str] = []
    urls: list[str] = []
    for anchor in node.css("a[href]"):
        href = (anchor.attributes.get("href") or "").strip()
        label = anchor.text().strip()
        if href.startswith("?q=") and label.startswith("#"):
            hashtags.append(label[1:])
        elif href.startswith("?q="):
            continue  # a cashtag ($TICKER) search link: neither a link nor a hashtag
        elif label.startswith("@") and _TME_LINK.match(href):
            mentions.append(label[1:])
        elif href.startswith(("http://", "https://")):
            urls.append(href)
    for br in node.css("br"):
        br.replace_with("\n")
    text = node.text(deep=True).strip()
    return text or None, unique(hashtags), unique(mentions), unique(urls)


def _background(node: LexborNode | None) -> str | None:
    found = _BACKGROUND.search(node.attributes.get("style") or "") if node is not None else None
    if found is None:
        return None
    url = found.group(1).strip()
    return "https:" + url if url.startswith("//") else url


def _media(message: LexborNode) -> tuple[tuple[MediaRef, ...], str | None]:
    """Photos, videos, documents, voice notes and stickers in page order, and a link preview's url."""
    refs: list[MediaRef] = []
    for node in message.css(
        "a.tgme_widget_message_photo_wrap, a.tgme_widget_message_video_player, "
        ".tgme_widget_message_roundvideo_player, .tgme_widget_message_document, "
        "audio.tgme_widget_message_voice, .tgme_widget_message_sticker, .tgme_widget_message_poll"
    ):
        if _inside(node, "tgme_widget_message_reply", message):
            continue  # the quoted message's thumbnail
        if _has_class(node, "tgme_widget_message_photo_wrap"):
            refs.append(MediaRef(kind="image", url=_background(node)))
        elif _has_class(node, "tgme_widget_message_video_player") or _has_class(
            node, "tgme_widget_message_roundvideo_player"
        ):
            video = node.css_first("video[src]")
            thumb = _background(
                node.css_first(".tgme_widget_message_video_thumb, .tgme_widget_message_roundvideo_thumb")
            )
            refs.append(
                MediaRef(
                    kind="video",
                    url=video.attributes.get("src") if video is not None else None,
                    preview_url=thumb,
                )
            )
        elif _has_class(node, "tgme_widget_message_document"):
            refs.append(MediaRef(kind="document"))
        elif _has_class(node, "tgme_widget_message_voice"):
            refs.append(MediaRef(kind="audio", url=node.attributes.get("src") or None))
        elif _has_class(node, "tgme_widget_message_sticker"):
            refs.append(MediaRef(kind="image", url=node.attributes.get("src") or _background(node)))
        else:
            refs.append(MediaRef(kind="other"))  # a poll: its question and options stay in the raw
    if not refs and message.css_first(".message_media_not_supported") is not None:
        refs.append(MediaRef(kind="other"))  # media the preview does not show (a game, a paid post)
    preview = message.css_first("a.tgme_widget_message_link_preview[href]")
    card = preview.attributes.get("href") if preview is not None else None
    if card:
        refs.append(MediaRef(kind="link_card", url=card))
    return tuple(refs), card or None


def _time(message: LexborNode) -> str | None:
    """The message time: the footer's ``<time datetime>`` (video durations are ``<time>`` too)."""
    node = message.css_first(".tgme_widget_message_date time[datetime]")
    if node is None:
        node = next(
            (
                t
                for t in message.css("time[datetime]")
                if not _inside(t, "tgme_widget_message_video_player", message)
            ),
            None,
        )
    if node is None:
        raise BadRecord("the message block has no time", field="time")
    return node.attributes.get("datetime")


def _views(message: LexborNode) -> int | None:
    node = message.css_first(".tgme_widget_message_views")
    return parse_count(node.text()) if node is not None else None


def parse_count(text: str) -> int | None:
    """An abbreviated count as the preview shows it ("842", "1.2K", "4.85K", "3.1M") as a number."""
    found = _COUNT.match(text.strip().replace(",", "").replace("\u00a0", "").upper())
    if found is None:
        return None
    try:
        return int(Decimal(found.group(1)) * _SCALE[found.group(2)])
    except InvalidOperation:
        return None


def _reference(node: LexborNode | None, username: str, channel: str) -> str | None:
    """A reply or forward link ``t.me/<name>/<id>`` as a post reference (see the module docstring)."""
    found = _TME_LINK.match((node.attributes.get("href") or "").strip()) if node is not None else None
    if found is None or not found.group(2):
        return None  # no link (a forward from a person), or a link to an account rather than a message
    name, number = found.group(1), found.group(2)
    return f"{channel}/{number}" if name.lower() == username.lower() else f"{name}/{number}"
