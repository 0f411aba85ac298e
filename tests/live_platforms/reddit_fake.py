"""A loopback fake of Reddit's token endpoint and subreddit listings, replaying recorded children.

It binds 127.0.0.1 on a free port in a thread of the test process; nothing touches the internet.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from tests.live_platforms.conftest import Reply

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reddit_live"
CLIENT_ID, CLIENT_SECRET = "approved-client", "approved-secret"


def children(name: str) -> list[dict[str, object]]:
    """The recorded children of ``name``.json, newest first (as Reddit serves them)."""
    listing = orjson.loads((FIXTURES / f"{name}.json").read_bytes())
    found = listing["data"]["children"]
    assert isinstance(found, list)
    return found


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    authorization: str | None


@dataclass
class FakeReddit:
    """``POST /api/v1/access_token`` and ``GET /r/{sub}/{new,comments}`` newest first, paged by ``after``.

    ``listings`` maps "sub/listing" to children oldest first; the newest ``visible[key]`` are served
    (``publish`` makes more appear). ``faults`` are served first, one per listing request. Tokens are
    "token-1", "token-2", ... (one per grant); ``revoke()`` makes the current one answer 401. Every
    listing response carries ``X-Ratelimit-Remaining`` (``remaining``, one less per request),
    ``X-Ratelimit-Used`` and ``X-Ratelimit-Reset`` (``reset`` seconds).
    """

    listings: dict[str, list[dict[str, object]]]
    visible: dict[str, int] = field(default_factory=dict)
    faults: list[Reply] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    grants: list[dict[str, str]] = field(default_factory=list)
    remaining: float = 100.0
    reset: int = 42
    revoked: set[str] = field(default_factory=set)
    url: str = ""

    def publish(self, key: str, count: int) -> None:
        self.visible[key] = min(len(self.listings[key]), self.visible[key] + count)

    def revoke(self) -> None:
        self.revoked.add(f"token-{len(self.grants)}")

    @property
    def gets(self) -> list[Request]:
        return [r for r in self.requests if r.method == "GET"]

    def token(self, form: dict[str, str], authorization: str | None) -> Reply:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return Reply(401, b'{"message": "Unauthorized", "error": 401}')
        self.grants.append(form)
        body = {"access_token": f"token-{len(self.grants)}", "token_type": "bearer", "expires_in": 3600}
        return Reply(200, orjson.dumps(body))

    def listing(self, path: str, params: dict[str, str], authorization: str | None) -> Reply:
        self.remaining -= 1
        if self.faults:
            return self.faults.pop(0)
        token = (authorization or "").removeprefix("bearer ")
        if not token.startswith("token-") or token in self.revoked:
            return Reply(401, b'{"message": "Unauthorized", "error": 401}')
        key = path.removeprefix("/r/").strip("/")
        if key not in self.listings:
            return Reply(404, b'{"message": "Not Found", "error": 404}')
        shown = list(reversed(self.listings[key][: self.visible[key]]))  # newest first
        if "after" in params:
            names = [c["data"]["name"] for c in shown]  # type: ignore[index]
            shown = shown[names.index(params["after"]) + 1 :] if params["after"] in names else []
        limit = int(params.get("limit", "25"))
        page = shown[:limit]
        after = page[-1]["data"]["name"] if len(shown) > limit else None  # type: ignore[index]
        body = {
            "kind": "Listing",
            "data": {"after": after, "before": None, "dist": len(page), "children": page},
        }
        return Reply(200, orjson.dumps(body))


def _handler_for(fake: FakeReddit) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            authorization = self.headers.get("Authorization")
            fake.requests.append(Request("GET", parts.path, params, authorization))
            self._send(fake.listing(parts.path, params, authorization), rate=True)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            authorization = self.headers.get("Authorization")
            fake.requests.append(Request("POST", self.path, form, authorization))
            if self.path != "/api/v1/access_token":
                self._send(Reply(404, b"{}"), rate=False)
                return
            self._send(fake.token(form, authorization), rate=False)

        def _send(self, reply: Reply, *, rate: bool) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(reply.body)))
            if rate:
                self.send_header("X-Ratelimit-Remaining", f"{max(0.0, fake.remaining):.1f}")
                self.send_header("X-Ratelimit-Used", str(int(100 - fake.remaining)))
                self.send_header("X-Ratelimit-Reset", str(fake.reset))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def reddit() -> Iterator[FakeReddit]:
    """A fake Reddit on 127.0.0.1: r/askreddit/new (12 recorded submissions) and r/all/comments (10
    recorded comments), 4 of each visible at the start."""
    listings = {
        "askreddit/new": list(reversed(children("new"))),
        "all/comments": list(reversed(children("comments"))),
        "askreddit/comments": [],  # empty listings, so both subreddits can be read with both listings
        "all/new": [],
    }
    fake = FakeReddit(listings=listings, visible=dict.fromkeys(listings, 4))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
