"""Pure mapper from a Telegram Desktop chat export (``result.json``) of a public channel or group to Posts.

The export is one JSON document ``{name, type, id, messages: [...]}``. Decisions an analyst should know:

* **Public chats only.** Exports of private chats, private groups/channels, bots and saved messages are
  refused whole (DESIGN.md: public content only); ``type`` must be ``public_channel``,
  ``public_supergroup`` or ``public_group``.
* **Time** comes from ``date_unixtime`` only: ``date`` is naive local time of the exporting computer,
  so a message without ``date_unixtime`` is quarantined rather than guessed.
* **Keys** match the Telethon mapper: ``"<chat id>/<message id>"``; ``author_id`` is ``from_id`` as
  exported (``"channel123"``/``"user123"``).
* **Text** may be a string or a list of strings and entity objects; it is flattened. Hashtags,
  @mentions and links come from ``text_entities`` (or, in older exports, the entity objects in ``text``).
* **Not mapped, kept in the raw:** ``forwarded_from`` (a name only, no source message, so no
  ``repost_of``), the admin signature ``author``, reactions, and local media file paths (media is
  recorded by kind and MIME type; the export has no media URLs and no public username).
"""

from __future__ import annotations

from typing import Any

from watchfloor.connectors.base import MapOptions, MapResult, decode_json, map_elements
from watchfloor.connectors.telegram.mapping import (
    PLATFORM,
    SOURCE_VERSION,
    bare_chat_id,
    link_as_url,
    message_id,
)
from watchfloor.connectors.values import as_number, unique
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Geotag, Location, MediaKind, MediaRef, Post
from watchfloor.domain.timeutil import parse_epoch

DESKTOP = "telegram-desktop"
PUBLIC_TYPES = frozenset({"public_channel", "public_supergroup", "public_group"})
_MEDIA_TYPES: dict[str, MediaKind] = {
    "animation": "gif",
    "video_file": "video",
    "video_message": "video",
    "voice_message": "audio",
    "audio_file": "audio",
    "sticker": "image",
}

JSON = dict[str, Any]


def map_export(raw: bytes, location: Location, options: MapOptions) -> MapResult:
    """Map a Desktop export of one public chat to one envelope or quarantine entry per message."""
    doc = decode_json(raw)
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        raise BadRecord("not a single-chat Telegram Desktop export (no 'messages' list)", field="messages")
    chat_type = doc.get("type")
    if chat_type not in PUBLIC_TYPES:
        raise BadRecord(
            f"chat type {chat_type!r} is not a public channel or group; "
            "watchfloor imports public content only",
            field="type",
        )
    chat_id = bare_chat_id(doc.get("id"), field="id")
    name = doc.get("name") if isinstance(doc.get("name"), str) and doc["name"] else None
    return map_elements(
        doc["messages"],
        location,
        DESKTOP,
        lambda item, item_raw, item_location: [_map_message(item, chat_id, name, item_raw, item_location)],
    )


def _map_message(message: object, chat_id: str, name: str | None, raw: bytes, location: Location) -> Envelope:
    if not isinstance(message, dict):
        raise BadRecord(f"expected a message object, got {type(message).__name__}")
    kind = message.get("type")
    if kind == "service":
        reason = f"service message ({message.get('action') or 'unknown action'}), not a post"
        return Envelope(raw=raw, format=DESKTOP, location=location, skipped_reason=reason)
    if kind != "message":
        reason = f"export entry of type {kind!r} is not a message"
        return Envelope(raw=raw, format=DESKTOP, location=location, skipped_reason=reason)
    number = message_id(message.get("id"), field="id")
    if "date_unixtime" not in message:
        raise BadRecord("missing date_unixtime (the naive local 'date' is not used)", field="date_unixtime")
    text = flatten_text(message.get("text"))
    hashtags, mentions, urls = _entities(message)
    media = _media(message)
    geo = _geotag(message.get("location_information"))
    if text is None and not media and geo is None:
        reason = "message has neither text nor media"
        return Envelope(raw=raw, format=DESKTOP, location=location, skipped_reason=reason)
    edited = message.get("edited_unixtime")
    reply = message.get("reply_to_message_id")
    reply_to = None
    if reply is not None and "reply_to_peer_id" not in message:  # a cross-chat reply names another chat
        reply_to = f"{chat_id}/{message_id(reply, field='reply_to_message_id')}"
    sender = message.get("from_id")
    post = Post(
        platform=PLATFORM,
        native_id=f"{chat_id}/{number}",
        created_at=parse_epoch(message["date_unixtime"], field="date_unixtime"),
        source=DESKTOP,
        source_version=SOURCE_VERSION,
        author_id=str(sender)
        if isinstance(sender, str | int) and not isinstance(sender, bool) and sender
        else None,
        author_name=message["from"] if isinstance(message.get("from"), str) and message["from"] else None,
        text=text,
        reply_to=reply_to,
        conversation=name,
        media=media,
        hashtags=hashtags,
        mentions=mentions,
        urls=urls,
        geo=geo,
        edited_at=None if edited is None else parse_epoch(edited, field="edited_unixtime"),
    )
    return Envelope(raw=raw, format=DESKTOP, location=location, post=post)


def flatten_text(value: object) -> str | None:
    """Join an exported ``text`` (a string, or a list of strings and ``{type, text}`` objects)."""
    if value is None or isinstance(value, str):
        return value or None
    if not isinstance(value, list):
        raise BadRecord(f"expected a string or a list, got {type(value).__name__}", field="text")
    parts: list[str] = []
    for part in value:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
        else:
            raise BadRecord("a text part is neither a string nor an entity with text", field="text")
    return "".join(parts) or None


def _entities(message: JSON) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    entities = message.get("text_entities")
    if not isinstance(entities, list):
        text = message.get("text")
        entities = [p for p in text if isinstance(p, dict)] if isinstance(text, list) else []
    hashtags: list[str] = []
    mentions: list[str] = []
    urls: list[str] = []
    for entity in entities:
        if not isinstance(entity, dict) or not isinstance(entity.get("text"), str):
            continue
        kind, text = entity.get("type"), entity["text"]
        if kind == "hashtag":
            hashtags.append(text.removeprefix("#"))
        elif kind == "mention":
            mentions.append(text.removeprefix("@"))
        elif kind == "link":
            urls.append(link_as_url(text))
        elif kind == "text_link" and isinstance(entity.get("href"), str):
            urls.append(entity["href"])
    return unique(hashtags), unique(mentions), unique(urls)


def _media(message: JSON) -> tuple[MediaRef, ...]:
    mime = message["mime_type"] if isinstance(message.get("mime_type"), str) else None
    if "photo" in message:
        return (MediaRef(kind="image", mime_type=mime),)
    if "file" in message or "media_type" in message:
        kind = _MEDIA_TYPES.get(str(message.get("media_type")), "document")
        return (MediaRef(kind=kind, mime_type=mime),)
    return ()


def _geotag(info: object) -> Geotag | None:
    if not isinstance(info, dict):
        return None
    lat, lon = as_number(info.get("latitude")), as_number(info.get("longitude"))
    return None if lat is None or lon is None else Geotag(latitude=lat, longitude=lon)
