"""A loopback fake YouTube Data API v3 replaying recorded responses (python-youtube test data, MIT).

What is replayed and what is constructed (the recordings were made call by call, so their ids do not
line up across resources):

* ``playlistItems``: the recorded two-page playlist (13 videos, ``nextPageToken`` ``CAoQAA``), whatever
  ``playlistId`` is asked for, as long as it is an uploads playlist (``UU…``).
* ``videos``: one video per requested id, built from the recorded ``videos_info_single`` item with its
  ``id`` replaced, ``publishedAt`` taken from the playlist item, and string ``statistics`` added (the
  recordings never asked for them): constructed, following the API reference.
* ``commentThreads``: the recorded two pages (5 threads on each; page 2 repeats page 1's threads, as
  recorded) for the videos in ``commented``; an empty page for others; HTTP 403 ``commentsDisabled``
  for the videos in ``comments_off``.
* ``search``: the recorded first keyword page (25 videos) without its ``nextPageToken``.
* ``faults`` are served first, one per request; ``QUOTA_EXCEEDED`` is a constructed body of the shape
  of the recorded ``error_permission_resp.json`` with Google's documented ``quotaExceeded`` reason.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

FIXTURES = Path(__file__).parent.parent / "fixtures"
LIVE = FIXTURES / "youtube_live"
PLAYLIST_PAGES = {
    None: LIVE / "playlist_items_paged_1.json",
    "CAoQAA": LIVE / "playlist_items_paged_2.json",
}
THREAD_PAGE_2_TOKEN = orjson.loads((FIXTURES / "youtube" / "comment_threads_by_video.json").read_bytes())[
    "nextPageToken"
]
THREAD_PAGES = {
    None: FIXTURES / "youtube" / "comment_threads_by_video.json",
    THREAD_PAGE_2_TOKEN: LIVE / "comment_threads_by_video_paged_2.json",
}
VIDEO_TEMPLATE = orjson.loads((FIXTURES / "youtube" / "videos_info_single.json").read_bytes())["items"][0]
PERMISSION_DENIED = (LIVE / "error_permission_resp.json").read_bytes()
QUOTA_EXCEEDED = orjson.dumps(
    {
        "error": {
            "code": 403,
            "message": "The request cannot be completed because you have exceeded your quota.",
            "errors": [
                {
                    "message": "The request cannot be completed because you have exceeded your quota.",
                    "domain": "youtube.quota",
                    "reason": "quotaExceeded",
                }
            ],
        }
    }
)
COMMENTS_DISABLED = orjson.dumps(
    {
        "error": {
            "code": 403,
            "message": "The video identified by the videoId parameter has disabled comments.",
            "errors": [{"domain": "youtube.commentThread", "reason": "commentsDisabled"}],
        }
    }
)
COST = {"playlistItems": 1, "videos": 1, "commentThreads": 1, "search": 100}


@dataclass
class Reply:
    status: int
    body: bytes = b""


@dataclass
class Call:
    resource: str
    params: dict[str, str]
    key: str | None
    status: int = 200
    body: bytes = b""


@dataclass
class FakeYouTube:
    """See the module docstring; ``calls`` logs every request with what was answered."""

    key: str = "test-key"
    commented: set[str] = field(default_factory=lambda: {"CvTApw9X8aA"})
    comments_off: set[str] = field(default_factory=set)
    faults: list[Reply] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    url: str = ""

    @property
    def units(self) -> int:
        """What Google would charge for the calls made (every request costs, even a refused one)."""
        return sum(COST[c.resource] for c in self.calls)

    def playlist_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for path in PLAYLIST_PAGES.values():
            items += orjson.loads(path.read_bytes())["items"]
        return items

    def respond(self, resource: str, params: dict[str, str], key: str | None) -> Reply:
        if self.faults:
            return self.faults.pop(0)
        if key != self.key:
            return Reply(400, orjson.dumps({"error": {"code": 400, "errors": [{"reason": "keyInvalid"}]}}))
        token = params.get("pageToken")
        if resource == "playlistItems" and params.get("playlistId", "").startswith("UU"):
            return Reply(200, PLAYLIST_PAGES[token].read_bytes())
        if resource == "videos":
            return Reply(200, self._videos(params["id"].split(",")))
        if resource == "commentThreads":
            video = params["videoId"]
            if video in self.comments_off:
                return Reply(403, COMMENTS_DISABLED)
            if video in self.commented:
                return Reply(200, THREAD_PAGES[token].read_bytes())
            return Reply(200, orjson.dumps({"kind": "youtube#commentThreadListResponse", "items": []}))
        if resource == "search":
            page = orjson.loads((LIVE / "search_by_keywords_p1.json").read_bytes())
            page.pop("nextPageToken")
            return Reply(200, orjson.dumps(page))
        return Reply(404, orjson.dumps({"error": {"code": 404, "errors": [{"reason": "notFound"}]}}))

    def _videos(self, ids: list[str]) -> bytes:
        published = {
            item["snippet"]["resourceId"]["videoId"]: item["snippet"]["publishedAt"]
            for item in self.playlist_items()
        }
        items = []
        for video in ids:
            item = copy.deepcopy(VIDEO_TEMPLATE)
            item["id"] = video
            item["snippet"]["publishedAt"] = published[video]
            item["statistics"] = {"viewCount": "1520", "likeCount": "38", "commentCount": "5"}
            items.append(item)
        return orjson.dumps({"kind": "youtube#videoListResponse", "items": items})


def _handler_for(fake: FakeYouTube) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            parts = urlsplit(self.path)
            resource = parts.path.rsplit("/", 1)[-1]
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            key = self.headers.get("X-Goog-Api-Key")
            reply = fake.respond(resource, params, key)
            fake.calls.append(Call(resource, params, key, reply.status, reply.body))
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return Handler


def serve(fake: FakeYouTube) -> Iterator[FakeYouTube]:
    """Run ``fake`` on 127.0.0.1 (a free port) for the duration of a fixture."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/youtube/v3"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
