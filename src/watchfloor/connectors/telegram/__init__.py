"""Telegram importers: Telethon-style channel message JSON, and Telegram Desktop chat exports.

Both are whole-file JSON documents. Detection keys on what only each has: Telethon's ``"_": "Message"``
constructors (or the telegram-news-classifier dataset's ``message_id``/``sender_id`` pair), and the
Desktop export's ``date_unixtime`` and chat ``type``.
"""

from __future__ import annotations

import re

from watchfloor.connectors.base import FileFormat, Sample
from watchfloor.connectors.telegram.desktop import DESKTOP, map_export
from watchfloor.connectors.telegram.mapping import MESSAGES, SOURCE_VERSION, map_messages

_TELETHON = re.compile(rb'"_"\s*:\s*"Message(Service)?"')
_DESKTOP_TYPE = re.compile(
    rb'"type"\s*:\s*"(public|private)_(channel|supergroup|group)"'
    rb'|"type"\s*:\s*"(personal_chat|bot_chat|saved_messages)"'
)


def sniff_messages(sample: Sample) -> int:
    """Recognise a JSON document of Telethon messages, or the dataset's simplified message array."""
    head, first = sample.head, sample.first_line
    if not first.startswith((b"[", b"{")):
        return 0
    if _TELETHON.search(head) and b'"peer_id"' in head:
        return 90
    if first.startswith(b"[") and all(k in head for k in (b'"message_id"', b'"sender_id"', b'"date"')):
        return 80
    return 0


def sniff_desktop(sample: Sample) -> int:
    """Recognise a Telegram Desktop single-chat export (``result.json``)."""
    head = sample.head
    if not sample.first_line.startswith(b"{") or b'"messages"' not in head or _TELETHON.search(head):
        return 0
    if b'"date_unixtime"' in head:
        return 90
    return 85 if _DESKTOP_TYPE.search(head) else 0


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(
        name=MESSAGES,
        description="Telegram channel messages as Telethon-style JSON (an array of messages)",
        layout="document",
        sniff=sniff_messages,
        map_record=map_messages,
        source_version=SOURCE_VERSION,
    ),
    FileFormat(
        name=DESKTOP,
        description="Telegram Desktop export of one public channel or group (result.json)",
        layout="document",
        sniff=sniff_desktop,
        map_record=map_export,
        source_version=SOURCE_VERSION,
    ),
)
