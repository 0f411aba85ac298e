"""Map a LinkedIn feed update captured by Zeeschuimer ("Voyager" JSON) to a Post.

LinkedIn's feed JSON carries no post time; 4CAT estimates one from the "18h ago" label, which is
language-dependent and coarse. The activity id in the post's URN is time-ordered instead: its top 41
bits are the creation time in Unix milliseconds (the "LinkedIn post date" technique that public
tools use). That is exact where it holds, but it is undocumented by LinkedIn, so it is a known risk.
"""

from __future__ import annotations

import re
from datetime import datetime

from watchfloor.connectors.fourcat.zs_json import (
    Capture,
    JsonObject,
    as_count,
    as_object,
    as_str,
    dig,
    http_url,
    new_post,
)
from watchfloor.connectors.values import as_list, metrics_of, unique
from watchfloor.domain.errors import BadRecord
from watchfloor.domain.post import Post
from watchfloor.domain.timeutil import parse_epoch

_ACTIVITY = re.compile(r"urn:li:activity:(\d+)")
_PROFILE_PATH = re.compile(r"linkedin\.com/(?:in|company)/([^/?#]+)")


def map_linkedin(data: JsonObject, capture: Capture) -> Post:
    """Map a LinkedIn feed update to a Post, deriving its time from the activity id."""
    urn = as_str(dig(data, "updateMetadata", "urn")) or as_str(data.get("preDashEntityUrn")) or ""
    match = _ACTIVITY.search(urn)  # aggregates look like urn:li:aggregate:(urn:li:activity:1,…)
    if match is None:
        raise BadRecord("no urn:li:activity id found in this LinkedIn item", field="data.updateMetadata.urn")
    native_id = match.group(1)
    actor = as_object(data.get("actor"))
    profile_url = as_str(dig(actor, "navigationContext", "actionTarget"))
    handle_match = _PROFILE_PATH.search(profile_url or "")
    counts = as_object(dig(data, "*socialDetail", "*totalSocialActivityCounts"))
    tags = as_list(dig(data, "commentary", "text", "attributesV2"))
    hashtags = [
        (as_str(dig(tag, "detailData", "*hashtag", "trackingUrn")) or "").rsplit(":", 1)[-1] for tag in tags
    ]
    link = http_url(dig(data, "content", "navigationContext", "actionTarget")) or http_url(
        dig(data, "content", "articleComponent", "navigationContext", "actionTarget")
    )
    return new_post(
        capture,
        native_id=native_id,
        created_at=_activity_time(native_id),
        url=f"https://www.linkedin.com/feed/update/urn:li:activity:{native_id}/",
        author_handle=handle_match.group(1) if handle_match else None,
        author_name=as_str(dig(actor, "name", "text")),
        text=as_str(dig(data, "commentary", "text", "text")),
        hashtags=unique(hashtags),
        urls=(link,) if link else (),
        metrics=metrics_of(
            likes=as_count(counts.get("numLikes")),
            replies=as_count(counts.get("numComments")),
            reposts=as_count(counts.get("numShares")),
        ),
    )


def _activity_time(activity_id: str) -> datetime:
    return parse_epoch(int(activity_id) >> 22, field="data.updateMetadata.urn", unit="ms")
