"""Pure mapper from Telethon-style channel message JSON to Posts, plus helpers shared with Desktop exports.

The file is one JSON document: an array of messages, or ``{"chat": <Channel>, "messages": [...]}``
where ``chat`` is Telethon's ``Channel.to_dict()`` (it alone carries the public username, so only then
do posts get a ``t.me`` url). Each message may be Telethon's ``Message.to_dict()`` (``id``, ``peer_id``,
``message``, ``entities``, ``fwd_from``, …) or the simplified shape of the telegram-news-classifier
dataset (``message_id``, ``sender_id``, ``text``, ``date``, ``channel`` title). Decisions:

* **Keys.** ``native_id`` is ``"<channel id>/<message id>"`` with the bare channel id (the ``-100``
  prefix of "marked" ids removed), so Telethon, the dataset and Desktop exports agree on one message.
  ``author_id`` is ``"channel<id>"`` / ``"user<id>"``, the Desktop export's unambiguous spelling.
* **Author.** A channel post's author is the channel (its title as ``author_name``). ``post_author``,
  an admin's signature, is left in the raw: it names a person other than the account.
* **Text** is kept as given. The dataset stores Telethon's *markdown-rendered* ``Message.text``
  (``**bold**``, ``[label](url)``); without entities we cannot tell markup from literal asterisks.
* **Entities** use UTF-16 offsets; hashtags, @mentions and links come from them, never from regexes.
  A bare link such as ``example.org/x`` becomes ``http://example.org/x``, as Telegram opens it.
* Service messages and empty messages are skipped with a reason; a bad message is quarantined with its
  index while the rest of the file maps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchfloor.connectors.base import MapOptions, MapResult, decode_json, map_elements
from watchfloor.connectors.values import as_count, as_number, metrics_of, unique
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Geotag, Location, MediaKind, MediaRef, Metrics, Post
from watchfloor.domain.timeutil import parse_epoch, parse_iso

PLATFORM = "telegram"
MESSAGES = "telegram-messages"
SOURCE_VERSION = "1"

JSON = dict[str, Any]


def utf16_slice(text: str, offset: int, length: int) -> str | None:
    """Return the part of ``text`` at a UTF-16 ``offset``/``length``, or None if it is out of range.

    Telegram counts entity offsets in UTF-16 code units, so every character outside the Basic
    Multilingual Plane (most emoji) counts twice. A span that splits such a pair is invalid: None.
    """
    if offset < 0 or length <= 0:
        return None
    encoded = text.encode("utf-16-le", errors="surrogatepass")
    start, end = 2 * offset, 2 * (offset + length)
    if end > len(encoded):
        return None
    try:
        return encoded[start:end].decode("utf-16-le")
    except UnicodeDecodeError:
        return None


def bare_chat_id(value: object, *, field: str) -> str:
    """Return a chat id without the ``-100`` (channel) or ``-`` (basic group) marking, as a string."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRecord(f"expected a numeric chat id, got {type(value).__name__}", field=field)
    text = str(value).strip()
    if text.startswith("-100") and text[4:].isdigit():
        return text[4:]
    if text.startswith("-") and text[1:].isdigit():
        return text[1:]
    if text.isdigit():
        return text
    raise BadRecord(f"expected a numeric chat id, got {value!r}", field=field)


def message_id(value: object, *, field: str) -> int:
    """Return a positive message id from an int or a digit string, or raise BadRecord."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    raise BadRecord(f"expected a positive message id, got {value!r}", field=field)


def parse_time(value: object, *, field: str) -> datetime:
    """Parse Telegram's unix time (raw MTProto) or ISO string (Telethon's JSON) into aware UTC."""
    if value is None:
        raise BadRecord("missing time", field=field)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_epoch(value, field=field)
    return parse_iso(value, field=field)


def link_as_url(text: str) -> str:
    """Return a link entity's text as a URL: Telegram links bare "example.org/x" as http://, so do we."""
    return text if "://" in text or text.lower().startswith("mailto:") else f"http://{text}"


def map_messages(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map a Telethon-style messages document to one envelope or quarantine entry per message."""
    doc = decode_json(raw)
    chat: JSON = {}
    if isinstance(doc, dict):
        if isinstance(doc.get("chat"), dict):
            chat = doc["chat"]
        doc = doc.get("messages")
    if not isinstance(doc, list):
        raise BadRecord("expected a list of messages (or an object with 'messages')", field="messages")
    return map_elements(
        doc,
        location,
        MESSAGES,
        lambda item, item_raw, item_location: [_map_message(item, chat, item_raw, item_location)],
    )


def _map_message(message: object, chat: JSON, raw: bytes, location: Location) -> Envelope:
    if not isinstance(message, dict):
        raise BadRecord(f"expected a message object, got {type(message).__name__}")
    constructor = message.get("_")
    if constructor == "MessageService":
        action = message.get("action")
        name = action.get("_") if isinstance(action, dict) else None
        reason = f"service message ({name or 'unknown action'}), not a post"
        return Envelope(raw=raw, format=MESSAGES, location=location, skipped_reason=reason)
    if constructor == "MessageEmpty":
        reason = "empty message (deleted or not accessible), nothing to store"
        return Envelope(raw=raw, format=MESSAGES, location=location, skipped_reason=reason)
    post = _post(message, chat)
    if post.text is None and not post.media and post.geo is None:
        reason = "message has neither text nor media"
        return Envelope(raw=raw, format=MESSAGES, location=location, skipped_reason=reason)
    return Envelope(raw=raw, format=MESSAGES, location=location, post=post)


def _post(message: JSON, chat: JSON) -> Post:
    id_field = "id" if "id" in message else "message_id"
    number = message_id(message.get(id_field), field=id_field)
    channel = _channel_id(message, chat)
    username = chat.get("username") if isinstance(chat.get("username"), str) and chat["username"] else None
    title = _first_str(chat.get("title"), message.get("channel"))
    text_field = "message" if "message" in message else "text"
    text = message.get(text_field)
    if text is not None and not isinstance(text, str):
        raise BadRecord(f"expected a string, got {type(text).__name__}", field=text_field)
    hashtags, mentions, urls = _entities(text or "", message.get("entities"))
    media, link, geo = _media(message.get("media"))
    edit = message.get("edit_date")
    sender = _author_id(message.get("from_id"))
    as_channel = sender in (None, f"channel{channel}")  # groups and signed posts name another sender
    return Post(
        platform=PLATFORM,
        native_id=f"{channel}/{number}",
        created_at=parse_time(message.get("date"), field="date"),
        source=MESSAGES,
        source_version=SOURCE_VERSION,
        url=f"https://t.me/{username}/{number}" if username else None,
        author_id=sender or f"channel{channel}",
        author_handle=username if as_channel else None,
        author_name=title if as_channel else None,
        text=text or None,
        reply_to=_reply(message.get("reply_to"), channel, "reply_to_msg_id"),
        reply_root=_reply(message.get("reply_to"), channel, "reply_to_top_id"),
        repost_of=_forward(message.get("fwd_from")),
        conversation=username or title,
        media=media,
        hashtags=hashtags,
        mentions=mentions,
        urls=urls or ((link,) if link else ()),  # a preview's url only when the text had no link
        metrics=_metrics(message),
        geo=geo,
        edited_at=None if edit is None or message.get("edit_hide") else parse_time(edit, field="edit_date"),
    )


def _channel_id(message: JSON, chat: JSON) -> str:
    peer = message.get("peer_id")
    if isinstance(peer, dict):
        for key in ("channel_id", "chat_id", "user_id"):
            if key in peer:
                return bare_chat_id(peer[key], field=f"peer_id.{key}")
    for key in ("channel_id", "chat_id"):
        if key in message:
            return bare_chat_id(message[key], field=key)
    if "id" in chat:
        return bare_chat_id(chat["id"], field="chat.id")
    sender = message.get("sender_id")
    if str(sender).startswith("-100"):  # the simplified dataset: a channel posting as itself
        return bare_chat_id(sender, field="sender_id")
    raise BadRecord("no channel id (peer_id, chat.id or a channel sender_id)", field="peer_id")


def _author_id(peer: object) -> str | None:
    """Return ``user<id>``/``channel<id>`` for a message's ``from_id`` peer (groups, signed posts)."""
    if not isinstance(peer, dict):
        return None
    for key, prefix in (("user_id", "user"), ("channel_id", "channel"), ("chat_id", "chat")):
        if key in peer:
            return prefix + bare_chat_id(peer[key], field=f"from_id.{key}")
    return None


def _entities(text: str, entities: object) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    hashtags: list[str] = []
    mentions: list[str] = []
    urls: list[str] = []
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, dict):
            continue
        kind, offset, length = entity.get("_"), entity.get("offset"), entity.get("length")
        if kind == "MessageEntityTextUrl" and isinstance(entity.get("url"), str):
            urls.append(entity["url"])
            continue
        if not isinstance(offset, int) or not isinstance(length, int):
            continue
        span = utf16_slice(text, offset, length)
        if span is None:
            continue  # offsets that do not fit the text: drop the entity, keep the message
        if kind == "MessageEntityHashtag":
            hashtags.append(span.removeprefix("#"))
        elif kind == "MessageEntityMention":
            mentions.append(span.removeprefix("@"))
        elif kind == "MessageEntityUrl":
            urls.append(link_as_url(span))
    return unique(hashtags), unique(mentions), unique(urls)


def _reply(header: object, channel: str, key: str) -> str | None:
    if not isinstance(header, dict) or header.get(key) is None:
        return None
    target = message_id(header[key], field=f"reply_to.{key}")
    peer = header.get("reply_to_peer_id")
    if isinstance(peer, dict) and "channel_id" in peer:
        channel = bare_chat_id(peer["channel_id"], field="reply_to.reply_to_peer_id")
    return f"{channel}/{target}"


def _forward(header: object) -> str | None:
    """Return the source message of a forward from a channel; forwards from people carry none."""
    if not isinstance(header, dict):
        return None
    source = header.get("from_id")
    post = header.get("channel_post")
    if isinstance(source, dict) and "channel_id" in source and post is not None:
        channel = bare_chat_id(source["channel_id"], field="fwd_from.from_id.channel_id")
        return f"{channel}/{message_id(post, field='fwd_from.channel_post')}"
    return None


def _metrics(message: JSON) -> Metrics | None:
    replies = message.get("replies")
    return metrics_of(
        views=as_count(message.get("views")),
        reposts=as_count(message.get("forwards")),
        replies=as_count(replies.get("replies")) if isinstance(replies, dict) else None,
    )


_DOCUMENT_KINDS: dict[str, MediaKind] = {
    "DocumentAttributeAnimated": "gif",
    "DocumentAttributeVideo": "video",
    "DocumentAttributeAudio": "audio",
    "DocumentAttributeSticker": "image",
}


def _media(media: object) -> tuple[tuple[MediaRef, ...], str | None, Geotag | None]:
    """Return attachments, a link-preview url and an explicit geotag from a message's ``media``."""
    if not isinstance(media, dict):
        return (), None, None
    kind = media.get("_")
    if kind == "MessageMediaPhoto":
        photo = media.get("photo")
        return (MediaRef(kind="image", native_id=_id_of(photo)),), None, None
    if kind == "MessageMediaDocument":
        return (_document_ref(media.get("document")),), None, None
    if kind == "MessageMediaWebPage":
        page = media.get("webpage")
        url = page.get("url") if isinstance(page, dict) and isinstance(page.get("url"), str) else None
        if url is None:
            return (), None, None  # a pending or empty preview
        return (MediaRef(kind="link_card", url=url),), url, None
    if kind in ("MessageMediaGeo", "MessageMediaVenue"):
        geo = media.get("geo")
        geo = geo if isinstance(geo, dict) else {}
        lat, lon = as_number(geo.get("lat")), as_number(geo.get("long"))
        if lat is None or lon is None:
            return (), None, None
        place = media.get("title") if isinstance(media.get("title"), str) else None
        return (), None, Geotag(latitude=lat, longitude=lon, place_name=place)
    return (MediaRef(kind="other"),), None, None


def _document_ref(document: object) -> MediaRef:
    """Classify a Telegram document by its attributes (an animation also says video: gif wins)."""
    if not isinstance(document, dict):
        return MediaRef(kind="document")
    attributes = document.get("attributes")
    names = {a.get("_") for a in attributes if isinstance(a, dict)} if isinstance(attributes, list) else set()
    media_kind: MediaKind = next((k for n, k in _DOCUMENT_KINDS.items() if n in names), "document")
    mime = document.get("mime_type") if isinstance(document.get("mime_type"), str) else None
    return MediaRef(kind=media_kind, mime_type=mime, native_id=_id_of(document))


def _id_of(obj: object) -> str | None:
    ident = obj.get("id") if isinstance(obj, dict) else None
    return str(ident) if isinstance(ident, int | str) and not isinstance(ident, bool) else None


def _first_str(*values: object) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value
    return None
