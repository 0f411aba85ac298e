"""Pure mapper from TikTok Research API video objects (``data.videos[]`` of a video query) to Posts.

Decisions an analyst should know:

* **Keys agree with the Zeeschuimer importer**: platform ``tiktok``, the video id as text (ids are
  int64, past what JavaScript numbers hold), the share URL ``https://www.tiktok.com/@<username>/video/<id>``.
  The API gives the username only, not the numeric account id, so ``author_id`` stays empty.
* **Text** is ``video_description``. When the source asks for ``voice_to_text`` (TikTok's automatic
  transcript of the speech in the video), it is appended after a label, ``[Speech in the video,
  transcribed by TikTok]``, so nobody mistakes a machine transcript for words the author typed.
* **Counts**: ``like_count`` → likes, ``comment_count`` → replies, ``view_count`` → views.
  ``share_count`` counts link shares, not reposts, so it has no Metrics field and stays in the raw
  (as in the Zeeschuimer importer).
* **Not mapped**: ``region_code`` is the country where the *creator registered their account*: a fact
  about a person, not about the post, so watchfloor does not even ask for it (DESIGN.md: no person
  location). ``music_id`` and effect ids stay in the raw. The API gives no media URLs: a video is
  recorded as a video attachment without one.
"""

from __future__ import annotations

from typing import Any

from watchfloor.connectors.base import MapResult, map_elements
from watchfloor.connectors.values import as_count, as_list, as_str, metrics_of, unique
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Envelope, Location, MediaRef, Post
from watchfloor.domain.timeutil import parse_epoch

__all__ = ["PLATFORM", "SOURCE_VERSION", "TRANSCRIPT_LABEL", "VIDEO", "map_videos", "video_id"]

PLATFORM = "tiktok"
VIDEO = "tiktok-research-video"  # the Envelope format: one video object of a video query response
SOURCE_VERSION = "1"
TRANSCRIPT_LABEL = "[Speech in the video, transcribed by TikTok]"


def map_videos(videos: list[Any], location: Location) -> MapResult:
    """Map the ``data.videos`` of one response; a bad video is quarantined and the rest still map."""
    return map_elements(videos, location, VIDEO, lambda v, raw, loc: [_envelope(v, raw, loc)])


def video_id(value: object) -> str | None:
    """A video id as text (the API sends an int64 number; a digit string is accepted too)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return value
    return None


def _envelope(video: object, raw: bytes, location: Location) -> Envelope:
    if not isinstance(video, dict):
        raise BadRecord(f"expected a video object, got {type(video).__name__}")
    ident = video_id(video.get("id"))
    if ident is None:
        raise BadRecord(f"missing or invalid video id {video.get('id')!r}", field="id")
    if video.get("create_time") is None:
        raise BadRecord("missing creation time", field="create_time")
    username = as_str(video.get("username"))
    description = as_str(video.get("video_description"))
    transcript = as_str(video.get("voice_to_text"))
    text = description
    if transcript is not None and transcript.strip():
        labelled = f"{TRANSCRIPT_LABEL} {transcript.strip()}"
        text = f"{description}\n\n{labelled}" if description else labelled
    post = Post(
        platform=PLATFORM,
        native_id=ident,
        created_at=parse_epoch(video.get("create_time"), field="create_time"),
        source="tiktok-research",
        source_version=SOURCE_VERSION,
        url=f"https://www.tiktok.com/@{username}/video/{ident}" if username else None,
        author_handle=username,
        text=text,
        media=(MediaRef(kind="video"),),
        hashtags=unique(
            h.removeprefix("#") if isinstance(h, str) else h for h in as_list(video.get("hashtag_names"))
        ),
        metrics=metrics_of(
            likes=as_count(video.get("like_count")),
            replies=as_count(video.get("comment_count")),
            views=as_count(video.get("view_count")),
        ),
    )
    return Envelope(raw=raw, format=VIDEO, location=location, post=post)
