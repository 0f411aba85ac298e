"""The two views of a post's words that several stages read: all of it, and just the message.

Built once per post by ``run`` and handed to the stages, because each is a few microseconds per post
and three stages need them.
"""

from __future__ import annotations

import regex

from watchfloor.domain.post import Post

# URLs and @mentions (not e-mail addresses: the "@" must not follow an address character).
_NOT_MESSAGE = regex.compile(r"(?:https?://|www\.)\S+|(?<![\w.+-])@[\w.@-]+", regex.IGNORECASE)


def searchable(post: Post) -> str:
    """Return ``post.searchable_text()`` (title and text), without its cost for the usual text-only post."""
    title, text = post.title, post.text
    if post.image_text:  # an importer that carries image text (CrowdTangle's "Image Text")
        return post.searchable_text()
    if not title:
        return text or ""
    return f"{title}\n{text}" if text else title


def message_text(text: str) -> str:
    """Return ``text`` with URLs and @mentions replaced by spaces: the words of the message itself.

    A link wrapper ("https://t.co/…") or an addressee is not what a post says: language
    identification should not read it, and near-duplicate detection should not match on it. The
    same object comes back when there is nothing to remove.
    """
    if "@" in text or "://" in text or "www." in text or "WWW." in text:
        return _NOT_MESSAGE.sub(" ", text)
    return text
